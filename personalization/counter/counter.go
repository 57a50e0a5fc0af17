// Package counter is a verification counter's reader loop: wait for a card in a PC/SC
// reader, verify it (package personalization/verify), report the result, wait until the
// card is taken out, and again. `cccd verify [--watch]`, the hand-over of `cccd deliver`
// and the web console's verifier and office screens all read cards through it.
package counter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/pcsc"
)

// PCSC is the part of a pcscd connection a counter uses (*pcsc.Context implements it).
type PCSC interface {
	Readers(ctx context.Context) ([]string, error)
	WaitForCard(ctx context.Context, reader string) error
	WaitForRemoval(ctx context.Context, reader string) error
	Connect(ctx context.Context, reader string) (*pcsc.Card, error)
}

// ErrNoReader means pcscd knows no reader.
var ErrNoReader = errors.New("counter: pcscd has no reader (for virtual readers: scripts/pcscd.sh start 16)")

// PickReader returns name once a card is in it, or, with no name, the first reader a
// card is put in.
func PickReader(ctx context.Context, pc PCSC, name string) (string, error) {
	if name != "" {
		if err := pc.WaitForCard(ctx, name); err != nil {
			return "", err
		}
		return name, nil
	}
	readers, err := pc.Readers(ctx)
	if err != nil {
		return "", err
	}
	if len(readers) == 0 {
		return "", ErrNoReader
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	found := make(chan string, len(readers))
	for _, r := range readers {
		go func() {
			if pc.WaitForCard(wctx, r) == nil {
				found <- r
			}
		}()
	}
	select {
	case r := <-found:
		return r, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// VerifyIn connects to the card in reader and verifies it. A card that cannot be
// connected to is Unreadable, with the reason.
func VerifyIn(ctx context.Context, pc PCSC, reader string, creds emrtd.Credentials, opts verify.Options) verify.Report {
	start := time.Now()
	card, err := pc.Connect(ctx, reader)
	if err != nil {
		return verify.Report{Verdict: verify.Unreadable, Code: verify.CodeReadFailed,
			Reasons: []verify.Finding{{Check: verify.CheckRead, Code: verify.CodeReadFailed, Detail: err.Error()}}}
	}
	connect := time.Since(start)
	r := verify.Verify(ctx, card, creds, opts)
	_ = card.Close()
	r.Steps = append([]verify.Step{{Name: "connect", Duration: connect}}, r.Steps...)
	r.Total += connect
	return r
}

// Kinds of Event.
const (
	Waiting = "waiting" // waiting for a card (Reader empty: in any reader)
	Result  = "result"  // a card was read: Report holds the verdict
	Removed = "removed" // the card was taken out
)

// Event is one moment of a Watch.
type Event struct {
	Kind   string
	Reader string
	Report *verify.Report
}

// Watch is a counter: card after card in one reader (or the first reader a card is put
// in), until its context ends or Once.
type Watch struct {
	PC     PCSC
	Reader string // the reader; empty: the first reader a card is put in, then that one
	// Setup returns the credentials and options for the card now in reader; it is
	// called for every card (a counter runs all day: the trust store's CRLs change, and
	// each card has its own CAN). An error ends the watch.
	Setup func(ctx context.Context, reader string) (emrtd.Credentials, verify.Options, error)
	// On is told every event, from the watch's goroutine.
	On func(Event)
	// Once stops after the first card, without waiting for its removal.
	Once bool
}

// Run watches until ctx ends (it then returns nil) or, with Once, until the first card
// was read. It returns the last report.
func (w Watch) Run(ctx context.Context) (verify.Report, error) {
	reader := w.Reader
	var last verify.Report
	for {
		w.on(Event{Kind: Waiting, Reader: reader})
		r, err := PickReader(ctx, w.PC, reader)
		if err != nil {
			if ctx.Err() != nil && !w.Once {
				return last, nil
			}
			return last, err
		}
		creds, opts, err := w.Setup(ctx, r)
		if err != nil {
			return last, err
		}
		last = VerifyIn(ctx, w.PC, r, creds, opts)
		w.on(Event{Kind: Result, Reader: r, Report: &last})
		if w.Once {
			return last, nil
		}
		reader = r
		if err := w.PC.WaitForRemoval(ctx, r); err != nil {
			if ctx.Err() != nil {
				return last, nil
			}
			return last, fmt.Errorf("counter: %s: %w", r, err)
		}
		w.on(Event{Kind: Removed, Reader: r})
	}
}

func (w Watch) on(ev Event) {
	if w.On != nil {
		w.On(ev)
	}
}
