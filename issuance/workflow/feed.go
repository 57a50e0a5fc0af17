package workflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cccd-project/cccd/issuance/ledger"
)

// Feed fans the workflow's application events (the outbox, as the relay publishes it to
// JetStream) out to any number of watchers: the live screens of the web console. It
// reads the events stream with an ordered consumer, which is ephemeral and acknowledges
// nothing, so the durable consumers that do the work (stations, print, QC) are not
// touched. A feed starts at the newest event: it tells what changes from now on, and
// the watchers read the current state from the database.
type Feed struct {
	JS  jetstream.JetStream
	Log *slog.Logger

	mu   sync.Mutex
	subs map[*Watcher]struct{}
}

// Watcher receives the events of a Feed. Events are hints that something changed: a
// watcher that does not keep up loses events, and Lost tells it so (it should then
// read everything again).
type Watcher struct {
	C    <-chan ledger.Event
	c    chan ledger.Event
	lost atomic.Bool
	feed *Feed
}

// Lost reports, and clears, whether events were dropped since the last call because
// the watcher did not keep up.
func (w *Watcher) Lost() bool { return w.lost.Swap(false) }

// Close stops the watcher; its channel is not closed (a send may race), it just no
// longer receives.
func (w *Watcher) Close() {
	w.feed.mu.Lock()
	delete(w.feed.subs, w)
	w.feed.mu.Unlock()
}

// Watch returns a new watcher with room for buffer events (default 64).
func (f *Feed) Watch(buffer int) *Watcher {
	if buffer <= 0 {
		buffer = 64
	}
	c := make(chan ledger.Event, buffer)
	w := &Watcher{C: c, c: c, feed: f}
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[*Watcher]struct{}{}
	}
	f.subs[w] = struct{}{}
	f.mu.Unlock()
	return w
}

// Watchers returns the number of open watchers.
func (f *Feed) Watchers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

func (f *Feed) publish(ev ledger.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for w := range f.subs {
		select {
		case w.c <- ev:
		default:
			w.lost.Store(true)
		}
	}
}

// Run reads the events stream until ctx ends. The ordered consumer re-creates itself
// when the broker restarts; an error to create it is retried every second.
func (f *Feed) Run(ctx context.Context) error {
	log := f.Log
	if log == nil {
		log = slog.Default()
	}
	for ctx.Err() == nil {
		err := f.consume(ctx)
		if ctx.Err() != nil {
			break
		}
		log.Warn("workflow feed: events stream", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (f *Feed) consume(ctx context.Context) error {
	cons, err := f.JS.OrderedConsumer(ctx, EventsStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{ledger.SubjectPrefix + ">"},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return fmt.Errorf("workflow feed: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("workflow feed: %w", err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("workflow feed: %w", err)
		}
		ev, err := AppEvent(msg.Data())
		if err != nil {
			continue // not an application event: nothing to show
		}
		f.publish(ev)
	}
}
