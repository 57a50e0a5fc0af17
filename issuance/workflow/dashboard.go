package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// This file holds what an operator's dashboard reads: the progress of the newest
// batches, the readers of every station and the line's throughput and spoilage over a
// shift. Each is one bounded, indexed query, whatever the number of applications.

// Progress is one batch as the dashboard shows it: the counts of BatchStatus for many
// batches at once.
type Progress struct {
	Batch
	Done        int           `json:"personalized"` // applications past personalization
	Rejected    int           `json:"rejected"`
	Spoiled     int           `json:"spoiled"` // cards spoiled or failed at QC
	Cards       int           `json:"cards"`   // cards started, spoiled ones included
	CardsPerMin float64       `json:"cards_per_minute"`
	ETA         time.Duration `json:"eta_ns"`
}

// Finished reports whether every application of the batch is past personalization (or
// was rejected).
func (p Progress) Finished() bool {
	return p.Applications > 0 && p.Done+p.Rejected >= p.Applications
}

// Percent is the share of the batch's applications past personalization, 0-100.
func (p Progress) Percent() int {
	if p.Applications == 0 {
		return 0
	}
	return 100 * p.Done / p.Applications
}

// personalizedOrLater are the application states past personalization (as Status counts
// Done); index applications_batch_done has the same list (migration 0607).
const personalizedOrLater = `('personalized', 'printed', 'qc_passed', 'dispatched', 'at_office', 'delivered', 'returned')`

