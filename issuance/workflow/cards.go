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

// TakeJob is called by a station holding a blank chip, whose serial it has read, when
// it takes a job from the work queue: in one statement the job is taken, the
// application moves queued -> personalizing and the chip is recorded for the job (it
// is bound to the application only by CompleteJob, once written and read back). A job
// delivered again after a station died mid-card is taken over: the half-written chip of
// the dead attempt is marked spoiled. Refused, it writes nothing: ErrJobObsolete means
// the job was already finished or replaced (ack it and move on), ErrPaused means hold
// it for later, ErrChipUsed means the chip was used before and must be rejected. The
// statement for a queued job is the smaller one; a job found taken is taken over by a
// second statement that also spoils the dead attempt's chip.
func (e *Engine) TakeJob(ctx context.Context, station string, j Job, serial string) error {
	if serial == "" {
		return fmt.Errorf("workflow: take job %s: no chip serial", j.ID)
	}
	err := e.takeJob(ctx, station, j, serial, false)
	if errors.Is(err, errTakeOver) {
		err = e.takeJob(ctx, station, j, serial, true)
	}
	return err
}

// errTakeOver: the job is held by a station that died; take it over.
var errTakeOver = errors.New("workflow: job to take over")

func (e *Engine) takeJob(ctx context.Context, station string, j Job, serial string, takeOver bool) error {
	actor := ledger.System("station:" + station)
	var jobState, batchState, appState *string
	var paused *bool
	var moved, taken, written int
	err := e.single(ctx, func(chain int16) (*stmt, string, []any) {
		var s stmt
		id := s.arg(j.ID, "uuid")
		s.with("g", `SELECT j.state AS job, j.batch_id, b.state AS batch, a.id AS app, a.state, a.paused FROM jobs j
			JOIN batches b ON b.id = j.batch_id JOIN applications a ON a.id = j.application_id
			WHERE j.id = `+id+` FOR UPDATE OF j, a`)
		want := "job = 'queued' AND state = 'queued'"
		if takeOver {
			want = "job = 'taken'"
		}
		s.with("ok", `SELECT job, batch_id, app FROM g WHERE batch <> 'paused' AND NOT paused AND `+want)
		spoil := "0"
		if takeOver {
			// A previous holder died. Its chip, if any, never completed: spoil it.
			spoil = s.moveCards("spoil", `SELECT c.serial, `+s.arg("station stopped mid-card", "text")+` AS note
				FROM cards c, ok WHERE c.application_id = ok.app AND c.job_id = `+id+` AND c.state = 'blank'`,
				lifecycle.Blank, lifecycle.Spoiled, "", actor, chain)
		}
		move := s.moveHeldApps("app", "SELECT app AS id, ''::text AS note FROM ok WHERE job = 'queued'",
			lifecycle.Queued, lifecycle.Personalizing, actor, chain)
		s.with("take", `UPDATE jobs SET state = 'taken', station = `+s.arg(station, "text")+`, updated_at = now()
			WHERE id = `+id+` AND EXISTS (SELECT 1 FROM ok) RETURNING 1`)
		// Reading spoil first makes the dead attempt's chip leave cards_one_good before the
		// new one enters it.
		s.with("c", `INSERT INTO cards (serial, application_id, batch_id, job_id, state)
			SELECT `+s.arg(serial, "text")+`, ok.app, ok.batch_id, `+id+`, 'blank' FROM ok WHERE `+spoil+` >= 0 RETURNING serial`)
		s.with("c_ev", `INSERT INTO card_events (serial, from_state, to_state, actor)
			SELECT serial, '', 'blank', `+s.arg(actor.Name, "text")+` FROM c RETURNING 1`)
		return &s, "SELECT (SELECT job FROM g), (SELECT batch FROM g), (SELECT state FROM g), (SELECT paused FROM g), " +
				move + ", " + countOf("take") + ", " + countOf("c"),
			[]any{&jobState, &batchState, &appState, &paused, &moved, &taken, &written}
	})
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "cards_pkey":
		return fmt.Errorf("%w: %s", ErrChipUsed, serial)
	case err != nil:
		return fmt.Errorf("workflow: take job: %w", err)
	case jobState == nil:
		return fmt.Errorf("%w: unknown job %s", ErrJobObsolete, j.ID)
	case *jobState != "queued" && *jobState != "taken":
		return fmt.Errorf("%w: job %s is %s", ErrJobObsolete, j.ID, *jobState)
	case *batchState == "paused" || *paused:
		return fmt.Errorf("%w: job %s", ErrPaused, j.ID)
	case *jobState == "taken" && !takeOver:
		return errTakeOver
	case *jobState == "queued" && *appState != string(lifecycle.Queued):
		return fmt.Errorf("%w: application %d, expected %s", ledger.ErrStateChanged, j.ApplicationID, lifecycle.Queued)
	case taken != 1 || (*jobState == "queued" && moved != 1) || written != 1:
		return fmt.Errorf("%w: job %s changed while it was taken", ledger.ErrStateChanged, j.ID)
	}
	return nil
}

