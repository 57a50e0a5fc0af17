package printqueue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/printqueue/layout"
	"github.com/cccd-project/cccd/printqueue/printer"
	"github.com/cccd-project/cccd/printqueue/render"
)

// Stage names: the durable consumers of the print and QC stages on the workflow's
// event stream. Every `cccd print run` shares them, so events are spread over the
// running printers.
const (
	PrintStage = "printqueue"
	QCStage    = "printqc"
)

// RunStages runs the print stage (on "personalized": Enqueue on this printer), this
// printer's worker (Run) and the QC stage (on "printed": QC) until ctx ends.
func (q *Queue) RunStages(ctx context.Context, js jetstream.JetStream, ackWait time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3)
	go func() {
		errc <- (&workflow.StageWorker{Engine: q.engine, JS: js, Log: q.log, Name: PrintStage, On: lifecycle.Personalized,
			AckWait: ackWait, Do: func(ctx context.Context, id int64) error {
				_, err := q.Enqueue(ctx, id, "", "")
				if errors.Is(err, ErrNoCard) {
					return nil // the card was spoiled or replaced meanwhile
				}
				return err
			}}).Run(ctx)
	}()
	go func() {
		errc <- (&workflow.StageWorker{Engine: q.engine, JS: js, Log: q.log, Name: QCStage, On: lifecycle.Printed,
			AckWait: ackWait, Do: q.QC}).Run(ctx)
	}()
	go func() { errc <- q.Run(ctx) }()
	var first error
	for range 3 {
		if err := <-errc; err != nil && first == nil && ctx.Err() == nil {
			first = err
			cancel()
		}
	}
	return first
}

// Job is a print job as operators see it.
type Job struct {
	ID            int64      `json:"id"`
	ApplicationID int64      `json:"application_id"`
	Receipt       string     `json:"receipt"`
	Serial        string     `json:"serial"`
	Printer       string     `json:"printer"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	MaxAttempts   int        `json:"max_attempts"`
	Error         string     `json:"error,omitempty"`
	PDF           string     `json:"pdf,omitempty"`
	Reason        string     `json:"reason,omitempty"`
	Design        string     `json:"design"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	PrintedAt     *time.Time `json:"printed_at,omitempty"`
}

// NeedsOperator reports whether the job failed for good: no more automatic retries.
func (j Job) NeedsOperator() bool { return j.State == Failed && j.Attempts >= j.MaxAttempts }

// Filter selects jobs for List. Zero values select everything, newest first, up to
// 100.
type Filter struct {
	Printer string
	State   string
	Receipt string
	Limit   int
}

// List returns print jobs, newest first.
func List(ctx context.Context, db *pgxpool.Pool, f Filter) ([]Job, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := db.Query(ctx, `SELECT p.id, p.application_id, a.receipt, p.serial, p.printer, p.state, p.attempts, p.max_attempts,
			p.error, p.pdf, p.reason, p.design, p.created_at, p.updated_at, p.printed_at
		FROM print_jobs p JOIN applications a ON a.id = p.application_id
		WHERE ($1 = '' OR p.printer = $1) AND ($2 = '' OR p.state = $2) AND ($3 = '' OR a.receipt = $3)
		ORDER BY p.id DESC LIMIT $4`, f.Printer, f.State, f.Receipt, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("printqueue: list: %w", err)
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Job, error) {
		var j Job
		err := r.Scan(&j.ID, &j.ApplicationID, &j.Receipt, &j.Serial, &j.Printer, &j.State, &j.Attempts, &j.MaxAttempts,
			&j.Error, &j.PDF, &j.Reason, &j.Design, &j.CreatedAt, &j.UpdatedAt, &j.PrintedAt)
		return j, err
	})
	if err != nil {
		return nil, fmt.Errorf("printqueue: list: %w", err)
	}
	return jobs, nil
}

// PrinterStatus is one printer's queue at a glance.
type PrinterStatus struct {
	Printer       string         `json:"printer"`
	ByState       map[string]int `json:"jobs_by_state"`
	Down          bool           `json:"down"`           // a job failed for good by the printer: the queue waits
	NeedsOperator int            `json:"needs_operator"` // failed for good
	Retrying      int            `json:"retrying"`       // failed, retried after a back-off
	OldestWaiting *time.Time     `json:"oldest_waiting,omitempty"`
}

