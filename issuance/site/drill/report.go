package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cccd-project/cccd/issuance/broker"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/workflow"
)

// Report is the outcome of a drill.
type Report struct {
	Seed         int64         `json:"seed"`
	Command      string        `json:"command"`
	Applications int           `json:"applications"`
	Batches      []int64       `json:"batches"`
	Undisturbed  Phase         `json:"undisturbed"`
	Faulted      Phase         `json:"faulted"`
	Faults       []FaultResult `json:"faults"`
	TornCards    int           `json:"torn_cards"`    // cards spoiled because the chip was pulled mid-write
	SpoiledCards int           `json:"spoiled_cards"` // all spoiled cards, each with its reason
	DeadLetters  int           `json:"dead_letters"`  // each with its reason
	Invariants   []Invariant   `json:"invariants"`
}

// Phase is a part of the run: applications from queued to delivered and how long.
type Phase struct {
	Applications int     `json:"applications"`
	Seconds      float64 `json:"seconds"`
}

// Rate is applications delivered per second.
func (p Phase) Rate() float64 {
	if p.Seconds <= 0 {
		return 0
	}
	return float64(p.Applications) / p.Seconds
}

// FaultResult is one injected fault.
type FaultResult struct {
	Kind            string  `json:"kind"`
	Target          string  `json:"target"`
	Leader          bool    `json:"leader,omitempty"` // the NATS node killed led the work queue
	DownSeconds     float64 `json:"down_seconds"`     // until the drill undid it (restart, link up)
	RecoverySeconds float64 `json:"recovery_seconds"` // from the fault until the line moved again
	// BackSeconds: from the fault until the component hit worked again (a station took
	// a card, serve answered); 0 for faults of the whole line (NATS node, database).
	BackSeconds float64 `json:"back_seconds,omitempty"`
}

// Invariant is one checked property.
type Invariant struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Err is nil when every invariant holds.
func (r *Report) Err() error {
	var bad []string
	for _, inv := range r.Invariants {
		if !inv.OK {
			bad = append(bad, inv.Name+": "+inv.Detail)
		}
	}
	if len(r.Invariants) == 0 {
		bad = append(bad, "no invariant was checked")
	}
	if len(bad) > 0 {
		return fmt.Errorf("drill: invariants broken: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\nfault drill, seed %d: %d applications\n  %s\n\n", r.Seed, r.Applications, r.Command)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PHASE\tAPPLICATIONS\tSECONDS\tAPPLICATIONS/S")
	fmt.Fprintf(tw, "without faults\t%d\t%.1f\t%.2f\n", r.Undisturbed.Applications, r.Undisturbed.Seconds, r.Undisturbed.Rate())
	fmt.Fprintf(tw, "with faults\t%d\t%.1f\t%.2f\n", r.Faulted.Applications, r.Faulted.Seconds, r.Faulted.Rate())
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FAULT\tTARGET\tDOWN S\tLINE MOVING AGAIN AFTER S\tTARGET WORKING AGAIN AFTER S")
	for _, f := range r.Faults {
		back := "-"
		if f.BackSeconds > 0 {
			back = fmt.Sprintf("%.1f", f.BackSeconds)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%s\n", f.Kind, f.Target, f.DownSeconds, f.RecoverySeconds, back)
	}
	fmt.Fprintf(tw, "torn chips\t(throughout)\t\t%d cards spoiled\t\n", r.TornCards)
	tw.Flush()
	fmt.Fprintln(w)
	for _, inv := range r.Invariants {
		mark := "ok  "
		if !inv.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s %s: %s\n", mark, inv.Name, inv.Detail)
	}
}

// brokerOf connects to the site's NATS cluster as `cccd serve` does.
func (d *drill) brokerOf(ctx context.Context) (*broker.Broker, error) {
	cfg := broker.Config{Name: "drill"}
	for _, kv := range d.env["serve"] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "CCCD_NATS_URL":
			cfg.URL = v
		case "CCCD_NATS_CA":
			cfg.CAFile = v
		case "CCCD_NATS_CERT":
			cfg.CertFile = v
		case "CCCD_NATS_KEY":
			cfg.KeyFile = v
		}
	}
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return broker.Connect(c, cfg)
}

