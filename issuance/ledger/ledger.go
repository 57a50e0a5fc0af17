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

// Chains is the number of independent audit chains.
const Chains = 64

// Chain is the audit chain a transaction appends to (for statements that call SQL
// function audit_append themselves).
func Chain(tx pgx.Tx) int16 { return chainOf(tx) }

// ConnChain is the audit chain of a single statement run outside an explicit
// transaction on conn (the statement is its own transaction), for statements that call
// SQL function audit_append themselves. It is the chain Chain gives a transaction on conn.
func ConnChain(conn *pgx.Conn) int16 { return int16(conn.PgConn().PID() % Chains) }

// chainOf picks the chain for a transaction: by the database backend serving it, so
// that every entry of one transaction goes to one chain (two chains locked in opposite
// orders by two transactions would deadlock) while concurrent transactions on other
// connections spread over the chains.
func chainOf(tx pgx.Tx) int16 {
	return int16(tx.Conn().PgConn().PID() % Chains)
}

// Audit appends e to the hash-chained audit log inside tx, in one round trip (SQL
// function audit_append). Appends to one chain are serialised on its head row until tx
// commits, so a chain never forks.
func Audit(ctx context.Context, tx pgx.Tx, e Entry) error {
	if _, err := tx.Exec(ctx, "SELECT audit_append($1, $2, $3, $4, $5, $6)", chainOf(tx),
		e.Actor.Name, e.Actor.Office, e.Action, e.Subject, e.Detail); err != nil {
		return fmt.Errorf("ledger: audit append: %w", err)
	}
	return nil
}

