package workflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
)

// Engine applies workflow operations to the database. It is safe for concurrent use
// by many goroutines and processes: every operation is one transaction that checks
// the state it expects.
type Engine struct {
	DB  *pgxpool.Pool
	Log *slog.Logger
}

// Errors callers branch on.
var (
	ErrNoSuchBatch   = errors.New("workflow: no such batch")
	ErrBatchState    = errors.New("workflow: batch is not in a state that allows this")
	ErrInvalidLine   = errors.New("workflow: line: 1-32 of A-Z a-z 0-9 _ -")
	ErrNothingToDo   = errors.New("workflow: no applications to batch")
	ErrJobObsolete   = errors.New("workflow: job is no longer open")
	ErrPaused        = errors.New("workflow: batch or application is paused")
	ErrChipUsed      = errors.New("workflow: chip serial already used")
	ErrNoApplication = errors.New("workflow: no such application")
	ErrNoGoodCard    = errors.New("workflow: the application has no good card (not personalized yet, or already spoiled)")
)

var lineName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ValidLine reports whether s can name a production line (it becomes a NATS subject token).
func ValidLine(s string) bool { return lineName.MatchString(s) }

// Batch is a production batch.
type Batch struct {
	ID           int64      `json:"id"`
	Line         string     `json:"line"`
	Office       string     `json:"office"`
	State        string     `json:"state"`
	Applications int        `json:"applications"`
	CreatedAt    time.Time  `json:"created_at"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
}

// CreateBatches groups approved applications that are in no batch into batches, one
// per receiving office, for a production line. office limits it to one office; max
// bounds the applications taken (0 = all).
func (e *Engine) CreateBatches(ctx context.Context, actor ledger.Actor, line, office string, max int) ([]Batch, error) {
	if !ValidLine(line) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidLine, line)
	}
	if max <= 0 {
		max = 1 << 30
	}
	var out []Batch
	err := pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, delivery->>'office' FROM applications
			WHERE state = 'approved' AND batch_id IS NULL AND NOT paused AND ($1 = '' OR delivery->>'office' = $1)
			ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`, office, max)
		if err != nil {
			return err
		}
		byOffice := map[string][]int64{}
		var offices []string
		for rows.Next() {
			var id int64
			var off string
			if err := rows.Scan(&id, &off); err != nil {
				return err
			}
			if byOffice[off] == nil {
				offices = append(offices, off)
			}
			byOffice[off] = append(byOffice[off], id)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(offices) == 0 {
			return ErrNothingToDo
		}
		for _, off := range offices {
			b := Batch{Line: line, Office: off, State: "created", Applications: len(byOffice[off])}
			if err := tx.QueryRow(ctx, "INSERT INTO batches (line, office, created_by) VALUES ($1, $2, $3) RETURNING id, created_at",
				line, off, actor.Name).Scan(&b.ID, &b.CreatedAt); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "UPDATE applications SET batch_id = $1 WHERE id = ANY($2)", b.ID, byOffice[off]); err != nil {
				return err
			}
			if err := ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: "batch.create", Subject: batchSubject(b.ID),
				Detail: fmt.Sprintf("line %s, office %s, %d applications", line, off, b.Applications)}); err != nil {
				return err
			}
			out = append(out, b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func batchSubject(id int64) string { return "batch/" + strconv.FormatInt(id, 10) }

// Job is one card to personalize: the message on the line's work queue.
type Job struct {
	ID            string `json:"job_id"`
	ApplicationID int64  `json:"application_id"`
	BatchID       int64  `json:"batch_id"`
	Line          string `json:"line"`
	Attempt       int    `json:"attempt"`
}

// newJob records a job and its work-queue message in tx.
func newJob(ctx context.Context, tx pgx.Tx, appID, batchID int64, line string, attempt int) error {
	j := Job{ID: ledger.NewEventID(), ApplicationID: appID, BatchID: batchID, Line: line, Attempt: attempt}
	if _, err := tx.Exec(ctx, "INSERT INTO jobs (id, application_id, batch_id, line, attempt) VALUES ($1, $2, $3, $4, $5)",
		j.ID, appID, batchID, line, attempt); err != nil {
		return fmt.Errorf("workflow: job: %w", err)
	}
	return ledger.Enqueue(ctx, tx, JobSubject+line, j.ID, j)
}

// StartBatch queues every application of a created batch: each moves approved ->
// queued and gets a personalization job on the line's work queue.
func (e *Engine) StartBatch(ctx context.Context, actor ledger.Actor, id int64) (queued int, err error) {
	err = pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		var state, line string
		err := tx.QueryRow(ctx, "SELECT state, line FROM batches WHERE id = $1 FOR UPDATE", id).Scan(&state, &line)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %d", ErrNoSuchBatch, id)
		}
		if err != nil {
			return err
		}
		if state != "created" {
			return fmt.Errorf("%w: batch %d is %s, start needs created", ErrBatchState, id, state)
		}
		// One statement for the whole batch: every application approved -> queued with its
		// timeline, audit and outbox rows, and a job with its work-queue message each (the
		// message ID is the job ID, as newJob does).
		var s stmt
		b, ln := s.arg(id, "bigint"), s.arg(line, "text")
		s.with("src", `SELECT id, `+s.arg("batch "+strconv.FormatInt(id, 10), "text")+` AS note FROM applications
			WHERE batch_id = `+b+` AND state = 'approved' AND NOT paused ORDER BY id FOR UPDATE`)
		moved := s.moveHeldApps("app", "SELECT id, note FROM src", lifecycle.Approved, lifecycle.Queued, actor, ledger.Chain(tx))
		s.with("job", `INSERT INTO jobs (id, application_id, batch_id, line, attempt)
			SELECT gen_random_uuid(), id, `+b+`, `+ln+`, 1 FROM app ORDER BY id RETURNING id, application_id`)
		s.with("jobq", `INSERT INTO outbox (event_id, subject, payload) SELECT id, `+s.arg(JobSubject+line, "text")+`,
			jsonb_build_object('job_id', id, 'application_id', application_id, 'batch_id', `+b+`, 'line', `+ln+`, 'attempt', 1)
			FROM job ORDER BY application_id RETURNING 1`)
		var n, written, jobs int
		if err := txRow(ctx, tx, &s, "SELECT (SELECT count(*) FROM src), "+moved+", "+countOf("job", "jobq"), &n, &written, &jobs); err != nil {
			return fmt.Errorf("workflow: start batch %d: %w", id, err)
		}
		if written != n || jobs != 2*n {
			return fmt.Errorf("%w: batch %d: %d of %d applications moved", ledger.ErrStateChanged, id, written, n)
		}
		if _, err := tx.Exec(ctx, "UPDATE batches SET state = 'running', started_at = now() WHERE id = $1", id); err != nil {
			return err
		}
		queued = n
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: "batch.start", Subject: batchSubject(id),
			Detail: fmt.Sprintf("%d jobs queued on line %s", queued, line)})
	})
	return queued, err
}

