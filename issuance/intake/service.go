package intake

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
)

// Errors callers branch on.
var (
	ErrDuplicateApplication = errors.New("intake: the citizen already has an open application")
	ErrNotFound             = errors.New("intake: no such application")
	ErrSameClerk            = errors.New("intake: dual control: the supervisor who decides must not be the clerk who took the application")
	ErrWrongOffice          = errors.New("intake: application belongs to another office")
	ErrNotSubmitted         = errors.New("intake: application is no longer awaiting a decision")
	ErrReasonRequired       = errors.New("intake: reason: required (1-500 characters)")
	ErrInvalidFilter        = errors.New("intake: invalid filter")
	ErrInvalidReceipt       = errors.New("intake: receipt: " + receiptRule)
)

const receiptRule = `must be "HS-" and two groups of 5 of 0-9 A-Z without I L O U (e.g. HS-7Q2KD-M4XRA)`

// CheckReceipt returns ErrInvalidReceipt unless s has the form of a receipt number (newReceipt).
// Every method that takes a receipt checks it before it reaches SQL.
func CheckReceipt(s string) error {
	if len(s) != len("HS-00000-00000") || s[:3] != "HS-" || s[8] != '-' {
		return ErrInvalidReceipt
	}
	for i := 3; i < len(s); i++ {
		if i != 8 && strings.IndexByte(receiptAlphabet, s[i]) < 0 {
			return ErrInvalidReceipt
		}
	}
	return nil
}

// DuplicateError is ErrDuplicateApplication with the open application it collides with.
// Receipt and Office are for callers allowed to see that application (its office, admins).
type DuplicateError struct {
	IDNumber string
	Receipt  string
	Office   string
}

func (e *DuplicateError) Error() string {
	return ErrDuplicateApplication.Error() + ": id_number " + e.IDNumber
}

// Is makes errors.Is(err, ErrDuplicateApplication) true.
func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicateApplication }

// Receipt alphabet: Crockford base32 without I, L, O, U, so receipts read aloud well.
const receiptAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newReceipt returns an unguessable receipt number (50 random bits), e.g. HS-7Q2KD-M4XRA.
func newReceipt() string {
	b := make([]byte, 10)
	rand.Read(b)
	out := []byte("HS-00000-00000")
	j := 3
	for i := range b {
		if j == 8 {
			j++
		}
		out[j] = receiptAlphabet[b[i]&31]
		j++
	}
	return string(out)
}

// Submitted is the result of Submit.
type Submitted struct {
	ID            int64    `json:"id"`
	Receipt       string   `json:"receipt"`
	ChangedFields []string `json:"changed_fields"`
}

