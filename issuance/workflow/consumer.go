package workflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrPermanent marks a handler error that no redelivery can fix: the message goes to
// the dead-letter list at once.
var ErrPermanent = errors.New("workflow: permanent failure")

// Handler does the work for one message. It must be idempotent: a message may be
// delivered again after a crash between the work and the acknowledgement.
type Handler func(ctx context.Context, subject string, data []byte) error

// Message is one message given to a BatchHandler.
type Message struct {
	Subject string
	Data    []byte
}

// BatchHandler does the work for the messages waiting at once, and returns the outcome
// of each (errs[i] for msgs[i], as a Handler would). It must be idempotent too.
type BatchHandler func(ctx context.Context, msgs []Message) (errs []error)

// Consumer runs a durable pull consumer with explicit acks, bounded redelivery with
// back-off, and a dead-letter list.
type Consumer struct {
	DB         *pgxpool.Pool
	JS         jetstream.JetStream
	Log        *slog.Logger
	Stream     string
	Durable    string
	Filter     string
	MaxDeliver int             // default 5
	BackOff    []time.Duration // delay before redelivery n+1 after a failure; default 1s, 5s, 15s, 30s
	AckWait    time.Duration   // redelivery after a consumer died without acking; default 30s
	Workers    int             // messages (or, with HandleBatch, sets of messages) handled at once; default 1
	Handle     Handler
	// HandleBatch, when set instead of Handle, is given up to Batch messages (default
	// 64) at a time: the messages waiting when the first one arrives.
	HandleBatch BatchHandler
	Batch       int
}

func (c *Consumer) defaults() {
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if c.BackOff == nil {
		c.BackOff = []time.Duration{time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second}
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Batch <= 0 {
		c.Batch = 64
	}
}

// Ensure creates or updates the durable consumer.
func (c *Consumer) Ensure(ctx context.Context) (jetstream.Consumer, error) {
	c.defaults()
	cons, err := c.JS.CreateOrUpdateConsumer(ctx, c.Stream, jetstream.ConsumerConfig{
		Durable:       c.Durable,
		FilterSubject: c.Filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    -1, // bounded by handle, which does not count holds as failures
		MaxAckPending: 1000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("workflow: consumer %s: %w", c.Durable, err)
	}
	return cons, nil
}

// Run consumes until ctx ends. Connection loss is survived: the client reconnects and
// fetching resumes.
func (c *Consumer) Run(ctx context.Context) error {
	c.defaults()
	var cons jetstream.Consumer
	for ctx.Err() == nil {
		var err error
		if cons, err = c.Ensure(ctx); err == nil {
			break
		}
		c.Log.Warn("workflow consumer: retrying", "consumer", c.Durable, "err", err)
		sleep(ctx, time.Second)
	}
	sem := make(chan struct{}, c.Workers)
	for ctx.Err() == nil {
		if c.HandleBatch != nil {
			c.fetchSet(ctx, cons, sem)
			continue
		}
		batch, err := cons.Fetch(c.Workers, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			c.fetchFailed(ctx, err)
			continue
		}
		for m := range batch.Messages() {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				c.settle(ctx, m, c.Handle(ctx, m.Subject(), m.Data()))
			}()
		}
		if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, jetstream.ErrNoMessages) {
			c.Log.Debug("workflow consumer: batch", "consumer", c.Durable, "err", err)
		}
	}
	for i := 0; i < cap(sem); i++ {
		sem <- struct{}{}
	}
	return nil
}

func (c *Consumer) fetchFailed(ctx context.Context, err error) {
	if ctx.Err() == nil {
		c.Log.Warn("workflow consumer: fetch", "consumer", c.Durable, "err", err)
		sleep(ctx, 500*time.Millisecond)
	}
}

// fetchSet waits up to a second for a message, takes the others waiting with it (up to
// Batch in all) and hands them to HandleBatch on a worker.
func (c *Consumer) fetchSet(ctx context.Context, cons jetstream.Consumer, sem chan struct{}) {
	first, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		c.fetchFailed(ctx, err)
		return
	}
	var ms []jetstream.Msg
	for m := range first.Messages() {
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return
	}
	if c.Batch > 1 {
		if more, err := cons.FetchNoWait(c.Batch - 1); err == nil {
			for m := range more.Messages() {
				ms = append(ms, m)
			}
		}
	}
	sem <- struct{}{}
	go func() {
		defer func() { <-sem }()
		msgs := make([]Message, len(ms))
		for i, m := range ms {
			msgs[i] = Message{Subject: m.Subject(), Data: m.Data()}
		}
		errs := c.HandleBatch(ctx, msgs)
		for i, m := range ms {
			var err error
			if i < len(errs) {
				err = errs[i]
			} else {
				err = fmt.Errorf("workflow consumer %s: no outcome for message %d of %d", c.Durable, i+1, len(ms))
			}
			c.settle(ctx, m, err)
		}
	}()
}

// settle acknowledges a handled message, or offers it again later, or gives it to the
// dead-letter list, by the handler's outcome err.
func (c *Consumer) settle(ctx context.Context, m jetstream.Msg, err error) {
	if err == nil {
		if ctx.Err() != nil {
			return // stopping: left unacknowledged, delivered again (handlers are idempotent)
		}
		if aerr := m.Ack(); aerr != nil {
			c.Log.Warn("workflow consumer: ack", "consumer", c.Durable, "err", aerr)
		}
		return
	}
	if ctx.Err() != nil {
		return // shutting down: the message is redelivered to the next run
	}
	if errors.Is(err, ErrHold) {
		m.NakWithDelay(c.BackOff[0])
		return
	}
	meta, merr := m.Metadata()
	delivered := uint64(c.MaxDeliver)
	if merr == nil {
		delivered = meta.NumDelivered
	}
	if errors.Is(err, ErrPermanent) || delivered >= uint64(c.MaxDeliver) {
		if derr := c.deadLetter(ctx, m, int(delivered), err); derr != nil {
			c.Log.Error("workflow consumer: dead letter not recorded; message will be redelivered", "consumer", c.Durable, "err", derr)
			m.NakWithDelay(c.BackOff[len(c.BackOff)-1])
			return
		}
		c.Log.Warn("workflow consumer: dead letter", "consumer", c.Durable, "subject", m.Subject(), "err", err)
		m.Term()
		return
	}
	c.Log.Info("workflow consumer: will retry", "consumer", c.Durable, "subject", m.Subject(), "delivery", delivered, "err", err)
	m.NakWithDelay(c.BackOff[min(int(delivered)-1, len(c.BackOff)-1)])
}

func (c *Consumer) deadLetter(ctx context.Context, m jetstream.Msg, deliveries int, cause error) error {
	msgID := m.Headers().Get(jetstream.MsgIDHeader)
	data := m.Data()
	if !jsonObject(data) {
		data = []byte(fmt.Sprintf("{\"raw\": %q}", data))
	}
	_, err := c.DB.Exec(ctx, `INSERT INTO dead_letters (consumer, subject, msg_id, payload, deliveries, error)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.Durable, m.Subject(), msgID, data, deliveries, cause.Error())
	return err
}
