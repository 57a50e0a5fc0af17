package workflow_test

import (
	"context"
	"encoding/json"
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
	"github.com/nats-io/nats.go"

	"github.com/cccd-project/cccd/issuance/broker"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
	"github.com/cccd-project/cccd/issuance/store/storetest"
	"github.com/cccd-project/cccd/issuance/workflow"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var (
	operator = ledger.Actor{Name: "op", Role: "operator", Office: "001-SX01"}
	officer  = ledger.Actor{Name: "hk.staff", Role: "clerk", Office: "001-HK01"}
	quiet    = slog.New(slog.NewTextHandler(os_discard{}, nil))
)

type os_discard struct{}

func (os_discard) Write(p []byte) (int, error) { return len(p), nil }

// seed inserts n approved applications to be delivered at office 001-HK01.
func seed(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "INSERT INTO users (name, role, office, token_hash) VALUES ('clerk1', 'clerk', '001-HK01', 'x')"); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO applications (receipt, id_number, state, person, portrait, reason, intake_office, delivery, clerk)
		SELECT 'R' || g, lpad(g::text, 12, '0'), 'approved', '{}', '\xffd8', 'first_issue', '001-HK01',
		'{"method": "office", "office": "001-HK01"}', 'clerk1' FROM generate_series(1, $1) g`, n); err != nil {
		t.Fatal(err)
	}
}

// auditIntact fails the test unless every audit chain verifies.
func auditIntact(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	rep, err := ledger.VerifyAudit(context.Background(), pool)
	if err != nil || !rep.OK() {
		t.Fatalf("audit: %+v, %v", rep, err)
	}
}

// maker is a station's hardware in this test: it hands out serials and fails (tears)
// every card whose attempt counter hits failEvery.
type maker struct {
	next      atomic.Int64
	failEvery int64
	made      atomic.Int64
	delay     time.Duration // writing a card takes this long
}

func (m *maker) MakeCard(ctx context.Context, j workflow.Job, start func(string) error) (string, error) {
	n := m.next.Add(1)
	serial := fmt.Sprintf("CHIP%06d", n)
	if err := start(serial); err != nil {
		return "", err
	}
	m.made.Add(1)
	time.Sleep(m.delay)
	if m.failEvery > 0 && n%m.failEvery == 0 {
		return "", fmt.Errorf("card removed from the reader (tear after APDU 12)")
	}
	return fmt.Sprintf("IDVNM%09d", j.ApplicationID), nil
}

// service is what `cccd serve` plus one station run: the relay, the line's job worker
// and the print and QC stages.
type service struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	b      *broker.Broker
}

type world struct {
	t      *testing.T
	pool   *pgxpool.Pool
	engine *workflow.Engine
	maker  *maker
	bcfg   broker.Config
	qcFail atomic.Int64 // fail QC once for this application ID
	sets   bool         // the print stage records its events in sets (StageWorker.DoSet)
	// streams are kept with this replica count and placement (default: one replica)
	streams workflow.Streams
}

func (w *world) start(onDone func(workflow.Job, string, error)) *service {
	w.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b, err := broker.Connect(ctx, w.bcfg)
	if err != nil {
		w.t.Fatal(err)
	}
	// A cluster that has just started may not place replicas yet.
	ready, done := context.WithTimeout(ctx, time.Minute)
	defer done()
	if err := w.streams.EnsureWhenReady(ready, b.JS, nil); err != nil {
		w.t.Fatal(err)
	}
	s := &service{cancel: cancel, b: b}
	run := func(f func(context.Context) error) {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); f(ctx) }()
	}
	run((&workflow.Relay{DB: w.pool, JS: b.JS, Log: quiet}).Run)
	run((&workflow.JobWorker{Engine: w.engine, JS: b.JS, Log: quiet, Line: "L1", Station: "st1", Workers: 2,
		AckWait: 2 * time.Second, Maker: w.maker, Done: onDone}).Run)
	print := &workflow.StageWorker{Engine: w.engine, JS: b.JS, Log: quiet, Name: "print", On: lifecycle.Personalized,
		AckWait: 2 * time.Second, Do: func(ctx context.Context, id int64) error { return w.engine.MarkPrinted(ctx, operator, id) }}
	if w.sets {
		print.Do, print.Batch = nil, 7
		print.DoSet = func(ctx context.Context, ids []int64) ([]int64, error) {
			return w.engine.MarkPrintedSet(ctx, operator, ids)
		}
	}
	run(print.Run)
	run((&workflow.StageWorker{Engine: w.engine, JS: b.JS, Log: quiet, Name: "qc", On: lifecycle.Printed,
		AckWait: 2 * time.Second, Do: func(ctx context.Context, id int64) error {
			if w.qcFail.CompareAndSwap(id, 0) {
				return w.engine.Spoil(ctx, operator, id, "QC: face data differs from chip")
			}
			return w.engine.QCPass(ctx, operator, id)
		}}).Run)
	return s
}

func (s *service) stop() {
	s.cancel()
	s.wg.Wait()
	s.b.Close()
}

func (w *world) count(state string) int {
	var n int
	w.pool.QueryRow(context.Background(), "SELECT count(*) FROM applications WHERE state = $1", state).Scan(&n)
	return n
}

func (w *world) waitFor(state string, n int, timeout time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for w.count(state) < n {
		if time.Now().After(deadline) {
			rows, _ := w.pool.Query(context.Background(), "SELECT state, count(*) FROM applications GROUP BY state")
			var got []string
			for rows.Next() {
				var s string
				var c int
				rows.Scan(&s, &c)
				got = append(got, fmt.Sprintf("%s=%d", s, c))
			}
			var dead int
			w.pool.QueryRow(context.Background(), "SELECT count(*) FROM dead_letters").Scan(&dead)
			w.t.Fatalf("timed out waiting for %d %s; states %v, %d dead letters", n, state, got, dead)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// natsProcess is a real nats-server process with JetStream, restartable on its port.
type natsProcess struct {
	t    *testing.T
	dir  string
	port int
	cmd  *exec.Cmd
}

func startNATS(t *testing.T) *natsProcess {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nats-server", "/usr/bin/nats-server"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		t.Fatal("nats-server not installed (Debian package nats-server; `make test` installs it)")
	}
	p := &natsProcess{t: t, dir: t.TempDir()}
	p.run(bin)
	t.Cleanup(p.kill)
	return p
}

func (p *natsProcess) run(bin string) {
	port := fmt.Sprint(p.port)
	if p.port == 0 {
		port = "-1"
	}
	p.cmd = exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", port, "-sd", filepath.Join(p.dir, "js"), "--ports_file_dir", p.dir)
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	file := filepath.Join(p.dir, fmt.Sprintf("nats-server_%d.ports", p.cmd.Process.Pid))
	for i := 0; i < 100; i++ {
		b, err := os.ReadFile(file)
		var ports struct{ Nats []string }
		if err == nil && json.Unmarshal(b, &ports) == nil && len(ports.Nats) > 0 {
			fmt.Sscanf(ports.Nats[0][strings.LastIndex(ports.Nats[0], ":")+1:], "%d", &p.port)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatal("nats-server did not start")
}

func (p *natsProcess) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", p.port) }

func (p *natsProcess) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

func (p *natsProcess) restart() {
	p.kill()
	time.Sleep(500 * time.Millisecond)
	p.run(p.cmd.Path)
}

func TestWorkflowEmbedded(t *testing.T) {
	runWorkflow(t, broker.Config{StoreDir: t.TempDir()}, nil)
}

func TestWorkflowExternalNATSRestart(t *testing.T) {
	p := startNATS(t)
	runWorkflow(t, broker.Config{URL: p.url()}, p)
}

// runWorkflow runs n applications through the line; with an external broker, which is
// restarted mid-run, the print stage records its events in sets.
func runWorkflow(t *testing.T, bcfg broker.Config, ext *natsProcess) {
	const n = 60
	ctx := context.Background()
	pool := storetest.New(t)
	seed(t, pool, n)
	w := &world{t: t, pool: pool, engine: &workflow.Engine{DB: pool, Log: quiet}, maker: &maker{failEvery: 9}, bcfg: bcfg, sets: ext != nil}
	w.qcFail.Store(7)

	batches, err := w.engine.CreateBatches(ctx, operator, "L1", "", 0)
	if err != nil || len(batches) != 1 || batches[0].Applications != n {
		t.Fatalf("batches %+v %v", batches, err)
	}
	// Kill the first service between the work on its 5th card and that card's ack: the
	// cancel inside the completion callback makes the acknowledgement fail, so the job of
	// a finished card is delivered again and must not yield a second card.
	var killed atomic.Bool
	var first *service
	var mu sync.Mutex
	mu.Lock()
	first = w.start(func(j workflow.Job, serial string, err error) {
		if w.maker.made.Load() >= 5 && killed.CompareAndSwap(false, true) {
			mu.Lock()
			first.cancel()
			mu.Unlock()
		}
	})
	mu.Unlock()
	if _, err := w.engine.StartBatch(ctx, operator, batches[0].ID); err != nil {
		t.Fatal(err)
	}
	for !killed.Load() {
		time.Sleep(10 * time.Millisecond)
	}
	first.wg.Wait()
	first.b.Close()

	svc := w.start(nil)
	// Deliver duplicates: every job so far and every "personalized" event so far
	// published again (rebuilt from the database: the relay deletes what it published),
	// with fresh message IDs so that stream de-duplication does not hide them.
	rows, err := pool.Query(ctx, `SELECT 'cccd.job.perso.' || line, json_build_object('job_id', id, 'application_id', application_id,
			'batch_id', batch_id, 'line', line, 'attempt', attempt)::text FROM jobs
		UNION ALL SELECT 'cccd.app.personalized', json_build_object('event_id', gen_random_uuid(), 'application_id', application_id,
			'from', from_state, 'to', to_state, 'at', at)::text FROM application_events WHERE to_state = 'personalized'`)
	if err != nil {
		t.Fatal(err)
	}
	var dups []*nats.Msg
	for rows.Next() {
		var subj, payload string
		if err := rows.Scan(&subj, &payload); err != nil {
			t.Fatal(err)
		}
		dups = append(dups, &nats.Msg{Subject: subj, Data: []byte(payload)})
	}
	if len(dups) < 5 {
		t.Fatalf("only %d messages to deliver again", len(dups))
	}
	for _, m := range dups {
		if _, err := svc.b.JS.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if ext != nil {
		w.waitFor("qc_passed", n/3, 2*time.Minute)
		ext.restart() // the broker goes away in the middle of the run
	}
	// Restart the service (as `cccd serve` would be restarted).
	w.waitFor("qc_passed", n/2, 2*time.Minute)
	svc.stop()
	svc = w.start(nil)
	defer svc.stop()
	w.waitFor("qc_passed", n, 3*time.Minute)

	if !killed.Load() {
		t.Fatal("the kill between work and ack never happened")
	}
	w.deliverAndCheck(batches[0].ID, n)
}

// deliverAndCheck dispatches, receives and hands over the n applications of the batch,
// all past QC, and checks the invariants: every one delivered once, one issued card per
// application and every chip bound once, spoiled cards (there must be some) accounted
// for in a balanced reconciliation per batch and per day, no dead letter, audit intact.
func (w *world) deliverAndCheck(batch int64, n int) {
	t, pool, ctx := w.t, w.pool, context.Background()
	t.Helper()
	ship, err := w.engine.Dispatch(ctx, operator, "001-HK01", 0)
	if err != nil || len(ship.Items) != n {
		t.Fatalf("dispatch: %d items, %v", len(ship.Items), err)
	}
	if _, err := w.engine.Receive(ctx, officer, ship.ID); err != nil {
		t.Fatal(err)
	}
	for _, it := range ship.Items {
		if err := w.engine.Hand(ctx, officer, workflow.Handover{Receipt: it.Receipt, Serial: it.Serial, Outcome: "delivered", ReceivedBy: "Chủ thẻ"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.count("delivered"); got != n {
		t.Fatalf("%d delivered, want %d", got, n)
	}
	// None twice: one issued card per application, every chip bound once.
	var apps, issued, spoiled, dead int
	pool.QueryRow(ctx, "SELECT count(DISTINCT application_id), count(*) FROM cards WHERE state = 'issued'").Scan(&apps, &issued)
	pool.QueryRow(ctx, "SELECT count(*) FROM cards WHERE state = 'spoiled'").Scan(&spoiled)
	pool.QueryRow(ctx, "SELECT count(*) FROM dead_letters").Scan(&dead)
	if apps != n || issued != n {
		t.Fatalf("%d issued cards for %d applications, want %d each", issued, apps, n)
	}
	if spoiled == 0 {
		t.Fatal("no card was spoiled: the injected tears and QC failure did not happen")
	}
	if dead != 0 {
		t.Fatalf("%d dead letters", dead)
	}
	for _, rec := range []func() (workflow.Reconciliation, error){
		func() (workflow.Reconciliation, error) { return w.engine.ReconcileBatch(ctx, batch) },
		func() (workflow.Reconciliation, error) { return w.engine.ReconcileDay(ctx, workflow.Day(time.Now())) },
	} {
		r, err := rec()
		if err != nil {
			t.Fatal(err)
		}
		if !r.Balanced() || r.Started != issued+spoiled || r.Issued != n {
			t.Fatalf("reconciliation %+v", r)
		}
	}
	auditIntact(t, pool)
}

// holdingMaker has no blank card for the first attempt at every job: the job must be
// offered again and complete without any card being spoiled.
type holdingMaker struct {
	maker
	mu   sync.Mutex
	seen map[string]bool
}

func (h *holdingMaker) MakeCard(ctx context.Context, j workflow.Job, start func(string) error) (string, error) {
	h.mu.Lock()
	first := !h.seen[j.ID]
	h.seen[j.ID] = true
	h.mu.Unlock()
	if first {
		return "", fmt.Errorf("no blank card in any reader: %w", workflow.ErrHold)
	}
	return h.maker.MakeCard(ctx, j, start)
}

func TestJobHeldWithoutCard(t *testing.T) {
	ctx := context.Background()
	pool := storetest.New(t)
	seed(t, pool, 5)
	e := &workflow.Engine{DB: pool, Log: quiet}
	b, err := broker.Connect(ctx, broker.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := workflow.EnsureStreams(ctx, b.JS); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	hm := &holdingMaker{seen: map[string]bool{}}
	for _, f := range []func(context.Context) error{
		(&workflow.Relay{DB: pool, JS: b.JS, Log: quiet}).Run,
		(&workflow.JobWorker{Engine: e, JS: b.JS, Log: quiet, Line: "L1", Station: "st", Workers: 2, Maker: hm}).Run,
	} {
		wg.Add(1)
		go func() { defer wg.Done(); f(runCtx) }()
	}
	bs, err := e.CreateBatches(ctx, operator, "L1", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.StartBatch(ctx, operator, bs[0].ID); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, pool: pool}
	w.waitFor("personalized", 5, time.Minute)
	var spoiled, jobs int
	pool.QueryRow(ctx, "SELECT count(*) FROM cards WHERE state = 'spoiled'").Scan(&spoiled)
	pool.QueryRow(ctx, "SELECT count(*) FROM jobs").Scan(&jobs)
	if spoiled != 0 || jobs != 5 {
		t.Fatalf("%d spoiled cards and %d jobs; a held job must spoil nothing and keep its job", spoiled, jobs)
	}
}
