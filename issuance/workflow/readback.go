package workflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrNoReadback means no chip read-back is recorded for a card.
var ErrNoReadback = errors.New("workflow: no chip read-back recorded for the card")

// RecordReadback keeps DG1 and DG13 as the station read them back from a locked chip.
// Recording the same card again replaces its read-back (a retried QC).
func (e *Engine) RecordReadback(ctx context.Context, serial string, dg1, dg13 []byte) error {
	_, err := e.DB.Exec(ctx, `INSERT INTO card_readback (serial, dg1, dg13) VALUES ($1, $2, $3)
		ON CONFLICT (serial) DO UPDATE SET dg1 = excluded.dg1, dg13 = excluded.dg13, at = now()`, serial, dg1, dg13)
	if err != nil {
		return fmt.Errorf("workflow: read-back of %s: %w", serial, err)
	}
	return nil
}

// Readback returns the application's current good card and what its chip gave back.
func (e *Engine) Readback(ctx context.Context, appID int64) (serial string, dg1, dg13 []byte, err error) {
	err = e.DB.QueryRow(ctx, `SELECT c.serial, r.dg1, r.dg13 FROM cards c JOIN card_readback r ON r.serial = c.serial
		WHERE c.application_id = $1 AND c.state NOT IN ('blank', 'spoiled', 'qc_failed', 'revoked', 'returned')`, appID).
		Scan(&serial, &dg1, &dg13)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, nil, fmt.Errorf("%w: application %d", ErrNoReadback, appID)
	}
	return serial, dg1, dg13, err
}
