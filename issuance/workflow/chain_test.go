package workflow

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
	"github.com/cccd-project/cccd/issuance/store/storetest"
)

// TestStatementsShareAChain runs two step statements on one audit chain at once, as two
// processes of a site do when their database backends map to the same chain: the second
// waits on the chain's head until the first commits, then chains its entry after the
// first's instead of forking the chain.
func TestStatementsShareAChain(t *testing.T) {
	ctx := context.Background()
	pool := storetest.New(t)
	if _, err := pool.Exec(ctx, `INSERT INTO users (name, role, office, token_hash) VALUES ('clerk1', 'clerk', '001-HK01', 'x');
		INSERT INTO applications (receipt, id_number, state, person, portrait, reason, intake_office, delivery, clerk)
		SELECT 'R' || g, lpad(g::text, 12, '0'), 'submitted', '{}', '\xffd8', 'first_issue', '001-HK01',
		'{"method": "office", "office": "001-HK01"}', 'clerk1' FROM generate_series(1, 2) g`); err != nil {
		t.Fatal(err)
	}
	const chain = 7
	supervisor := ledger.Actor{Name: "sup", Role: "supervisor", Office: "001-HK01"}
	approve := func(tx pgx.Tx, id int64) error {
		var s stmt
		n := s.moveApps("app", "SELECT "+s.arg(id, "bigint")+" AS id, ''::text AS note",
			lifecycle.Submitted, lifecycle.Approved, supervisor, chain)
		var moved int
		if err := txRow(ctx, tx, &s, "SELECT "+n, &moved); err != nil {
			return err
		}
		if moved != 1 {
			return fmt.Errorf("application %d: %d moved", id, moved)
		}
		return nil
	}
	tx1, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback(ctx)
	if err := approve(tx1, 1); err != nil {
		t.Fatal(err)
	}
	tx2, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx2.Rollback(ctx)
	second := tx2.Conn().PgConn().PID()
	done := make(chan error, 1)
	go func() { done <- approve(tx2, 2) }()

	// The second statement must be waiting on the head that the first holds.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var waiting bool
		if err := pool.QueryRow(ctx, "SELECT coalesce(wait_event_type = 'Lock', false) FROM pg_stat_activity WHERE pid = $1",
			second).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("second statement finished while the first held the chain: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("second statement never waited on the chain's head")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tx1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("second statement after the first committed: %v", err)
	}
	if err := tx2.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	rows, err := pool.Query(ctx, "SELECT seq, subject FROM audit_log WHERE chain = $1 ORDER BY seq", chain)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Seq     int64
		Subject string
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[entry])
	if err != nil {
		t.Fatal(err)
	}
	if want := []entry{{1, "application/1"}, {2, "application/2"}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("chain %d holds %v, want %v", chain, got, want)
	}
	rep, err := ledger.VerifyAudit(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Rows != 2 {
		t.Fatalf("audit log after two statements on one chain: %+v", rep)
	}
}
