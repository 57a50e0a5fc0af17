// Package pcsc talks to smart cards in PC/SC readers through pcscd (pcsc-lite, via
// github.com/ebfe/scard). A connected Card is an apdu.Transmitter: it handles the
// transport-level status words 61xx (GET RESPONSE) and 6Cxx (re-send with the right Le)
// of ISO/IEC 7816-4 §5.3.4, and reports a card pulled out of the reader as ErrCardRemoved.
//
// Every wait and every connection uses its own PC/SC context, so a goroutine blocked in
// WaitForRemoval on one reader never holds up Transmit on another, and cancelling one
// wait (SCardCancel) cancels no other.
package pcsc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ebfe/scard"
)

// Outcomes callers branch on. Errors wrap them together with the reader name and the
// PC/SC error code.
var (
	// ErrCardRemoved: the card left the reader (before or during the operation). It has
	// a CardRemoved method, so readers that only know apdu.Transmitter recognise it.
	ErrCardRemoved error = removedError{}
	// ErrNoCard: Connect found the reader empty.
	ErrNoCard = errors.New("pcsc: no card in reader")
	// ErrUnknownReader: pcscd has no reader of that name.
	ErrUnknownReader = errors.New("pcsc: unknown reader")
	// ErrNoService: pcscd is not running (or its socket is not reachable).
	ErrNoService = errors.New("pcsc: pcscd not running")
	// ErrTooLong: the command APDU is longer than PC/SC can carry.
	ErrTooLong = errors.New("pcsc: command too long")
)

// pollInterval bounds each SCardGetStatusChange call, so a wait notices its context even
// if SCardCancel were lost.
const pollInterval = 250 * time.Millisecond

// Context is a connection to pcscd.
type Context struct {
	mu sync.Mutex
	sc *scard.Context
}

// Open connects to pcscd.
func Open() (*Context, error) {
	sc, err := establish()
	if err != nil {
		return nil, err
	}
	return &Context{sc: sc}, nil
}

func establish() (*scard.Context, error) {
	sc, err := scard.EstablishContext()
	if err != nil {
		return nil, wrap("establish context", "", err)
	}
	return sc, nil
}

// Close releases the connection to pcscd. Cards connected from c stay usable until their
// own Close.
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sc == nil {
		return nil
	}
	err := c.sc.Release()
	c.sc = nil
	if err != nil {
		return wrap("release context", "", err)
	}
	return nil
}

// Readers lists the names of the readers pcscd knows (an empty list when there are none).
func (c *Context) Readers(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pcsc: list readers: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sc == nil {
		return nil, errors.New("pcsc: list readers: context closed")
	}
	names, err := c.sc.ListReaders()
	if errors.Is(err, scard.ErrNoReadersAvailable) {
		return []string{}, nil
	}
	if err != nil {
		return nil, wrap("list readers", "", err)
	}
	return names, nil
}

// WaitForCard returns when a card is present in reader, or with ctx's error when ctx ends.
func (c *Context) WaitForCard(ctx context.Context, reader string) error {
	return waitState(ctx, reader, "wait for card", func(s scard.StateFlag) bool {
		return s&scard.StatePresent != 0 && s&scard.StateMute == 0
	})
}

// WaitForRemoval returns when reader is empty, or with ctx's error when ctx ends.
func (c *Context) WaitForRemoval(ctx context.Context, reader string) error {
	return waitState(ctx, reader, "wait for removal", func(s scard.StateFlag) bool {
		return s&scard.StateEmpty != 0
	})
}

// waitState polls SCardGetStatusChange on a private PC/SC context until done(state) holds.
// ctx's end is delivered by SCardCancel on that context.
func waitState(ctx context.Context, reader, op string, done func(scard.StateFlag) bool) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pcsc: %s on %q: %w", op, reader, err)
	}
	sc, err := establish()
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			_ = sc.Cancel() // the waiting loop reports ctx.Err()
		case <-stop:
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
		if rerr := sc.Release(); rerr != nil && err == nil {
			err = wrap("release context", reader, rerr)
		}
	}()

	states := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pcsc: %s on %q: %w", op, reader, err)
		}
		err := sc.GetStatusChange(states, pollInterval)
		switch {
		case errors.Is(err, scard.ErrTimeout), errors.Is(err, scard.ErrCancelled):
			continue // the loop head reports a cancelled ctx
		case err != nil:
			return wrap(op, reader, err)
		}
		ev := states[0].EventState
		if ev&scard.StateUnknown != 0 {
			return fmt.Errorf("%w: %s on %q", ErrUnknownReader, op, reader)
		}
		if done(ev) {
			return nil
		}
		states[0].CurrentState = ev &^ scard.StateChanged
	}
}

type removedError struct{}

func (removedError) Error() string { return "pcsc: card removed" }

// CardRemoved reports that the card left the reader.
func (removedError) CardRemoved() bool { return true }

// wrap turns a PC/SC error into an error of this package, wrapping the sentinel that
// matches it (if any) and the scard.Error itself.
func wrap(op, reader string, err error) error {
	where := op
	if reader != "" {
		where = fmt.Sprintf("%s on %q", op, reader)
	}
	var sentinel error
	switch {
	case errors.Is(err, scard.ErrRemovedCard):
		sentinel = ErrCardRemoved
	case errors.Is(err, scard.ErrNoSmartcard):
		sentinel = ErrNoCard
	case errors.Is(err, scard.ErrUnknownReader), errors.Is(err, scard.ErrReaderUnavailable):
		sentinel = ErrUnknownReader
	case errors.Is(err, scard.ErrNoService), errors.Is(err, scard.ErrServiceStopped):
		sentinel = ErrNoService
	}
	if sentinel == nil {
		return fmt.Errorf("pcsc: %s: %w", where, err)
	}
	return fmt.Errorf("%w: %s: %w", sentinel, where, err)
}
