package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
)

// CardMaker writes one card for a job on a station's hardware. It calls start with the
// chip's serial before it writes anything, and returns the MRZ written (the binding
// record) once the chip is written, locked and verified. An error means the card is
// spoiled; its text is the reason. An error wrapping ErrHold before start was called
// (no blank card available) gives the job back to the queue instead.
type CardMaker interface {
	MakeCard(ctx context.Context, j Job, start func(serial string) error) (mrz string, err error)
}

// JobWorker is a station's side of the work queue: it takes the line's jobs, has a
// CardMaker produce each card, and records the outcome. A job delivered twice (station
// killed before its ack, broker restarted) never yields two good cards: the second
// delivery finds the job done and only acknowledges it.
type JobWorker struct {
	Engine  *Engine
	JS      jetstream.JetStream
	Log     *slog.Logger
	Line    string
	Station string
	Workers int           // cards made at once: one per reader
	AckWait time.Duration // redelivery after a station died; default 60s
	Maker   CardMaker
	// Done, when set, is told about every finished attempt (for progress displays).
	Done func(j Job, serial string, err error)
}

// Run works the line's queue until ctx ends.
func (w *JobWorker) Run(ctx context.Context) error {
	if !ValidLine(w.Line) {
		return fmt.Errorf("%w: %q", ErrInvalidLine, w.Line)
	}
	if w.AckWait <= 0 {
		w.AckWait = time.Minute
	}
	c := &Consumer{DB: w.Engine.DB, JS: w.JS, Log: w.Log, Stream: JobsStream, Durable: "perso-" + w.Line,
		Filter: JobSubject + w.Line, Workers: w.Workers, AckWait: w.AckWait, MaxDeliver: 10, Handle: w.handle}
	return c.Run(ctx)
}

func (w *JobWorker) handle(ctx context.Context, _ string, data []byte) error {
	var j Job
	if err := json.Unmarshal(data, &j); err != nil || j.ID == "" {
		return fmt.Errorf("%w: malformed job: %v", ErrPermanent, err)
	}
	// The job is taken, and the chip recorded for it, in one statement once the station
	// holds a blank chip and has read its serial; a refusal writes nothing.
	var serial string
	var takeErr error
	taken := false
	start := func(s string) error {
		serial = s
		takeErr = w.Engine.TakeJob(ctx, w.Station, j, s)
		taken = takeErr == nil
		return takeErr
	}
	mrz, err := w.Maker.MakeCard(ctx, j, start)
	if ctx.Err() != nil {
		return ctx.Err() // station stopping: the job is redelivered and taken over
	}
	if !taken {
		// Nothing is recorded for this job: its chip (if any) was not written.
		switch {
		case errors.Is(takeErr, ErrJobObsolete):
			return nil
		case errors.Is(takeErr, ErrPaused), errors.Is(takeErr, ErrChipUsed):
			return fmt.Errorf("%w: %v", ErrHold, takeErr) // offered again later (to another chip)
		case takeErr != nil:
			return takeErr
		case err == nil:
			return fmt.Errorf("workflow: job %s: the card maker never started a chip", j.ID)
		}
		return err // e.g. no blank card (ErrHold), or no chip could be read: try again
	}
	if err == nil {
		err = w.Engine.CompleteJob(ctx, w.Station, j, serial, mrz)
		if err != nil && !errors.Is(err, ErrJobObsolete) {
			// The chip is good but could not be bound: spoil it rather than leave it unaccounted.
			err = fmt.Errorf("binding failed: %w", err)
		}
	}
	if err != nil && !errors.Is(err, ErrJobObsolete) {
		if serr := w.Engine.SpoilCard(ctx, w.Station, j, serial, err.Error()); serr != nil && !errors.Is(serr, ErrJobObsolete) {
			return serr
		}
	}
	if w.Done != nil {
		w.Done(j, serial, err)
	}
	return nil
}

// ErrHold asks the consumer to hold a message and offer it again later without
// counting it as a failure (a paused batch).
var ErrHold = errors.New("workflow: hold")

