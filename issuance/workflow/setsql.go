package workflow

import (
	"context"
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
// write: the timeline row, the audit entry (SQL function audit_append, once per row,
// on the statement's chain) and, for applications, the outbox event.
type stmt struct {
	args  []any
	items []string
	err   error // an illegal transition asked for: the statement is not run
}

// arg adds a parameter and returns its placeholder cast to typ.
func (s *stmt) arg(v any, typ string) string {
	s.args = append(s.args, v)
	return "$" + strconv.Itoa(len(s.args)) + "::" + typ
}

func (s *stmt) with(name, body string) { s.items = append(s.items, name+" AS ("+body+")") }

// sql returns the statement with final as its main query.
func (s *stmt) sql(final string) string { return "WITH " + strings.Join(s.items, ",\n") + "\n" + final }

// moveApps adds WITH items moving the applications of src (a query with columns id and
// note) from -> to, when they are still in from, with a timeline row, an audit entry and
// an outbox event each (the shape of ledger.Event). It returns an expression counting
// every row written: 4 per moved application. The moved rows are in WITH item name
// (columns id, note and ev, the event ID).
func (s *stmt) moveApps(name, src string, from, to lifecycle.AppState, actor ledger.Actor, chain int16) string {
	if err := lifecycle.CheckApp(from, to); err != nil && s.err == nil {
		s.err = err
	}
	f, t := s.arg(string(from), "text"), s.arg(string(to), "text")
	who, office := s.arg(actor.Name, "text"), s.arg(actor.Office, "text")
	s.with(name, `UPDATE applications a SET state = `+t+`, updated_at = now() FROM (`+src+`) s
		WHERE a.id = s.id AND a.state = `+f+` RETURNING a.id, s.note, gen_random_uuid() AS ev`)
	s.with(name+"_ev", `INSERT INTO application_events (application_id, from_state, to_state, actor, office, note)
		SELECT id, `+f+`, `+t+`, `+who+`, `+office+`, note FROM `+name+` RETURNING 1`)
	s.with(name+"_au", `SELECT audit_append(`+s.arg(chain, "smallint")+`, `+who+`, `+office+`, `+
		s.arg("application."+string(to), "text")+`, 'application/' || id,
		`+f+` || ' -> ' || `+t+` || CASE WHEN note = '' THEN '' ELSE ': ' || note END) FROM `+name)
	s.with(name+"_ob", `INSERT INTO outbox (event_id, subject, payload)
		SELECT ev, `+s.arg(ledger.SubjectPrefix+string(to), "text")+`, jsonb_build_object('event_id', ev, 'application_id', id,
		'from', `+f+`, 'to', `+t+`, 'at', `+s.arg(time.Now().UTC().Format(time.RFC3339Nano), "text")+`)
		FROM `+name+` ORDER BY id RETURNING 1`)
	return countOf(name, name+"_ev", name+"_au", name+"_ob")
}

// moveCards adds WITH items moving the cards of src (a query with columns serial and
// note) from -> to, when they are still in from, with a card event and an audit entry
// each, as cardTransition does; set adds assignments (", mrz = ..."). It returns an
// expression counting every row written: 3 per moved card.
func (s *stmt) moveCards(name, src string, from, to lifecycle.CardState, set string, actor ledger.Actor, chain int16) string {
	if err := lifecycle.CheckCard(from, to); err != nil && s.err == nil {
		s.err = err
	}
	f, t, who := s.arg(string(from), "text"), s.arg(string(to), "text"), s.arg(actor.Name, "text")
	s.with(name, `UPDATE cards c SET state = `+t+`, reason = CASE WHEN s.note = '' THEN c.reason ELSE s.note END,
		updated_at = now()`+set+` FROM (`+src+`) s WHERE c.serial = s.serial AND c.state = `+f+`
		RETURNING c.serial, s.note`)
	s.with(name+"_ev", `INSERT INTO card_events (serial, from_state, to_state, actor, note)
		SELECT serial, `+f+`, `+t+`, `+who+`, note FROM `+name+` RETURNING 1`)
	s.with(name+"_au", `SELECT audit_append(`+s.arg(chain, "smallint")+`, `+who+`, `+s.arg(actor.Office, "text")+`,
		'card.' || `+t+`, 'card/' || serial, `+f+` || ' -> ' || `+t+` || ' ' || note) FROM `+name)
	return countOf(name, name+"_ev", name+"_au")
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
		if s.err != nil {
			return s.err
		}
		return c.Conn().QueryRow(ctx, s.sql(final), s.args...).Scan(dest...)
	})
}

// txRow runs a built statement inside tx and scans its one result row.
func txRow(ctx context.Context, tx pgx.Tx, s *stmt, final string, dest ...any) error {
	if s.err != nil {
		return s.err
	}
	if err := tx.QueryRow(ctx, s.sql(final), s.args...).Scan(dest...); err != nil {
		return fmt.Errorf("workflow: %w", err)
	}
	return nil
}
