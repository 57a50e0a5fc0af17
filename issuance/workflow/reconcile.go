package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reconciliation accounts for every card started in a batch or on a day:
// started = issued + spoiled + in stock + in transit. Beyond the counts, every card is
// checked against its application, shipment and hand-over records; any card whose
// records disagree is listed.
type Reconciliation struct {
	Scope       string       `json:"scope"`
	Started     int          `json:"started"`
	Issued      int          `json:"issued"`     // handed over (including later revoked)
	Spoiled     int          `json:"spoiled"`    // spoiled or failed QC, destroyed
	InStock     int          `json:"in_stock"`   // at the centre (in production or finished) or at an office, incl. returned
	InTransit   int          `json:"in_transit"` // dispatched, not yet received
	Differences []Difference `json:"differences"`
	// Held are cards whose chip is written but whose face could not be printed: each waits,
	// counted in stock, for the remedy its print dead letter names (Problem).
	Held []Difference `json:"held"`
}

// Balanced reports whether the counts add up and no card disagrees with its records.
func (r Reconciliation) Balanced() bool {
	return r.Started == r.Issued+r.Spoiled+r.InStock+r.InTransit && len(r.Differences) == 0
}

// Difference is one card whose records disagree.
type Difference struct {
	Serial  string `json:"serial"`
	Receipt string `json:"receipt"`
	Card    string `json:"card_state"`
	App     string `json:"application_state"`
	Problem string `json:"problem"`
}

// expected application states for each card state (the card being the application's
// current card); spoiled, failed and returned cards may belong to any application state.
var consistent = map[string][]string{
	"blank":      {"personalizing", "queued"},
	"encoded":    {"personalized"},
	"printed":    {"printed", "qc_passed"},
	"dispatched": {"dispatched"},
	"in_stock":   {"at_office"},
	"issued":     {"delivered"},
	"revoked":    {"delivered"},
}

// ReconcileBatch reconciles the cards of one batch.
func (e *Engine) ReconcileBatch(ctx context.Context, batch int64) (Reconciliation, error) {
	return e.reconcile(ctx, fmt.Sprintf("batch %d", batch), "c.batch_id = $1", batch)
}

// ReconcileDay reconciles the cards started on one day (YYYY-MM-DD, UTC+7).
func (e *Engine) ReconcileDay(ctx context.Context, day string) (Reconciliation, error) {
	d, err := time.ParseInLocation("2006-01-02", day, time.FixedZone("ICT", 7*3600))
	if err != nil {
		return Reconciliation{}, fmt.Errorf("workflow: day %q: want YYYY-MM-DD", day)
	}
	return e.reconcile(ctx, "day "+day, "c.created_at >= $1 AND c.created_at < $1 + interval '1 day'", d)
}

func (e *Engine) reconcile(ctx context.Context, scope, where string, arg any) (Reconciliation, error) {
	r := Reconciliation{Scope: scope, Differences: []Difference{}, Held: []Difference{}}
	rows, err := e.DB.Query(ctx, `SELECT c.serial, c.state, c.reason, a.receipt, a.state,
		coalesce(j.state, ''), coalesce(s.state, ''), coalesce(h.outcome, ''), coalesce(h.serial, ''), `+heldForPrint+`
		FROM cards c JOIN applications a ON a.id = c.application_id
		LEFT JOIN jobs j ON j.id = c.job_id
		LEFT JOIN shipment_items i ON i.serial = c.serial LEFT JOIN shipments s ON s.id = i.shipment_id
		LEFT JOIN handovers h ON h.application_id = a.id
		WHERE `+where+` ORDER BY c.created_at, c.serial`, arg)
	if err != nil {
		return r, fmt.Errorf("workflow: reconcile: %w", err)
	}
	type row struct {
		serial, card, reason, receipt, app, job, shipment, outcome, handedSerial, held string
	}
	list, err := pgx.CollectRows(rows, func(cr pgx.CollectableRow) (row, error) {
		var x row
		return x, cr.Scan(&x.serial, &x.card, &x.reason, &x.receipt, &x.app, &x.job, &x.shipment, &x.outcome, &x.handedSerial, &x.held)
	})
	if err != nil {
		return r, fmt.Errorf("workflow: reconcile: %w", err)
	}
	for _, x := range list {
		r.Started++
		diff := func(p string) {
			r.Differences = append(r.Differences, Difference{Serial: x.serial, Receipt: x.receipt, Card: x.card, App: x.app, Problem: p})
		}
		switch x.card {
		case "issued", "revoked":
			r.Issued++
			if x.outcome != "delivered" || x.handedSerial != x.serial {
				diff("issued without a hand-over record for this card")
			}
		case "spoiled", "qc_failed":
			r.Spoiled++
			if x.reason == "" {
				diff("spoiled without a reason")
			}
			continue
		case "dispatched":
			r.InTransit++
			if x.shipment != "dispatched" {
				diff("in transit but on no open shipment")
			}
		case "blank", "encoded", "printed", "in_stock", "returned":
			r.InStock++
			if x.card == "in_stock" && x.shipment != "received" {
				diff("at an office without a received shipment")
			}
			if x.card == "encoded" && x.held != "" {
				r.Held = append(r.Held, Difference{Serial: x.serial, Receipt: x.receipt, Card: x.card, App: x.app, Problem: x.held})
			}
			if x.card == "blank" && x.job != "taken" {
				diff("blank chip whose job is not in progress")
			}
			if x.card == "returned" {
				continue
			}
		default:
			diff("unknown card state")
			continue
		}
		ok := false
		for _, s := range consistent[x.card] {
			ok = ok || s == x.app
		}
		if !ok {
			diff("application state does not match the card")
		}
	}
	return r, nil
}
