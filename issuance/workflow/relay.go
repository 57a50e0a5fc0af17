// Package workflow moves applications and cards from approval to hand-over over NATS
// JetStream, with PostgreSQL as the source of truth.
//
// Every state change commits together with its timeline entry, audit entry and an
// outbox row (package ledger). The Relay publishes outbox rows to JetStream with the
// event ID as the message ID and then deletes them, so a row published twice (relay
// crash between publish and delete) is dropped by the stream's de-duplication.
// Consumers are durable pull consumers with explicit acknowledgement; each handler
// checks the expected state before it acts, so a redelivered message does nothing
// twice. A message that fails MaxDeliver times goes to the dead-letter list for an
// administrator.
package workflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream names and subjects.
const (
	EventsStream = "CCCD_EVENTS" // cccd.app.<state>: application state changes
	JobsStream   = "CCCD_JOBS"   // cccd.job.perso.<line>: personalization work queue
	JobSubject   = "cccd.job.perso."
)

// EnsureStreams creates or updates the streams with one replica (an embedded broker).
func EnsureStreams(ctx context.Context, js jetstream.JetStream) error {
	return Streams{}.Ensure(ctx, js)
}

// Streams is how the workflow's streams are kept on a NATS JetStream cluster. Their
// durable consumers inherit the stream's replica count, so the relay and the consumers
// carry on (after an election) when the node leading a stream or a consumer fails.
type Streams struct {
	Replicas int      // copies of each stream: 3 on a cluster, 1 (the default) embedded
	Cluster  string   // placement: the NATS cluster that holds them ("" any)
	Tags     []string // placement: server tags the nodes must have
}

// Validate checks the replica count (JetStream allows 1 to 5).
func (s Streams) Validate() error {
	if s.Replicas < 0 || s.Replicas > 5 {
		return fmt.Errorf("workflow: replicas %d: want 1 to 5", s.Replicas)
	}
	return nil
}

// Ensure creates or updates the streams.
func (s Streams) Ensure(ctx context.Context, js jetstream.JetStream) error {
	if err := s.Validate(); err != nil {
		return err
	}
	var placement *jetstream.Placement
	if s.Cluster != "" || len(s.Tags) > 0 {
		placement = &jetstream.Placement{Cluster: s.Cluster, Tags: s.Tags}
	}
	cfgs := []jetstream.StreamConfig{
		{Name: EventsStream, Subjects: []string{"cccd.app.>"}, Storage: jetstream.FileStorage,
			Duplicates: 10 * time.Minute, MaxAge: 90 * 24 * time.Hour},
		{Name: JobsStream, Subjects: []string{"cccd.job.>"}, Storage: jetstream.FileStorage,
			Retention: jetstream.WorkQueuePolicy, Duplicates: 10 * time.Minute},
	}
	for _, c := range cfgs {
		c.Replicas, c.Placement = max(s.Replicas, 1), placement
		if _, err := js.CreateOrUpdateStream(ctx, c); err != nil {
			return fmt.Errorf("workflow: stream %s: %w", c.Name, err)
		}
	}
	return nil
}

// EnsureWhenReady calls Ensure until it succeeds or ctx ends: a cluster that is still
// forming (or electing a leader) cannot place the replicas yet. Each failed try is handed
// to retry (which may be nil) before the next one, a second later.
func (s Streams) EnsureWhenReady(ctx context.Context, js jetstream.JetStream, retry func(error)) error {
	if err := s.Validate(); err != nil {
		return err
	}
	for {
		err := s.Ensure(ctx, js)
		if err == nil {
			return nil
		}
		if retry != nil {
			retry(err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("workflow: streams not ready: %w", err)
		case <-time.After(time.Second):
		}
	}
}

// Relay publishes outbox rows to JetStream.
type Relay struct {
	DB    *pgxpool.Pool
	JS    jetstream.JetStream
	Log   *slog.Logger
	Batch int           // rows per round, default 500
	Poll  time.Duration // idle polling interval, default 20ms
}

// Run publishes until ctx ends. While rows keep coming it flushes round after round;
// when the outbox is empty it looks again every Poll (default 20 ms). It does not use
// LISTEN/NOTIFY, because PostgreSQL serialises the commits of all notifying
// transactions. Transient errors (broker or database restarting) are logged and
// retried.
func (r *Relay) Run(ctx context.Context) error {
	if r.Batch <= 0 {
		r.Batch = 500
	}
	if r.Poll <= 0 {
		r.Poll = 20 * time.Millisecond
	}
	for ctx.Err() == nil {
		n, err := r.Flush(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			r.Log.Warn("workflow relay: retrying", "err", err)
			sleep(ctx, 500*time.Millisecond)
		case n < r.Batch:
			sleep(ctx, r.Poll)
		}
	}
	return nil
}

// Flush publishes one round of outbox rows and deletes them; it returns how many.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	if r.Batch <= 0 {
		r.Batch = 500
	}
	var n int
	err := pgx.BeginFunc(ctx, r.DB, func(tx pgx.Tx) error {
		// The batch size is written into the statement: with LIMIT as a parameter the
		// planner keeps choosing a custom plan, planning the query again every round.
		rows, err := tx.Query(ctx, `SELECT id, event_id::text, subject, payload::text FROM outbox
			ORDER BY id LIMIT `+strconv.Itoa(r.Batch)+` FOR UPDATE SKIP LOCKED`)
		if err != nil {
			return err
		}
		type row struct {
			id               int64
			eventID, subject string
			payload          string
		}
		list, err := pgx.CollectRows(rows, func(cr pgx.CollectableRow) (row, error) {
			var x row
			return x, cr.Scan(&x.id, &x.eventID, &x.subject, &x.payload)
		})
		if err != nil || len(list) == 0 {
			return err
		}
		futures := make([]jetstream.PubAckFuture, len(list))
		for i, x := range list {
			msg := &nats.Msg{Subject: x.subject, Data: []byte(x.payload), Header: nats.Header{}}
			msg.Header.Set(jetstream.MsgIDHeader, x.eventID)
			if futures[i], err = r.JS.PublishMsgAsync(msg); err != nil {
				return fmt.Errorf("workflow relay: publish: %w", err)
			}
		}
		ids := make([]int64, len(list))
		for i, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return fmt.Errorf("workflow relay: publish %s: %w", list[i].subject, err)
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Second):
				return errors.New("workflow relay: no acknowledgement from JetStream within 10s")
			}
			ids[i] = list[i].id
		}
		_, err = tx.Exec(ctx, "DELETE FROM outbox WHERE id = ANY($1)", ids)
		n = len(list)
		return err
	})
	return n, err
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
