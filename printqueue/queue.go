// Package printqueue prints the faces of personalized cards and checks them against
// their chips, driven by the workflow (package issuance/workflow).
//
// Design. PostgreSQL holds the queue (table print_jobs): the "personalized" stage
// worker only enqueues (Enqueue, idempotent: one open job per card), so that the
// event is acknowledged as soon as the job is durable. Each printer has its own
// worker loop (Run) that takes that printer's jobs in id order with SELECT ... FOR
// UPDATE SKIP LOCKED, renders the card (front and back, printqueue/render) to
// <out>/cards/<receipt>-<serial>.pdf, sends it to the printer back-end
// (printqueue/printer) and records the face as printed (workflow Engine.MarkPrinted).
//
// Job states: queued -> rendering -> sent -> printed; a back-end failure (a jammed
// printer) makes the job failed with its error and a back-off; the worker waits on the
// head of its queue, so the order is kept, and retries it until max_attempts, after
// which the job stays failed and the printer is down: its queue waits until an
// operator repairs it and retries the job (Status, List, Retry). A card whose face
// cannot be drawn (text overflow, invalid data) fails at once without stopping the
// printer. A job whose card was spoiled meanwhile is cancelled. A worker that died
// mid-job leaves a lease that expires: the job is taken again (the PDF may then be
// sent twice; the application is never marked printed twice). One worker per printer
// is the intended set-up; several processes for one printer stay correct (row locks)
// but take turns.
//
// QC (the "printed" stage worker, QC) reads the face back from the PDF that was sent
// (pdftotext, printqueue/qc), compares it with DG1 and DG13 as the station read them
// back from the locked chip, and passes the card or spoils it with a reason naming
// the fields; a spoiled card gives the application a new personalization job
// (Engine.Spoil), and its new card comes back through the print queue. Reprint is the
// same path started by an operator with a reason: the old card counts as spoiled.
package printqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/prep"
	"github.com/cccd-project/cccd/printqueue/layout"
	"github.com/cccd-project/cccd/printqueue/printer"
	"github.com/cccd-project/cccd/printqueue/render"
)

// Job states (table print_jobs).
const (
	Queued    = "queued"
	Rendering = "rendering"
	Sent      = "sent"
	Printed   = "printed"
	Failed    = "failed"
	Cancelled = "cancelled" // the card was spoiled or replaced before it was printed
)

// Errors callers branch on.
var (
	ErrNoCard     = errors.New("printqueue: application has no personalized card to print")
	ErrNoJob      = errors.New("printqueue: no such print job awaiting a retry")
	ErrNoPDF      = errors.New("printqueue: no printed face recorded for the card")
	ErrNoSuchApp  = errors.New("printqueue: no such application")
	ErrEmptyBatch = errors.New("printqueue: batch has no personalized cards")
)

// Config configures a Queue. Zero values take the documented defaults.
type Config struct {
	Printer     string          // this worker's printer (queue) name; required, [A-Za-z0-9._-]
	Out         string          // directory of cards/ and proofs/; required
	Design      string          // card design; default layout.DefaultDesign
	MaxAttempts int             // attempts per job before it stays failed; default 5
	BackOff     []time.Duration // wait before attempt n+1; default 1s, 5s, 15s, 30s (last repeats)
	Lease       time.Duration   // a job taken by a worker that died is taken again after this; default 2m
	Poll        time.Duration   // idle polling of the queue; default 1s
	Actor       ledger.Actor    // who prints and checks in the records; default ledger.System("printqueue")
}

