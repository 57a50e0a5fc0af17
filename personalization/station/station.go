package station

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/pcsc"
)

// PCSC is the part of a pcscd connection a Station uses (*pcsc.Context implements it).
type PCSC interface {
	WaitForCard(ctx context.Context, reader string) error
	WaitForRemoval(ctx context.Context, reader string) error
	Connect(ctx context.Context, reader string) (*pcsc.Card, error)
}

// Event reports one finished card (or a card the station could not even open).
type Event struct {
	Reader     int           `json:"reader"`
	ReaderName string        `json:"reader_name"`
	Job        workflow.Job  `json:"job"`
	Serial     string        `json:"serial,omitempty"`
	Err        error         `json:"-"`
	Duration   time.Duration `json:"duration_ns"`
	Steps      []Step        `json:"steps,omitempty"`
}

// Station lends its readers to MakeCard calls: each reader's goroutine waits for a
// card, connects and offers itself on a channel of ready readers; MakeCard takes the
// next ready reader, personalizes the card in it, and hands it back; the reader then
// closes the card (power down), reports an Event and waits until the operator (or the
// card feeder) removes it. A JobWorker with Workers = len(Readers) keeps every reader
// busy. Build it with New and run Run while the JobWorker runs.
type Station struct {
	p       Personalizer
	pc      PCSC
	readers []string
	// MaxLength is the largest command and answer the readers carry (extended length
	// APDUs); 0 means short APDUs only, which every reader supports.
	MaxLength int
	// CardWait bounds how long MakeCard waits for a reader with a blank card before it
	// gives up (ErrNoBlankCard wrapping workflow.ErrHold: the job is offered again later, nothing is spoiled). It must stay below the work
	// queue's AckWait. Default 45s.
	CardWait time.Duration
	// OnCard, when set, is called after every card, from the reader's goroutine, before
	// the station waits for the card's removal.
	OnCard func(Event)
	// OnRemoved, when set, is called when a reader became empty after a card: the
	// moment to feed the next blank card.
	OnRemoved func(reader int)
	Log       *slog.Logger

	ready chan *reader
}

// reader is one PC/SC reader and the card connected in it.
type reader struct {
	index int
	name  string
	card  apdu.Transmitter
	done  chan Event
}

// New returns a station personalizing with p (its Transmitter is ignored) on the
// named readers of pc.
func New(p *Personalizer, pc PCSC, readers []string) *Station {
	return &Station{p: *p, pc: pc, readers: readers, ready: make(chan *reader)}
}

// Readers returns the reader names in index order.
func (s *Station) Readers() []string { return append([]string(nil), s.readers...) }