// CompleteJob binds the chip to the application once it was written, locked and
// verified: card blank -> encoded, application personalizing -> personalized, job done.
// The database refuses a second good card for one application. One statement: every
// write is conditioned on all three states, so a refusal changes nothing.
func (e *Engine) CompleteJob(ctx context.Context, station string, j Job, serial, mrz string) error {
	actor := ledger.System("station:" + station)
	var jobState, cardState, appState *string
	var done, cards, apps int
	err := e.single(ctx, func(chain int16) (*stmt, string, []any) {
		var s stmt
		id, sn, app := s.arg(j.ID, "uuid"), s.arg(serial, "text"), s.arg(j.ApplicationID, "bigint")
		s.with("j", "SELECT state FROM jobs WHERE id = "+id+" FOR UPDATE")
		s.with("c", "SELECT state FROM cards WHERE serial = "+sn+" FOR UPDATE")
		s.with("a", "SELECT state FROM applications WHERE id = "+app+" FOR UPDATE")
		s.with("ok", "SELECT 1 FROM j, c, a WHERE j.state = 'taken' AND c.state = 'blank' AND a.state = 'personalizing'")
		s.with("done", "UPDATE jobs SET state = 'done', updated_at = now() WHERE id = "+id+" AND EXISTS (SELECT 1 FROM ok) RETURNING 1")
		card := s.moveHeldCards("card", "SELECT "+sn+" AS serial, ''::text AS note FROM ok", lifecycle.Blank, lifecycle.Encoded,
			", mrz = "+s.arg(mrz, "text"), actor, chain)
		move := s.moveHeldApps("app", "SELECT "+app+" AS id, 'card ' || "+sn+" AS note FROM ok",
			lifecycle.Personalizing, lifecycle.Personalized, actor, chain)
		return &s, "SELECT (SELECT state FROM j), (SELECT state FROM c), (SELECT state FROM a), " +
				countOf("done") + ", " + card + ", " + move,
			[]any{&jobState, &cardState, &appState, &done, &cards, &apps}
	})
	switch {
	case err != nil:
		return fmt.Errorf("workflow: card %s: %w", serial, err)
	case jobState == nil || *jobState != "taken":
		return fmt.Errorf("%w: job %s", ErrJobObsolete, j.ID)
	case cardState == nil || *cardState != string(lifecycle.Blank) || cards != 1:
		return fmt.Errorf("%w: card %s is not %s", ledger.ErrStateChanged, serial, lifecycle.Blank)
	case appState == nil || *appState != string(lifecycle.Personalizing) || apps != 1 || done != 1:
		return fmt.Errorf("%w: application %d, expected %s", ledger.ErrStateChanged, j.ApplicationID, lifecycle.Personalizing)
	}
	return nil
}

