package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// What the print room and the receiving offices look at: cards ready to ship, shipments
// on their way, cards waiting for their holders. Each is one bounded, indexed query.

// OfficeCount is a number of applications for one receiving office.
type OfficeCount struct {
	Office string `json:"office"`
	Cards  int    `json:"cards"`
}

// ReadyToDispatch counts the cards that passed QC, per receiving office (what Dispatch
// would ship).
func (e *Engine) ReadyToDispatch(ctx context.Context) ([]OfficeCount, error) {
	rows, err := e.DB.Query(ctx, `SELECT delivery->>'office', count(*) FROM applications
		WHERE state = 'qc_passed' AND NOT paused GROUP BY 1 ORDER BY 1 LIMIT 200`)
	if err != nil {
		return nil, fmt.Errorf("workflow: ready to dispatch: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (OfficeCount, error) {
		var c OfficeCount
		return c, r.Scan(&c.Office, &c.Cards)
	})
}

// ShipmentInfo is a shipment as a list shows it.
type ShipmentInfo struct {
	ID         int64      `json:"id"`
	Office     string     `json:"office"`
	State      string     `json:"state"`
	Cards      int        `json:"cards"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ReceivedBy string     `json:"received_by,omitempty"`
	ReceivedAt *time.Time `json:"received_at,omitempty"`
}

// Shipments lists the shipments to office (all offices when empty) in a state
// (dispatched or received; empty: both), newest first, at most limit (default 50).
func (e *Engine) Shipments(ctx context.Context, office, state string, limit int) ([]ShipmentInfo, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := e.DB.Query(ctx, `SELECT s.id, s.office, s.state, (SELECT count(*) FROM shipment_items i WHERE i.shipment_id = s.id),
			s.created_by, s.created_at, coalesce(s.received_by, ''), s.received_at
		FROM shipments s WHERE ($1 = '' OR s.office = $1) AND ($2 = '' OR s.state = $2) ORDER BY s.id DESC LIMIT $3`,
		office, state, limit)
	if err != nil {
		return nil, fmt.Errorf("workflow: shipments: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ShipmentInfo, error) {
		var s ShipmentInfo
		return s, r.Scan(&s.ID, &s.Office, &s.State, &s.Cards, &s.CreatedBy, &s.CreatedAt, &s.ReceivedBy, &s.ReceivedAt)
	})
}

// Waiting is a card at an office waiting for its holder.
type Waiting struct {
	Receipt  string    `json:"receipt"`
	FullName string    `json:"full_name"`
	Serial   string    `json:"serial"`
	Since    time.Time `json:"since"`
}

// WaitingAt lists the cards at office waiting for their holders, oldest first, at most
// limit (default 100).
func (e *Engine) WaitingAt(ctx context.Context, office string, limit int) ([]Waiting, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := e.DB.Query(ctx, `SELECT a.receipt, coalesce(a.person->>'full_name', ''), c.serial, c.updated_at
		FROM applications a JOIN cards c ON c.application_id = a.id AND c.state = 'in_stock'
		WHERE a.state = 'at_office' AND a.delivery->>'office' = $1 ORDER BY c.updated_at, a.id LIMIT $2`, office, limit)
	if err != nil {
		return nil, fmt.Errorf("workflow: waiting at %s: %w", office, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Waiting, error) {
		var w Waiting
		return w, r.Scan(&w.Receipt, &w.FullName, &w.Serial, &w.Since)
	})
}