// Submit records an application taken by a clerk. It is validated against the date of
// intake, compared with the register's record (every field the clerk changed is
// flagged for the supervisor), and refused when the citizen already has an open
// application. Nothing is written when anything is wrong.
func (s *Service) Submit(ctx context.Context, clerk User, app issuance.Application) (Submitted, error) {
	if err := require(clerk, RoleClerk); err != nil {
		return Submitted{}, err
	}
	if err := app.Validate(s.Today()); err != nil {
		return Submitted{}, err
	}
	if err := checkPrintable(app.Person); err != nil {
		return Submitted{}, err
	}
	if app.IntakeOffice != clerk.Office {
		return Submitted{}, fmt.Errorf("%w: intake_office %s, clerk %s works at %s", ErrWrongOffice, app.IntakeOffice, clerk.Name, clerk.Office)
	}
	if err := s.checkDeliveryOffice(ctx, app.Delivery.Office); err != nil {
		return Submitted{}, err
	}
	reg, err := s.register(ctx, app.IDNumber)
	if err != nil {
		return Submitted{}, err
	}
	person, err := json.Marshal(app.Person)
	if err != nil {
		return Submitted{}, err
	}
	delivery, err := json.Marshal(app.Delivery)
	if err != nil {
		return Submitted{}, err
	}
	out := Submitted{Receipt: newReceipt(), ChangedFields: ChangedFields(reg, app.Person)}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO applications (receipt, id_number, state, person, portrait, reason,
			intake_office, delivery, changed_fields, clerk) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			out.Receipt, app.IDNumber, lifecycle.Submitted, person, app.Portrait, app.Reason, app.IntakeOffice,
			delivery, out.ChangedFields, clerk.Name).Scan(&out.ID)
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "applications_one_open" {
				return &DuplicateError{IDNumber: app.IDNumber}
			}
			return fmt.Errorf("intake: submit: %w", err)
		}
		// The clerk's open look-up of this person (Lookup) closes with the submission.
		if _, err := tx.Exec(ctx, `WITH o AS (UPDATE access_counts SET open_id = '' WHERE name = $3 AND open_id = $5)
			INSERT INTO application_events (application_id, from_state, to_state, actor, office)
			VALUES ($1, '', $2, $3, $4)`, out.ID, lifecycle.Submitted, clerk.Name, clerk.Office, app.IDNumber); err != nil {
			return fmt.Errorf("intake: submit: %w", err)
		}
		detail := "reason " + string(app.Reason)
		if len(out.ChangedFields) > 0 {
			detail += "; changed from register: " + strings.Join(out.ChangedFields, ",")
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: clerk.Actor(), Action: "application.submitted",
			Subject: fmt.Sprintf("application/%d", out.ID), Detail: detail})
	})
	var de *DuplicateError
	if errors.As(err, &de) {
		// Best effort: the open application may have closed since; then the 409 names none.
		s.db.QueryRow(ctx, `SELECT receipt, intake_office FROM applications WHERE id_number = $1
			AND state NOT IN ('rejected', 'delivered', 'returned')`, app.IDNumber).Scan(&de.Receipt, &de.Office)
	}
	if err != nil {
		return Submitted{}, err
	}
	return out, nil
}

// checkDeliveryOffice refuses a delivery office that is not in the offices code table or is closed.
func (s *Service) checkDeliveryOffice(ctx context.Context, code string) error {
	if code == "" {
		return nil // delivery by post
	}
	var active bool
	err := s.db.QueryRow(ctx, "SELECT active FROM offices WHERE code = $1", code).Scan(&active)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return issuance.ValidationError{{Field: "delivery.office", Rule: "no such office in the offices code table"}}
	case err != nil:
		return fmt.Errorf("intake: delivery office: %w", err)
	case !active:
		return issuance.ValidationError{{Field: "delivery.office", Rule: "office is closed"}}
	}
	return nil
}

// Decision is a supervisor's approval or rejection.
type Decision struct {
	Receipt string
	Approve bool
	Reason  string // required for a rejection
}

// Decide approves or rejects a submitted application. Dual control: the supervisor
// must be of the application's intake office and must not be the clerk who took it.
func (s *Service) Decide(ctx context.Context, sup User, d Decision) error {
	if err := require(sup, RoleSupervisor); err != nil {
		return err
	}
	if err := CheckReceipt(d.Receipt); err != nil {
		return err
	}
	d.Reason = issuance.NormalizeText(d.Reason)
	if !d.Approve && (d.Reason == "" || utf8.RuneCountInString(d.Reason) > 500) {
		return ErrReasonRequired
	}
	if err := issuance.CheckNote("reason", d.Reason, 500); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var id int64
		var state, clerk, office string
		err := tx.QueryRow(ctx, "SELECT id, state, clerk, intake_office FROM applications WHERE receipt = $1 FOR UPDATE",
			d.Receipt).Scan(&id, &state, &clerk, &office)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrNotFound, d.Receipt)
		}
		if err != nil {
			return fmt.Errorf("intake: decide: %w", err)
		}
		switch {
		case office != sup.Office:
			return fmt.Errorf("%w: %s was taken at %s, supervisor %s is at %s", ErrWrongOffice, d.Receipt, office, sup.Name, sup.Office)
		case clerk == sup.Name:
			return ErrSameClerk
		case lifecycle.AppState(state) != lifecycle.Submitted:
			return fmt.Errorf("%w: %s is %s", ErrNotSubmitted, d.Receipt, state)
		}
		to := lifecycle.Approved
		if !d.Approve {
			to = lifecycle.Rejected
		}
		if _, err := tx.Exec(ctx, "UPDATE applications SET supervisor = $2, decision_note = $3 WHERE id = $1",
			id, sup.Name, d.Reason); err != nil {
			return fmt.Errorf("intake: decide: %w", err)
		}
		_, err = ledger.Transition(ctx, tx, ledger.Change{ApplicationID: id, From: lifecycle.Submitted, To: to,
			Actor: sup.Actor(), Note: d.Reason})
		return err
	})
}

