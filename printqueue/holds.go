package printqueue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/printqueue/printer"
)

// Errors of printer holds.
var (
	ErrHeld    = errors.New("printqueue: the printer is already down")
	ErrNotHeld = errors.New("printqueue: the printer is not down")
)

// Hold is a printer an operator took down: its queue waits until SetUp.
type Hold struct {
	Printer string    `json:"printer"`
	Reason  string    `json:"reason"`
	By      string    `json:"held_by"`
	At      time.Time `json:"held_at"`
}

// SetDown takes a printer down (jammed, out of ribbon, maintenance): its worker finishes
// the job in hand and takes no other until SetUp. The reason is required.
func SetDown(ctx context.Context, db *pgxpool.Pool, actor ledger.Actor, name, reason string) error {
	reason = strings.TrimSpace(reason)
	switch {
	case !printer.ValidName(name):
		return fmt.Errorf("printqueue: printer %q: %w", name, printer.ErrInvalidName)
	case reason == "":
		return errors.New("printqueue: reason: say why the printer is down")
	case len(reason) > 200:
		return errors.New("printqueue: reason: at most 200 characters")
	}
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "INSERT INTO printer_holds (printer, reason, held_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
			name, reason, actor.Name)
		if err != nil {
			return fmt.Errorf("printqueue: down %s: %w", name, err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("%w: %s", ErrHeld, name)
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: "printer.down", Subject: "printer/" + name, Detail: reason})
	})
}

// SetUp brings a printer that was taken down up again: its queue goes on.
func SetUp(ctx context.Context, db *pgxpool.Pool, actor ledger.Actor, name string) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM printer_holds WHERE printer = $1", name)
		if err != nil {
			return fmt.Errorf("printqueue: up %s: %w", name, err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("%w: %q", ErrNotHeld, name)
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: "printer.up", Subject: "printer/" + name})
	})
}

// Holds lists the printers that are down, by name.
func Holds(ctx context.Context, db *pgxpool.Pool) ([]Hold, error) {
	rows, err := db.Query(ctx, "SELECT printer, reason, held_by, held_at FROM printer_holds ORDER BY printer")
	if err != nil {
		return nil, fmt.Errorf("printqueue: holds: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Hold, error) {
		var h Hold
		return h, r.Scan(&h.Printer, &h.Reason, &h.By, &h.At)
	})
}
