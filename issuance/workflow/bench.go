package workflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
)

// BenchResult is one run of the workflow benchmark.
type BenchResult struct {
	Apps         int           `json:"applications"`
	QueueTime    time.Duration `json:"queue_ns"` // approved -> job published on the work queue
	QueueRate    float64       `json:"queue_per_second"`
	ProduceTime  time.Duration `json:"produce_ns"` // job -> personalized -> printed -> qc_passed
	DeliverTime  time.Duration `json:"deliver_ns"` // dispatched -> at_office -> delivered
	DispatchTime time.Duration `json:"dispatch_ns"`
	ReceiveTime  time.Duration `json:"receive_ns"`
	HandTime     time.Duration `json:"hand_over_ns"`
	EndToEndTime time.Duration `json:"end_to_end_ns"` // the stages one after another
	EndToEndRate float64       `json:"end_to_end_per_second"`
	LineTime     time.Duration `json:"line_ns"` // a second set of applications with every stage running at once
	LineRate     float64       `json:"line_per_second"`
	Transitions  int64         `json:"application_transitions"`
	Messages     uint64        `json:"messages_published"`
	Balanced     bool          `json:"reconciliation_balanced"`
}

// serialMaker binds a fresh serial per job without touching a chip: the benchmark
// measures the workflow (database, outbox, JetStream, consumers); chips and faces are
// measured by their own benchmarks.
type serialMaker struct{ n atomic.Int64 }

func (m *serialMaker) MakeCard(_ context.Context, j Job, start func(string) error) (string, error) {
	s := fmt.Sprintf("BENCH%09d", m.n.Add(1))
	if err := start(s); err != nil {
		return "", err
	}
	return fmt.Sprintf("IDVNM%09d", j.ApplicationID), nil
}

