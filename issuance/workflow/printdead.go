package workflow

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance/ledger"
)

// PrintConsumer is the consumer name of the dead letters of card faces that could not be
// printed after their chip was written (printqueue): not a message to publish again, but a
// card held at the centre until an operator applies the remedy the dead letter names.
const PrintConsumer = "print"

// PrintFailure is a card face that failed for good after its chip was written.
type PrintFailure struct {
	Job           int64  `json:"print_job"`
	ApplicationID int64  `json:"application_id"`
	Receipt       string `json:"receipt"`
	Serial        string `json:"serial"`
	Printer       string `json:"printer"`
	Remedy        string `json:"remedy"`
}

// PrintRemedy is what an operator does about a face that could not be printed: print it
// again once the layout fits (the same chip), or spoil the card and make a new one.
func PrintRemedy(job int64, receipt string) string {
	return fmt.Sprintf("retry with the fitted layout: cccd print retry %d; or spoil the card and make a new one: cccd print reprint %s --reason TEXT",
		job, receipt)
}

// RecordPrintFailure makes a dead letter of a print job that failed for good for its data
// (text that does not fit, a character the font lacks): the card is counted as held in
// reconciliation and in the batch status until the remedy closes it (ClosePrintFailure).
// Recording the same job twice keeps one open dead letter.
func (e *Engine) RecordPrintFailure(ctx context.Context, actor ledger.Actor, f PrintFailure, deliveries int, cause error) error {
	if f.Remedy == "" {
		f.Remedy = PrintRemedy(f.Job, f.Receipt)
	}
	payload, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("workflow: print dead letter: %w", err)
	}
	msgID := fmt.Sprintf("print-job-%d", f.Job)
	return pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO dead_letters (consumer, subject, msg_id, payload, deliveries, error)
			SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM dead_letters WHERE consumer = $1 AND msg_id = $3 AND state = 'dead')`,
			PrintConsumer, "print."+f.Printer, msgID, payload, deliveries, cause.Error()+"; remedy: "+f.Remedy)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: "print.dead", Subject: fmt.Sprintf("print_job/%d", f.Job),
			Detail: "card " + f.Serial + " held: " + f.Remedy})
	})
}

// ClosePrintFailure closes the open dead letter of print job, if any, as retried (the job is
// printed again) or rejected (its card was spoiled for a new one).
func (e *Engine) ClosePrintFailure(ctx context.Context, job int64, by string, retried bool) error {
	state := "rejected"
	if retried {
		state = "retried"
	}
	_, err := e.DB.Exec(ctx, `UPDATE dead_letters SET state = $3, resolved_by = $4, resolved_at = now()
		WHERE consumer = $1 AND msg_id = $2 AND state = 'dead'`, PrintConsumer, fmt.Sprintf("print-job-%d", job), state, by)
	if err != nil {
		return fmt.Errorf("workflow: close print dead letter: %w", err)
	}
	return nil
}

// heldForPrint is the SQL of the open print dead letter of card c (its error, or ”).
const heldForPrint = `coalesce((SELECT d.error FROM dead_letters d WHERE d.consumer = 'print' AND d.state = 'dead'
	AND d.payload->>'serial' = c.serial ORDER BY d.id DESC LIMIT 1), '')`
