package workflow_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/broker"
	"github.com/cccd-project/cccd/issuance/lifecycle"
	"github.com/cccd-project/cccd/issuance/store/storetest"
	"github.com/cccd-project/cccd/issuance/workflow"
)

// running starts the relay and the given workers on a fresh embedded broker.
func running(t *testing.T, w *world, workers ...func(*broker.Broker) func(context.Context) error) *broker.Broker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b, err := broker.Connect(ctx, w.bcfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := workflow.EnsureStreams(ctx, b.JS); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	all := append([]func(*broker.Broker) func(context.Context) error{
		func(b *broker.Broker) func(context.Context) error {
			return (&workflow.Relay{DB: w.pool, JS: b.JS, Log: quiet}).Run
		}}, workers...)
	for _, f := range all {
		run := f(b)
		wg.Add(1)
		go func() { defer wg.Done(); run(ctx) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait(); b.Close() })
	return b
}

func newWorld(t *testing.T, n int) *world {
	pool := storetest.New(t)
	seed(t, pool, n)
	return &world{t: t, pool: pool, engine: &workflow.Engine{DB: pool, Log: quiet}, maker: &maker{},
		bcfg: broker.Config{StoreDir: t.TempDir()}}
}

func (w *world) startBatch() int64 {
	w.t.Helper()
	ctx := context.Background()
	bs, err := w.engine.CreateBatches(ctx, operator, "L1", "", 0)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.engine.StartBatch(ctx, operator, bs[0].ID); err != nil {
		w.t.Fatal(err)
	}
	return bs[0].ID
}

func jobWorker(w *world) func(*broker.Broker) func(context.Context) error {
	return func(b *broker.Broker) func(context.Context) error {
		return (&workflow.JobWorker{Engine: w.engine, JS: b.JS, Log: quiet, Line: "L1", Station: "st", Workers: 2, Maker: w.maker}).Run
	}
}

