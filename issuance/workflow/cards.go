package workflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
)

// cardTransition moves a card from one state to another inside tx, checking both the
// legality and the current state, with its card event and audit entry, in one
// statement (one round trip).
func cardTransition(ctx context.Context, tx pgx.Tx, actor ledger.Actor, serial string, from, to lifecycle.CardState, note string) error {
	if err := lifecycle.CheckCard(from, to); err != nil {
		return err
	}
	var moved int
	err := tx.QueryRow(ctx, `WITH upd AS (
			UPDATE cards SET state = $3, reason = CASE WHEN $4 = '' THEN reason ELSE $4 END, updated_at = now()
			WHERE serial = $1 AND state = $2 RETURNING serial),
		ev AS (INSERT INTO card_events (serial, from_state, to_state, actor, note)
			SELECT serial, $2, $3, $5, $4 FROM upd RETURNING 1),
		au AS (SELECT audit_append($6, $5, $7, 'card.' || $3, 'card/' || serial, $2 || ' -> ' || $3 || ' ' || $4) FROM upd)
		SELECT (SELECT count(*) FROM upd) + (SELECT count(*) FROM ev) + (SELECT count(*) FROM au)`,
		serial, from, to, note, actor.Name, ledger.Chain(tx), actor.Office).Scan(&moved)
	if err != nil {
		return fmt.Errorf("workflow: card %s: %w", serial, err)
	}
	if moved != 3 {
		return fmt.Errorf("%w: card %s is not %s", ledger.ErrStateChanged, serial, from)
	}
	return nil
}

// BeginJob is called by a station when it takes a job from the work queue. It moves the
// application queued -> personalizing. A job delivered again after a station died
// mid-card is taken over: the half-written chip of the dead attempt is marked spoiled.
// ErrJobObsolete means the job was already finished or replaced (ack it and move on);
// ErrPaused means hold it for later.
func (e *Engine) BeginJob(ctx context.Context, station string, j Job) error {
	actor := ledger.System("station:" + station)
	return pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		var jobState, batchState, appState string
		var paused bool
		err := tx.QueryRow(ctx, `SELECT j.state, b.state, a.state, a.paused FROM jobs j
			JOIN batches b ON b.id = j.batch_id JOIN applications a ON a.id = j.application_id
			WHERE j.id = $1 FOR UPDATE OF j, a`, j.ID).Scan(&jobState, &batchState, &appState, &paused)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: unknown job %s", ErrJobObsolete, j.ID)
		}
		if err != nil {
			return fmt.Errorf("workflow: begin job: %w", err)
		}
		switch {
		case jobState != "queued" && jobState != "taken":
			return fmt.Errorf("%w: job %s is %s", ErrJobObsolete, j.ID, jobState)
		case batchState == "paused" || paused:
			return fmt.Errorf("%w: job %s", ErrPaused, j.ID)
		}
		if jobState == "taken" {
			// A previous holder died. Its chip, if any, never completed: spoil it.
			rows, err := tx.Query(ctx, "SELECT serial FROM cards WHERE job_id = $1 AND state = 'blank'", j.ID)
			if err != nil {
				return err
			}
			serials, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			for _, s := range serials {
				if err := cardTransition(ctx, tx, actor, s, lifecycle.Blank, lifecycle.Spoiled, "station stopped mid-card"); err != nil {
					return err
				}
			}
		} else if _, err := ledger.Transition(ctx, tx, ledger.Change{ApplicationID: j.ApplicationID, From: lifecycle.Queued,
			To: lifecycle.Personalizing, Actor: actor}); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE jobs SET state = 'taken', station = $2, updated_at = now() WHERE id = $1", j.ID, station)
		return err
	})
}

// StartCard records that a blank chip with this serial is being written for the job.
// The chip is not yet bound to the application: that happens in CompleteJob, after
// every step and the read-back succeeded. ErrChipUsed means the chip was used before
// (it is not blank) and must be rejected.
func (e *Engine) StartCard(ctx context.Context, station string, j Job, serial string) error {
	return pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		var state string
		if err := tx.QueryRow(ctx, "SELECT state FROM jobs WHERE id = $1 FOR UPDATE", j.ID).Scan(&state); err != nil || state != "taken" {
			return fmt.Errorf("%w: job %s", ErrJobObsolete, j.ID)
		}
		_, err := tx.Exec(ctx, "INSERT INTO cards (serial, application_id, batch_id, job_id, state) VALUES ($1, $2, $3, $4, 'blank')",
			serial, j.ApplicationID, j.BatchID, j.ID)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return fmt.Errorf("%w: %s", ErrChipUsed, serial)
		}
		if err != nil {
			return fmt.Errorf("workflow: start card: %w", err)
		}
		_, err = tx.Exec(ctx, "INSERT INTO card_events (serial, from_state, to_state, actor) VALUES ($1, '', 'blank', $2)",
			serial, "system:station:"+station)
		return err
	})
}