// Bench moves 2×apps approved applications (in the scratch database) through the whole
// workflow, with workers consuming from JetStream. The first apps go stage after stage:
// batch and queue, personalization records, print and QC stages, dispatch, receipt and
// hand-over, each stage timed on its own. The other apps then go through a working
// line: every stage at once, shipments leaving as cards pass QC and counters handing
// them over as they arrive. office is the delivery office of the applications; staff
// works there.
func Bench(ctx context.Context, e *Engine, js jetstream.JetStream, log *slog.Logger, office string, apps, workers int) (BenchResult, error) {
	var r BenchResult
	op := ledger.Actor{Name: "bench.operator", Role: "operator", Office: "001-SX01"}
	staff := ledger.Actor{Name: "bench.staff", Role: "clerk", Office: office}
	if err := EnsureStreams(ctx, js); err != nil {
		return r, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	run := func(f func(context.Context) error) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	defer wg.Wait()
	defer cancel()
	run((&Relay{DB: e.DB, JS: js, Log: log}).Run)

	chips := &serialMaker{} // one supply of blank chips for both runs
	start := time.Now()
	batches, err := queueLine(ctx, e, op, "B1", office, apps, &r.Apps)
	if err != nil {
		return r, err
	}
	if err := waitUntil(ctx, e, "SELECT EXISTS (SELECT 1 FROM outbox)"); err != nil {
		return r, err
	}
	r.QueueTime = time.Since(start)
	r.QueueRate = float64(r.Apps) / r.QueueTime.Seconds()

	t1 := time.Now()
	// The production stage ends when every application's qc_passed event is on the bus:
	// watching the bus, as any observer would, adds no load to the database.
	run((&JobWorker{Engine: e, JS: js, Log: log, Line: "B1", Station: "bench", Workers: workers, Maker: chips}).Run)
	run((&StageWorker{Engine: e, JS: js, Log: log, Name: "print", On: lifecycle.Personalized, Workers: 2,
		DoSet: func(ctx context.Context, ids []int64) ([]int64, error) { return e.MarkPrintedSet(ctx, op, ids) }}).Run)
	run((&StageWorker{Engine: e, JS: js, Log: log, Name: "qc", On: lifecycle.Printed, Workers: 2,
		DoSet: func(ctx context.Context, ids []int64) ([]int64, error) { return e.QCPassSet(ctx, op, ids) }}).Run)
	if err := awaitEvents(ctx, js, lifecycle.QCPassed, r.Apps); err != nil {
		return r, err
	}
	r.ProduceTime = time.Since(t1)

	t2 := time.Now()
	ship, err := e.Dispatch(ctx, op, office, 0)
	if err != nil {
		return r, err
	}
	r.DispatchTime = time.Since(t2)
	t3 := time.Now()
	if _, err := e.Receive(ctx, staff, ship.ID); err != nil {
		return r, err
	}
	r.ReceiveTime = time.Since(t3)
	t4 := time.Now()
	if err := handOver(ctx, e, staff, ship.Items, workers); err != nil {
		return r, err
	}
	r.HandTime = time.Since(t4)
	r.DeliverTime = time.Since(t2)
	r.EndToEndTime = time.Since(start)
	r.EndToEndRate = float64(r.Apps) / r.EndToEndTime.Seconds()

	// A working line: the second set of applications, every stage at once.
	t5 := time.Now()
	run((&JobWorker{Engine: e, JS: js, Log: log, Line: "B2", Station: "bench", Workers: workers, Maker: chips}).Run)
	n := 0
	line, err := queueLine(ctx, e, op, "B2", office, apps, &n)
	if err != nil {
		return r, err
	}
	if err := runLine(ctx, e, op, staff, office, n, workers); err != nil {
		return r, err
	}
	r.LineTime = time.Since(t5)
	r.LineRate = float64(n) / r.LineTime.Seconds()

	if err := waitUntil(ctx, e, "SELECT EXISTS (SELECT 1 FROM outbox)"); err != nil {
		return r, err
	}
	e.DB.QueryRow(ctx, "SELECT count(*) FROM application_events").Scan(&r.Transitions)
	if info, err := js.Stream(ctx, EventsStream); err == nil {
		r.Messages += info.CachedInfo().State.Msgs
	}
	if info, err := js.Stream(ctx, JobsStream); err == nil {
		r.Messages += info.CachedInfo().State.Msgs
	}
	r.Balanced = true
	for _, b := range append(batches, line...) {
		rec, err := e.ReconcileBatch(ctx, b.ID)
		if err != nil {
			return r, err
		}
		r.Balanced = r.Balanced && rec.Balanced()
	}
	return r, nil
}

// queueLine batches up to apps approved applications for production line and starts
// the batches, which puts a job per application on the line's work queue; it adds the
// number of applications queued to n.
func queueLine(ctx context.Context, e *Engine, op ledger.Actor, line, office string, apps int, n *int) ([]Batch, error) {
	batches, err := e.CreateBatches(ctx, op, line, office, apps)
	if err != nil {
		return nil, err
	}
	for _, b := range batches {
		m, err := e.StartBatch(ctx, op, b.ID)
		if err != nil {
			return nil, err
		}
		*n += m
	}
	return batches, nil
}

// runLine is the delivery end of a working line: every 100 ms a shipment takes the cards
// that passed QC, the office receives it at once, and its counters hand the cards over
// as they arrive, until n applications are delivered.
func runLine(ctx context.Context, e *Engine, op, staff ledger.Actor, office string, n, counters int) error {
	desk := openCounters(ctx, e, staff, counters, n)
	defer desk.close()
	for shipped := 0; shipped < n; {
		ship, err := e.Dispatch(ctx, op, office, n-shipped)
		switch {
		case errors.Is(err, ErrNothingToDo):
		case err != nil:
			return err
		default:
			if _, err := e.Receive(ctx, staff, ship.ID); err != nil {
				return err
			}
			shipped += len(ship.Items)
			for _, it := range ship.Items {
				desk.queue <- it
			}
		}
		select {
		case err := <-desk.failed:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return desk.close()
}

// handOver hands items over at the office with the given number of counters.
func handOver(ctx context.Context, e *Engine, staff ledger.Actor, items []ShipmentItem, counters int) error {
	desk := openCounters(ctx, e, staff, counters, len(items))
	for _, it := range items {
		desk.queue <- it
	}
	return desk.close()
}

// officeCounters are an office's counters: each hands over, to its holder, the cards queued
// for it (up to size waiting) until the queue is closed or a hand-over fails.
type officeCounters struct {
	queue  chan ShipmentItem
	failed chan error
	done   sync.WaitGroup
	once   sync.Once
}

func openCounters(ctx context.Context, e *Engine, staff ledger.Actor, n, size int) *officeCounters {
	c := &officeCounters{queue: make(chan ShipmentItem, size), failed: make(chan error, n)}
	for range n {
		c.done.Add(1)
		go func() {
			defer c.done.Done()
			for it := range c.queue {
				if err := e.Hand(ctx, staff, Handover{Receipt: it.Receipt, Serial: it.Serial, Outcome: "delivered", ReceivedBy: "holder"}); err != nil {
					c.failed <- err
					return
				}
			}
		}()
	}
	return c
}

// close waits until the queued cards are handed over and returns the first failure.
func (c *officeCounters) close() error {
	c.once.Do(func() { close(c.queue) })
	c.done.Wait()
	select {
	case err := <-c.failed:
		return err
	default:
		return nil
	}
}

// waitUntil polls query (a yes/no question) every 20 ms until the answer is no.
func waitUntil(ctx context.Context, e *Engine, query string, args ...any) error {
	for {
		var more bool
		if err := e.DB.QueryRow(ctx, query, args...).Scan(&more); err != nil {
			return err
		}
		if !more {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// awaitEvents returns once n different applications have reached state to, as seen in
// the events stream.
func awaitEvents(ctx context.Context, js jetstream.JetStream, to lifecycle.AppState, n int) error {
	cons, err := js.OrderedConsumer(ctx, EventsStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{ledger.SubjectPrefix + string(to)}})
	if err != nil {
		return fmt.Errorf("workflow bench: watch %s events: %w", to, err)
	}
	seen := map[int64]bool{}
	done := make(chan struct{})
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if ev, err := AppEvent(m.Data()); err == nil && !seen[ev.ApplicationID] {
			seen[ev.ApplicationID] = true
			if len(seen) == n {
				close(done)
			}
		}
	})
	if err != nil {
		return fmt.Errorf("workflow bench: watch %s events: %w", to, err)
	}
	defer cc.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
