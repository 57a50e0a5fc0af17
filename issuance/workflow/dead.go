package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/ledger"
)

func jsonObject(b []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil
}

// DeadLetter is a message a consumer gave up on.
type DeadLetter struct {
	ID         int64           `json:"id"`
	Consumer   string          `json:"consumer"`
	Subject    string          `json:"subject"`
	MsgID      string          `json:"msg_id"`
	Payload    json.RawMessage `json:"payload"`
	Deliveries int             `json:"deliveries"`
	Error      string          `json:"error"`
	State      string          `json:"state"`
	CreatedAt  time.Time       `json:"created_at"`
}

// ErrNoDeadLetter means no dead letter with that ID awaits a decision.
var ErrNoDeadLetter = errors.New("workflow: no such dead letter awaiting a decision")

// DeadLetters lists dead letters; all=false lists only those awaiting a decision.
func (e *Engine) DeadLetters(ctx context.Context, all bool) ([]DeadLetter, error) {
	rows, err := e.DB.Query(ctx, `SELECT id, consumer, subject, msg_id, payload, deliveries, error, state, created_at
		FROM dead_letters WHERE $1 OR state = 'dead' ORDER BY id`, all)
	if err != nil {
		return nil, fmt.Errorf("workflow: dead letters: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeadLetter, error) {
		var d DeadLetter
		err := r.Scan(&d.ID, &d.Consumer, &d.Subject, &d.MsgID, &d.Payload, &d.Deliveries, &d.Error, &d.State, &d.CreatedAt)
		return d, err
	})
}

// RetryDeadLetter publishes the message again (through the outbox, with a new message
// ID so de-duplication lets it through) and marks the dead letter retried.
func (e *Engine) RetryDeadLetter(ctx context.Context, actor ledger.Actor, id int64) error {
	return pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		var subject, consumer string
		var payload json.RawMessage
		err := tx.QueryRow(ctx, "SELECT subject, payload, consumer FROM dead_letters WHERE id = $1 AND state = 'dead' FOR UPDATE", id).
			Scan(&subject, &payload, &consumer)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %d", ErrNoDeadLetter, id)
		}
		if err != nil {
			return err
		}
		if consumer == PrintConsumer {
			var f PrintFailure
			_ = json.Unmarshal(payload, &f)
			return fmt.Errorf("%w: %d is a card face that could not be printed, not a message: %s", ErrNoDeadLetter, id, f.Remedy)
		}
		if err := ledger.Enqueue(ctx, tx, subject, ledger.NewEventID(), payload); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE dead_letters SET state = 'retried', resolved_by = $2, resolved_at = now() WHERE id = $1", id, actor.Name); err != nil {
			return err
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: "workflow.dead.retry", Subject: fmt.Sprintf("dead_letter/%d", id), Detail: subject})
	})
}

// RejectDeadLetter closes a dead letter without retrying it.
func (e *Engine) RejectDeadLetter(ctx context.Context, actor ledger.Actor, id int64, reason string) error {
	reason, err := issuance.RequiredNote("reason", reason, 500)
	if err != nil {
		return fmt.Errorf("workflow: reject dead letter %d: %w", id, err)
	}
	return pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE dead_letters SET state = 'rejected', resolved_by = $2, resolved_at = now() WHERE id = $1 AND state = 'dead'", id, actor.Name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("%w: %d", ErrNoDeadLetter, id)
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: "workflow.dead.reject", Subject: fmt.Sprintf("dead_letter/%d", id), Detail: reason})
	})
}