// chainHash is SHA-256(prev || canonical record): each field length-prefixed in bytes
// ("<len>:<text>"), so that no two different records share an encoding; the time is in
// Unix microseconds. It must match SQL function audit_append.
func chainHash(prev []byte, chain int16, seq int64, at time.Time, e Entry) []byte {
	h := sha256.New()
	h.Write(prev)
	for _, f := range []string{strconv.Itoa(int(chain)), strconv.FormatInt(seq, 10), strconv.FormatInt(at.UnixMicro(), 10),
		e.Actor.Name, e.Actor.Office, e.Action, e.Subject, e.Detail} {
		h.Write([]byte(strconv.Itoa(len(f))))
		h.Write([]byte{':'})
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}

// Problem is one finding of VerifyAudit.
type Problem struct {
	Chain  int16  `json:"chain"`
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// AuditReport is the result of VerifyAudit.
type AuditReport struct {
	Rows     int64     `json:"rows"`
	Problems []Problem `json:"problems"`
}

// OK reports whether every chain is intact.
func (r AuditReport) OK() bool { return len(r.Problems) == 0 }

// Querier is what VerifyAudit needs: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// VerifyAudit walks every chain of the audit log in order and recomputes every hash.
// It reports rows whose content was edited (hash mismatch), rows that were deleted (a
// gap in the sequence or a broken link), and a chain whose tail was cut (its head ahead
// of its last row).
func VerifyAudit(ctx context.Context, q Querier) (AuditReport, error) {
	rep := AuditReport{Problems: []Problem{}}
	// Recorded reads not yet chained are chained first, so that they are verified too.
	if _, err := ChainPending(ctx, q); err != nil {
		return rep, err
	}
	heads := map[int16]int64{}
	rows, err := q.Query(ctx, "SELECT chain, seq FROM audit_head")
	if err != nil {
		return rep, fmt.Errorf("ledger: audit heads: %w", err)
	}
	for rows.Next() {
		var c int16
		var s int64
		if err := rows.Scan(&c, &s); err != nil {
			return rep, fmt.Errorf("ledger: audit heads: %w", err)
		}
		heads[c] = s
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("ledger: audit heads: %w", err)
	}
	rows, err = q.Query(ctx, `SELECT chain, seq, at, actor, office, action, subject, detail, prev_hash, hash
		FROM audit_log ORDER BY chain, seq`)
	if err != nil {
		return rep, fmt.Errorf("ledger: audit read: %w", err)
	}
	defer rows.Close()
	zero := make([]byte, sha256.Size)
	prev := zero
	last := map[int16]int64{}
	cur := int16(-1)
	for rows.Next() {
		var chain int16
		var seq int64
		var at time.Time
		var e Entry
		var prevHash, hash []byte
		if err := rows.Scan(&chain, &seq, &at, &e.Actor.Name, &e.Actor.Office, &e.Action, &e.Subject, &e.Detail, &prevHash, &hash); err != nil {
			return rep, fmt.Errorf("ledger: audit read: %w", err)
		}
		if chain != cur {
			cur, prev = chain, zero
		}
		rep.Rows++
		if seq != last[chain]+1 {
			rep.Problems = append(rep.Problems, Problem{chain, seq, fmt.Sprintf("rows %d..%d missing (deleted)", last[chain]+1, seq-1)})
		}
		if string(prevHash) != string(prev) {
			rep.Problems = append(rep.Problems, Problem{chain, seq, "link to the previous row broken"})
		}
		if string(chainHash(prevHash, chain, seq, at, e)) != string(hash) {
			rep.Problems = append(rep.Problems, Problem{chain, seq, "content does not match its hash (edited)"})
		}
		prev, last[chain] = hash, seq
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("ledger: audit read: %w", err)
	}
	for c, h := range heads {
		if h != last[c] {
			rep.Problems = append(rep.Problems, Problem{c, last[c], fmt.Sprintf("chain head is %d but the last row is %d (tail deleted)", h, last[c])})
		}
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
// entry and the outbox event, all in one statement (one round trip). Callers commit tx.
func Transition(ctx context.Context, tx pgx.Tx, c Change) (Event, error) {
	check := lifecycle.CheckApp
	if c.Rerun {
		check = lifecycle.CheckRerun
	}
	if err := check(c.From, c.To); err != nil {
		return Event{}, err
	}
	action := "application." + string(c.To)
	if c.Rerun {
		action = "application.rerun"
	}
	detail := fmt.Sprintf("%s -> %s", c.From, c.To)
	if c.Note != "" {
		detail += ": " + c.Note
	}
	ev := Event{EventID: NewEventID(), ApplicationID: c.ApplicationID, From: c.From, To: c.To, At: time.Now().UTC()}
	payload, err := json.Marshal(ev)
	if err != nil {
		return Event{}, fmt.Errorf("ledger: outbox payload: %w", err)
	}
	var moved int
	err = tx.QueryRow(ctx, `WITH upd AS (
			UPDATE applications SET state = $3, updated_at = now() WHERE id = $1 AND state = $2 RETURNING id),
		ev AS (INSERT INTO application_events (application_id, from_state, to_state, actor, office, note)
			SELECT id, $2, $3, $4, $5, $6 FROM upd RETURNING 1),
		au AS (SELECT audit_append($7, $4, $5, $8, 'application/' || id, $9) FROM upd),
		ob AS (INSERT INTO outbox (event_id, subject, payload) SELECT $10, $11, $12 FROM upd RETURNING 1)
		SELECT (SELECT count(*) FROM upd) + (SELECT count(*) FROM ev) + (SELECT count(*) FROM au) + (SELECT count(*) FROM ob)`,
		c.ApplicationID, c.From, c.To, c.Actor.Name, c.Actor.Office, c.Note, chainOf(tx), action, detail,
		ev.EventID, SubjectPrefix+string(c.To), payload).Scan(&moved)
	if err != nil {
		return Event{}, fmt.Errorf("ledger: transition: %w", err)
	}
	if moved != 4 {
		return Event{}, fmt.Errorf("%w: application %d, expected %s", ErrStateChanged, c.ApplicationID, c.From)
	}
	return ev, nil
}
