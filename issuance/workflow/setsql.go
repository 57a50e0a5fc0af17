package workflow

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
)

// stmt builds one data-modifying statement out of WITH items, so that a whole set of
// state changes (a batch, a shipment) or every write of one card step costs one round
// trip. Each state change writes exactly what ledger.Transition and cardTransition
// write: the timeline row, the audit entry and, for applications, the outbox event.
// The audit entries of the whole statement are chained onto the statement's chain in
// the statement itself (see build), so the chain's head moves once.
type stmt struct {
	args   []any
	items  []string
	audits []string // queries with columns g, k, action, subject, detail: one audit entry per row
	actor  *ledger.Actor
	chain  int16
	err    error // an illegal transition asked for: the statement is not run
}

// arg adds a parameter and returns its placeholder cast to typ.
func (s *stmt) arg(v any, typ string) string {
	s.args = append(s.args, v)
	return "$" + strconv.Itoa(len(s.args)) + "::" + typ
}

func (s *stmt) with(name, body string) { s.items = append(s.items, name+" AS ("+body+")") }

func (s *stmt) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// audit has every row of src recorded in the audit log: src selects columns k (order
// within the item), action, subject and detail from the rows a WITH item moved.
func (s *stmt) audit(src string, actor ledger.Actor, chain int16) {
	switch {
	case s.actor == nil:
		s.actor, s.chain = &actor, chain
	case *s.actor != actor || s.chain != chain:
		s.fail(errors.New("workflow: one statement records one actor on one audit chain"))
	}
	s.audits = append(s.audits, "SELECT "+strconv.Itoa(len(s.audits))+" AS g, "+src)
}

// build returns the statement with final (a select list: "SELECT a, b, ...") as its
// main query. With audit entries to write, it appends one boolean column to final, true
// when every moved row got its entry and the chain's head moved.
func (s *stmt) build(final string, dest []any) (string, []any, *bool) {
	items := s.items
	if len(s.audits) == 0 {
		return "WITH " + strings.Join(items, ",\n") + "\n" + final, dest, nil
	}
	// The entries are chained in the statement itself: the head is locked (only when there
	// are entries) and the chain computed from it (auditHashes), the entries are inserted
	// and the head moved once. A head that another transaction moved meanwhile is read
	// again once that one commits, and the chain computed anew from it.
	chain, who, office := s.arg(s.chain, "smallint"), s.arg(s.actor.Name, "text"), s.arg(s.actor.Office, "text")
	// The entries are sorted once, and the three arrays aggregated in that order: the
	// order gives each entry its sequence number, and whatever it were, action[i],
	// subject[i] and detail[i] would still be one entry's.
	items = append(items[:len(items):len(items)],
		"audit_in AS (SELECT count(*) AS n, array_agg(action) AS action, array_agg(subject) AS subject, array_agg(detail) AS detail"+
			" FROM ("+strings.Join(s.audits, " UNION ALL ")+" ORDER BY g, k) u)",
		"audit_c AS (SELECT l.seq, i.n, i.action, i.subject, i.detail, "+auditHashes(chain, who, office)+" AS hs"+
			" FROM audit_head l, audit_in i WHERE l.chain = "+chain+" AND i.n > 0 FOR UPDATE OF l)",
		"audit_ins AS (INSERT INTO audit_log (chain, seq, at, actor, office, action, subject, detail, prev_hash, hash) "+
			"SELECT "+chain+", c.seq + u.i, now(), "+who+", "+office+", u.action, u.subject, u.detail, u.prev, u.hash FROM audit_c c, "+
			"unnest(c.action, c.subject, c.detail, c.hs[1:c.n], c.hs[2:c.n + 1]) WITH ORDINALITY AS u(action, subject, detail, prev, hash, i) RETURNING 1)",
		"audit_mv AS (UPDATE audit_head SET seq = c.seq + c.n, hash = c.hs[c.n + 1] FROM audit_c c WHERE chain = "+chain+" RETURNING 1)")
	// audit_in counts the rows of the moved items: every one of them needs its entry.
	ok := new(bool)
	final += ", " + countOf("audit_ins") + " = (SELECT n FROM audit_in) AND " + countOf("audit_mv") + " = least((SELECT n FROM audit_in), 1)"
	return "WITH " + strings.Join(items, ",\n") + "\n" + final, append(dest[:len(dest):len(dest)], ok), ok
}