// Validate checks a Config and fills in the defaults.
func (c *Config) Validate() error {
	switch {
	case !printer.ValidName(c.Printer):
		return fmt.Errorf("printqueue: printer %q: %w", c.Printer, printer.ErrInvalidName)
	case c.Out == "":
		return errors.New("printqueue: out: an output directory is required")
	case c.MaxAttempts < 0 || c.MaxAttempts > 100:
		return fmt.Errorf("printqueue: max attempts %d: want 1-100", c.MaxAttempts)
	}
	if c.Design == "" {
		c.Design = layout.DefaultDesign
	}
	if _, err := layout.Lookup(c.Design); err != nil {
		return fmt.Errorf("printqueue: design: %w", err)
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if len(c.BackOff) == 0 {
		c.BackOff = []time.Duration{time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second}
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Actor.Name == "" {
		c.Actor = ledger.System("printqueue")
	}
	return nil
}

// Queue is the print queue of one printer, and the print and QC stages around it.
type Queue struct {
	db      *pgxpool.Pool
	engine  *workflow.Engine
	backend printer.Printer
	cfg     Config
	log     *slog.Logger
	wake    chan struct{}
}

// New returns the queue of cfg.Printer, printing through backend.
func New(db *pgxpool.Pool, engine *workflow.Engine, backend printer.Printer, cfg Config, log *slog.Logger) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{"cards", "proofs"} {
		if err := os.MkdirAll(filepath.Join(cfg.Out, d), 0o755); err != nil {
			return nil, fmt.Errorf("printqueue: %w", err)
		}
	}
	return &Queue{db: db, engine: engine, backend: backend, cfg: cfg, log: log, wake: make(chan struct{}, 1)}, nil
}

// Config returns the queue's configuration with its defaults filled in.
func (q *Queue) Config() Config { return q.cfg }

// Enqueue puts the face of the application's current card on printerName's queue
// (this queue's printer when empty). It is idempotent: a card has at most one open
// job, and enqueueing it again returns that job. reason is kept with the job; when
// empty and the application had an earlier card spoiled (QC failure, reprint), the
// reason names that card and why it was spoiled.
func (q *Queue) Enqueue(ctx context.Context, appID int64, printerName, reason string) (int64, error) {
	if printerName == "" {
		printerName = q.cfg.Printer
	}
	if !printer.ValidName(printerName) {
		return 0, fmt.Errorf("printqueue: printer %q: %w", printerName, printer.ErrInvalidName)
	}
	var id int64
	err := pgx.BeginFunc(ctx, q.db, func(tx pgx.Tx) error {
		var serial string
		err := tx.QueryRow(ctx, `SELECT c.serial FROM cards c JOIN applications a ON a.id = c.application_id
			WHERE c.application_id = $1 AND c.state = 'encoded' AND a.state = 'personalized'`, appID).Scan(&serial)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: application %d", ErrNoCard, appID)
		}
		if err != nil {
			return fmt.Errorf("printqueue: enqueue %d: %w", appID, err)
		}
		if reason == "" {
			var old, why string
			err := tx.QueryRow(ctx, `SELECT c.serial, c.reason FROM print_jobs p JOIN cards c ON c.serial = p.serial
				WHERE p.application_id = $1 AND c.serial <> $2 AND c.state IN ('spoiled', 'qc_failed')
				ORDER BY p.id DESC LIMIT 1`, appID, serial).Scan(&old, &why)
			if err == nil {
				reason = "replaces card " + old + ": " + why
			} else if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("printqueue: enqueue %d: %w", appID, err)
			}
		}
		err = tx.QueryRow(ctx, `INSERT INTO print_jobs (application_id, serial, printer, max_attempts, reason, design)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (serial) WHERE state <> 'cancelled' DO NOTHING RETURNING id`,
			appID, serial, printerName, q.cfg.MaxAttempts, reason, q.cfg.Design).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			err = tx.QueryRow(ctx, "SELECT id FROM print_jobs WHERE serial = $1 AND state <> 'cancelled'", serial).Scan(&id)
		}
		if err != nil {
			return fmt.Errorf("printqueue: enqueue %d: %w", appID, err)
		}
		return nil
	})
	if err == nil && printerName == q.cfg.Printer {
		q.nudge()
	}
	return id, err
}

func (q *Queue) nudge() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// job is a job taken by this worker.
type job struct {
	ID, AppID             int64
	Serial, Receipt       string
	Design, Reason        string
	Attempts, MaxAttempts int
}

