package workflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
)

// ErrRevokeReason: the reason for a revocation is not one of RevokeReasons.
var ErrRevokeReason = errors.New("workflow: revocation reason must be lost, stolen or damaged")

// RevokeReasons are the reasons a card in a citizen's hands is revoked (REFERENCE.md §3:
// a lost or stolen card is revoked; its chip must then fail status checks at counters).
var RevokeReasons = []string{"lost", "stolen", "damaged"}

// RevokeCard revokes an issued card: card issued -> revoked, with a row in card_reports
// that counters read (personalization/verify's StatusSource), a card event and an audit
// entry, in one transaction.
func (e *Engine) RevokeCard(ctx context.Context, actor ledger.Actor, serial, reason string) error {
	ok := false
	for _, r := range RevokeReasons {
		ok = ok || r == reason
	}
	if !ok {
		return fmt.Errorf("%w: %q", ErrRevokeReason, reason)
	}
	return pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		if err := cardTransition(ctx, tx, actor, serial, lifecycle.Issued, lifecycle.Revoked, reason); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO card_reports (serial, kind, reported_by) VALUES ($1, $2, $3)",
			serial, reason, actor.Name); err != nil {
			return fmt.Errorf("workflow: revoke card %s: %w", serial, err)
		}
		return nil
	})
}
