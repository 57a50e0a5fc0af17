package intake_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/ledger"
)

// clock is a test clock the service reads; tests move it.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func accesses(t *testing.T, f *fixture, filter ledger.AccessFilter) []ledger.AccessRecord {
	t.Helper()
	recs, err := ledger.Accesses(context.Background(), f.pool, filter)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func auditIntact(t *testing.T, f *fixture) {
	t.Helper()
	rep, err := ledger.VerifyAudit(context.Background(), f.pool)
	if err != nil || !rep.OK() {
		t.Fatalf("audit log: %+v %v", rep, err)
	}
}

// TestLookupLimit: a clerk past the per-minute or per-day limit of register look-ups is
// refused with 429 and a message saying why, and the refusal is itself recorded.
func TestLookupLimit(t *testing.T) {
	p := resident(t, 21, true)
	f := setup(t, p)
	clk := &clock{time.Date(2026, 11, 20, 3, 0, 10, 0, time.UTC)} // 10:00 in Vietnam
	f.svc.Now = clk.now
	f.svc.Limits = intake.Limits{LookupsPerMinute: 3, LookupsPerDay: 5}
	srv := httptest.NewServer(f.svc.Handler(nil))
	defer srv.Close()
	lookup := func() (int, string, http.Header) {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/register/"+p.IDNumber, nil)
		req.Header.Set("Authorization", "Bearer "+f.tokens["lan.clerk"])
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Detail string } // RFC 9457 problem details
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Detail, resp.Header
	}
	for i := 0; i < 3; i++ {
		if code, msg, _ := lookup(); code != http.StatusOK {
			t.Fatalf("look-up %d: %d %s", i+1, code, msg)
		}
	}
	code, msg, h := lookup()
	if code != http.StatusTooManyRequests || !strings.Contains(msg, "more than 3 register look-ups this minute") ||
		!strings.Contains(msg, "recorded") || h.Get("Retry-After") != "50" {
		t.Fatalf("4th look-up in a minute: %d %q Retry-After %q; want 429 naming the limit, Retry-After 50", code, msg, h.Get("Retry-After"))
	}
	// Another clerk is not limited by lan.clerk's look-ups.
	if _, err := f.svc.Lookup(intake.WithUser(context.Background(), f.clerk2), p.IDNumber); err != nil {
		t.Fatalf("another clerk: %v", err)
	}
	// Every attempt counts, refused ones too: the 4 of the first minute leave one for the day.
	clk.t = clk.t.Add(time.Minute)
	if code, msg, _ := lookup(); code != http.StatusOK {
		t.Fatalf("next minute: %d %s", code, msg)
	}
	if code, msg, _ := lookup(); code != http.StatusTooManyRequests || !strings.Contains(msg, "more than 5 register look-ups today") {
		t.Fatalf("6th look-up of the day: %d %q", code, msg)
	}
	clk.t = clk.t.Add(24 * time.Hour)
	if code, msg, _ := lookup(); code != http.StatusOK {
		t.Fatalf("next day: %d %s", code, msg)
	}

	recs := accesses(t, f, ledger.AccessFilter{User: "lan.clerk"})
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, r.Kind)
		if r.IDNumber != p.IDNumber || r.Role != "clerk" || r.Office != office || r.Purpose != intake.PurposePrefill {
			t.Errorf("access record %+v: want %s's record read by a clerk of %s to pre-fill", r, p.IDNumber, office)
		}
	}
	want := "register register register refused register refused register"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("lan.clerk's access records: %s\nwant %s", got, want)
	}
	if !strings.Contains(recs[3].Outcome, "refused: over 3 look-ups per minute") {
		t.Errorf("refusal's outcome: %q", recs[3].Outcome)
	}
	auditIntact(t, f)
}