// SpoilCard records a failed card (removed, write error, QC mismatch) with its reason
// and gives the application a new job for a new card. serial may be empty when the
// chip could not even be identified. One statement, as requeue and newJob would write
// it: every write is conditioned on the job, card and application states.
func (e *Engine) SpoilCard(ctx context.Context, station string, j Job, serial, reason string) error {
	actor := ledger.System("station:" + station)
	var jobState, cardState, appState, line *string
	var spoiled, cards, apps, jobs int
	err := e.single(ctx, func(chain int16) (*stmt, string, []any) {
		var s stmt
		id, sn, app, why := s.arg(j.ID, "uuid"), s.arg(serial, "text"), s.arg(j.ApplicationID, "bigint"), s.arg(reason, "text")
		s.with("j", "SELECT state FROM jobs WHERE id = "+id+" FOR UPDATE")
		s.with("c", "SELECT state FROM cards WHERE serial = "+sn+" FOR UPDATE")
		s.with("a", `SELECT a.state, a.batch_id, b.line, (SELECT coalesce(max(attempt), 0) FROM jobs WHERE application_id = a.id) AS attempts
			FROM applications a LEFT JOIN batches b ON b.id = a.batch_id WHERE a.id = `+app+` FOR UPDATE OF a`)
		s.with("ok", `SELECT a.batch_id, a.line, a.attempts FROM j, a WHERE j.state = 'taken' AND a.state = 'personalizing'
			AND a.line IS NOT NULL AND (`+sn+` = '' OR EXISTS (SELECT 1 FROM c WHERE c.state = 'blank'))`)
		s.with("js", "UPDATE jobs SET state = 'spoiled', updated_at = now() WHERE id = "+id+" AND EXISTS (SELECT 1 FROM ok) RETURNING 1")
		card := s.moveHeldCards("card", "SELECT "+sn+" AS serial, "+why+" AS note FROM ok WHERE "+sn+" <> ''",
			lifecycle.Blank, lifecycle.Spoiled, "", actor, chain)
		move := s.moveHeldApps("app", "SELECT "+app+" AS id, 'card spoiled: ' || "+why+" AS note FROM ok",
			lifecycle.Personalizing, lifecycle.Queued, actor, chain)
		// Reading js makes the old job leave jobs_one_open before the new one enters it.
		s.with("nj", `INSERT INTO jobs (id, application_id, batch_id, line, attempt)
			SELECT gen_random_uuid(), app.id, ok.batch_id, ok.line, ok.attempts + 1 FROM app, ok, js
			RETURNING id, application_id, batch_id, line, attempt`)
		s.with("njq", `INSERT INTO outbox (event_id, subject, payload) SELECT id, `+s.arg(JobSubject, "text")+` || line,
			jsonb_build_object('job_id', id, 'application_id', application_id, 'batch_id', batch_id, 'line', line, 'attempt', attempt)
			FROM nj RETURNING 1`)
		return &s, "SELECT (SELECT state FROM j), (SELECT state FROM c), (SELECT state FROM a), (SELECT line FROM a), " +
				countOf("js") + ", " + card + ", " + move + ", " + countOf("nj", "njq"),
			[]any{&jobState, &cardState, &appState, &line, &spoiled, &cards, &apps, &jobs}
	})
	switch {
	case err != nil:
		return fmt.Errorf("workflow: spoil card: %w", err)
	case jobState == nil || *jobState != "taken":
		return fmt.Errorf("%w: job %s", ErrJobObsolete, j.ID)
	case serial != "" && (cardState == nil || *cardState != string(lifecycle.Blank)):
		return fmt.Errorf("%w: card %s is not %s", ledger.ErrStateChanged, serial, lifecycle.Blank)
	case appState == nil || line == nil:
		return fmt.Errorf("workflow: requeue %d: %w", j.ApplicationID, pgx.ErrNoRows)
	case *appState != string(lifecycle.Personalizing) || spoiled != 1 || apps != 1 || jobs != 2 || (serial != "" && cards != 1):
		return fmt.Errorf("%w: application %d, expected %s", ledger.ErrStateChanged, j.ApplicationID, lifecycle.Personalizing)
	}
	return nil
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
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", fmt.Errorf("%w: application %d", ErrNoGoodCard, appID)
	}
	if err != nil {
		return "", "", fmt.Errorf("workflow: application %d has no good card: %w", appID, err)
	}
	return serial, lifecycle.CardState(state), nil
}

// MarkPrinted records that the face of the application's card was printed: card
// encoded -> printed, application personalized -> printed, in one statement.
func (e *Engine) MarkPrinted(ctx context.Context, actor ledger.Actor, appID int64) error {
	var serial, cardState, appState *string
	var cards, apps int
	err := e.single(ctx, func(chain int16) (*stmt, string, []any) {
		var s stmt
		app := s.arg(appID, "bigint")
		s.with("g", `SELECT serial, state FROM cards WHERE application_id = `+app+`
			AND state NOT IN ('blank', 'spoiled', 'qc_failed', 'revoked', 'returned') FOR UPDATE`)
		s.with("a", "SELECT state FROM applications WHERE id = "+app+" FOR UPDATE")
		s.with("ok", "SELECT g.serial FROM g, a WHERE g.state = 'encoded' AND a.state = 'personalized'")
		card := s.moveHeldCards("card", "SELECT serial, ''::text AS note FROM ok", lifecycle.Encoded, lifecycle.CardPrinted, "", actor, chain)
		move := s.moveHeldApps("app", "SELECT "+app+" AS id, 'card ' || serial AS note FROM ok",
			lifecycle.Personalized, lifecycle.Printed, actor, chain)
		return &s, "SELECT (SELECT serial FROM g), (SELECT state FROM g), (SELECT state FROM a), " + card + ", " + move,
			[]any{&serial, &cardState, &appState, &cards, &apps}
	})
	switch {
	case err != nil:
		return fmt.Errorf("workflow: mark printed %d: %w", appID, err)
	case serial == nil:
		return fmt.Errorf("workflow: application %d has no good card: %w", appID, pgx.ErrNoRows)
	case *cardState != string(lifecycle.Encoded):
		return lifecycle.CheckCard(lifecycle.CardState(*cardState), lifecycle.CardPrinted)
	case appState == nil || *appState != string(lifecycle.Personalized) || cards != 1 || apps != 1:
		return fmt.Errorf("%w: application %d, expected %s", ledger.ErrStateChanged, appID, lifecycle.Personalized)
	}
	return nil
}