// Progresses returns the progress of the newest batches (at most limit, default 12),
// newest first, as of now.
func (e *Engine) Progresses(ctx context.Context, limit int, now time.Time) ([]Progress, error) {
	if limit <= 0 || limit > 100 {
		limit = 12
	}
	rows, err := e.DB.Query(ctx, `WITH b AS (SELECT * FROM batches ORDER BY id DESC LIMIT $1)
		SELECT b.id, b.line, b.office, b.state, b.created_at, b.started_at, a.n, a.done, a.rejected, c.n, c.spoiled
		FROM b
		CROSS JOIN LATERAL (SELECT (SELECT count(*) FROM applications WHERE batch_id = b.id) AS n,
			(SELECT count(*) FROM applications WHERE batch_id = b.id AND state IN `+personalizedOrLater+`) AS done,
			(SELECT count(*) FROM applications WHERE batch_id = b.id AND state = 'rejected') AS rejected) a
		CROSS JOIN LATERAL (SELECT (SELECT count(*) FROM cards WHERE batch_id = b.id) AS n,
			(SELECT count(*) FROM cards WHERE batch_id = b.id AND state IN ('spoiled', 'qc_failed')) AS spoiled) c
		ORDER BY b.id DESC`, limit)
	if err != nil {
		return nil, fmt.Errorf("workflow: progress: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Progress, error) {
		var p Progress
		err := r.Scan(&p.ID, &p.Line, &p.Office, &p.State, &p.CreatedAt, &p.StartedAt, &p.Applications, &p.Done, &p.Rejected,
			&p.Cards, &p.Spoiled)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("workflow: progress: %w", err)
	}
	for i := range list {
		list[i].rate(now)
	}
	return list, nil
}

// rate fills cards/min and the ETA as Status computes them.
func (p *Progress) rate(now time.Time) {
	if p.StartedAt == nil || p.Done == 0 {
		return
	}
	if el := now.Sub(*p.StartedAt); el > 0 {
		p.CardsPerMin = float64(p.Done) / el.Minutes()
	}
	if remaining := p.Applications - p.Done - p.Rejected; remaining > 0 && p.CardsPerMin > 0 {
		p.ETA = time.Duration(float64(remaining) / p.CardsPerMin * float64(time.Minute))
	}
}

// Bucket is one interval of a throughput series.
type Bucket struct {
	Start   time.Time `json:"start"`
	Good    int       `json:"good"`    // chips written, locked and read back
	Spoiled int       `json:"spoiled"` // cards spoiled or failed at QC
}

// Throughput counts the line's good and spoiled cards per interval of step from since
// to until (at most 500 intervals), from the card events.
func (e *Engine) Throughput(ctx context.Context, since, until time.Time, step time.Duration) ([]Bucket, error) {
	if step <= 0 || !until.After(since) {
		return nil, errors.New("workflow: throughput: the interval must be positive and end after it starts")
	}
	n := int(until.Sub(since) / step)
	if until.Sub(since)%step != 0 {
		n++
	}
	if n > 500 {
		return nil, fmt.Errorf("workflow: throughput: %d intervals, at most 500", n)
	}
	out := make([]Bucket, n)
	for i := range out {
		out[i].Start = since.Add(time.Duration(i) * step)
	}
	rows, err := e.DB.Query(ctx, `SELECT floor(extract(epoch FROM at - $1) / $3)::int,
			count(*) FILTER (WHERE to_state = 'encoded'), count(*) FILTER (WHERE to_state IN ('spoiled', 'qc_failed'))
		FROM card_events WHERE at >= $1 AND at < $2 AND to_state IN ('encoded', 'spoiled', 'qc_failed')
		GROUP BY 1`, since, until, step.Seconds())
	if err != nil {
		return nil, fmt.Errorf("workflow: throughput: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i, good, spoiled int
		if err := rows.Scan(&i, &good, &spoiled); err != nil {
			return nil, fmt.Errorf("workflow: throughput: %w", err)
		}
		if i >= 0 && i < n {
			out[i].Good, out[i].Spoiled = good, spoiled
		}
	}
	return out, rows.Err()
}

// Shift returns the production shift (06-14, 14-22, 22-06 in the centre's time zone,
// UTC+7) that t falls in.
func Shift(t time.Time) (start, end time.Time) {
	ict := t.In(time.FixedZone("ICT", 7*3600))
	h := ict.Hour()
	day := time.Date(ict.Year(), ict.Month(), ict.Day(), 0, 0, 0, 0, ict.Location())
	switch {
	case h < 6:
		start = day.Add(-2 * time.Hour)
	case h < 14:
		start = day.Add(6 * time.Hour)
	case h < 22:
		start = day.Add(14 * time.Hour)
	default:
		start = day.Add(22 * time.Hour)
	}
	return start, start.Add(8 * time.Hour)
}

// Reader states of a station's reader.
const (
	ReaderWaiting = "waiting" // empty, or waiting for the next blank card
	ReaderGood    = "good"    // its last card was written and read back
	ReaderSpoiled = "spoiled" // its last card failed
	ReaderStopped = "stopped" // the station stopped
)

// ReaderState is one reader of a station: its state and its last card.
type ReaderState struct {
	Station       string    `json:"station"`
	Reader        string    `json:"reader"`
	Line          string    `json:"line"`
	Position      int       `json:"position"`
	State         string    `json:"state"`
	Serial        string    `json:"serial,omitempty"`
	ApplicationID int64     `json:"application_id,omitempty"`
	Receipt       string    `json:"receipt,omitempty"`
	Detail        string    `json:"detail,omitempty"`
	Good          int       `json:"good"`
	Spoiled       int       `json:"spoiled"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// RecordReader writes the state of one reader of a station: after a card (good or
// spoiled, counted), when the reader became empty, or when the station starts or stops.
func (e *Engine) RecordReader(ctx context.Context, r ReaderState) error {
	switch r.State {
	case ReaderWaiting, ReaderGood, ReaderSpoiled, ReaderStopped:
	default:
		return fmt.Errorf("workflow: reader state %q: waiting, good, spoiled or stopped", r.State)
	}
	var app *int64
	if r.ApplicationID != 0 {
		app = &r.ApplicationID
	}
	good, spoiled := 0, 0
	switch r.State {
	case ReaderGood:
		good = 1
	case ReaderSpoiled:
		spoiled = 1
	}
	// A card result replaces the last card; a removal or a stop keeps it on show.
	_, err := e.DB.Exec(ctx, `INSERT INTO station_readers AS s (station, reader, line, position, state, serial, application_id, detail, good, spoiled)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (station, reader) DO UPDATE SET line = excluded.line, position = excluded.position, state = excluded.state,
			serial = CASE WHEN excluded.serial = '' THEN s.serial ELSE excluded.serial END,
			application_id = coalesce(excluded.application_id, s.application_id),
			detail = CASE WHEN $9 + $10 > 0 THEN excluded.detail ELSE s.detail END,
			good = s.good + $9, spoiled = s.spoiled + $10, updated_at = now()`,
		r.Station, r.Reader, r.Line, r.Position, r.State, r.Serial, app, truncateText(r.Detail, 300), good, spoiled)
	if err != nil {
		return fmt.Errorf("workflow: record reader %s/%s: %w", r.Station, r.Reader, err)
	}
	return nil
}

// Readers returns the readers of every station, by line, station and position.
func (e *Engine) Readers(ctx context.Context) ([]ReaderState, error) {
	rows, err := e.DB.Query(ctx, `SELECT s.station, s.reader, s.line, s.position, s.state, s.serial, coalesce(s.application_id, 0),
			coalesce(a.receipt, ''), s.detail, s.good, s.spoiled, s.updated_at
		FROM station_readers s LEFT JOIN applications a ON a.id = s.application_id
		ORDER BY s.line, s.station, s.position, s.reader LIMIT 500`)
	if err != nil {
		return nil, fmt.Errorf("workflow: readers: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReaderState, error) {
		var s ReaderState
		err := r.Scan(&s.Station, &s.Reader, &s.Line, &s.Position, &s.State, &s.Serial, &s.ApplicationID, &s.Receipt,
			&s.Detail, &s.Good, &s.Spoiled, &s.UpdatedAt)
		return s, err
	})
}

// truncateText cuts s to at most n bytes on a rune boundary.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
