package drill

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"sync"
	"time"

	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/workflow"
)

var (
	operator = ledger.Actor{Name: "drill.operator", Role: "operator", Office: "001-SX01"}
	staff    = ledger.Actor{Name: "drill.office", Role: "clerk", Office: Office}
)

// run carries the applications through the line: a first share without faults, then
// the rest with the faults of the plan.
func (d *drill) run(ctx context.Context, rep *Report) error {
	base := max(1, int(float64(d.cfg.Apps)*d.cfg.Baseline))
	office, stopOffice := d.runOffice(ctx)
	defer stopOffice()

	start := time.Now()
	b1, err := d.queue(ctx, base)
	if err != nil {
		return err
	}
	if err := d.waitDelivered(ctx, base, office); err != nil {
		return err
	}
	rep.Undisturbed = Phase{Applications: base, Seconds: time.Since(start).Seconds()}
	fmt.Fprintf(d.cfg.Out, "drill: %d applications delivered without faults in %.1f s\n", base, rep.Undisturbed.Seconds)

	rest := d.cfg.Apps - base
	start = time.Now()
	b2, err := d.queue(ctx, rest)
	if err != nil {
		return err
	}
	rep.Batches = []int64{b1, b2}
	plan := Plan(d.cfg.Seed, d.cfg.Faults)
	for _, f := range plan {
		fmt.Fprintf(d.cfg.Out, "drill: plan: %s at %.0f%% of the faulted applications\n", f.Kind, f.At*100)
	}
	for _, f := range plan {
		target := base + int(f.At*float64(rest))
		if err := waitFor(ctx, d.cfg.Timeout, fmt.Sprintf("%d delivered before fault %s", target, f.Kind), func() bool {
			return d.delivered(ctx) >= target
		}); err != nil {
			return err
		}
		res, err := d.inject(ctx, f)
		if err != nil {
			return err
		}
		rep.Faults = append(rep.Faults, res)
		fmt.Fprintf(d.cfg.Out, "drill: %-12s %-22s down %5.1f s, line moving again %5.1f s, target working again %5.1f s after the fault\n",
			res.Kind, res.Target, res.DownSeconds, res.RecoverySeconds, res.BackSeconds)
	}
	if err := d.waitDelivered(ctx, d.cfg.Apps, office); err != nil {
		return err
	}
	rep.Faulted = Phase{Applications: rest, Seconds: time.Since(start).Seconds()}
	fmt.Fprintf(d.cfg.Out, "drill: %d applications delivered with faults in %.1f s\n", rest, rep.Faulted.Seconds)
	return nil
}

// queue batches n approved applications and starts the batch.
func (d *drill) queue(ctx context.Context, n int) (int64, error) {
	bs, err := d.engine.CreateBatches(ctx, operator, Line, Office, n)
	if err != nil || len(bs) != 1 {
		return 0, fmt.Errorf("drill: batch of %d: %v (%d batches)", n, err, len(bs))
	}
	if _, err := d.engine.StartBatch(ctx, operator, bs[0].ID); err != nil {
		return 0, fmt.Errorf("drill: start batch %d: %w", bs[0].ID, err)
	}
	return bs[0].ID, nil
}

// delivered counts the applications delivered (0 while the database is away).
func (d *drill) delivered(ctx context.Context) int {
	var n int
	q, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	d.db.QueryRow(q, "SELECT count(*) FROM applications WHERE state = 'delivered'").Scan(&n)
	return n
}

// moved counts the transitions of the line so far (-1 while the database is away).
func (d *drill) moved(ctx context.Context) int {
	n := -1
	q, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	d.db.QueryRow(q, "SELECT count(*) FROM application_events").Scan(&n)
	return n
}

func (d *drill) waitDelivered(ctx context.Context, n int, office *officeStats) error {
	return waitFor(ctx, d.cfg.Timeout, fmt.Sprintf("%d applications delivered", n), func() bool {
		if err := office.failure(); err != nil {
			return true
		}
		return d.delivered(ctx) >= n
	})
}