// QCPass records that the printed card passed quality control.
func (e *Engine) QCPass(ctx context.Context, actor ledger.Actor, appID int64) error {
	var moved int
	err := e.single(ctx, func(chain int16) (*stmt, string, []any) {
		var s stmt
		move := s.moveApps("app", "SELECT "+s.arg(appID, "bigint")+" AS id, ''::text AS note",
			lifecycle.Printed, lifecycle.QCPassed, actor, chain)
		return &s, "SELECT " + move, []any{&moved}
	})
	switch {
	case err != nil:
		return fmt.Errorf("workflow: qc pass %d: %w", appID, err)
	case moved != 1:
		return fmt.Errorf("%w: application %d, expected %s", ledger.ErrStateChanged, appID, lifecycle.Printed)
	}
	return nil
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

// MarkPrintedSet records the printed faces of a set of applications in one statement,
// as MarkPrinted does for one: for each application still personalized and not paused,
// its card encoded -> printed and the application personalized -> printed.
// Applications in another state are left alone (already past the stage); the paused
// ones are returned, untouched.
func (e *Engine) MarkPrintedSet(ctx context.Context, actor ledger.Actor, appIDs []int64) (paused []int64, err error) {
	var ready, cards, apps int
	err = e.single(ctx, func(chain int16) (*stmt, string, []any) {
		var s stmt
		s.with("a", `SELECT a.id, a.paused, c.serial, c.state AS card FROM applications a
			LEFT JOIN cards c ON c.application_id = a.id AND c.state NOT IN ('blank', 'spoiled', 'qc_failed', 'revoked', 'returned')
			WHERE a.id = ANY(`+s.arg(appIDs, "bigint[]")+`) AND a.state = 'personalized' ORDER BY a.id FOR UPDATE OF a`)
		// One application whose card is not encoded stops the whole set (nothing is written).
		s.with("ok", `SELECT id, serial FROM a WHERE NOT paused
			AND NOT EXISTS (SELECT 1 FROM a WHERE NOT paused AND card IS DISTINCT FROM 'encoded')`)
		card := s.moveCards("card", "SELECT serial, ''::text AS note FROM ok", lifecycle.Encoded, lifecycle.CardPrinted, "", actor, chain)
		move := s.moveHeldApps("app", "SELECT id, 'card ' || serial AS note FROM ok", lifecycle.Personalized, lifecycle.Printed, actor, chain)
		return &s, "SELECT (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM a WHERE paused), (SELECT count(*) FROM a WHERE NOT paused), " +
				card + ", " + move,
			[]any{&paused, &ready, &cards, &apps}
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("workflow: mark printed: %w", err)
	case cards != ready || apps != ready:
		return nil, fmt.Errorf("%w: of %d applications ready for print, %d cards and %d applications moved (a card is not encoded)",
			ledger.ErrStateChanged, ready, cards, apps)
	}
	return paused, nil
}

// QCPassSet records that the printed cards of a set of applications passed quality
// control, in one statement, as QCPass does for one. Applications no longer printed are
// left alone; the paused ones are returned, untouched.
func (e *Engine) QCPassSet(ctx context.Context, actor ledger.Actor, appIDs []int64) (paused []int64, err error) {
	var ready, moved int
	err = e.single(ctx, func(chain int16) (*stmt, string, []any) {
		var s stmt
		s.with("a", `SELECT id, paused FROM applications WHERE id = ANY(`+s.arg(appIDs, "bigint[]")+`) AND state = 'printed'
			ORDER BY id FOR UPDATE`)
		move := s.moveHeldApps("app", "SELECT id, ''::text AS note FROM a WHERE NOT paused", lifecycle.Printed, lifecycle.QCPassed, actor, chain)
		return &s, "SELECT (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM a WHERE paused), (SELECT count(*) FROM a WHERE NOT paused), " + move,
			[]any{&paused, &ready, &moved}
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("workflow: qc pass: %w", err)
	case moved != ready:
		return nil, fmt.Errorf("%w: of %d printed applications, %d moved", ledger.ErrStateChanged, ready, moved)
	}
	return paused, nil
}