// CompleteJob binds the chip to the application once it was written, locked and
// verified: card blank -> encoded, application personalizing -> personalized, job done.
// The database refuses a second good card for one application.
func (e *Engine) CompleteJob(ctx context.Context, station string, j Job, serial, mrz string) error {
	actor := ledger.System("station:" + station)
	return pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE jobs SET state = 'done', updated_at = now() WHERE id = $1 AND state = 'taken'", j.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("%w: job %s", ErrJobObsolete, j.ID)
		}
		if _, err := tx.Exec(ctx, "UPDATE cards SET mrz = $2 WHERE serial = $1", serial, mrz); err != nil {
			return err
		}
		if err := cardTransition(ctx, tx, actor, serial, lifecycle.Blank, lifecycle.Encoded, ""); err != nil {
			return err
		}
		_, err = ledger.Transition(ctx, tx, ledger.Change{ApplicationID: j.ApplicationID, From: lifecycle.Personalizing,
			To: lifecycle.Personalized, Actor: actor, Note: "card " + serial})
		return err
	})
}

// SpoilCard records a failed card (removed, write error, QC mismatch) with its reason
// and gives the application a new job for a new card. serial may be empty when the
// chip could not even be identified.
func (e *Engine) SpoilCard(ctx context.Context, station string, j Job, serial, reason string) error {
	actor := ledger.System("station:" + station)
	return pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE jobs SET state = 'spoiled', updated_at = now() WHERE id = $1 AND state = 'taken'", j.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("%w: job %s", ErrJobObsolete, j.ID)
		}
		if serial != "" {
			if err := cardTransition(ctx, tx, actor, serial, lifecycle.Blank, lifecycle.Spoiled, reason); err != nil {
				return err
			}
		}
		return requeue(ctx, tx, actor, j.ApplicationID, lifecycle.Personalizing, "card spoiled: "+reason)
	})
}

// requeue sends an application back to the queue with a new job for a new card.
func requeue(ctx context.Context, tx pgx.Tx, actor ledger.Actor, appID int64, from lifecycle.AppState, note string) error {
	var batch int64
	var line string
	var attempts int
	err := tx.QueryRow(ctx, `SELECT a.batch_id, b.line, (SELECT coalesce(max(attempt), 0) FROM jobs WHERE application_id = a.id)
		FROM applications a JOIN batches b ON b.id = a.batch_id WHERE a.id = $1`, appID).Scan(&batch, &line, &attempts)
	if err != nil {
		return fmt.Errorf("workflow: requeue %d: %w", appID, err)
	}
	if _, err := ledger.Transition(ctx, tx, ledger.Change{ApplicationID: appID, From: from, To: lifecycle.Queued,
		Actor: actor, Note: note}); err != nil {
		return err
	}
	return newJob(ctx, tx, appID, batch, line, attempts+1)
}

// goodCard returns the serial and state of the application's one good card.
func goodCard(ctx context.Context, tx pgx.Tx, appID int64) (string, lifecycle.CardState, error) {
	var serial, state string
	err := tx.QueryRow(ctx, `SELECT serial, state FROM cards WHERE application_id = $1
		AND state NOT IN ('blank', 'spoiled', 'qc_failed', 'revoked', 'returned') FOR UPDATE`, appID).Scan(&serial, &state)
	if err != nil {
		return "", "", fmt.Errorf("workflow: application %d has no good card: %w", appID, err)
	}
	return serial, lifecycle.CardState(state), nil
}

// MarkPrinted records that the face of the application's card was printed.
func (e *Engine) MarkPrinted(ctx context.Context, actor ledger.Actor, appID int64) error {
	return pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		serial, state, err := goodCard(ctx, tx, appID)
		if err != nil {
			return err
		}
		if err := cardTransition(ctx, tx, actor, serial, state, lifecycle.CardPrinted, ""); err != nil {
			return err
		}
		_, err = ledger.Transition(ctx, tx, ledger.Change{ApplicationID: appID, From: lifecycle.Personalized,
			To: lifecycle.Printed, Actor: actor, Note: "card " + serial})
		return err
	})
}

// QCPass records that the printed card passed quality control.
func (e *Engine) QCPass(ctx context.Context, actor ledger.Actor, appID int64) error {
	return pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		_, err := ledger.Transition(ctx, tx, ledger.Change{ApplicationID: appID, From: lifecycle.Printed,
			To: lifecycle.QCPassed, Actor: actor})
		return err
	})
}

// Spoil destroys the application's current card after personalization (misprint,
// failed QC, reprint) and queues the application for a new card.
func (e *Engine) Spoil(ctx context.Context, actor ledger.Actor, appID int64, reason string) error {
	return pgx.BeginFunc(ctx, e.DB, func(tx pgx.Tx) error {
		var app string
		if err := tx.QueryRow(ctx, "SELECT state FROM applications WHERE id = $1 FOR UPDATE", appID).Scan(&app); err != nil {
			return fmt.Errorf("%w: %d", ErrNoApplication, appID)
		}
		serial, state, err := goodCard(ctx, tx, appID)
		if err != nil {
			return err
		}
		if state == lifecycle.CardPrinted {
			if err := cardTransition(ctx, tx, actor, serial, state, lifecycle.QCFailed, reason); err != nil {
				return err
			}
			state = lifecycle.QCFailed
		}
		if err := cardTransition(ctx, tx, actor, serial, state, lifecycle.Spoiled, reason); err != nil {
			return err
		}
		return requeue(ctx, tx, actor, appID, lifecycle.AppState(app), "card spoiled: "+reason)
	})
}
