package workflow

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
)

// Errors of delivery.
var (
	ErrNoSuchShipment = errors.New("workflow: no such shipment awaiting receipt")
	ErrWrongOffice    = errors.New("workflow: the shipment or application belongs to another office")
	ErrReceiverNeeded = errors.New("workflow: received_by: name of the person who received the card is required")
)

// Shipment is a manifest of cards sent from the production centre to one office.
type Shipment struct {
	ID     int64          `json:"id"`
	Office string         `json:"office"`
	State  string         `json:"state"`
	Items  []ShipmentItem `json:"items"`
}

// ShipmentItem is one card of a manifest.
type ShipmentItem struct {
	Serial  string `json:"serial"`
	Receipt string `json:"receipt"`
}

// Dispatch ships every card that passed QC and is to be delivered at office (up to max,
// 0 = all) in one shipment: applications and cards become dispatched.
func (e *Engine) Dispatch(ctx context.Context, actor ledger.Actor, office string, max int) (Shipment, error) {
	if max <= 0 {
		max = 1 << 30
	}
	s := Shipment{Office: office, State: "dispatched"}
	err := pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT a.id, a.receipt, c.serial FROM applications a
			JOIN cards c ON c.application_id = a.id AND c.state = 'printed'
			WHERE a.state = 'qc_passed' AND NOT a.paused AND a.delivery->>'office' = $1 ORDER BY a.id LIMIT $2 FOR UPDATE OF a`, office, max)
		if err != nil {
			return err
		}
		type item struct {
			app             int64
			receipt, serial string
		}
		items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (item, error) {
			var x item
			return x, r.Scan(&x.app, &x.receipt, &x.serial)
		})
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return fmt.Errorf("%w: no cards ready for office %s", ErrNothingToDo, office)
		}
		if err := tx.QueryRow(ctx, "INSERT INTO shipments (office, created_by) VALUES ($1, $2) RETURNING id", office, actor.Name).Scan(&s.ID); err != nil {
			return err
		}
		apps, serials := make([]int64, len(items)), make([]string, len(items))
		for i, x := range items {
			apps[i], serials[i] = x.app, x.serial
			s.Items = append(s.Items, ShipmentItem{Serial: x.serial, Receipt: x.receipt})
		}
		if err := moveShipment(ctx, tx, actor, s.ID, apps, serials, true); err != nil {
			return err
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: "shipment.dispatch", Subject: "shipment/" + strconv.FormatInt(s.ID, 10),
			Detail: fmt.Sprintf("%d cards to %s", len(items), office)})
	})
	return s, err
}

// Receive records that a shipment arrived at its office: its applications are at the
// office and its cards in the office's stock. The receiving user must work there.
func (e *Engine) Receive(ctx context.Context, actor ledger.Actor, shipment int64) (Shipment, error) {
	s := Shipment{ID: shipment, State: "received"}
	err := pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, "SELECT office FROM shipments WHERE id = $1 AND state = 'dispatched' FOR UPDATE", shipment).Scan(&s.Office)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %d", ErrNoSuchShipment, shipment)
		}
		if err != nil {
			return err
		}
		if actor.Office != s.Office {
			return fmt.Errorf("%w: shipment %d goes to %s, %s works at %s", ErrWrongOffice, shipment, s.Office, actor.Name, actor.Office)
		}
		rows, err := tx.Query(ctx, `SELECT i.serial, i.application_id, a.receipt FROM shipment_items i JOIN applications a ON a.id = i.application_id
			WHERE i.shipment_id = $1 ORDER BY i.application_id`, shipment)
		if err != nil {
			return err
		}
		type item struct {
			serial, receipt string
			app             int64
		}
		items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (item, error) {
			var x item
			return x, r.Scan(&x.serial, &x.app, &x.receipt)
		})
		if err != nil {
			return err
		}
		apps, serials := make([]int64, len(items)), make([]string, len(items))
		for i, x := range items {
			apps[i], serials[i] = x.app, x.serial
			s.Items = append(s.Items, ShipmentItem{Serial: x.serial, Receipt: x.receipt})
		}
		if err := moveShipment(ctx, tx, actor, shipment, apps, serials, false); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE shipments SET state = 'received', received_by = $2, received_at = now() WHERE id = $1", shipment, actor.Name); err != nil {
			return err
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: "shipment.receive", Subject: "shipment/" + strconv.FormatInt(shipment, 10),
			Detail: fmt.Sprintf("%d cards", len(items))})
	})
	return s, err
}

// moveShipment moves every card and application of a shipment in one statement:
// dispatch (printed -> dispatched, qc_passed -> dispatched, with the shipment items) or
// receipt (dispatched -> in_stock, dispatched -> at_office). apps[i] owns serials[i].
func moveShipment(ctx context.Context, tx pgx.Tx, actor ledger.Actor, shipment int64, apps []int64, serials []string, dispatch bool) error {
	cardFrom, cardTo := lifecycle.CardDispatched, lifecycle.InStock
	appFrom, appTo := lifecycle.Dispatched, lifecycle.AtOffice
	if dispatch {
		cardFrom, cardTo, appFrom, appTo = lifecycle.CardPrinted, lifecycle.CardDispatched, lifecycle.QCPassed, lifecycle.Dispatched
	}
	var s stmt
	chain := ledger.Chain(tx)
	note := s.arg("shipment "+strconv.FormatInt(shipment, 10), "text")
	s.with("src", `SELECT id, serial FROM unnest(`+s.arg(apps, "bigint[]")+`, `+s.arg(serials, "text[]")+`) AS u(id, serial)`)
	items := "(SELECT 0)"
	if dispatch {
		s.with("items", `INSERT INTO shipment_items (shipment_id, serial, application_id) SELECT `+s.arg(shipment, "bigint")+`, serial, id FROM src RETURNING 1`)
		items = countOf("items")
	}
	cards := s.moveCards("card", "SELECT serial, "+note+" AS note FROM src", cardFrom, cardTo, "", actor, chain)
	moved := s.moveApps("app", "SELECT id, "+note+" AS note FROM src", appFrom, appTo, actor, chain)
	var nItems, nCards, nApps int
	if err := txRow(ctx, tx, &s, "SELECT "+items+", "+cards+", "+moved, &nItems, &nCards, &nApps); err != nil {
		return fmt.Errorf("workflow: shipment %d: %w", shipment, err)
	}
	n := len(apps)
	if (dispatch && nItems != n) || nCards != n || nApps != n {
		return fmt.Errorf("%w: shipment %d: %d of %d cards and %d applications moved", ledger.ErrStateChanged, shipment, nCards, n, nApps)
	}
	return nil
}

// Handover is the hand-over (or return) of a card at the office.
type Handover struct {
	Receipt    string `json:"receipt"`
	Serial     string `json:"serial"`
	Outcome    string `json:"outcome"` // delivered | returned
	ReceivedBy string `json:"received_by,omitempty"`
	Note       string `json:"note,omitempty"`
}

// CardAtOffice returns the serial of the card waiting at the office for a receipt.
func (e *Engine) CardAtOffice(ctx context.Context, receipt string) (appID int64, serial, office string, err error) {
	err = e.DB.QueryRow(ctx, `SELECT a.id, c.serial, a.delivery->>'office' FROM applications a
		JOIN cards c ON c.application_id = a.id AND c.state = 'in_stock' WHERE a.receipt = $1 AND a.state = 'at_office'`, receipt).
		Scan(&appID, &serial, &office)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", "", fmt.Errorf("%w: no card for %s is waiting at an office", ErrNoApplication, receipt)
	}
	return appID, serial, office, err
}

// Hand records the hand-over to the applicant (card issued, application delivered) or
// the return of the card (both returned). The staff member must work at the office.
func (e *Engine) Hand(ctx context.Context, actor ledger.Actor, h Handover) error {
	h.ReceivedBy = strings.TrimSpace(h.ReceivedBy)
	if h.Outcome == "delivered" && h.ReceivedBy == "" {
		return ErrReceiverNeeded
	}
	if h.Outcome != "delivered" && h.Outcome != "returned" {
		return fmt.Errorf("workflow: outcome %q: delivered or returned", h.Outcome)
	}
	cardTo, appTo := lifecycle.Issued, lifecycle.Delivered
	if h.Outcome == "returned" {
		cardTo, appTo = lifecycle.CardReturned, lifecycle.Returned
	}
	// One statement: every write is conditioned on the checks, so a refusal changes nothing.
	var app *int64
	var serial, office *string
	var cards, apps, handed int
	err := e.single(ctx, func(chain int16) (*stmt, string, []any) {
		var s stmt
		note := s.arg(h.Note, "text")
		s.with("g", `SELECT a.id, c.serial, a.delivery->>'office' AS office FROM applications a
			JOIN cards c ON c.application_id = a.id AND c.state = 'in_stock'
			WHERE a.receipt = `+s.arg(h.Receipt, "text")+` AND a.state = 'at_office' FOR UPDATE OF a, c`)
		sn := s.arg(h.Serial, "text")
		s.with("ok", "SELECT id, serial FROM g WHERE office = "+s.arg(actor.Office, "text")+" AND ("+sn+" = '' OR serial = "+sn+")")
		card := s.moveHeldCards("card", "SELECT serial, "+note+" AS note FROM ok", lifecycle.InStock, cardTo, "", actor, chain)
		move := s.moveHeldApps("app", "SELECT id, "+note+" AS note FROM ok", lifecycle.AtOffice, appTo, actor, chain)
		s.with("ho", `INSERT INTO handovers (application_id, serial, outcome, received_by, staff, note)
			SELECT id, serial, `+s.arg(h.Outcome, "text")+`, `+s.arg(h.ReceivedBy, "text")+`, `+s.arg(actor.Name, "text")+`, `+note+`
			FROM ok RETURNING 1`)
		return &s, "SELECT (SELECT id FROM g), (SELECT serial FROM g), (SELECT office FROM g), " + card + ", " + move + ", " + countOf("ho"),
			[]any{&app, &serial, &office, &cards, &apps, &handed}
	})
	switch {
	case err != nil:
		return fmt.Errorf("workflow: hand-over of %s: %w", h.Receipt, err)
	case app == nil:
		return fmt.Errorf("%w: no card for %s is waiting at an office", ErrNoApplication, h.Receipt)
	case *office != actor.Office:
		return fmt.Errorf("%w: the card for %s is at %s, %s works at %s", ErrWrongOffice, h.Receipt, *office, actor.Name, actor.Office)
	case h.Serial != "" && h.Serial != *serial:
		return fmt.Errorf("workflow: the card presented (%s) is not the card made for %s (%s)", h.Serial, h.Receipt, *serial)
	case cards != 1:
		return fmt.Errorf("%w: card %s is not %s", ledger.ErrStateChanged, *serial, lifecycle.InStock)
	case apps != 1 || handed != 1:
		return fmt.Errorf("%w: application %d, expected %s", ledger.ErrStateChanged, *app, lifecycle.AtOffice)
	}
	return nil
}

// SetPaused pauses an application (no station or stage touches it) or resumes it.
func (e *Engine) SetPaused(ctx context.Context, actor ledger.Actor, receipt string, pause bool) error {
	return pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, "UPDATE applications SET paused = $2 WHERE receipt = $1 AND paused <> $2 RETURNING id", receipt, pause).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s (or already %s)", ErrNoApplication, receipt, map[bool]string{true: "paused", false: "running"}[pause])
		}
		if err != nil {
			return err
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: map[bool]string{true: "application.pause", false: "application.resume"}[pause],
			Subject: "application/" + strconv.FormatInt(id, 10)})
	})
}

// Rerun sends an application back to an earlier stage (approved, queued, personalized
// or qc_passed). Going back before personalization destroys its current card (spoiled,
// with the reason) and cancels its open job; back to queued makes a new job.
func (e *Engine) Rerun(ctx context.Context, actor ledger.Actor, receipt string, stage lifecycle.AppState, reason string) error {
	reason, err := issuance.RequiredNote("reason", reason, 500)
	if err != nil {
		return fmt.Errorf("workflow: re-run %s: %w", receipt, err)
	}
	return pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		var id int64
		var state string
		err := tx.QueryRow(ctx, "SELECT id, state FROM applications WHERE receipt = $1 FOR UPDATE", receipt).Scan(&id, &state)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrNoApplication, receipt)
		}
		if err != nil {
			return err
		}
		from := lifecycle.AppState(state)
		if err := lifecycle.CheckRerun(from, stage); err != nil {
			return err
		}
		note := "re-run by " + actor.Name + ": " + reason
		if stage == lifecycle.Approved || stage == lifecycle.Queued {
			if _, err := tx.Exec(ctx, "UPDATE jobs SET state = 'cancelled', updated_at = now() WHERE application_id = $1 AND state IN ('queued', 'taken')", id); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, "SELECT serial, state FROM cards WHERE application_id = $1 AND state IN ('blank', 'encoded', 'printed')", id)
			if err != nil {
				return err
			}
			type card struct{ serial, state string }
			cards, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (card, error) {
				var c card
				return c, r.Scan(&c.serial, &c.state)
			})
			if err != nil {
				return err
			}
			for _, c := range cards {
				if err := cardTransition(ctx, tx, actor, c.serial, lifecycle.CardState(c.state), lifecycle.Spoiled, note); err != nil {
					return err
				}
			}
		}
		if _, err := ledger.Transition(ctx, tx, ledger.Change{ApplicationID: id, From: from, To: stage, Actor: actor, Note: note, Rerun: true}); err != nil {
			return err
		}
		switch stage {
		case lifecycle.Approved:
			_, err = tx.Exec(ctx, "UPDATE applications SET batch_id = NULL WHERE id = $1", id)
		case lifecycle.Queued:
			var batch int64
			var line string
			var attempts int
			if err := tx.QueryRow(ctx, `SELECT a.batch_id, b.line, (SELECT coalesce(max(attempt), 0) FROM jobs WHERE application_id = a.id)
				FROM applications a JOIN batches b ON b.id = a.batch_id WHERE a.id = $1`, id).Scan(&batch, &line, &attempts); err != nil {
				return fmt.Errorf("workflow: re-run: application %s has no batch: %w", receipt, err)
			}
			err = newJob(ctx, tx, id, batch, line, attempts+1)
		}
		return err
	})
}

// Day is a calendar day in the production centre's time zone (UTC+7).
func Day(t time.Time) string { return t.In(time.FixedZone("ICT", 7*3600)).Format("2006-01-02") }