// officeStats is what the office loop reports.
type officeStats struct {
	mu   sync.Mutex
	err  error
	errs int
}

func (o *officeStats) failure() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// runOffice is the receiving office: every second it has the cards past QC dispatched
// to it, receives the shipment and hands each card over. Errors while a fault lasts
// (the database restarting) are retried at the next round.
func (d *drill) runOffice(ctx context.Context) (*officeStats, func()) {
	ctx, cancel := context.WithCancel(ctx)
	st := &officeStats{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if err := d.officeRound(ctx); err != nil && ctx.Err() == nil {
				st.mu.Lock()
				st.errs++
				st.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	return st, func() { cancel(); wg.Wait() }
}

func (d *drill) officeRound(ctx context.Context) error {
	// Shipments received before a fault interrupted their hand-over come first.
	rows, err := d.db.Query(ctx, `SELECT a.receipt, c.serial FROM applications a
		JOIN cards c ON c.application_id = a.id AND c.state = 'in_stock' WHERE a.state = 'at_office'`)
	if err != nil {
		return err
	}
	var items []workflow.ShipmentItem
	for rows.Next() {
		var it workflow.ShipmentItem
		if err := rows.Scan(&it.Receipt, &it.Serial); err != nil {
			rows.Close()
			return err
		}
		items = append(items, it)
	}
	rows.Close()
	if len(items) == 0 {
		ship, err := d.engine.Dispatch(ctx, operator, Office, 0)
		if err != nil || len(ship.Items) == 0 {
			return err
		}
		if _, err := d.engine.Receive(ctx, staff, ship.ID); err != nil {
			return err
		}
		items = ship.Items
	}
	for _, it := range items {
		if err := d.engine.Hand(ctx, staff, workflow.Handover{Receipt: it.Receipt, Serial: it.Serial, Outcome: "delivered",
			ReceivedBy: "Chủ thẻ"}); err != nil {
			return err
		}
	}
	return nil
}

// Kinds of faults.
const (
	KillStation = "kill-station"
	KillServe   = "kill-serve"
	KillNATS    = "kill-nats"
	CutNetwork  = "cut-network"
	RestartDB   = "restart-db"
)

// Fault is one planned fault: its kind, when (the share of the faulted applications
// delivered before it), and the seeded choices it makes.
type Fault struct {
	Kind string
	At   float64
	Pick int // which station / NATS node (a NATS kill with Pick 0 takes the work queue's leader)
	Secs int // how long a cut lasts, or how long a killed process stays down
}

// Plan is the fault plan of a seed: the five kinds once each (with n >= 5; the
// database restarts once only), the rest drawn among the others, at increasing
// moments. The same seed gives the same plan.
func Plan(seed int64, n int) []Fault {
	r := rand.New(rand.NewPCG(uint64(seed), 0xd7111))
	kinds := []string{KillStation, KillNATS, CutNetwork, KillServe, RestartDB}
	if n < len(kinds) {
		kinds = kinds[:n]
	}
	for len(kinds) < n {
		kinds = append(kinds, []string{KillStation, KillServe, KillNATS, CutNetwork}[r.IntN(4)])
	}
	r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	plan := make([]Fault, n)
	leaderDone := false
	for i, k := range kinds {
		f := Fault{Kind: k, At: (float64(i) + 0.3 + 0.4*r.Float64()) / float64(n+1), Pick: r.IntN(3), Secs: 1 + r.IntN(3)}
		switch k {
		case CutNetwork:
			f.Secs, f.Pick = 10+r.IntN(21), f.Pick%2
		case KillStation:
			f.Pick %= 2
		case KillNATS:
			if !leaderDone {
				f.Pick, leaderDone = 0, true
			}
		}
		plan[i] = f
	}
	return plan
}

// inject makes one fault happen, undoes it after its time, and measures how long the
// line took to move again.
func (d *drill) inject(ctx context.Context, f Fault) (FaultResult, error) {
	res := FaultResult{Kind: f.Kind}
	before := d.moved(ctx)
	at := time.Now()
	movedAt := make(chan time.Time, 1)
	watch, stopWatch := context.WithTimeout(ctx, 5*time.Minute)
	defer stopWatch()
	go func() {
		for watch.Err() == nil {
			if n := d.moved(watch); n > before {
				movedAt <- time.Now()
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	var restore func() error
	switch f.Kind {
	case KillStation:
		h := d.st[f.Pick]
		res.Target = h.name + " (cccd station)"
		h.station.kill()
		restore = h.station.start
	case KillServe:
		res.Target = "serve (cccd serve)"
		d.serve.kill()
		restore = d.serve.start
	case KillNATS:
		name := d.nats.Nodes[f.Pick].Name
		if f.Pick == 0 {
			if l, err := d.leader(ctx); err == nil {
				name, res.Leader = l, true
			}
		}
		res.Target = name + " (nats-server)"
		if res.Leader {
			res.Target = name + " (work queue leader)"
		}
		if err := d.nats.Kill(name); err != nil {
			return res, err
		}
		restore = func() error { return d.nats.StartNode(ctx, name) }
	case CutNetwork:
		h := d.st[f.Pick]
		res.Target = h.name + " network"
		if err := d.link(h.name, "down"); err != nil {
			return res, err
		}
		restore = func() error { return d.link(h.name, "up") }
	case RestartDB:
		res.Target = "db (PostgreSQL, immediate stop)"
		if err := d.pg.Kill(ctx); err != nil {
			return res, fmt.Errorf("drill: stop PostgreSQL: %w", err)
		}
		restore = func() error { _, err := d.pg.Ensure(ctx); return err }
	}
	time.Sleep(time.Duration(f.Secs) * time.Second)
	if err := restore(); err != nil {
		return res, fmt.Errorf("drill: undo %s: %w", f.Kind, err)
	}
	res.DownSeconds = time.Since(at).Seconds()
	var err error
	select {
	case t := <-movedAt:
		res.RecoverySeconds = t.Sub(at).Seconds()
	case <-watch.Done():
		err = fmt.Errorf("drill: the line did not move within 5 minutes of %s", f.Kind)
	}
	if err == nil {
		err = d.back(ctx, f, at, &res)
	}
	return res, err
}

// back waits until the component the fault hit works again: a station (killed, or cut
// off the network) takes a card again, serve answers over HTTPS again. Other faults hit
// the whole line, whose moving again RecoverySeconds measures.
func (d *drill) back(ctx context.Context, f Fault, at time.Time, res *FaultResult) error {
	var err error
	switch f.Kind {
	case KillServe:
		err = d.serveUp(ctx)
	case KillStation, CutNetwork:
		station := d.st[f.Pick].name
		err = waitFor(ctx, 5*time.Minute, station+" taking cards again", func() bool {
			var n int
			q, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			d.db.QueryRow(q, `SELECT count(*) FROM cards c JOIN jobs j ON j.id = c.job_id
				WHERE j.station = $1 AND c.created_at > $2`, station, at).Scan(&n)
			return n > 0 || d.delivered(ctx) >= d.cfg.Apps
		})
	default:
		return nil
	}
	res.BackSeconds = time.Since(at).Seconds()
	return err
}

// leader is the NATS node leading the work queue.
func (d *drill) leader(ctx context.Context) (string, error) {
	b, err := d.brokerOf(ctx)
	if err != nil {
		return "", err
	}
	defer b.Close()
	q, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := b.JS.Stream(q, workflow.JobsStream)
	if err != nil {
		return "", err
	}
	if ci := s.CachedInfo().Cluster; ci != nil && ci.Leader != "" {
		return ci.Leader, nil
	}
	return "", fmt.Errorf("drill: the work queue has no leader")
}

// link sets a station host's link at the site's switch up or down (scripts/site.sh cut).
func (d *drill) link(host, state string) error {
	out, err := exec.Command("ip", "-n", d.cfg.Site+"-sw", "link", "set", "v-"+host, state).CombinedOutput()
	if err != nil {
		return fmt.Errorf("drill: link %s %s: %v: %s", host, state, err, out)
	}
	return nil
}