// Status returns every printer's queue counts.
func Status(ctx context.Context, db *pgxpool.Pool) ([]PrinterStatus, error) {
	rows, err := db.Query(ctx, `SELECT printer, state, count(*), count(*) FILTER (WHERE state = 'failed' AND attempts >= max_attempts),
			bool_or(state = 'failed' AND attempts >= max_attempts AND printer_fault),
			min(created_at) FILTER (WHERE state IN ('queued', 'rendering', 'sent', 'failed'))
		FROM print_jobs GROUP BY printer, state ORDER BY printer, state`)
	if err != nil {
		return nil, fmt.Errorf("printqueue: status: %w", err)
	}
	defer rows.Close()
	var out []PrinterStatus
	for rows.Next() {
		var name, state string
		var n, stuck int
		var down bool
		var oldest *time.Time
		if err := rows.Scan(&name, &state, &n, &stuck, &down, &oldest); err != nil {
			return nil, fmt.Errorf("printqueue: status: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Printer != name {
			out = append(out, PrinterStatus{Printer: name, ByState: map[string]int{}})
		}
		s := &out[len(out)-1]
		s.ByState[state] = n
		s.NeedsOperator += stuck
		s.Down = s.Down || down
		if state == Failed {
			s.Retrying += n - stuck
		}
		if oldest != nil && (s.OldestWaiting == nil || oldest.Before(*s.OldestWaiting)) {
			s.OldestWaiting = oldest
		}
	}
	return out, rows.Err()
}

// Retry gives a failed job a fresh set of attempts; a printer that was down (its head
// job failed for good) resumes with it.
func Retry(ctx context.Context, db *pgxpool.Pool, jobID int64) error {
	tag, err := db.Exec(ctx, `UPDATE print_jobs SET state = 'queued', attempts = 0, error = '', printer_fault = false,
		not_before = now(), updated_at = now()
		WHERE id = $1 AND state = 'failed'`, jobID)
	if err != nil {
		return fmt.Errorf("printqueue: retry %d: %w", jobID, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("%w: %d", ErrNoJob, jobID)
	}
	return (&workflow.Engine{DB: db}).ClosePrintFailure(ctx, jobID, "print retry", true)
}

// Reprint destroys the application's current card (spoiled, counted in the batch's
// reconciliation) with the reason and queues the application for a new card
// (Engine.Spoil); the new card is printed when it comes back personalized, its job
// naming the card it replaces. Open print jobs of the old card are cancelled.
func Reprint(ctx context.Context, e *workflow.Engine, actor ledger.Actor, receipt, reason string) error {
	reason, err := issuance.RequiredNote("reason", reason, 500)
	if err != nil {
		return fmt.Errorf("printqueue: reprint: %w", err)
	}
	var appID int64
	err = e.DB.QueryRow(ctx, "SELECT id FROM applications WHERE receipt = $1", receipt).Scan(&appID)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: receipt %q", ErrNoSuchApp, receipt)
	}
	if err != nil {
		return fmt.Errorf("printqueue: reprint: %w", err)
	}
	serial, _, _, rbErr := e.Readback(ctx, appID)
	if err := e.Spoil(ctx, actor, appID, "reprint: "+reason); err != nil {
		return fmt.Errorf("printqueue: reprint %s: %w", receipt, err)
	}
	if rbErr == nil {
		rows, err := e.DB.Query(ctx, `UPDATE print_jobs SET state = 'cancelled', error = 'reprint: ' || $2, updated_at = now()
			WHERE serial = $1 AND state IN ('queued', 'failed') RETURNING id`, serial, reason)
		if err != nil {
			return fmt.Errorf("printqueue: reprint %s: %w", receipt, err)
		}
		jobs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("printqueue: reprint %s: %w", receipt, err)
		}
		for _, id := range jobs {
			if err := e.ClosePrintFailure(ctx, id, actor.Name, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// ProofSheet writes the faces of a batch's personalized cards (personalized or
// later, not spoiled), several per A4 page, to <out>/proofs/batch-<id>.pdf for
// review, and returns the path and the number of cards.
func ProofSheet(ctx context.Context, e *workflow.Engine, out, design string, batch int64) (string, int, error) {
	if design == "" {
		design = layout.DefaultDesign
	}
	d, err := layout.Lookup(design)
	if err != nil {
		return "", 0, fmt.Errorf("printqueue: proof: %w", err)
	}
	rows, err := e.DB.Query(ctx, `SELECT c.application_id, c.serial FROM cards c JOIN card_readback r ON r.serial = c.serial
		WHERE c.batch_id = $1 AND c.state NOT IN ('blank', 'spoiled', 'qc_failed', 'revoked', 'returned') ORDER BY c.application_id`, batch)
	if err != nil {
		return "", 0, fmt.Errorf("printqueue: proof: %w", err)
	}
	type card struct {
		app    int64
		serial string
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (card, error) {
		var c card
		return c, r.Scan(&c.app, &c.serial)
	})
	if err != nil {
		return "", 0, fmt.Errorf("printqueue: proof: %w", err)
	}
	if len(list) == 0 {
		return "", 0, fmt.Errorf("%w: %d", ErrEmptyBatch, batch)
	}
	src := source{db: e.DB, engine: e}
	cards := make([]layout.Card, 0, len(list))
	for _, c := range list {
		lc, err := src.faceCard(ctx, c.app, c.serial)
		if err != nil {
			return "", 0, err
		}
		cards = append(cards, lc)
	}
	var buf bytes.Buffer
	if err := render.ProofSheet(&buf, d, cards...); err != nil {
		return "", 0, fmt.Errorf("printqueue: proof: %w", err)
	}
	dir := filepath.Join(out, "proofs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", 0, fmt.Errorf("printqueue: proof: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("batch-%d.pdf", batch))
	if err := printer.WriteFileAtomic(path, buf.Bytes()); err != nil {
		return "", 0, err
	}
	return path, len(cards), nil
}