// Summary is an application as staff see it in lists (no portrait).
type Summary struct {
	ID            int64     `json:"id"`
	Receipt       string    `json:"receipt"`
	IDNumber      string    `json:"id_number"`
	FullName      string    `json:"full_name"`
	State         string    `json:"state"`
	Reason        string    `json:"reason"`
	IntakeOffice  string    `json:"intake_office"`
	Clerk         string    `json:"clerk"`
	Supervisor    string    `json:"supervisor,omitempty"`
	ChangedFields []string  `json:"changed_fields"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Filter selects applications for List.
type Filter struct {
	State  string    // empty = any
	Office string    // empty = any; staff below admin see only their office
	Limit  int       // default 50, at most 1000
	Clerk  string    // empty = any: only the applications this clerk took
	Since  time.Time // zero = any: only the applications taken at or after it
}

// List returns applications, newest first. Staff other than admins see their office
// only. Each listed application is a recorded read of its applicant's ID number and name.
func (s *Service) List(ctx context.Context, u User, f Filter) ([]Summary, error) {
	if err := require(u, RoleClerk, RoleSupervisor, RoleAdmin); err != nil {
		return nil, err
	}
	if u.Role != RoleAdmin {
		f.Office = u.Office
	}
	why, err := purpose(ctx, u)
	if err != nil {
		return nil, err
	}
	if f.State != "" && !lifecycle.AppState(f.State).Valid() {
		return nil, fmt.Errorf("%w: state %q: not an application state", ErrInvalidFilter, f.State)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 1000)
	rows, err := s.db.Query(ctx, `SELECT id, receipt, id_number, person->>'full_name', state, reason, intake_office,
		clerk, coalesce(supervisor, ''), changed_fields, created_at, updated_at FROM applications
		WHERE ($1 = '' OR state = $1) AND ($2 = '' OR intake_office = $2) AND ($4 = '' OR clerk = $4)
		AND created_at >= $5 ORDER BY id DESC LIMIT $3`,
		f.State, f.Office, f.Limit, f.Clerk, f.Since)
	if err != nil {
		return nil, fmt.Errorf("intake: list: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Summary, error) {
		var s Summary
		err := r.Scan(&s.ID, &s.Receipt, &s.IDNumber, &s.FullName, &s.State, &s.Reason, &s.IntakeOffice,
			&s.Clerk, &s.Supervisor, &s.ChangedFields, &s.CreatedAt, &s.UpdatedAt)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("intake: list: %w", err)
	}
	ids, refs := make([]string, len(out)), make([]string, len(out))
	for i, a := range out {
		ids[i], refs[i] = a.IDNumber, a.Receipt
	}
	if err := s.recordReads(ctx, u, ledger.KindList, why, ids, refs); err != nil {
		return nil, err
	}
	return out, nil
}

// Detail is one application in full, for staff.
type Detail struct {
	Summary
	Application issuance.Application `json:"application"`
	Note        string               `json:"decision_note,omitempty"`
	Timeline    []Step               `json:"timeline"`
}

// Step is one entry of an application's timeline.
type Step struct {
	From   string    `json:"from,omitempty"`
	State  string    `json:"state"`
	Actor  string    `json:"actor,omitempty"`
	Office string    `json:"office,omitempty"`
	Note   string    `json:"note,omitempty"`
	At     time.Time `json:"at"`
}

// Show returns an application with its timeline, and records the read (purpose from
// the context, WithPurpose, or the role).
func (s *Service) Show(ctx context.Context, u User, receipt string) (Detail, error) {
	if err := require(u, RoleClerk, RoleSupervisor, RoleAdmin); err != nil {
		return Detail{}, err
	}
	why, err := purpose(ctx, u)
	if err != nil {
		return Detail{}, err
	}
	if err := CheckReceipt(receipt); err != nil {
		return Detail{}, err
	}
	var d Detail
	var person, delivery []byte
	err = s.db.QueryRow(ctx, `SELECT id, receipt, id_number, state, reason, intake_office, clerk,
		coalesce(supervisor, ''), changed_fields, created_at, updated_at, person, portrait, delivery, decision_note
		FROM applications WHERE receipt = $1`, receipt).Scan(&d.ID, &d.Receipt, &d.IDNumber, &d.State, &d.Reason,
		&d.IntakeOffice, &d.Clerk, &d.Supervisor, &d.ChangedFields, &d.CreatedAt, &d.UpdatedAt, &person,
		&d.Application.Portrait, &delivery, &d.Note)
	if errors.Is(err, pgx.ErrNoRows) {
		return Detail{}, fmt.Errorf("%w: %s", ErrNotFound, receipt)
	}
	if err != nil {
		return Detail{}, fmt.Errorf("intake: show: %w", err)
	}
	if u.Role != RoleAdmin && d.IntakeOffice != u.Office {
		return Detail{}, fmt.Errorf("%w: %s", ErrNotFound, receipt)
	}
	if err := json.Unmarshal(person, &d.Application.Person); err != nil {
		return Detail{}, fmt.Errorf("intake: show: %w", err)
	}
	if err := json.Unmarshal(delivery, &d.Application.Delivery); err != nil {
		return Detail{}, fmt.Errorf("intake: show: %w", err)
	}
	d.FullName = d.Application.FullName
	d.Application.Reason = issuance.Reason(d.Reason)
	d.Application.IntakeOffice = d.IntakeOffice
	if d.Timeline, err = s.timeline(ctx, d.ID, true); err != nil {
		return Detail{}, err
	}
	if err := s.recordReads(ctx, u, ledger.KindApplication, why, []string{d.IDNumber}, []string{d.Receipt}); err != nil {
		return Detail{}, err
	}
	return d, nil
}

func (s *Service) timeline(ctx context.Context, id int64, staff bool) ([]Step, error) {
	rows, err := s.db.Query(ctx, `SELECT from_state, to_state, actor, office, note, at FROM application_events
		WHERE application_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("intake: timeline: %w", err)
	}
	steps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Step, error) {
		var st Step
		err := r.Scan(&st.From, &st.State, &st.Actor, &st.Office, &st.Note, &st.At)
		if !staff {
			st.Actor, st.Note, st.From = "", "", ""
		}
		return st, err
	})
	if err != nil {
		return nil, fmt.Errorf("intake: timeline: %w", err)
	}
	return steps, nil
}

// PublicStatus is what an applicant sees for a receipt: states and dates, no personal data.
type PublicStatus struct {
	Receipt  string    `json:"receipt"`
	State    string    `json:"state"`
	Paused   bool      `json:"paused"`
	Updated  time.Time `json:"updated_at"`
	Timeline []Step    `json:"timeline"`
}

// Status returns the public status of an application.
func (s *Service) Status(ctx context.Context, receipt string) (PublicStatus, error) {
	if err := CheckReceipt(receipt); err != nil {
		return PublicStatus{}, err
	}
	st := PublicStatus{Receipt: receipt}
	var id int64
	err := s.db.QueryRow(ctx, "SELECT id, state, paused, updated_at FROM applications WHERE receipt = $1", receipt).
		Scan(&id, &st.State, &st.Paused, &st.Updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, fmt.Errorf("%w: %s", ErrNotFound, receipt)
	}
	if err != nil {
		return st, fmt.Errorf("intake: status: %w", err)
	}
	st.Timeline, err = s.timeline(ctx, id, false)
	return st, err
}