// TestDeadLetterRetryAndReject: a stage that keeps failing sends its messages to the
// dead-letter list after MaxDeliver attempts; an admin's retry delivers them again and
// a reject closes them.
func TestDeadLetterRetryAndReject(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 3)
	var broken atomic.Bool
	broken.Store(true)
	var attempts atomic.Int64
	stage := func(b *broker.Broker) func(context.Context) error {
		c := &workflow.Consumer{DB: w.pool, JS: b.JS, Log: quiet, Stream: workflow.EventsStream, Durable: "stage-print",
			Filter: "cccd.app.personalized", MaxDeliver: 3, BackOff: []time.Duration{50 * time.Millisecond},
			Handle: func(ctx context.Context, _ string, data []byte) error {
				attempts.Add(1)
				ev, err := workflow.AppEvent(data)
				if err != nil {
					return err
				}
				if broken.Load() {
					return errors.New("printer on fire")
				}
				return w.engine.MarkPrinted(ctx, operator, ev.ApplicationID)
			}}
		return c.Run
	}
	running(t, w, jobWorker(w), stage)
	w.startBatch()
	w.waitFor("personalized", 3, time.Minute)
	var dead []workflow.DeadLetter
	for deadline := time.Now().Add(time.Minute); len(dead) < 3; {
		var err error
		if dead, err = w.engine.DeadLetters(ctx, false); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d dead letters after %d attempts, want 3", len(dead), attempts.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := attempts.Load(); got != 9 {
		t.Fatalf("%d attempts, want 3 messages x MaxDeliver 3", got)
	}
	if d := dead[0]; d.Deliveries != 3 || d.Error != "printer on fire" || d.Consumer != "stage-print" {
		t.Fatalf("dead letter %+v", d)
	}
	broken.Store(false)
	for _, d := range dead[:2] {
		if err := w.engine.RetryDeadLetter(ctx, operator, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{"  ", "card\x1b[2J destroyed", "card destroyed\u200b"} {
		if err := w.engine.RejectDeadLetter(ctx, operator, dead[2].ID, bad); !errors.As(err, new(issuance.ValidationError)) {
			t.Fatalf("reject with reason %q: %v, want the note rules' refusal", bad, err)
		}
	}
	if err := w.engine.RejectDeadLetter(ctx, operator, dead[2].ID, "card destroyed by hand"); err != nil {
		t.Fatal(err)
	}
	if err := w.engine.RetryDeadLetter(ctx, operator, dead[2].ID); !errors.Is(err, workflow.ErrNoDeadLetter) {
		t.Fatalf("retry of a rejected dead letter: %v", err)
	}
	w.waitFor("printed", 2, time.Minute)
	if left, _ := w.engine.DeadLetters(ctx, false); len(left) != 0 {
		t.Fatalf("%d dead letters still open", len(left))
	}
}

// TestPauseAndResume: a paused batch holds its jobs and a paused application is
// skipped, until resumed; nothing is lost or failed meanwhile.
func TestPauseAndResume(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 4)
	if err := w.engine.SetPaused(ctx, operator, "R2", true); err != nil {
		t.Fatal(err)
	}
	bs, err := w.engine.CreateBatches(ctx, operator, "L1", "", 0)
	if err != nil || bs[0].Applications != 3 {
		t.Fatalf("a paused application was batched: %+v %v", bs, err)
	}
	if _, err := w.engine.StartBatch(ctx, operator, bs[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := w.engine.SetBatchPaused(ctx, operator, bs[0].ID, true); err != nil {
		t.Fatal(err)
	}
	if err := w.engine.SetBatchPaused(ctx, operator, bs[0].ID, true); !errors.Is(err, workflow.ErrBatchState) {
		t.Fatalf("pausing a paused batch: %v", err)
	}
	running(t, w, jobWorker(w))
	time.Sleep(2 * time.Second)
	if n := w.count("personalized"); n != 0 {
		t.Fatalf("%d cards made in a paused batch", n)
	}
	if err := w.engine.SetBatchPaused(ctx, operator, bs[0].ID, false); err != nil {
		t.Fatal(err)
	}
	w.waitFor("personalized", 3, time.Minute)
	var dead int
	w.pool.QueryRow(ctx, "SELECT count(*) FROM dead_letters").Scan(&dead)
	if dead != 0 {
		t.Fatalf("%d dead letters from holding a paused batch", dead)
	}
	var state string
	w.pool.QueryRow(ctx, "SELECT state FROM applications WHERE receipt = 'R2'").Scan(&state)
	if state != "approved" {
		t.Fatalf("paused application is %s", state)
	}
}

// TestRerun: an administrator re-runs a printed application from the queue: its card
// is destroyed, a new card is made, and the books still balance.
func TestRerun(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2)
	running(t, w, jobWorker(w))
	batch := w.startBatch()
	w.waitFor("personalized", 2, time.Minute)
	var app int64
	w.pool.QueryRow(ctx, "SELECT id FROM applications WHERE receipt = 'R1'").Scan(&app)
	if err := w.engine.MarkPrinted(ctx, operator, app); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		stage lifecycle.AppState
		want  error
	}{
		{lifecycle.Printed, lifecycle.ErrIllegalTransition},   // not backwards
		{lifecycle.Delivered, lifecycle.ErrIllegalTransition}, // not a re-run stage
	}
	for _, tc := range tests {
		if err := w.engine.Rerun(ctx, operator, "R1", tc.stage, "test"); !errors.Is(err, tc.want) {
			t.Fatalf("re-run from %s: %v", tc.stage, err)
		}
	}
	if err := w.engine.Rerun(ctx, operator, "R1", lifecycle.Queued, "\u202erecalled"); !errors.As(err, new(issuance.ValidationError)) {
		t.Fatalf("re-run with a bidi override in the reason: %v", err)
	}
	if err := w.engine.Rerun(ctx, operator, "R1", lifecycle.Queued, "face misprinted, card recalled"); err != nil {
		t.Fatal(err)
	}
	w.waitFor("personalized", 2, time.Minute)
	var cards, spoiled int
	w.pool.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE state = 'spoiled') FROM cards WHERE application_id = $1", app).Scan(&cards, &spoiled)
	if cards != 2 || spoiled != 1 {
		t.Fatalf("application re-run: %d cards, %d spoiled; want 2 and 1", cards, spoiled)
	}
	r, err := w.engine.ReconcileBatch(ctx, batch)
	if err != nil || !r.Balanced() {
		t.Fatalf("reconciliation %+v %v", r, err)
	}
	if err := w.engine.Rerun(ctx, operator, "R9", lifecycle.Queued, "x"); !errors.Is(err, workflow.ErrNoApplication) {
		t.Fatalf("re-run of an unknown receipt: %v", err)
	}
}
