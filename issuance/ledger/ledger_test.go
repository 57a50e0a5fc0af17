package ledger_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
	"github.com/cccd-project/cccd/issuance/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var clerk = ledger.Actor{Name: "lan.clerk", Role: "clerk", Office: "001-HK"}

// appendN appends n entries on one connection, so they form one chain with seq 1..n.
func appendN(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	conn, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for i := 0; i < n; i++ {
		err := pgx.BeginFunc(context.Background(), conn, func(tx pgx.Tx) error {
			return ledger.Audit(context.Background(), tx, ledger.Entry{Actor: clerk, Action: "test.append",
				Subject: "thing/1", Detail: strings.Repeat("x", i)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerifyAuditDetectsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper string
		want   string
	}{
		{"intact", "", ""},
		{"edited detail", "UPDATE audit_log SET detail = 'forged' WHERE seq = 3", "edited"},
		{"edited actor", "UPDATE audit_log SET actor = 'someone.else' WHERE seq = 1", "edited"},
		{"edited time", "UPDATE audit_log SET at = at - interval '1 day' WHERE seq = 4", "edited"},
		{"deleted middle row", "DELETE FROM audit_log WHERE seq = 2", "deleted"},
		{"deleted tail", "DELETE FROM audit_log WHERE seq = 5", "tail deleted"},
		{"moved to another chain", "UPDATE audit_log SET chain = (chain + 1) % 16 WHERE seq = 5", "tail deleted"},
		{"recomputed hash of edited row", "UPDATE audit_log SET detail = 'forged', hash = sha256(hash) WHERE seq = 2", "broken"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			pool := storetest.New(t)
			appendN(t, pool, 5)
			if tc.tamper != "" {
				// The table refuses UPDATE and DELETE by rule; an attacker with DDL rights drops the rules first.
				if _, err := pool.Exec(ctx, "DROP RULE audit_log_no_update ON audit_log; DROP RULE audit_log_no_delete ON audit_log"); err != nil {
					t.Fatal(err)
				}
				if _, err := pool.Exec(ctx, tc.tamper); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := ledger.VerifyAudit(ctx, pool)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if !rep.OK() || rep.Rows != 5 {
					t.Fatalf("intact chain reported %+v", rep)
				}
				return
			}
			if rep.OK() {
				t.Fatalf("tampering %q not detected", tc.tamper)
			}
			found := false
			for _, p := range rep.Problems {
				found = found || strings.Contains(p.Reason, tc.want)
			}
			if !found {
				t.Fatalf("problems %+v do not mention %q", rep.Problems, tc.want)
			}
		})
	}
}

func TestAuditRulesRefuseEdits(t *testing.T) {
	ctx := context.Background()
	pool := storetest.New(t)
	appendN(t, pool, 2)
	if _, err := pool.Exec(ctx, "UPDATE audit_log SET detail = 'x'; DELETE FROM audit_log"); err != nil {
		t.Fatal(err)
	}
	rep, err := ledger.VerifyAudit(ctx, pool)
	if err != nil || !rep.OK() || rep.Rows != 2 {
		t.Fatalf("rules did not protect the log: %+v %v", rep, err)
	}
}

func insertApp(t *testing.T, pool *pgxpool.Pool) int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "INSERT INTO users (name, role, office, token_hash) VALUES ('lan.clerk', 'clerk', '001-HK', 'x') ON CONFLICT DO NOTHING"); err != nil {
		t.Fatal(err)
	}
	var id int64
	err := pool.QueryRow(ctx, `INSERT INTO applications (receipt, id_number, state, person, portrait, reason, intake_office, delivery, clerk)
		VALUES ('R1', '001090000001', 'submitted', '{}', '\xffd8', 'first_issue', '001-HK', '{}', 'lan.clerk') RETURNING id`).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestTransition(t *testing.T) {
	ctx := context.Background()
	pool := storetest.New(t)
	id := insertApp(t, pool)
	step := func(from, to lifecycle.AppState) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := ledger.Transition(ctx, tx, ledger.Change{ApplicationID: id, From: from, To: to, Actor: clerk})
			return err
		})
	}
	if err := step(lifecycle.Submitted, lifecycle.Queued); !errors.Is(err, lifecycle.ErrIllegalTransition) {
		t.Fatalf("submitted -> queued: got %v, want illegal transition", err)
	}
	if err := step(lifecycle.Submitted, lifecycle.Approved); err != nil {
		t.Fatal(err)
	}
	if err := step(lifecycle.Submitted, lifecycle.Approved); !errors.Is(err, ledger.ErrStateChanged) {
		t.Fatalf("second approve: got %v, want ErrStateChanged", err)
	}
	var state string
	var events, outbox, audit int
	pool.QueryRow(ctx, "SELECT state FROM applications WHERE id = $1", id).Scan(&state)
	pool.QueryRow(ctx, "SELECT count(*) FROM application_events WHERE application_id = $1", id).Scan(&events)
	pool.QueryRow(ctx, "SELECT count(*) FROM outbox WHERE subject = 'cccd.app.approved'").Scan(&outbox)
	pool.QueryRow(ctx, "SELECT count(*) FROM audit_log WHERE action = 'application.approved'").Scan(&audit)
	if state != "approved" || events != 1 || outbox != 1 || audit != 1 {
		t.Fatalf("after approve: state %s, %d timeline, %d outbox, %d audit rows; want approved/1/1/1", state, events, outbox, audit)
	}
}

// TestAuditAppendSet checks the set append (one call, many entries) against the chain
// verifier: same canonical form as single appends, one head move, refusals change nothing.
func TestAuditAppendSet(t *testing.T) {
	ctx := context.Background()
	pool := storetest.New(t)
	appendN(t, pool, 2) // a chain that already has entries
	var chain int16
	if err := pool.QueryRow(ctx, "SELECT chain FROM audit_log LIMIT 1").Scan(&chain); err != nil {
		t.Fatal(err)
	}
	var n int64
	err := pool.QueryRow(ctx, "SELECT audit_append_set($1, $2, $3, $4, $5, $6)", chain, "thảo.operator", "079-HCM",
		[]string{"card.dispatched", "application.dispatched", "card.dispatched"},
		[]string{"card/A1", "application/7", "card/A2"},
		[]string{"printed -> dispatched Lô hàng 1", "qc_passed -> dispatched: Nguyễn Văn Ánh", ""}).Scan(&n)
	if err != nil || n != 3 {
		t.Fatalf("append set: %d, %v", n, err)
	}
	if err := pool.QueryRow(ctx, "SELECT audit_append_set($1, 'x', 'y', '{}', '{}', '{}')", chain).Scan(&n); err != nil || n != 0 {
		t.Fatalf("empty set: %d, %v", n, err)
	}
	_, err = pool.Exec(ctx, "SELECT audit_append_set($1, 'x', 'y', '{a}', '{b,c}', '{d,e}')", chain)
	if err == nil || !strings.Contains(err.Error(), "2 subjects but 1 actions") {
		t.Fatalf("mismatched arrays: %v", err)
	}
	var rows, head int64
	if err := pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM audit_log WHERE chain = $1), (SELECT seq FROM audit_head WHERE chain = $1)",
		chain).Scan(&rows, &head); err != nil {
		t.Fatal(err)
	}
	if rows != 5 || head != 5 {
		t.Fatalf("chain has %d rows, head %d; want 5 and 5", rows, head)
	}
	rep, err := ledger.VerifyAudit(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Rows != 5 {
		t.Fatalf("set-appended chain reported %+v", rep)
	}
}