// TestLookupPurpose: a look-up serves a pre-fill only (or a supervisor's approval); it
// needs a signed-in user.
func TestLookupPurpose(t *testing.T) {
	p := resident(t, 22, false)
	f := setup(t, p)
	ctx := intake.WithUser(context.Background(), f.clerk)
	if _, err := f.svc.Lookup(intake.WithPurpose(ctx, intake.PurposeHandover), p.IDNumber); !errors.Is(err, intake.ErrPurpose) {
		t.Fatalf("look-up for a hand-over: %v, want ErrPurpose", err)
	}
	if _, err := f.svc.Lookup(intake.WithPurpose(ctx, "curiosity"), p.IDNumber); !errors.Is(err, intake.ErrPurpose) {
		t.Fatalf("look-up for an unknown purpose: %v, want ErrPurpose", err)
	}
	if _, err := f.svc.Lookup(context.Background(), p.IDNumber); !errors.Is(err, intake.ErrUnauthenticated) {
		t.Fatalf("look-up without a user: %v", err)
	}
	if _, err := f.svc.Lookup(ctx, resident(t, 23, false).IDNumber); !errors.Is(err, intake.ErrNotInRegister) {
		t.Fatalf("look-up of someone not in the register: %v", err)
	}
	recs := accesses(t, f, ledger.AccessFilter{})
	if len(recs) != 1 || recs[0].Outcome != "not in register" {
		t.Fatalf("refused purposes read nothing and record nothing; the miss is recorded: %+v", recs)
	}
}