// Run serves the readers until ctx ends.
func (s *Station) Run(ctx context.Context) error {
	if len(s.readers) == 0 {
		return errors.New("station: no readers")
	}
	var wg sync.WaitGroup
	for i, name := range s.readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serve(ctx, &reader{index: i, name: name, done: make(chan Event, 1)})
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// serve is one reader's loop: wait for a card, offer it, close it, wait for removal.
func (s *Station) serve(ctx context.Context, r *reader) {
	for ctx.Err() == nil {
		if err := s.pc.WaitForCard(ctx, r.name); err != nil {
			if ctx.Err() == nil {
				s.logger().Warn("station: waiting for a card", "reader", r.name, "err", err)
				pause(ctx, time.Second)
			}
			continue
		}
		card, err := s.connect(ctx, r.name)
		if err != nil {
			if ctx.Err() == nil {
				// The card cannot be opened: report it, have it taken out, go on.
				s.logger().Warn("station: connect", "reader", r.name, "err", err)
				s.finish(ctx, r, Event{Reader: r.index, ReaderName: r.name, Err: &StepError{"connect", err}})
			}
			continue
		}
		r.card = card
		if s.MaxLength > 0 {
			r.card = maxLength{card, s.MaxLength}
		}
		for {
			select {
			case s.ready <- r:
			case <-ctx.Done():
				card.Close()
				return
			}
			ev := <-r.done
			if !refusedJob(ev.Err) {
				card.Close()
				s.finish(ctx, r, ev)
				break
			}
			// The workflow refused the job before anything was written: the blank card
			// stays in the reader for the next job.
			s.logger().Debug("station: job refused, card kept", "reader", r.name, "err", ev.Err)
		}
	}
}

// refusedJob reports whether a card failed only because nothing touched its chip, so
// that the blank card stays in the reader for the next job: the job was refused when it
// was to be taken (finished elsewhere, or paused), or the workflow could not load the
// application or record the job (the database restarting), before anything was
// written. A chip already used elsewhere, or one whose serial cannot be read, goes out.
func refusedJob(err error) bool {
	var se *StepError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Step {
	case "load application":
		return true
	case "start card":
		return !errors.Is(err, workflow.ErrChipUsed)
	}
	return false
}

// finish reports a card and waits until it is taken out of the reader.
func (s *Station) finish(ctx context.Context, r *reader, ev Event) {
	if s.OnCard != nil {
		s.OnCard(ev)
	}
	s.waitRemoval(ctx, r)
	if s.OnRemoved != nil && ctx.Err() == nil {
		s.OnRemoved(r.index)
	}
}

// connect connects to the card in a reader, retrying a few times: right after an
// insertion or a previous connection, pcscd may still answer with a sharing violation.
func (s *Station) connect(ctx context.Context, name string) (*pcsc.Card, error) {
	var err error
	for range 10 {
		var card *pcsc.Card
		if card, err = s.pc.Connect(ctx, name); err == nil || errors.Is(err, pcsc.ErrNoService) || ctx.Err() != nil {
			return card, err
		}
		pause(ctx, 100*time.Millisecond)
	}
	return nil, err
}

func (s *Station) waitRemoval(ctx context.Context, r *reader) {
	for ctx.Err() == nil {
		err := s.pc.WaitForRemoval(ctx, r.name)
		if err == nil {
			return
		}
		if ctx.Err() == nil {
			s.logger().Debug("station: waiting for removal", "reader", r.name, "err", err)
			pause(ctx, 100*time.Millisecond)
		}
	}
}

// MakeCard implements workflow.CardMaker: it takes the next reader holding a card and
// personalizes that card.
func (s *Station) MakeCard(ctx context.Context, j workflow.Job, start func(serial string) error) (string, error) {
	res, err := s.makeCard(ctx, j, start)
	if err != nil {
		return "", err
	}
	return res.MRZ, nil
}

// makeCard is MakeCard returning the whole Result.
func (s *Station) makeCard(ctx context.Context, j workflow.Job, start func(serial string) error) (*Result, error) {
	wait := s.CardWait
	if wait <= 0 {
		wait = 45 * time.Second
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var r *reader
	select {
	case r = <-s.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		// No card was touched: hold the job (the work queue offers it again later)
		// instead of spoiling anything.
		return nil, fmt.Errorf("%w after %v: %w", ErrNoBlankCard, wait, workflow.ErrHold)
	}
	began := time.Now()
	res, err := s.p.Personalize(ctx, r.card, j, start)
	ev := Event{Reader: r.index, ReaderName: r.name, Job: j, Err: err, Duration: time.Since(began)}
	if res != nil {
		ev.Serial, ev.Steps = res.Serial, res.Steps
	}
	r.done <- ev
	return res, err
}

func (s *Station) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// maxLength tells perso and emrtd how long the APDUs may be on a reader.
type maxLength struct {
	apdu.Transmitter
	n int
}

func (m maxLength) MaxLength() int { return m.n }

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Line formats an event as the station's progress line, e.g.
// "reader 0: card CHIP123 for application 42: written+locked+verified in 212ms".
func (e Event) Line() string {
	serial := e.Serial
	if serial == "" {
		serial = "(unread)"
	}
	head := fmt.Sprintf("reader %d: card %s for application %d", e.Reader, serial, e.Job.ApplicationID)
	if e.Job.ID == "" && e.Job.ApplicationID == 0 {
		head = fmt.Sprintf("reader %d: card %s (no job)", e.Reader, serial)
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: FAILED after %v: %v", head, e.Duration.Round(time.Millisecond), e.Err)
	}
	return fmt.Sprintf("%s: written+locked+verified in %v", head, e.Duration.Round(time.Millisecond))
}