// check verifies the invariants once every application is delivered.
func (d *drill) check(ctx context.Context, rep *Report) error {
	add := func(name string, ok bool, format string, args ...any) {
		rep.Invariants = append(rep.Invariants, Invariant{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	n := d.cfg.Apps
	var delivered, events, twice int
	q := func(dest *int, sql string) error { return d.db.QueryRow(ctx, sql).Scan(dest) }
	if err := errors.Join(
		q(&delivered, "SELECT count(*) FROM applications WHERE state = 'delivered'"),
		q(&events, "SELECT count(*) FROM application_events WHERE to_state = 'delivered'"),
		q(&twice, "SELECT count(*) FROM (SELECT application_id FROM application_events WHERE to_state = 'delivered' GROUP BY 1 HAVING count(*) > 1) x"),
	); err != nil {
		return fmt.Errorf("drill: check: %w", err)
	}
	add("every application delivered exactly once", delivered == n && events == n && twice == 0,
		"%d of %d delivered, %d delivery events, %d applications delivered twice", delivered, n, events, twice)

	var cards, serials, good, twoGood int
	if err := errors.Join(
		q(&cards, "SELECT count(*) FROM cards"),
		q(&serials, "SELECT count(DISTINCT serial) FROM cards"),
		q(&good, "SELECT count(*) FROM cards WHERE state = 'issued'"),
		q(&twoGood, "SELECT count(*) FROM (SELECT application_id FROM cards WHERE state NOT IN ('spoiled', 'qc_failed', 'revoked', 'returned') GROUP BY 1 HAVING count(*) > 1) x"),
		q(&rep.SpoiledCards, "SELECT count(*) FROM cards WHERE state = 'spoiled'"),
		q(&rep.TornCards, "SELECT count(*) FROM cards WHERE state = 'spoiled' AND reason ~* 'removed|tear|torn|no card|transmit'"),
	); err != nil {
		return fmt.Errorf("drill: check: %w", err)
	}
	add("no chip bound twice", cards == serials, "%d cards, %d distinct chips", cards, serials)
	add("no application with two good cards", twoGood == 0 && good == n, "%d applications with two, %d issued cards for %d applications", twoGood, good, n)
	var noReason int
	if err := q(&noReason, "SELECT count(*) FROM cards WHERE state = 'spoiled' AND reason = ''"); err != nil {
		return err
	}
	add("every spoiled card accounted for", noReason == 0, "%d spoiled (%d torn mid-write), %d without a reason",
		rep.SpoiledCards, rep.TornCards, noReason)
	add("chips torn mid-write", rep.TornCards > 0 || d.cfg.TearRate == 0,
		"%d cards spoiled by a tear at tear rate %g (none means the fault was not exercised)", rep.TornCards, d.cfg.TearRate)

	var recs []string
	balanced := true
	for _, b := range rep.Batches {
		r, err := d.engine.ReconcileBatch(ctx, b)
		if err != nil {
			return err
		}
		balanced = balanced && r.Balanced()
		recs = append(recs, fmt.Sprintf("batch %d: %+v", b, r))
	}
	days, err := d.db.Query(ctx, "SELECT DISTINCT to_char(at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD') FROM application_events")
	if err != nil {
		return err
	}
	var dayList []string
	for days.Next() {
		var s string
		days.Scan(&s)
		dayList = append(dayList, s)
	}
	days.Close()
	for _, day := range dayList {
		r, err := d.engine.ReconcileDay(ctx, day)
		if err != nil {
			return err
		}
		balanced = balanced && r.Balanced()
		recs = append(recs, fmt.Sprintf("day %s: %+v", day, r))
	}
	add("reconciliation balanced per batch and per day", balanced, "%s", strings.Join(recs, "; "))

	audit, err := ledger.VerifyAudit(ctx, d.db)
	add("audit chain intact", err == nil && audit.OK(), "%+v %v", audit, err)

	var deadNoReason int
	if err := errors.Join(q(&rep.DeadLetters, "SELECT count(*) FROM dead_letters"),
		q(&deadNoReason, "SELECT count(*) FROM dead_letters WHERE error = ''")); err != nil {
		return err
	}
	pending, err := d.unacked(ctx)
	add("no message unacknowledged, none dead without a reason", err == nil && pending == "" && deadNoReason == 0,
		"%d dead letters (%d without a reason); consumers: %s %v", rep.DeadLetters, deadNoReason, orNone(pending), err)
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "nothing pending"
	}
	return s
}

// unacked lists the durable consumers with messages pending or unacknowledged, after
// giving them a minute to settle.
func (d *drill) unacked(ctx context.Context) (string, error) {
	b, err := d.brokerOf(ctx)
	if err != nil {
		return "", err
	}
	defer b.Close()
	var pending string
	err = waitFor(ctx, time.Minute, "consumers settled", func() bool {
		pending = ""
		for _, stream := range []string{workflow.JobsStream, workflow.EventsStream} {
			q, cancel := context.WithTimeout(ctx, 5*time.Second)
			st, err := b.JS.Stream(q, stream)
			if err != nil {
				pending += stream + ": " + err.Error() + "; "
				cancel()
				continue
			}
			l := st.ListConsumers(q)
			for ci := range l.Info() {
				// The work is on the durable consumers; ephemeral ones (the console's
				// live views) acknowledge nothing and vanish when idle.
				if ci.Config.Durable == "" {
					continue
				}
				if ci.NumAckPending > 0 || ci.NumPending > 0 {
					pending += fmt.Sprintf("%s/%s %d pending %d unacked; ", stream, ci.Name, ci.NumPending, ci.NumAckPending)
				}
			}
			if l.Err() != nil && !errors.Is(l.Err(), jetstream.ErrEndOfData) {
				pending += stream + ": " + l.Err().Error() + "; "
			}
			cancel()
		}
		return pending == ""
	})
	if pending != "" {
		return pending, nil
	}
	return "", err
}