// Run works this printer's queue until ctx ends.
func (q *Queue) Run(ctx context.Context) error {
	for {
		j, wait, err := q.claim(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			q.log.Warn("printqueue: claim", "printer", q.cfg.Printer, "err", err)
			wait = q.cfg.Poll
		}
		if j != nil {
			q.process(ctx, j)
			continue
		}
		if wait <= 0 || wait > q.cfg.Poll {
			wait = q.cfg.Poll
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-q.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// claim takes the head of the printer's queue, strictly in order: the oldest job that
// is queued, failed with attempts left, or held by a worker whose lease expired. The
// worker waits (wait > 0) while the head is in its back-off or leased, and while the
// head failed for good through the printer's fault (the printer is down until an
// operator retries the job), and while an operator holds the printer down (SetDown).
// A job failed for its data does not stop the queue.
func (q *Queue) claim(ctx context.Context) (*job, time.Duration, error) {
	var j *job
	var wait time.Duration
	err := pgx.BeginFunc(ctx, q.db, func(tx pgx.Tx) error {
		var held bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM printer_holds WHERE printer = $1)", q.cfg.Printer).Scan(&held); err != nil {
			return err
		}
		if held {
			wait = q.cfg.Poll // an operator took the printer down (SetDown)
			return nil
		}
		var id int64
		var state string
		var attempts, max int
		var due, leased float64
		err := tx.QueryRow(ctx, `SELECT id, state, attempts, max_attempts,
				greatest(extract(epoch FROM not_before - now()), 0)::float8,
				greatest(coalesce(extract(epoch FROM lease_until - now()), 0), 0)::float8
			FROM print_jobs WHERE printer = $1 AND (state IN ('queued', 'rendering', 'sent')
				OR (state = 'failed' AND (attempts < max_attempts OR printer_fault)))
			ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`, q.cfg.Printer).Scan(&id, &state, &attempts, &max, &due, &leased)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case state == Failed && attempts >= max:
			wait = q.cfg.Poll // printer down
			return nil
		case (state == Rendering || state == Sent) && leased > 0:
			wait = time.Duration(leased * float64(time.Second))
			return nil
		case state == Failed && due > 0:
			wait = time.Duration(due * float64(time.Second))
			return nil
		}
		j = &job{ID: id}
		return tx.QueryRow(ctx, `UPDATE print_jobs p SET state = 'rendering', attempts = p.attempts + 1,
				lease_until = now() + $2 * interval '1 second', updated_at = now()
			FROM applications a WHERE p.id = $1 AND a.id = p.application_id
			RETURNING p.application_id, p.serial, a.receipt, p.design, p.reason, p.attempts, p.max_attempts`,
			id, q.cfg.Lease.Seconds()).Scan(&j.AppID, &j.Serial, &j.Receipt, &j.Design, &j.Reason, &j.Attempts, &j.MaxAttempts)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("printqueue: claim: %w", err)
	}
	return j, wait, nil
}

// process renders, sends and records one job; every outcome is written to the job.
func (q *Queue) process(ctx context.Context, j *job) {
	log := q.log.With("printer", q.cfg.Printer, "job", j.ID, "receipt", j.Receipt, "serial", j.Serial, "attempt", j.Attempts)
	var appState, cardState string
	if err := q.db.QueryRow(ctx, `SELECT a.state, c.state FROM cards c JOIN applications a ON a.id = c.application_id
		WHERE c.serial = $1`, j.Serial).Scan(&appState, &cardState); err != nil {
		q.fail(ctx, log, j, fmt.Errorf("printqueue: job %d: %w", j.ID, err), false, false)
		return
	}
	switch {
	case cardState == "printed" || (cardState != "encoded" && cardState != "spoiled" && cardState != "qc_failed"):
		// Printed and recorded by a worker that died before it closed the job.
		q.finish(ctx, log, j, Printed, "", "")
		return
	case cardState != "encoded" || appState != "personalized":
		q.finish(ctx, log, j, Cancelled, "card is "+cardState+", application "+appState, "")
		return
	}
	pdf, err := source{q.db, q.engine}.renderCard(ctx, j.AppID, j.Serial, j.Design)
	if err != nil {
		// Data that cannot be drawn does not improve with retries: operators must see it.
		permanent := errors.Is(err, render.ErrTextOverflow) || errors.Is(err, render.ErrUnsupportedChar) ||
			errors.Is(err, layout.ErrInvalidCard) || errors.Is(err, prep.ErrInvalid)
		q.fail(ctx, log, j, err, permanent, false)
		return
	}
	path := filepath.Join(q.cfg.Out, "cards", fileName(j.Receipt, j.Serial))
	if err := printer.WriteFileAtomic(path, pdf); err != nil {
		q.fail(ctx, log, j, err, false, false)
		return
	}
	if _, err := q.db.Exec(ctx, "UPDATE print_jobs SET state = 'sent', pdf = $2, updated_at = now() WHERE id = $1", j.ID, path); err != nil {
		q.fail(ctx, log, j, err, false, false)
		return
	}
	if err := q.backend.Print(ctx, strings.TrimSuffix(filepath.Base(path), ".pdf"), pdf); err != nil {
		q.fail(ctx, log, j, err, false, true)
		return
	}
	if err := q.engine.MarkPrinted(ctx, q.cfg.Actor, j.AppID); err != nil && !errors.Is(err, ledger.ErrStateChanged) {
		q.fail(ctx, log, j, fmt.Errorf("printqueue: printed but not recorded: %w", err), false, false)
		return
	}
	q.finish(ctx, log, j, Printed, "", path)
	log.Info("printqueue: printed", "pdf", path)
}

// fileName is <receipt>-<serial>.pdf with anything but [A-Za-z0-9._-] replaced.
func fileName(receipt, serial string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
				return r
			}
			return '_'
		}, s)
	}
	return clean(receipt) + "-" + clean(serial) + ".pdf"
}