// TestShowAndListRecordReads: viewing an application and listing applications are
// recorded reads, with the purpose the caller names or the role's default.
func TestShowAndListRecordReads(t *testing.T) {
	ctx := context.Background()
	p, q := resident(t, 24, true), resident(t, 25, false)
	f := setup(t, p, q)
	var receipts []string
	for _, person := range []issuance.Person{p, q} {
		sub, err := f.svc.Submit(ctx, f.clerk, application(t, person))
		if err != nil {
			t.Fatal(err)
		}
		receipts = append(receipts, sub.Receipt)
	}
	if _, err := f.svc.Show(intake.WithPurpose(ctx, intake.PurposeHandover), f.sup, receipts[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Show(ctx, f.sup, receipts[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Show(ctx, f.otherSup, receipts[1]); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("another office's supervisor: %v", err)
	}
	if _, err := f.svc.List(ctx, f.clerk, intake.Filter{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Show(intake.WithPurpose(ctx, "gossip"), f.sup, receipts[0]); !errors.Is(err, intake.ErrPurpose) {
		t.Fatalf("show for an unknown purpose: %v", err)
	}
	var got []string
	for _, r := range accesses(t, f, ledger.AccessFilter{}) {
		got = append(got, r.User+" "+r.Kind+" "+r.IDNumber+" "+r.Purpose+" "+r.Ref)
	}
	want := []string{
		"hoa.sup application " + p.IDNumber + " hand-over " + receipts[0],
		"hoa.sup application " + q.IDNumber + " approval " + receipts[1],
		"lan.clerk list " + q.IDNumber + " follow-up " + receipts[1],
		"lan.clerk list " + p.IDNumber + " follow-up " + receipts[0],
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("access records:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if recs := accesses(t, f, ledger.AccessFilter{IDNumber: p.IDNumber}); len(recs) != 2 {
		t.Fatalf("reads of %s: %+v", p.IDNumber, recs)
	}
	auditIntact(t, f)
}

// TestAccessLogDetectsTampering: an access record is an audit entry, so an edited or
// deleted one is found by the audit verification.
func TestAccessLogDetectsTampering(t *testing.T) {
	for _, tc := range []struct{ name, sql, want string }{
		{"edited purpose", `UPDATE audit_log SET detail = replace(detail, 'prefill', 'approval')
			WHERE action = 'access.register' AND seq = (SELECT min(seq) FROM audit_log WHERE action = 'access.register')`, "edited"},
		{"edited reader", `UPDATE audit_log SET actor = 'someone.else' WHERE action = 'access.register'`, "edited"},
		{"deleted read", `DELETE FROM audit_log WHERE action = 'access.register'`, "deleted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			p := resident(t, 26, true)
			f := setup(t, p)
			uctx := intake.WithUser(ctx, f.clerk)
			for i := 0; i < 2; i++ {
				if _, err := f.svc.Lookup(uctx, p.IDNumber); err != nil {
					t.Fatal(err)
				}
			}
			// Later entries on the same chains, so that a deletion is a gap, not only a cut tail.
			if _, err := f.svc.Submit(uctx, f.clerk, application(t, p)); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Lookup(uctx, p.IDNumber); err != nil {
				t.Fatal(err)
			}
			auditIntact(t, f)
			// The table refuses UPDATE and DELETE by rule; an attacker with DDL rights drops the rules first.
			if _, err := f.pool.Exec(ctx, "DROP RULE audit_log_no_update ON audit_log; DROP RULE audit_log_no_delete ON audit_log"); err != nil {
				t.Fatal(err)
			}
			if tag, err := f.pool.Exec(ctx, tc.sql); err != nil || tag.RowsAffected() == 0 {
				t.Fatalf("tampering: %v %v", tag, err)
			}
			rep, err := ledger.VerifyAudit(ctx, f.pool)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, pr := range rep.Problems {
				found = found || strings.Contains(pr.Reason, tc.want)
			}
			if rep.OK() || !found {
				t.Fatalf("verification after %s: %+v, want a problem saying %q", tc.name, rep.Problems, tc.want)
			}
		})
	}
}

// TestPublicStatusHasNoPersonalData: the public status page carries states and dates
// only; the list of who read the record needs the receipt and the date of birth.
func TestPublicStatusHasNoPersonalData(t *testing.T) {
	ctx := context.Background()
	p := resident(t, 27, true)
	f := setup(t, p)
	uctx := intake.WithUser(ctx, f.clerk)
	if _, err := f.svc.Lookup(uctx, p.IDNumber); err != nil {
		t.Fatal(err)
	}
	app := application(t, p)
	sub, err := f.svc.Submit(uctx, f.clerk, app)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Show(ctx, f.sup, sub.Receipt); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.svc.Handler(nil))
	defer srv.Close()
	code, body := do(t, srv, "GET", "/status/"+sub.Receipt, "", nil)
	if code != http.StatusOK {
		t.Fatalf("status: %d %s", code, body)
	}
	personal := []string{p.IDNumber, p.FullName, "Nguyễn", p.DateOfBirth.String(), p.DateOfBirth.DDMMYYYY(), p.PlaceOfResidence,
		p.PlaceOfOrigin, p.Father, p.Mother, base64.StdEncoding.EncodeToString(app.Portrait)[:40], "lan.clerk", "hoa.sup"}
	for _, s := range personal {
		if strings.Contains(string(body), s) || strings.Contains(string(body), jsonEscaped(s)) {
			t.Errorf("public status carries %q: %s", s, body)
		}
	}

	code, body = do(t, srv, "POST", "/status/"+sub.Receipt+"/access", "", []byte(`{"date_of_birth": "1990-03-16"}`))
	if code != http.StatusNotFound || strings.Contains(string(body), "lan.clerk") {
		t.Fatalf("wrong date of birth: %d %s, want 404 and nothing", code, body)
	}
	code, body = do(t, srv, "POST", "/status/"+sub.Receipt+"/access", "", []byte(`{"date_of_birth": "`+p.DateOfBirth.String()+`"}`))
	var got struct {
		Reads []intake.SubjectAccess `json:"reads"`
	}
	if err := json.Unmarshal(body, &got); code != http.StatusOK || err != nil {
		t.Fatalf("who read my record: %d %s %v", code, body, err)
	}
	if len(got.Reads) != 2 || got.Reads[0].User != "lan.clerk" || got.Reads[0].Purpose != "prefill" ||
		got.Reads[1].User != "hoa.sup" || got.Reads[1].Purpose != "approval" || got.Reads[1].Office != office {
		t.Fatalf("who read my record: %s", body)
	}
}

func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

// TestApplicantProofLimited: wrong dates of birth count against the source like
// failed authentications.
func TestApplicantProofLimited(t *testing.T) {
	ctx := intake.WithSource(context.Background(), "192.0.2.7")
	p := resident(t, 28, false)
	f := setup(t, p)
	f.svc.Limits = intake.Limits{AuthFailures: 3}
	sub, err := f.svc.Submit(ctx, f.clerk, application(t, p))
	if err != nil {
		t.Fatal(err)
	}
	for d := 1; d <= 3; d++ {
		if _, err := f.svc.AccessesForApplicant(ctx, sub.Receipt, p.DateOfBirth.AddYears(d)); !errors.Is(err, intake.ErrProof) {
			t.Fatalf("guess %d: %v", d, err)
		}
	}
	if _, err := f.svc.AccessesForApplicant(ctx, sub.Receipt, p.DateOfBirth); !errors.Is(err, intake.ErrAuthLimit) {
		t.Fatalf("after 3 failed proofs even the right one is refused: %v", err)
	}
	if _, err := f.svc.AccessesForApplicant(intake.WithSource(ctx, "192.0.2.8"), sub.Receipt, p.DateOfBirth); err != nil {
		t.Fatalf("another source: %v", err)
	}
}

// TestOneLookupAtATime: a clerk's look-up to pre-fill stays open until its application
// is submitted or given up, or the hold lapses; meanwhile a look-up of anyone else is
// refused with 409 naming the open one by its last digits only, and the refusal is
// recorded on the record that was asked for. The same person may be looked up again,
// and a supervisor's look-ups hold nothing.
func TestOneLookupAtATime(t *testing.T) {
	ctx := context.Background()
	a, b, c, d := resident(t, 31, true), resident(t, 32, false), resident(t, 33, true), resident(t, 34, false)
	f := setup(t, a, b, c, d)
	clk := &clock{time.Date(2026, 11, 20, 3, 0, 10, 0, time.UTC)}
	f.svc.Now = clk.now
	srv := httptest.NewServer(f.svc.Handler(nil))
	defer srv.Close()
	call := func(method, path string) (int, string, http.Header) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+f.tokens["lan.clerk"])
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Detail   string
			IDNumber string `json:"id_number"`
			Released bool
		}
		json.NewDecoder(resp.Body).Decode(&body)
		if method == "DELETE" {
			return resp.StatusCode, body.IDNumber, resp.Header
		}
		return resp.StatusCode, body.Detail, resp.Header
	}
	lookup := func(p issuance.Person) (int, string, http.Header) { return call("GET", "/api/v1/register/"+p.IDNumber) }

	if code, msg, _ := lookup(a); code != http.StatusOK {
		t.Fatalf("first look-up: %d %s", code, msg)
	}
	code, msg, h := lookup(b)
	masked := a.IDNumber[len(a.IDNumber)-4:]
	if code != http.StatusConflict || !strings.Contains(msg, "open look-up of ••••••••"+masked) ||
		strings.Contains(msg, a.IDNumber) || !strings.Contains(msg, "recorded") || h.Get("Retry-After") != "1800" {
		t.Fatalf("look-up of another person while one is open: %d %q Retry-After %q; want 409 naming …%s, Retry-After 1800",
			code, msg, h.Get("Retry-After"), masked)
	}
	if code, msg, _ := lookup(a); code != http.StatusOK {
		t.Fatalf("the open person again: %d %s", code, msg)
	}
	// A supervisor checking an application holds nothing.
	sup := intake.WithUser(ctx, f.sup)
	for _, p := range []issuance.Person{b, c} {
		if _, err := f.svc.Lookup(sup, p.IDNumber); err != nil {
			t.Fatalf("supervisor's look-up of %s: %v", p.IDNumber, err)
		}
	}
	// Giving the open look-up up frees the clerk, once.
	if code, id, _ := call("DELETE", "/api/v1/register/open"); code != http.StatusOK || id != "••••••••"+masked {
		t.Fatalf("give up: %d %q", code, id)
	}
	if code, id, _ := call("DELETE", "/api/v1/register/open"); code != http.StatusOK || id != "" {
		t.Fatalf("give up with nothing open: %d %q", code, id)
	}
	if code, msg, _ := lookup(b); code != http.StatusOK {
		t.Fatalf("after giving up: %d %s", code, msg)
	}
	// Submitting the application closes the look-up.
	if _, err := f.svc.Submit(ctx, f.clerk, application(t, b)); err != nil {
		t.Fatal(err)
	}
	if code, msg, _ := lookup(c); code != http.StatusOK {
		t.Fatalf("after submitting: %d %s", code, msg)
	}
	// A look-up of someone not in the register neither holds nor frees.
	if _, err := f.svc.Lookup(intake.WithUser(ctx, f.clerk), resident(t, 35, false).IDNumber); !errors.Is(err, intake.ErrLookupOpen) {
		t.Fatalf("a miss while one is open: %v, want ErrLookupOpen", err)
	}
	// The hold lapses.
	clk.t = clk.t.Add(30*time.Minute + time.Second)
	if code, msg, _ := lookup(d); code != http.StatusOK {
		t.Fatalf("after the hold lapsed: %d %s", code, msg)
	}
	// Another clerk is not held by lan.clerk's look-up.
	if _, err := f.svc.Lookup(intake.WithUser(ctx, f.clerk2), a.IDNumber); err != nil {
		t.Fatalf("another clerk: %v", err)
	}

	// The refusal is on the record asked for, without the open one's number.
	recs := accesses(t, f, ledger.AccessFilter{IDNumber: b.IDNumber})
	var outcomes []string
	for _, r := range recs {
		outcomes = append(outcomes, r.User+":"+r.Kind+":"+r.Outcome)
	}
	want := "lan.clerk:refused:refused: a look-up of another person is open hoa.sup:register: lan.clerk:register:"
	if got := strings.Join(outcomes, " "); got != want {
		t.Fatalf("b's access records:\n%s\nwant\n%s", got, want)
	}
	var released int
	if err := f.pool.QueryRow(ctx, "SELECT count(*) FROM audit_log WHERE action = 'lookup.released' AND subject = $1 AND actor = 'lan.clerk'",
		"person/"+a.IDNumber).Scan(&released); err != nil || released != 1 {
		t.Fatalf("giving up recorded %d times (%v), want once", released, err)
	}
	auditIntact(t, f)
}

// TestReadsChainedInSets: reads are durable in access_pending as soon as they are made
// and chained onto the audit log in sets, by the background chainer as by any reader;
// a deleted chained read is then detected like any audit row.
func TestReadsChainedInSets(t *testing.T) {
	ctx := context.Background()
	p := resident(t, 36, true)
	f := setup(t, p)
	f.svc.Limits = intake.Limits{LookupsPerMinute: 5000, LookupsPerDay: 5000}
	uctx := intake.WithUser(ctx, f.clerk)
	const n = 2345
	for range n {
		if _, err := f.svc.Lookup(uctx, p.IDNumber); err != nil {
			t.Fatal(err)
		}
	}
	var pending, chained int
	count := func() {
		t.Helper()
		if err := f.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM access_pending),
			(SELECT count(*) FROM audit_log WHERE action = 'access.register')`).Scan(&pending, &chained); err != nil {
			t.Fatal(err)
		}
	}
	count()
	if pending != n || chained != 0 {
		t.Fatalf("before chaining: %d pending, %d chained; want %d, 0", pending, chained, n)
	}
	// The background chainer takes them in sets of 1000.
	cctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		f.svc.ChainReads(cctx, 10*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if count(); pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	<-done
	if pending != 0 || chained != n {
		t.Fatalf("after chaining: %d pending, %d chained; want 0, %d", pending, chained, n)
	}
	var sets int
	if err := f.pool.QueryRow(ctx, "SELECT count(DISTINCT chain) FROM audit_log WHERE action = 'access.register'").Scan(&sets); err != nil || sets < 1 {
		t.Fatalf("chains used: %d %v", sets, err)
	}
	auditIntact(t, f)
	// Reads made since are chained by the reader of access records before it reads.
	if _, err := f.svc.Lookup(uctx, p.IDNumber); err != nil {
		t.Fatal(err)
	}
	if recs := accesses(t, f, ledger.AccessFilter{User: "lan.clerk", Limit: 100000}); len(recs) != n+1 {
		t.Fatalf("access records: %d, want %d", len(recs), n+1)
	}
	// A chained read cannot be removed unseen (the audit log's rules are bypassed as an
	// intruder with the table owner's rights would).
	if _, err := f.pool.Exec(ctx, `ALTER TABLE audit_log DISABLE RULE audit_log_no_delete;
		DELETE FROM audit_log WHERE (chain, seq) = (SELECT chain, seq FROM audit_log WHERE action = 'access.register' ORDER BY seq LIMIT 1 OFFSET 500)`); err != nil {
		t.Fatal(err)
	}
	rep, err := ledger.VerifyAudit(ctx, f.pool)
	if err != nil || rep.OK() || !strings.Contains(rep.Problems[0].Reason, "deleted") {
		t.Fatalf("after deleting a chained read: %+v %v; want it found deleted", rep, err)
	}
}

// waitFor waits up to 30 s for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30 s for %s", what)
		}
	}
}

// blockedGroup starts lan.clerk's look-up of p in a group of its own that waits for a
// transaction holding lan.clerk's counts row (made by a look-up of warm, then given
// up), so that look-ups made meanwhile queue behind it. Committing the transaction lets
// the group go; the channel then gets the look-up's error.
func blockedGroup(t *testing.T, f *fixture, warm, p issuance.Person) (pgx.Tx, <-chan error) {
	t.Helper()
	ctx := context.Background()
	lan := intake.WithUser(ctx, f.clerk)
	if _, err := f.svc.Lookup(lan, warm.IDNumber); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Release(ctx, f.clerk); err != nil {
		t.Fatal(err)
	}
	blocker, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blocker.Rollback(ctx) })
	if _, err := blocker.Exec(ctx, "SELECT 1 FROM access_counts WHERE name = 'lan.clerk' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := f.svc.Lookup(lan, p.IDNumber); done <- err }()
	waitFor(t, "lan.clerk's group to wait for the lock", func() bool {
		var n int
		f.pool.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%access_counts%'").Scan(&n)
		return n == 1
	})
	return blocker, done
}

// TestLookupsGrouped: look-ups that arrive while a group is being written go together
// in the next statement, one per user, each with its own result and its own record; a
// user's second look-up waits for the group after; a look-up given up while it waits
// leaves nothing behind.
func TestLookupsGrouped(t *testing.T) {
	ctx := context.Background()
	const clerks = 20
	var people []issuance.Person
	for i := range clerks + 3 {
		p := resident(t, 40+i, i%2 == 0)
		p.PlaceOfResidence = fmt.Sprintf("Số %d Phố Huế, Phường Hàng Bài, Hoàn Kiếm, Hà Nội", 100+i)
		people = append(people, p)
	}
	f := setup(t, people...)
	users := make([]intake.User, clerks)
	for i := range users {
		users[i] = intake.User{Name: fmt.Sprintf("clerk.%02d", i), Role: intake.RoleClerk, Office: office}
		if _, err := f.svc.AddUser(ctx, users[i]); err != nil {
			t.Fatal(err)
		}
	}
	lan := intake.WithUser(ctx, f.clerk)
	a, b, c := people[clerks], people[clerks+1], people[clerks+2]
	blocker, first := blockedGroup(t, f, c, a)
	groups0, lookups0 := f.svc.LookupGroups() // the blocked group counts once written
	// A look-up given up while it waits is taken off the queue.
	gone, giveUp := context.WithCancel(intake.WithUser(ctx, f.clerk2))
	gaveUp := make(chan error, 1)
	go func() { _, err := f.svc.Lookup(gone, b.IDNumber); gaveUp <- err }()
	waitFor(t, "minh.clerk's look-up to queue", func() bool { return f.svc.QueuedLookups() == 1 })
	giveUp()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("a look-up given up while it waits: %v, want context.Canceled", err)
	}
	if n := f.svc.QueuedLookups(); n != 0 {
		t.Fatalf("%d look-ups queued after the only one was given up", n)
	}
	// Twenty clerks, and lan.clerk twice more (someone else, and the same person again),
	// queue behind the first group: a group writes a user's counts row once, so one of
	// lan.clerk's waits for the group after.
	got := make([]issuance.Person, clerks)
	errs := make([]error, clerks)
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = f.svc.Lookup(intake.WithUser(ctx, users[i]), people[i].IDNumber)
		}()
	}
	second, again := make(chan error, 1), make(chan error, 1)
	go func() { _, err := f.svc.Lookup(lan, b.IDNumber); second <- err }()
	go func() { _, err := f.svc.Lookup(lan, a.IDNumber); again <- err }()
	waitFor(t, "22 look-ups to queue", func() bool { return f.svc.QueuedLookups() == clerks+2 })
	if err := blocker.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("lan.clerk's first look-up: %v", err)
	}
	if err := <-second; !errors.Is(err, intake.ErrLookupOpen) {
		t.Fatalf("lan.clerk's look-up of another person while one is open: %v, want ErrLookupOpen", err)
	}
	if err := <-again; err != nil {
		t.Fatalf("lan.clerk's look-up of the open person again: %v", err)
	}
	for i := range users {
		if errs[i] != nil || got[i].IDNumber != people[i].IDNumber || got[i].PlaceOfResidence != people[i].PlaceOfResidence {
			t.Fatalf("%s's look-up: %v %s %q; want %s %q", users[i].Name, errs[i], got[i].IDNumber, got[i].PlaceOfResidence,
				people[i].IDNumber, people[i].PlaceOfResidence)
		}
	}
	groups, lookups := f.svc.LookupGroups()
	if groups-groups0 != 3 || lookups-lookups0 != clerks+3 {
		t.Fatalf("%d look-ups in %d groups; want %d in 3 (the blocked one alone, all that queued behind it but one, that one)",
			lookups-lookups0, groups-groups0, clerks+3)
	}
	// Each read is recorded once, on its own person; the one given up, not at all.
	for i, u := range users {
		recs := accesses(t, f, ledger.AccessFilter{User: u.Name})
		if len(recs) != 1 || recs[0].IDNumber != people[i].IDNumber || recs[0].Kind != "register" {
			t.Fatalf("%s's access records: %+v; want one read of %s", u.Name, recs, people[i].IDNumber)
		}
	}
	if recs := accesses(t, f, ledger.AccessFilter{User: "minh.clerk"}); len(recs) != 0 {
		t.Fatalf("the look-up given up while it waited left %d access records", len(recs))
	}
	if recs := accesses(t, f, ledger.AccessFilter{IDNumber: b.IDNumber}); len(recs) != 1 || recs[0].Kind != "refused" {
		t.Fatalf("b's access records: %+v; want lan.clerk's refusal", recs)
	}
	auditIntact(t, f)
}

// TestLookupGroupFails: when a group's statement fails, every look-up in it gets the
// error and nothing of the group stays (no count, no hold, no record); the next
// look-ups go through.
func TestLookupGroupFails(t *testing.T) {
	ctx := context.Background()
	a, b, c := resident(t, 70, true), resident(t, 71, false), resident(t, 72, true)
	f := setup(t, a, b, c)
	minh := intake.WithUser(ctx, f.clerk2)
	// A fault in the database: recording a read of b fails.
	if _, err := f.pool.Exec(ctx, `CREATE FUNCTION fail_b() RETURNS trigger LANGUAGE plpgsql AS
		$$BEGIN RAISE EXCEPTION 'injected fault'; END$$;
		CREATE TRIGGER fail_b BEFORE INSERT ON access_pending FOR EACH ROW
		WHEN (NEW.subject = 'person/`+b.IDNumber+`') EXECUTE FUNCTION fail_b()`); err != nil {
		t.Fatal(err)
	}
	counts := func() string {
		t.Helper()
		var s string
		if err := f.pool.QueryRow(ctx, `SELECT string_agg(name || ':' || per_day || ':' || open_id, ' ' ORDER BY name)
			FROM access_counts`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	// lan.clerk's look-up of a goes alone in a blocked group; minh.clerk's of b queues behind it.
	blocker, first := blockedGroup(t, f, c, a)
	groups0, _ := f.svc.LookupGroups()
	before := counts()
	second := make(chan error, 1)
	go func() { _, err := f.svc.Lookup(minh, b.IDNumber); second <- err }()
	waitFor(t, "minh.clerk's look-up to queue", func() bool { return f.svc.QueuedLookups() == 1 })
	if err := blocker.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatalf("the blocked group: %v", err)
	}
	if err := <-second; err == nil || !strings.Contains(err.Error(), "injected fault") {
		t.Fatalf("a look-up whose group failed: %v, want the database's error", err)
	}
	if groups, _ := f.svc.LookupGroups(); groups != groups0+2 {
		t.Fatalf("%d groups written, want 2 (the blocked one, then the failed one)", groups-groups0)
	}
	if got := accesses(t, f, ledger.AccessFilter{IDNumber: b.IDNumber}); len(got) != 0 {
		t.Fatalf("the failed group left records of b: %+v", got)
	}
	after := counts()
	want := strings.Replace(before, "lan.clerk:1:", "lan.clerk:2:"+a.IDNumber, 1)
	if after != want {
		t.Fatalf("counts after the failed group: %q; want %q (only the blocked group's look-up counted)", after, want)
	}
	// The fault gone, the same look-up goes through on the same pool.
	if _, err := f.pool.Exec(ctx, "DROP TRIGGER fail_b ON access_pending"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := f.svc.Lookup(minh, b.IDNumber); err != nil {
			t.Fatalf("after the fault: %v", err)
		}
	}
	auditIntact(t, f)
}
