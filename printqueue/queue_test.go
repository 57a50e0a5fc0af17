package printqueue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/broker"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/portrait"
	"github.com/cccd-project/cccd/issuance/registry"
	"github.com/cccd-project/cccd/issuance/store/storetest"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/prep"
	"github.com/cccd-project/cccd/printqueue"
	"github.com/cccd-project/cccd/printqueue/layout"
	"github.com/cccd-project/cccd/printqueue/printer"
	"github.com/cccd-project/cccd/printqueue/qc"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var (
	operator = ledger.Actor{Name: "op", Role: "operator", Office: "001-SX01"}
	quiet    = slog.New(slog.DiscardHandler)
	issueDay = issuance.MustParseDate("2026-11-20")
)

// seed inserts n approved applications of synthetic residents.
func seed(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "INSERT INTO users (name, role, office, token_hash) VALUES ('clerk1', 'clerk', '001-HK01', 'x')"); err != nil {
		t.Fatal(err)
	}
	rs, err := registry.Generator{Seed: 7}.Residents(n)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rs {
		jpeg, err := portrait.Generate(int64(i))
		if err != nil {
			t.Fatal(err)
		}
		app := rs[i].Application(issuance.ReasonFirstIssue, jpeg)
		person, _ := json.Marshal(app.Person)
		if _, err := pool.Exec(ctx, `INSERT INTO applications (receipt, id_number, state, person, portrait, reason, intake_office, delivery, clerk)
			VALUES ($1, $2, 'approved', $3, $4, 'first_issue', '001-HK01', '{"method": "office", "office": "001-HK01"}', 'clerk1')`,
			fmt.Sprintf("R%d", i+1), app.IDNumber, person, app.Portrait); err != nil {
			t.Fatal(err)
		}
	}
}

// station stands in for `cccd station`: it "writes" each chip with the data
// personalization/prep gives and records DG1 and DG13 as read back from it. For the
// applications in wrongName, the first chip's DG13 carries another name (a chip
// written from stale data), which QC must catch.
type station struct {
	db        *pgxpool.Pool
	engine    *workflow.Engine
	next      atomic.Int64
	wrongName sync.Map // application ID -> true, consumed on the first card
}

func (s *station) MakeCard(ctx context.Context, j workflow.Job, start func(string) error) (string, error) {
	serial := fmt.Sprintf("CHIP%06d", s.next.Add(1))
	if err := start(serial); err != nil {
		return "", err
	}
	var person []byte
	var app issuance.Application
	if err := s.db.QueryRow(ctx, "SELECT person, portrait FROM applications WHERE id = $1", j.ApplicationID).Scan(&person, &app.Portrait); err != nil {
		return "", err
	}
	if err := json.Unmarshal(person, &app.Person); err != nil {
		return "", err
	}
	c, err := prep.Prepare(app, issueDay, serial)
	if err != nil {
		return "", err
	}
	dg13 := c.DG13Raw
	if _, wrong := s.wrongName.LoadAndDelete(j.ApplicationID); wrong {
		d := c.DG13
		d.FullName += " Văn"
		if dg13, err = d.Encode(); err != nil {
			return "", err
		}
	}
	if err := s.engine.RecordReadback(ctx, serial, c.DG1, dg13); err != nil {
		return "", err
	}
	return c.MRZText(), nil
}

// jammed is a printer back-end that fails its first `fails` jobs, then spools.
type jammed struct {
	fails atomic.Int64
	calls atomic.Int64
	spool printer.Spool
}

func (p *jammed) Print(ctx context.Context, name string, pdf []byte) error {
	p.calls.Add(1)
	if p.fails.Add(-1) >= 0 {
		return errors.New("printer: card jam in the flipper module")
	}
	return p.spool.Print(ctx, name, pdf)
}

type world struct {
	t      *testing.T
	pool   *pgxpool.Pool
	engine *workflow.Engine
	st     *station
	out    string
	back   *jammed
	queue  *printqueue.Queue
	batch  int64
}

// newWorld seeds n applications, starts the relay, a station and the print queue with
// its stages on an embedded broker, and starts the batch.
func newWorld(t *testing.T, n int, cfg printqueue.Config, jams int64) *world {
	t.Helper()
	pool := storetest.New(t)
	seed(t, pool, n)
	return newWorldOn(t, pool, cfg, jams)
}