func (q *Queue) finish(ctx context.Context, log *slog.Logger, j *job, state, note, pdf string) {
	_, err := q.db.Exec(ctx, `UPDATE print_jobs SET state = $2, error = $3, pdf = CASE WHEN $4 = '' THEN pdf ELSE $4 END,
		lease_until = NULL, updated_at = now(), printed_at = CASE WHEN $2 = 'printed' THEN now() END WHERE id = $1`,
		j.ID, state, note, pdf)
	if err != nil {
		log.Warn("printqueue: closing job", "state", state, "err", err)
	}
}

// fail records a failed attempt: retried after the back-off while attempts remain,
// else (or when permanent) left failed for an operator.
func (q *Queue) fail(ctx context.Context, log *slog.Logger, j *job, cause error, permanent, printerFault bool) {
	if ctx.Err() != nil {
		return // stopping: the lease expires and the job is taken again
	}
	back := q.cfg.BackOff[min(j.Attempts, len(q.cfg.BackOff))-1]
	attempts := j.Attempts
	if permanent {
		attempts = j.MaxAttempts
	}
	if _, err := q.db.Exec(ctx, `UPDATE print_jobs SET state = 'failed', error = $2, attempts = $3, printer_fault = $5,
		not_before = now() + $4 * interval '1 second', lease_until = NULL, updated_at = now() WHERE id = $1`,
		j.ID, cause.Error(), attempts, back.Seconds(), printerFault); err != nil {
		log.Warn("printqueue: recording failure", "err", err)
	}
	if attempts >= j.MaxAttempts {
		if printerFault {
			log.Error("printqueue: printer down: its queue waits until an operator retries the job", "err", cause)
			return
		}
		// The chip is written: the card is held, never silently stuck, until an operator
		// applies the remedy its dead letter names.
		f := workflow.PrintFailure{Job: j.ID, ApplicationID: j.AppID, Receipt: j.Receipt, Serial: j.Serial, Printer: q.cfg.Printer}
		if err := q.engine.RecordPrintFailure(ctx, q.cfg.Actor, f, attempts, cause); err != nil {
			log.Warn("printqueue: recording the dead letter", "err", err)
		}
		log.Error("printqueue: job failed, an operator must retry or reprint it", "err", cause,
			"remedy", workflow.PrintRemedy(j.ID, j.Receipt))
		return
	}
	log.Warn("printqueue: attempt failed, retrying", "err", cause, "after", back)
}
