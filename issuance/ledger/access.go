package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Reads of personal data are entries of the audit log itself (Decree 13/2023 on
// personal data protection, art. 9 and 14: the data subject may know who processed
// their data and why). An access entry has action AccessPrefix+kind, subject
// SubjectPrefixPerson+ID number, the reader as actor and office, and an AccessDetail
// as JSON; it is chained, verified and protected like every other entry.
const (
	AccessPrefix        = "access."
	AccessRefused       = AccessPrefix + "refused"
	SubjectPrefixPerson = "person/"
)

// Kinds of personal data read.
const (
	KindRegister    = "register"    // the population register's record (pre-fill)
	KindApplication = "application" // an application in full, portrait included
	KindList        = "list"        // a line of an application list (ID number and name)
	KindCard        = "card"        // a card's registry status for a verifier or a hand-over
)

// AccessDetail is the detail of an access entry.
type AccessDetail struct {
	Role    string `json:"role"`
	Purpose string `json:"purpose"`
	Ref     string `json:"ref,omitempty"`     // receipt, card serial
	Outcome string `json:"outcome,omitempty"` // e.g. "not in register", "refused: ..."
}

// String is the JSON form stored in the audit log.
func (d AccessDetail) String() string {
	b, _ := json.Marshal(d) // strings only: cannot fail
	return string(b)
}

// Access is one read of one person's data.
type Access struct {
	Kind     string // Kind*, or "refused"
	IDNumber string // whose record
	Detail   AccessDetail
}

// Execer runs a statement: a pool, a connection or a transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// RecordAccess records reads by actor in one statement: they are durable when it
// returns (inside tx, when tx commits) and are chained onto the audit log by
// ChainPending shortly after, off the request path (migration 0630).
func RecordAccess(ctx context.Context, q Execer, actor Actor, reads []Access) error {
	if len(reads) == 0 {
		return nil
	}
	acts := make([]string, len(reads))
	subs := make([]string, len(reads))
	dets := make([]string, len(reads))
	for i, r := range reads {
		acts[i], subs[i], dets[i] = AccessPrefix+r.Kind, SubjectPrefixPerson+r.IDNumber, r.Detail.String()
	}
	if _, err := q.Exec(ctx, `INSERT INTO access_pending (actor, office, action, subject, detail)
		SELECT $1, $2, a, s, d FROM unnest($3::text[], $4::text[], $5::text[]) AS u(a, s, d)`,
		actor.Name, actor.Office, acts, subs, dets); err != nil {
		return fmt.Errorf("ledger: access record: %w", err)
	}
	return nil
}

// chainSet is how many pending reads ChainPending moves in one statement.
const chainSet = 1000

// ChainPending moves the recorded reads that are not yet chained onto the audit log (on
// the chain of the connection serving it), a set at a time, until none is left, and
// returns how many it moved. Every reader of access records calls it first, so what it
// reads is complete and chained; the intake service also runs it in the background
// (intake.Service.ChainReads).
func ChainPending(ctx context.Context, q Querier) (int64, error) {
	var total int64
	for {
		var n int64
		if err := q.QueryRow(ctx, "SELECT access_chain((pg_backend_pid() % $1)::smallint, $2)", Chains, chainSet).Scan(&n); err != nil {
			return total, fmt.Errorf("ledger: chain access records: %w", err)
		}
		total += n
		if n < chainSet {
			return total, nil
		}
	}
}

// AccessRecord is one access entry as read back.
type AccessRecord struct {
	Chain    int16     `json:"chain"` // the entry's place in the audit log
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	User     string    `json:"user"`
	Role     string    `json:"role"`
	Office   string    `json:"office"`
	IDNumber string    `json:"id_number"`
	Kind     string    `json:"kind"`
	Purpose  string    `json:"purpose"`
	Ref      string    `json:"ref,omitempty"`
	Outcome  string    `json:"outcome,omitempty"`
}

// AccessFilter selects access records: by whose record, by whom, or both.
type AccessFilter struct {
	IDNumber string    // whose record ("" = anyone's)
	User     string    // who read ("" = anyone)
	Since    time.Time // zero = from the start
	Limit    int       // default 1000, at most 100000
}

// Accesses returns access records, oldest first, after chaining the pending ones.
func Accesses(ctx context.Context, q Querier, f AccessFilter) ([]AccessRecord, error) {
	if _, err := ChainPending(ctx, q); err != nil {
		return nil, err
	}
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	f.Limit = min(f.Limit, 100000)
	subject := ""
	if f.IDNumber != "" {
		subject = SubjectPrefixPerson + f.IDNumber
	}
	// Only the conditions given, so that the planner uses the partial index on subject
	// or actor (migration 0610) rather than a plan for any of them.
	where, args := "action LIKE 'access.%' AND at >= $1", []any{f.Since, f.Limit}
	if subject != "" {
		args = append(args, subject)
		where += fmt.Sprintf(" AND subject = $%d", len(args))
	}
	if f.User != "" {
		args = append(args, f.User)
		where += fmt.Sprintf(" AND actor = $%d", len(args))
	}
	rows, err := q.Query(ctx, `SELECT chain, seq, at, actor, office, subject, action, detail FROM (
		SELECT chain, seq, at, actor, office, subject, action, detail FROM audit_log WHERE `+where+`
		ORDER BY at DESC, chain DESC, seq DESC LIMIT $2) r ORDER BY at, chain, seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: access records: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AccessRecord, error) {
		var a AccessRecord
		var subject, action, detail string
		if err := r.Scan(&a.Chain, &a.Seq, &a.At, &a.User, &a.Office, &subject, &action, &detail); err != nil {
			return a, err
		}
		a.IDNumber = strings.TrimPrefix(subject, SubjectPrefixPerson)
		a.Kind = strings.TrimPrefix(action, AccessPrefix)
		var d AccessDetail
		if err := json.Unmarshal([]byte(detail), &d); err != nil {
			a.Outcome = "detail unreadable: " + detail
			return a, nil
		}
		a.Role, a.Purpose, a.Ref, a.Outcome = d.Role, d.Purpose, d.Ref, d.Outcome
		return a, nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: access records: %w", err)
	}
	return out, nil
}
