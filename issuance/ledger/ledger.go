// Package ledger records what happens to applications in PostgreSQL: every state
// change commits, in the caller's transaction, together with its timeline entry, its
// entry in the hash-chained audit log and an outbox row for the workflow bus.
package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance/lifecycle"
)

// Actor is who did something: a user name, its role and office.
type Actor struct {
	Name   string `json:"name"`
	Role   string `json:"role"`
	Office string `json:"office"`
}

// System is the actor of automatic steps (relay, batching, stations).
func System(component string) Actor {
	return Actor{Name: "system:" + component, Role: "system", Office: "-"}
}

// Entry is one audit record.
type Entry struct {
	Actor   Actor
	Action  string // e.g. "application.approve"
	Subject string // e.g. "application/123"
	Detail  string // free text or JSON, never secrets or portraits
}

// Audit appends e to the hash-chained audit log inside tx. Appends are serialised on
// the chain head row until tx commits, so the chain never forks.
func Audit(ctx context.Context, tx pgx.Tx, e Entry) error {
	var seq int64
	var prev []byte
	if err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit_head FOR UPDATE").Scan(&seq, &prev); err != nil {
		return fmt.Errorf("ledger: audit head: %w", err)
	}
	seq++
	at := time.Now().UTC().Truncate(time.Microsecond)
	h := chainHash(prev, seq, at, e)
	if _, err := tx.Exec(ctx, `INSERT INTO audit_log (seq, at, actor, office, action, subject, detail, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		seq, at, e.Actor.Name, e.Actor.Office, e.Action, e.Subject, e.Detail, prev, h); err != nil {
		return fmt.Errorf("ledger: audit append: %w", err)
	}
	if _, err := tx.Exec(ctx, "UPDATE audit_head SET seq = $1, hash = $2", seq, h); err != nil {
		return fmt.Errorf("ledger: audit head: %w", err)
	}
	return nil
}

// chainHash is SHA-256(prev || canonical record): length-prefixed fields, so that no
// two different records share an encoding.
func chainHash(prev []byte, seq int64, at time.Time, e Entry) []byte {
	h := sha256.New()
	h.Write(prev)
	for _, f := range []string{strconv.FormatInt(seq, 10), at.UTC().Format(time.RFC3339Nano),
		e.Actor.Name, e.Actor.Office, e.Action, e.Subject, e.Detail} {
		h.Write([]byte(strconv.Itoa(len(f))))
		h.Write([]byte{':'})
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}

// Problem is one finding of VerifyAudit.
type Problem struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// AuditReport is the result of VerifyAudit.
type AuditReport struct {
	Rows     int64     `json:"rows"`
	Head     int64     `json:"head"`
	Problems []Problem `json:"problems"`
}

// OK reports whether the chain is intact.
func (r AuditReport) OK() bool { return len(r.Problems) == 0 }

// Querier is what VerifyAudit needs: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// VerifyAudit walks the audit log in order and recomputes every hash. It reports rows
// whose content was edited (hash mismatch), rows that were deleted (a gap in the
// sequence or a broken link), and a chain whose tail was cut (head ahead of the last row).
func VerifyAudit(ctx context.Context, q Querier) (AuditReport, error) {
	var rep AuditReport
	if err := q.QueryRow(ctx, "SELECT seq FROM audit_head").Scan(&rep.Head); err != nil {
		return rep, fmt.Errorf("ledger: audit head: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT seq, at, actor, office, action, subject, detail, prev_hash, hash
		FROM audit_log ORDER BY seq`)
	if err != nil {
		return rep, fmt.Errorf("ledger: audit read: %w", err)
	}
	defer rows.Close()
	prev := make([]byte, sha256.Size)
	var last int64
	for rows.Next() {
		var seq int64
		var at time.Time
		var e Entry
		var prevHash, hash []byte
		if err := rows.Scan(&seq, &at, &e.Actor.Name, &e.Actor.Office, &e.Action, &e.Subject, &e.Detail, &prevHash, &hash); err != nil {
			return rep, fmt.Errorf("ledger: audit read: %w", err)
		}
		rep.Rows++
		if seq != last+1 {
			rep.Problems = append(rep.Problems, Problem{seq, fmt.Sprintf("rows %d..%d missing (deleted)", last+1, seq-1)})
		}
		if string(prevHash) != string(prev) {
			rep.Problems = append(rep.Problems, Problem{seq, "link to the previous row broken"})
		}
		if string(chainHash(prevHash, seq, at, e)) != string(hash) {
			rep.Problems = append(rep.Problems, Problem{seq, "content does not match its hash (edited)"})
		}
		prev, last = hash, seq
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("ledger: audit read: %w", err)
	}
	if rep.Head != last {
		rep.Problems = append(rep.Problems, Problem{last, fmt.Sprintf("chain head is %d but the last row is %d (tail deleted)", rep.Head, last)})
	}
	return rep, nil
}