// SetBatchPaused pauses a running batch (stations hold its jobs) or resumes it.
func (e *Engine) SetBatchPaused(ctx context.Context, actor ledger.Actor, id int64, pause bool) error {
	from, to, action := "running", "paused", "batch.pause"
	if !pause {
		from, to, action = "paused", "running", "batch.resume"
	}
	return pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE batches SET state = $3 WHERE id = $1 AND state = $2", id, from, to)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			var state string
			if err := tx.QueryRow(ctx, "SELECT state FROM batches WHERE id = $1", id).Scan(&state); err != nil {
				return fmt.Errorf("%w: %d", ErrNoSuchBatch, id)
			}
			return fmt.Errorf("%w: batch %d is %s, needs %s", ErrBatchState, id, state, from)
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: action, Subject: batchSubject(id)})
	})
}

// Batches lists batches, newest first.
func (e *Engine) Batches(ctx context.Context, limit int) ([]Batch, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := e.DB.Query(ctx, `SELECT b.id, b.line, b.office, b.state, b.created_at, b.started_at,
		(SELECT count(*) FROM applications a WHERE a.batch_id = b.id) FROM batches b ORDER BY b.id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("workflow: batches: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Batch, error) {
		var b Batch
		err := r.Scan(&b.ID, &b.Line, &b.Office, &b.State, &b.CreatedAt, &b.StartedAt, &b.Applications)
		return b, err
	})
}

// BatchStatus is what an operator watches while a batch runs.
type BatchStatus struct {
	Batch
	Applications  map[string]int `json:"applications_by_state"`
	Cards         map[string]int `json:"cards_by_state"`
	Done          int            `json:"personalized"` // applications past personalization
	Spoiled       int            `json:"spoiled"`
	SpoilageRate  float64        `json:"spoilage_rate"`
	CardsPerMin   float64        `json:"cards_per_minute"`
	ETA           time.Duration  `json:"eta_ns"`
	FinishedCards int            `json:"good_cards"`
	// PrintHeld counts written cards whose face could not be printed: each has a print dead
	// letter naming its remedy (`cccd workflow dead`, `cccd batch reconcile`).
	PrintHeld int `json:"print_held"`
}

// Status returns per-state counts, throughput, spoilage and an ETA for a batch.
func (e *Engine) Status(ctx context.Context, id int64) (BatchStatus, error) {
	var s BatchStatus
	err := e.DB.QueryRow(ctx, `SELECT id, line, office, state, created_at, started_at,
		(SELECT count(*) FROM applications WHERE batch_id = $1) FROM batches WHERE id = $1`, id).
		Scan(&s.ID, &s.Line, &s.Office, &s.State, &s.CreatedAt, &s.StartedAt, &s.Batch.Applications)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, fmt.Errorf("%w: %d", ErrNoSuchBatch, id)
	}
	if err != nil {
		return s, fmt.Errorf("workflow: batch status: %w", err)
	}
	s.Applications = map[string]int{}
	s.Cards = map[string]int{}
	count := func(q string, into map[string]int) error {
		rows, err := e.DB.Query(ctx, q, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				return err
			}
			into[k] = n
		}
		return rows.Err()
	}
	if err := count("SELECT state, count(*) FROM applications WHERE batch_id = $1 GROUP BY state", s.Applications); err != nil {
		return s, fmt.Errorf("workflow: batch status: %w", err)
	}
	if err := count("SELECT state, count(*) FROM cards WHERE batch_id = $1 GROUP BY state", s.Cards); err != nil {
		return s, fmt.Errorf("workflow: batch status: %w", err)
	}
	if err := e.DB.QueryRow(ctx, `SELECT count(*) FROM cards c WHERE c.batch_id = $1 AND c.state = 'encoded'
		AND `+heldForPrint+` <> ''`, id).Scan(&s.PrintHeld); err != nil {
		return s, fmt.Errorf("workflow: batch status: %w", err)
	}
	for st, n := range s.Applications {
		switch lifecycle.AppState(st) {
		case lifecycle.Personalized, lifecycle.Printed, lifecycle.QCPassed, lifecycle.Dispatched, lifecycle.AtOffice,
			lifecycle.Delivered, lifecycle.Returned:
			s.Done += n
		}
	}
	s.Spoiled = s.Cards["spoiled"] + s.Cards["qc_failed"]
	total := 0
	for _, n := range s.Cards {
		total += n
	}
	if total > 0 {
		s.SpoilageRate = float64(s.Spoiled) / float64(total)
	}
	s.FinishedCards = total - s.Spoiled - s.Cards["blank"]
	if s.StartedAt != nil && s.Done > 0 {
		el := time.Since(*s.StartedAt)
		s.CardsPerMin = float64(s.Done) / el.Minutes()
		remaining := s.Batch.Applications - s.Done - s.Applications["rejected"]
		if remaining > 0 {
			s.ETA = time.Duration(float64(remaining) / s.CardsPerMin * float64(time.Minute))
		}
	}
	return s, nil
}