// auditHashes is the chain of audit_c: the head's hash, then one hash per entry of
// audit_in (head l and entries i). A step records one or two entries, which the
// expression chains itself with the inlined SQL function audit_form; a set of more goes
// to audit_hashes, whose plpgsql loop costs a function call and its set-up in every
// transaction.
func auditHashes(chain, who, office string) string {
	h := "l.hash"
	hs := []string{h}
	for k := 1; k <= 2; k++ {
		n := strconv.Itoa(k)
		h = "sha256(" + h + " || audit_form(" + chain + ", l.seq + " + n + ", now(), " + who + ", " + office +
			", i.action[" + n + "], i.subject[" + n + "], i.detail[" + n + "]))"
		hs = append(hs, h)
	}
	return "CASE WHEN i.n <= 2 THEN (ARRAY[" + strings.Join(hs, ", ") + "])[1:i.n + 1] ELSE audit_hashes(" + chain +
		", l.seq, l.hash, now(), " + who + ", " + office + ", i.action, i.subject, i.detail) END"
}

// run executes the built statement on q and scans its one result row into dest.
func (s *stmt) run(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, final string, dest []any) error {
	if s.err != nil {
		return s.err
	}
	sql, dest, ok := s.build(final, dest)
	if err := q.QueryRow(ctx, sql, s.args...).Scan(dest...); err != nil {
		return err
	}
	if ok != nil && !*ok {
		return errors.New("workflow: audit entries missing for the rows moved")
	}
	return nil
}

// moveApps adds WITH items moving the applications of src (a query with columns id and
// note) from -> to, when they are still in from (locked by key, then checked: see
// keyed), with a timeline row, an audit entry and an outbox event each (the shape of
// ledger.Event). It returns an expression giving the number of applications moved (the
// inserts of a WITH item always run to completion, a row for each moved row, or the
// statement fails). The moved rows are in WITH item name (columns id, note and ev, the
// event ID).
func (s *stmt) moveApps(name, src string, from, to lifecycle.AppState, actor ledger.Actor, chain int16) string {
	return s.moveAppsOf(name, src, false, from, to, actor, chain)
}

// moveHeldApps is moveApps for a src whose rows this statement has already locked
// (FOR UPDATE) and found in from: they are updated by key without a second look.
func (s *stmt) moveHeldApps(name, src string, from, to lifecycle.AppState, actor ledger.Actor, chain int16) string {
	return s.moveAppsOf(name, src, true, from, to, actor, chain)
}

func (s *stmt) moveAppsOf(name, src string, held bool, from, to lifecycle.AppState, actor ledger.Actor, chain int16) string {
	if err := lifecycle.CheckApp(from, to); err != nil {
		s.fail(err)
	}
	f, t := s.arg(string(from), "text"), s.arg(string(to), "text")
	who, office := s.arg(actor.Name, "text"), s.arg(actor.Office, "text")
	s.keyed(name, src, held, "applications", "id", f)
	s.with(name, `UPDATE applications a SET state = `+t+`, updated_at = now() FROM `+name+`_k s
		WHERE a.id = s.id RETURNING a.id, s.note, gen_random_uuid() AS ev`)
	s.with(name+"_ev", `INSERT INTO application_events (application_id, from_state, to_state, actor, office, note)
		SELECT id, `+f+`, `+t+`, `+who+`, `+office+`, note FROM `+name+` RETURNING 1`)
	s.audit(`lpad(id::text, 20) AS k, `+s.arg("application."+string(to), "text")+` AS action, 'application/' || id AS subject,
		`+f+` || ' -> ' || `+t+` || CASE WHEN note = '' THEN '' ELSE ': ' || note END AS detail FROM `+name, actor, chain)
	s.with(name+"_ob", `INSERT INTO outbox (event_id, subject, payload)
		SELECT ev, `+s.arg(ledger.SubjectPrefix+string(to), "text")+`, jsonb_build_object('event_id', ev, 'application_id', id,
		'from', `+f+`, 'to', `+t+`, 'at', `+s.arg(time.Now().UTC().Format(time.RFC3339Nano), "text")+`)
		FROM `+name+` ORDER BY id RETURNING 1`)
	return countOf(name)
}