// Event is the message published on the bus for a state change: IDs only, never
// personal data.
type Event struct {
	EventID       string             `json:"event_id"`
	ApplicationID int64              `json:"application_id"`
	From          lifecycle.AppState `json:"from"`
	To            lifecycle.AppState `json:"to"`
	At            time.Time          `json:"at"`
}

// SubjectPrefix is the NATS subject prefix of application events: cccd.app.<to-state>.
const SubjectPrefix = "cccd.app."

// NewEventID returns a random UUID (version 4) for an outbox row.
func NewEventID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Enqueue writes an outbox row in tx; the relay publishes it with eventID as the
// JetStream message ID.
func Enqueue(ctx context.Context, tx pgx.Tx, subject, eventID string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("ledger: outbox payload: %w", err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO outbox (event_id, subject, payload) VALUES ($1, $2, $3)",
		eventID, subject, b); err != nil {
		return fmt.Errorf("ledger: outbox: %w", err)
	}
	return nil
}

// ErrStateChanged means the application was not in the expected state: someone else
// moved it first (or it does not exist). Nothing was written.
var ErrStateChanged = errors.New("ledger: application is not in the expected state")

// Change is one state change of an application.
type Change struct {
	ApplicationID int64
	From, To      lifecycle.AppState
	Actor         Actor
	Note          string // timeline note, e.g. the reason of a rejection or spoilage
	Rerun         bool   // an administrator's re-run from an earlier stage
}

// Transition applies c inside tx: it checks the transition is legal, moves the
// application only if it is still in c.From, and writes the timeline entry, the audit
// entry and the outbox event. Callers commit tx.
func Transition(ctx context.Context, tx pgx.Tx, c Change) (Event, error) {
	check := lifecycle.CheckApp
	if c.Rerun {
		check = lifecycle.CheckRerun
	}
	if err := check(c.From, c.To); err != nil {
		return Event{}, err
	}
	tag, err := tx.Exec(ctx, "UPDATE applications SET state = $3, updated_at = now() WHERE id = $1 AND state = $2",
		c.ApplicationID, c.From, c.To)
	if err != nil {
		return Event{}, fmt.Errorf("ledger: transition: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return Event{}, fmt.Errorf("%w: application %d, expected %s", ErrStateChanged, c.ApplicationID, c.From)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO application_events (application_id, from_state, to_state, actor, office, note)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.ApplicationID, c.From, c.To, c.Actor.Name, c.Actor.Office, c.Note); err != nil {
		return Event{}, fmt.Errorf("ledger: timeline: %w", err)
	}
	action := "application." + string(c.To)
	if c.Rerun {
		action = "application.rerun"
	}
	detail := fmt.Sprintf("%s -> %s", c.From, c.To)
	if c.Note != "" {
		detail += ": " + c.Note
	}
	if err := Audit(ctx, tx, Entry{Actor: c.Actor, Action: action,
		Subject: "application/" + strconv.FormatInt(c.ApplicationID, 10), Detail: detail}); err != nil {
		return Event{}, err
	}
	ev := Event{EventID: NewEventID(), ApplicationID: c.ApplicationID, From: c.From, To: c.To,
		At: time.Now().UTC()}
	if err := Enqueue(ctx, tx, SubjectPrefix+string(c.To), ev.EventID, ev); err != nil {
		return Event{}, err
	}
	return ev, nil
}