// newWorldOn is newWorld on a database already holding its approved applications.
func newWorldOn(t *testing.T, pool *pgxpool.Pool, cfg printqueue.Config, jams int64) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &world{t: t, pool: pool, engine: &workflow.Engine{DB: pool, Log: quiet}, out: t.TempDir()}
	w.st = &station{db: pool, engine: w.engine}
	spool := filepath.Join(w.out, "spool")
	if err := os.MkdirAll(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	w.back = &jammed{spool: printer.Spool{Dir: spool}}
	w.back.fails.Store(jams)
	cfg.Out = w.out
	if cfg.Printer == "" {
		cfg.Printer = "P1"
	}
	if cfg.BackOff == nil {
		cfg.BackOff = []time.Duration{20 * time.Millisecond, 50 * time.Millisecond}
	}
	cfg.Poll = 100 * time.Millisecond
	q, err := printqueue.New(pool, w.engine, w.back, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	w.queue = q
	b, err := broker.Connect(ctx, broker.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := workflow.EnsureStreams(ctx, b.JS); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	run := func(f func(context.Context) error) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	run((&workflow.Relay{DB: pool, JS: b.JS, Log: quiet}).Run)
	run((&workflow.JobWorker{Engine: w.engine, JS: b.JS, Log: quiet, Line: "L1", Station: "st1", Workers: 2,
		AckWait: 5 * time.Second, Maker: w.st}).Run)
	run(func(ctx context.Context) error { return q.RunStages(ctx, b.JS, 5*time.Second) })
	t.Cleanup(func() { cancel(); wg.Wait(); b.Close() })

	batches, err := w.engine.CreateBatches(ctx, operator, "L1", "", 0)
	if err != nil || len(batches) != 1 {
		t.Fatalf("batches %+v %v", batches, err)
	}
	w.batch = batches[0].ID
	return w
}

func (w *world) start(wrongName ...int64) {
	for _, id := range wrongName {
		w.st.wrongName.Store(id, true)
	}
	if _, err := w.engine.StartBatch(context.Background(), operator, w.batch); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) count(query string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// waitFor polls until query counts want (a safety deadline only: no timing is asserted).
func (w *world) waitFor(what string, want int, query string, args ...any) {
	w.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for w.count(query, args...) != want {
		if time.Now().After(deadline) {
			jobs, _ := printqueue.List(context.Background(), w.pool, printqueue.Filter{})
			w.t.Fatalf("gave up waiting for %s (%d); jobs %+v", what, w.count(query, args...), jobs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkFaces reads the MRZ and fields of every application's printed face back from
// its PDF and compares them with the chip's read-back.
func (w *world) checkFaces(n int) {
	w.t.Helper()
	ctx := context.Background()
	d, _ := layout.Lookup(layout.DefaultDesign)
	for id := int64(1); id <= int64(n); id++ {
		serial, dg1raw, dg13raw, err := w.engine.Readback(ctx, id)
		if err != nil {
			w.t.Fatal(err)
		}
		jobs, err := printqueue.List(ctx, w.pool, printqueue.Filter{Receipt: fmt.Sprintf("R%d", id)})
		if err != nil || len(jobs) == 0 || jobs[0].Serial != serial || jobs[0].State != printqueue.Printed {
			w.t.Fatalf("application %d: jobs %+v, %v; want a printed job for card %s first", id, jobs, err, serial)
		}
		if want := fmt.Sprintf("R%d-%s.pdf", id, serial); filepath.Base(jobs[0].PDF) != want {
			w.t.Fatalf("pdf %s, want %s", jobs[0].PDF, want)
		}
		pdf, err := os.ReadFile(jobs[0].PDF)
		if err != nil {
			w.t.Fatal(err)
		}
		pages, err := qc.Extract(ctx, pdf)
		if err != nil {
			w.t.Fatal(err)
		}
		face, err := qc.ReadFace(pages, d)
		if err != nil {
			w.t.Fatal(err)
		}
		dg1, err := lds.ParseDG1(dg1raw)
		if err != nil {
			w.t.Fatal(err)
		}
		if got := face.MRZ[0] + face.MRZ[1] + face.MRZ[2]; got != dg1.MRZ {
			w.t.Errorf("application %d: printed MRZ %q, DG1 on the chip %q", id, got, dg1.MRZ)
		}
		dg13, _ := lds.ParseDG13(dg13raw)
		if face.Fields["IDNumber"] != dg13.IDNumber || qc.Normalize(face.Fields["PlaceOfResidence"]) != qc.Normalize(dg13.PlaceOfResidence) {
			w.t.Errorf("application %d: face %v, chip %+v", id, face.Fields, dg13)
		}
		spooled, err := os.ReadFile(filepath.Join(w.out, "spool", strings.TrimSuffix(filepath.Base(jobs[0].PDF), ".pdf")+".pdf"))
		if err != nil || string(spooled) != string(pdf) {
			w.t.Errorf("application %d: the printer got no copy of %s: %v", id, jobs[0].PDF, err)
		}
	}
}

func (w *world) reconcile() workflow.Reconciliation {
	w.t.Helper()
	r, err := w.engine.ReconcileBatch(context.Background(), w.batch)
	if err != nil {
		w.t.Fatal(err)
	}
	if !r.Balanced() {
		w.t.Fatalf("reconciliation does not balance: %+v", r)
	}
	return r
}

// TestPrintAndQC runs the print and QC stages over a batch: one chip disagrees with
// its face (QC spoils it, a new card is made and printed), the printer jams for the
// first jobs (retried until it recovers), and an operator reprints one card.
func TestPrintAndQC(t *testing.T) {
	const n = 6
	ctx := context.Background()
	w := newWorld(t, n, printqueue.Config{MaxAttempts: 5}, 3)
	w.start(4)
	w.waitFor("every application qc_passed", n, "SELECT count(*) FROM applications WHERE state = 'qc_passed'")

	t.Run("faces equal chips", func(t *testing.T) { w.checkFaces(n) })
	t.Run("QC mismatch spoils the card", func(t *testing.T) {
		var reason string
		if err := w.pool.QueryRow(ctx, "SELECT reason FROM cards WHERE application_id = 4 AND state = 'spoiled'").Scan(&reason); err != nil {
			t.Fatalf("no spoiled card for application 4: %v", err)
		}
		if !strings.Contains(reason, "FullName") || strings.Contains(reason, "MRZ") {
			t.Fatalf("spoilage reason %q, want it to name FullName only", reason)
		}
		if got := w.count("SELECT count(*) FROM application_events WHERE application_id = 4 AND from_state = 'printed' AND to_state = 'queued'"); got != 1 {
			t.Fatalf("application 4 re-queued %d times, want 1", got)
		}
		jobs, _ := printqueue.List(ctx, w.pool, printqueue.Filter{Receipt: "R4"})
		if len(jobs) != 2 || !strings.Contains(jobs[0].Reason, "replaces card "+jobs[1].Serial) {
			t.Fatalf("jobs of R4 %+v: want the new card's job to name the card it replaces", jobs)
		}
	})
	t.Run("jammed printer retried", func(t *testing.T) {
		if got := w.count("SELECT coalesce(max(attempts), 0) FROM print_jobs"); got < 2 {
			t.Fatalf("max attempts %d: the jams were not retried", got)
		}
		if got := w.count("SELECT count(*) FROM print_jobs WHERE state <> 'printed'"); got != 0 {
			t.Fatalf("%d jobs not printed", got)
		}
		if w.back.calls.Load() != int64(n+1+3) {
			t.Fatalf("printer called %d times, want %d cards + 3 jams", w.back.calls.Load(), n+1)
		}
	})
	t.Run("reprint counts spoilage", func(t *testing.T) {
		before := w.reconcile()
		if err := printqueue.Reprint(ctx, w.engine, operator, "R2", "laminate scratched"); err != nil {
			t.Fatal(err)
		}
		if err := printqueue.Reprint(ctx, w.engine, operator, "R2", " "); err == nil {
			t.Fatal("a reprint without a reason was accepted")
		}
		if err := printqueue.Reprint(ctx, w.engine, operator, "R2", "scratched\x00"); !errors.As(err, new(issuance.ValidationError)) {
			t.Fatalf("a reprint reason with a NUL: %v, want the note rules' refusal", err)
		}
		w.waitFor("R2 qc_passed again", n, "SELECT count(*) FROM applications WHERE state = 'qc_passed'")
		w.waitFor("R2 new card printed", 2, "SELECT count(*) FROM print_jobs WHERE application_id = 2 AND state = 'printed'")
		after := w.reconcile()
		if after.Spoiled != before.Spoiled+1 || after.Started != before.Started+1 {
			t.Fatalf("reconciliation before %+v after %+v: want one more card started and spoiled", before, after)
		}
		var reason string
		w.pool.QueryRow(ctx, "SELECT reason FROM cards WHERE application_id = 2 AND state = 'spoiled'").Scan(&reason)
		if reason != "reprint: laminate scratched" {
			t.Fatalf("old card's reason %q", reason)
		}
		w.checkFaces(n)
	})
	t.Run("verify", func(t *testing.T) {
		vs, err := printqueue.Verify(ctx, w.engine, w.batch)
		if err != nil || len(vs) != n {
			t.Fatalf("Verify: %d cards, %v", len(vs), err)
		}
		for _, v := range vs {
			if !v.OK || v.PDF == "" {
				t.Errorf("%+v", v)
			}
		}
	})
	t.Run("proof sheet", func(t *testing.T) {
		path, cards, err := printqueue.ProofSheet(ctx, w.engine, w.out, "", w.batch)
		if err != nil || cards != n || path != filepath.Join(w.out, "proofs", fmt.Sprintf("batch-%d.pdf", w.batch)) {
			t.Fatalf("ProofSheet = %s, %d, %v", path, cards, err)
		}
		text, err := exec.Command("pdftotext", path, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext (Debian poppler-utils): %v", err)
		}
		for id := int64(1); id <= n; id++ {
			_, dg1, _, _ := w.engine.Readback(ctx, id)
			m, _ := lds.ParseDG1(dg1)
			if !strings.Contains(string(text), m.MRZ[60:]) {
				t.Errorf("proof sheet lacks the MRZ name line %q of application %d", m.MRZ[60:], id)
			}
		}
		if _, _, err := printqueue.ProofSheet(ctx, w.engine, w.out, "", w.batch+99); !errors.Is(err, printqueue.ErrEmptyBatch) {
			t.Fatalf("proof of a missing batch: %v", err)
		}
	})
}

// TestPrinterDown: a printer that stays jammed leaves its job failed for an operator
// after MaxAttempts, in order; Retry after the repair prints it.
func TestPrinterDown(t *testing.T) {
	const n = 2
	ctx := context.Background()
	w := newWorld(t, n, printqueue.Config{Printer: "P-DOWN", MaxAttempts: 2}, 1<<40)
	w.start()
	w.waitFor("head job failed for good", 1, "SELECT count(*) FROM print_jobs WHERE state = 'failed' AND attempts = max_attempts")
	st, err := printqueue.Status(ctx, w.pool)
	if err != nil || len(st) != 1 || st[0].Printer != "P-DOWN" || st[0].NeedsOperator != 1 || !st[0].Down {
		t.Fatalf("status %+v %v", st, err)
	}
	// The printer is down: the job behind the failed one waits, untouched, in order.
	w.waitFor("second job enqueued", n, "SELECT count(*) FROM print_jobs")
	if got := w.count("SELECT count(*) FROM print_jobs WHERE state = 'queued' AND attempts = 0 AND id > (SELECT min(id) FROM print_jobs)"); got != n-1 {
		t.Fatalf("%d later jobs untouched, want %d", got, n-1)
	}
	jobs, _ := printqueue.List(ctx, w.pool, printqueue.Filter{State: printqueue.Failed})
	if len(jobs) != 1 || !jobs[0].NeedsOperator() || !strings.Contains(jobs[0].Error, "card jam") {
		t.Fatalf("failed jobs %+v", jobs)
	}
	if got := w.count("SELECT count(*) FROM applications WHERE state = 'personalized'"); got != n {
		t.Fatalf("%d applications personalized, want %d (none marked printed)", got, n)
	}
	if err := printqueue.Retry(ctx, w.pool, jobs[0].ID+1000); !errors.Is(err, printqueue.ErrNoJob) {
		t.Fatalf("Retry of a missing job: %v", err)
	}
	w.back.fails.Store(0) // repaired
	if err := printqueue.Retry(ctx, w.pool, jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	w.waitFor("every application qc_passed", n, "SELECT count(*) FROM applications WHERE state = 'qc_passed'")
	w.checkFaces(n)
	w.reconcile()
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  printqueue.Config
		ok   bool
	}{
		{name: "defaults", cfg: printqueue.Config{Printer: "P1", Out: "/tmp/x"}, ok: true},
		{name: "no printer", cfg: printqueue.Config{Out: "/tmp/x"}},
		{name: "printer with slash", cfg: printqueue.Config{Printer: "a/b", Out: "/tmp/x"}},
		{name: "no out", cfg: printqueue.Config{Printer: "P1"}},
		{name: "unknown design", cfg: printqueue.Config{Printer: "P1", Out: "/tmp/x", Design: "cmnd-1999"}},
		{name: "negative attempts", cfg: printqueue.Config{Printer: "P1", Out: "/tmp/x", MaxAttempts: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && (tt.cfg.Design != layout.DefaultDesign || tt.cfg.MaxAttempts != 5 || len(tt.cfg.BackOff) == 0) {
				t.Fatalf("defaults not filled: %+v", tt.cfg)
			}
		})
	}
}