// moveCards adds WITH items moving the cards of src (a query with columns serial and
// note) from -> to, when they are still in from (locked by key, then checked), with a
// card event and an audit entry each, as cardTransition does; set adds assignments
// (", mrz = ..."). It returns an expression giving the number of cards moved.
func (s *stmt) moveCards(name, src string, from, to lifecycle.CardState, set string, actor ledger.Actor, chain int16) string {
	return s.moveCardsOf(name, src, false, from, to, set, actor, chain)
}

// moveHeldCards is moveCards for a src whose rows this statement has already locked
// (FOR UPDATE) and found in from.
func (s *stmt) moveHeldCards(name, src string, from, to lifecycle.CardState, set string, actor ledger.Actor, chain int16) string {
	return s.moveCardsOf(name, src, true, from, to, set, actor, chain)
}

func (s *stmt) moveCardsOf(name, src string, held bool, from, to lifecycle.CardState, set string, actor ledger.Actor, chain int16) string {
	if err := lifecycle.CheckCard(from, to); err != nil {
		s.fail(err)
	}
	f, t, who := s.arg(string(from), "text"), s.arg(string(to), "text"), s.arg(actor.Name, "text")
	s.keyed(name, src, held, "cards", "serial", f)
	s.with(name, `UPDATE cards c SET state = `+t+`, reason = CASE WHEN s.note = '' THEN c.reason ELSE s.note END,
		updated_at = now()`+set+` FROM `+name+`_k s WHERE c.serial = s.serial
		RETURNING c.serial, s.note`)
	s.with(name+"_ev", `INSERT INTO card_events (serial, from_state, to_state, actor, note)
		SELECT serial, `+f+`, `+t+`, `+who+`, note FROM `+name+` RETURNING 1`)
	s.audit(`serial AS k, 'card.' || `+t+` AS action, 'card/' || serial AS subject,
		`+f+` || ' -> ' || `+t+` || ' ' || note AS detail FROM `+name, actor, chain)
	return countOf(name)
}

// keyed adds WITH item name_k: the rows of src (columns key and note) to move out of
// state from. Unless src is held (its rows already locked and found in from), each row
// of table is locked by its key, then its state checked: no plan can turn the move into
// a scan of every row in from.
func (s *stmt) keyed(name, src string, held bool, table, key, from string) {
	if held {
		s.with(name+"_k", src)
		return
	}
	s.with(name+"_k", `SELECT x.`+key+`, s.note FROM (`+src+`) s
		CROSS JOIN LATERAL (SELECT `+key+`, state FROM `+table+` WHERE `+key+` = s.`+key+` FOR UPDATE) x WHERE x.state = `+from)
}

// countOf is an expression adding up the rows of WITH items.
func countOf(names ...string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = "(SELECT count(*) FROM " + n + ")"
	}
	return "(" + strings.Join(parts, " + ") + ")"
}

// single runs one statement outside an explicit transaction (the statement is its own
// transaction: all of it commits or none), giving build the audit chain of the
// connection it runs on; it saves the BEGIN and COMMIT round trips of a transaction.
// build returns the SQL and the scan destinations of its one result row.
func (e *Engine) single(ctx context.Context, build func(chain int16) (*stmt, string, []any)) error {
	return e.DB.AcquireFunc(ctx, func(c *pgxpool.Conn) error {
		s, final, dest := build(ledger.ConnChain(c.Conn()))
		return s.run(ctx, c.Conn(), final, dest)
	})
}

// txRow runs a built statement inside tx and scans its one result row.
func txRow(ctx context.Context, tx pgx.Tx, s *stmt, final string, dest ...any) error {
	if err := s.run(ctx, tx, final, dest); err != nil {
		return fmt.Errorf("workflow: %w", err)
	}
	return nil
}