// AppEvent decodes an application event published from the outbox.
func AppEvent(data []byte) (ledger.Event, error) {
	var ev ledger.Event
	if err := json.Unmarshal(data, &ev); err != nil || ev.ApplicationID == 0 {
		return ev, fmt.Errorf("%w: malformed event: %v", ErrPermanent, err)
	}
	return ev, nil
}

// StageWorker runs an automatic stage on every application that reaches a state (for
// example printing on "personalized", QC on "printed"). Do must check nothing twice:
// the worker skips applications that are no longer in the state (a duplicate or late
// delivery) or paused.
//
// A stage that records its work in sets sets DoSet instead of Do: it is given the
// applications of up to Batch waiting events at once and moves, in one statement,
// those still in the state and not paused; it returns the paused ones, which are
// offered again later. If the set fails, each application is tried alone, so that one
// bad record fails only its own event.
type StageWorker struct {
	Engine  *Engine
	JS      jetstream.JetStream
	Log     *slog.Logger
	Name    string
	On      lifecycle.AppState
	Workers int
	AckWait time.Duration
	Do      func(ctx context.Context, appID int64) error
	DoSet   func(ctx context.Context, appIDs []int64) (paused []int64, err error)
	Batch   int // events per set, default 64
}

// Run consumes the stage's events until ctx ends.
func (s *StageWorker) Run(ctx context.Context) error {
	c := &Consumer{DB: s.Engine.DB, JS: s.JS, Log: s.Log, Stream: EventsStream, Durable: "stage-" + s.Name,
		Filter: ledger.SubjectPrefix + string(s.On), Workers: s.Workers, AckWait: s.AckWait, Handle: s.handle}
	if s.DoSet != nil {
		c.Handle, c.HandleBatch, c.Batch = nil, s.handleSet, s.Batch
	}
	return c.Run(ctx)
}

func (s *StageWorker) handle(ctx context.Context, _ string, data []byte) error {
	ev, err := AppEvent(data)
	if err != nil {
		return err
	}
	var state string
	var paused bool
	if err := s.Engine.DB.QueryRow(ctx, "SELECT state, paused FROM applications WHERE id = $1", ev.ApplicationID).Scan(&state, &paused); err != nil {
		return fmt.Errorf("workflow: stage %s: application %d: %w", s.Name, ev.ApplicationID, err)
	}
	if lifecycle.AppState(state) != s.On {
		return nil // already past this stage (duplicate delivery) or sent elsewhere
	}
	if paused {
		return fmt.Errorf("%w: application %s paused", ErrHold, strconv.FormatInt(ev.ApplicationID, 10))
	}
	err = s.Do(ctx, ev.ApplicationID)
	if errors.Is(err, ledger.ErrStateChanged) {
		return nil // someone else moved it meanwhile
	}
	return err
}

func (s *StageWorker) handleSet(ctx context.Context, msgs []Message) []error {
	errs := make([]error, len(msgs))
	apps := make([]int64, len(msgs)) // the application of each event; 0 when malformed
	ids := make([]int64, 0, len(msgs))
	for i, m := range msgs {
		ev, err := AppEvent(m.Data)
		if err != nil {
			errs[i] = err
			continue
		}
		apps[i] = ev.ApplicationID
		ids = append(ids, ev.ApplicationID)
	}
	if len(ids) == 0 {
		return errs
	}
	failed := map[int64]error{}
	held := map[int64]bool{}
	paused, err := s.DoSet(ctx, ids)
	switch {
	case err != nil && ctx.Err() == nil:
		s.Log.Warn("workflow stage: set failed, trying one by one", "stage", s.Name, "applications", len(ids), "err", err)
		for _, id := range ids {
			p, err := s.DoSet(ctx, []int64{id})
			failed[id], held[id] = err, len(p) == 1
		}
	case err != nil:
		for _, id := range ids {
			failed[id] = err
		}
	}
	for _, id := range paused {
		held[id] = true
	}
	for i, id := range apps {
		switch {
		case errs[i] != nil:
		case failed[id] != nil:
			errs[i] = failed[id]
		case held[id]:
			errs[i] = fmt.Errorf("%w: application %d paused", ErrHold, id)
		}
	}
	return errs
}
