package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/idnum"
	"github.com/cccd-project/cccd/issuance/ledger"
)

// Every read of a person's data through the service (a register look-up, an application
// view or list, a card's registry status) is recorded in the audit log as an access
// entry: who, role, office, whose record, purpose, when (ledger.Access). The purpose
// comes from the context (WithPurpose) or, without one, from the reader's role.

// Purposes of a read (Decree 13/2023 art. 3: personal data is processed only for the
// purpose announced).
const (
	PurposePrefill        = "prefill"        // a clerk starts an application from the register
	PurposeFollowUp       = "follow-up"      // a clerk looks at an application of their office
	PurposeApproval       = "approval"       // a supervisor decides an application
	PurposeHandover       = "hand-over"      // office staff hand a card over
	PurposeVerification   = "verification"   // a verifier checks a card at a counter
	PurposeAdministration = "administration" // an administrator's investigation or correction
)

var purposes = map[string]bool{PurposePrefill: true, PurposeFollowUp: true, PurposeApproval: true,
	PurposeHandover: true, PurposeVerification: true, PurposeAdministration: true}

// ErrPurpose means a read was asked for a purpose its operation or role does not serve.
var ErrPurpose = errors.New("intake: purpose not allowed")

// ErrLookupLimit means a user made more register look-ups than the limit allows; the
// refusal is itself recorded (ledger.AccessRefused).
var ErrLookupLimit = errors.New("intake: register look-up limit reached")

// LimitError is a refusal by a rate limit: look-ups per user, failed authentications
// per source. It matches ErrLookupLimit or ErrAuthLimit with errors.Is.
type LimitError struct {
	Kind       error // ErrLookupLimit or ErrAuthLimit
	Msg        string
	Rule       string        // the limit, e.g. "at most 10 register look-ups per minute"
	RetryAfter time.Duration // when the window ends
}

func (e *LimitError) Error() string        { return e.Kind.Error() + ": " + e.Msg }
func (e *LimitError) Is(target error) bool { return target == e.Kind }

// field names what a limit counts: the user's look-ups or the source's failures.
func (e *LimitError) field() string {
	if e.Kind == ErrAuthLimit {
		return "source"
	}
	return "user"
}

func (e *LimitError) rule() string { return e.Rule }

type userKey struct{}
type purposeKey struct{}
type sourceKey struct{}

// WithUser returns ctx carrying the signed-in user: Lookup, which takes no user
// argument, reads it from there. The HTTP API sets it for every authenticated request.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the user WithUser put in ctx.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// WithPurpose returns ctx carrying the purpose of the reads made with it (Purpose*).
// Without it a read's purpose follows from the reader's role: pre-fill for a clerk's
// look-up, follow-up for a clerk's view, approval for a supervisor, verification for a
// verifier, administration for an administrator.
func WithPurpose(ctx context.Context, purpose string) context.Context {
	return context.WithValue(ctx, purposeKey{}, purpose)
}

// WithSource returns ctx carrying where a request comes from (a network address):
// failed authentications are limited per source. Without it the source is "local".
func WithSource(ctx context.Context, source string) context.Context {
	return context.WithValue(ctx, sourceKey{}, source)
}

func sourceFrom(ctx context.Context) string {
	if s, ok := ctx.Value(sourceKey{}).(string); ok && s != "" {
		return s
	}
	return "local"
}

// purpose returns the purpose of a read by u: the context's, checked against allowed
// (nil: any), or the role's default.
func purpose(ctx context.Context, u User, allowed ...string) (string, error) {
	p, ok := ctx.Value(purposeKey{}).(string)
	if !ok {
		switch u.Role {
		case RoleClerk:
			p = PurposeFollowUp
			if len(allowed) > 0 {
				p = allowed[0]
			}
		case RoleSupervisor:
			p = PurposeApproval
		case RoleVerifier:
			p = PurposeVerification
		default:
			p = PurposeAdministration
		}
	}
	if !purposes[p] {
		return "", fmt.Errorf("%w: purpose %q: one of prefill, follow-up, approval, hand-over, verification, administration", ErrPurpose, p)
	}
	if len(allowed) == 0 {
		return p, nil
	}
	for _, a := range allowed {
		if p == a {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: purpose %q: this read serves only %v", ErrPurpose, p, allowed)
}

// Limits bounds reads and authentication attempts. Zero fields take the defaults.
type Limits struct {
	LookupsPerMinute int // register look-ups per user per minute (default 10)
	LookupsPerDay    int // register look-ups per user per day, Vietnam time (default 300)
	AuthFailures     int // failed authentications per source per AuthWindow (default 10)
	AuthWindow       time.Duration
	// LookupHold is how long a clerk's look-up to pre-fill stays open without its
	// application being submitted or given up (default 30 minutes).
	LookupHold time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.LookupsPerMinute <= 0 {
		l.LookupsPerMinute = 10
	}
	if l.LookupsPerDay <= 0 {
		l.LookupsPerDay = 300
	}
	if l.AuthFailures <= 0 {
		l.AuthFailures = 10
	}
	if l.AuthWindow <= 0 {
		l.AuthWindow = 15 * time.Minute
	}
	if l.LookupHold <= 0 {
		l.LookupHold = 30 * time.Minute
	}
	return l
}

// Validate checks the limits.
func (l Limits) Validate() error {
	switch {
	case l.LookupsPerMinute < 0, l.LookupsPerDay < 0, l.AuthFailures < 0, l.AuthWindow < 0, l.LookupHold < 0:
		return errors.New("intake: limits: must not be negative (0 takes the default)")
	case l.LookupsPerMinute > 0 && l.LookupsPerDay > 0 && l.LookupsPerDay < l.LookupsPerMinute:
		return fmt.Errorf("intake: limits: %d look-ups per day is below %d per minute", l.LookupsPerDay, l.LookupsPerMinute)
	}
	return nil
}

// ErrLookupOpen means a clerk asked for a look-up to pre-fill while a look-up of another
// person is still open: one application at a time. The open one closes when its
// application is submitted, when the clerk gives it up (Release), or after
// Limits.LookupHold.
var ErrLookupOpen = errors.New("intake: another register look-up is open")

// OpenLookupError is a refusal by ErrLookupOpen. It names the open look-up by the last
// digits of its ID number only.
type OpenLookupError struct {
	User       string
	Open       string        // the open look-up's ID number, masked but for its last 4 digits
	RetryAfter time.Duration // when the hold lapses
}

func (e *OpenLookupError) Error() string {
	return fmt.Sprintf("%s: %s has an open look-up of %s: submit its application or give it up first (the refusal is recorded)",
		ErrLookupOpen, e.User, e.Open)
}

func (e *OpenLookupError) Is(target error) bool { return target == ErrLookupOpen }

// Lookup returns the register's record for an ID number, to pre-fill an application,
// for the user in ctx (WithUser), who must be a clerk (or a supervisor checking an
// application). Look-ups are limited per user per minute and per day (Limits); every
// attempt counts, refused ones too. A clerk's look-up to pre-fill stays open until its
// application is submitted or given up (Release), and meanwhile a look-up of anyone else
// is refused (ErrLookupOpen). Every look-up is recorded, a refused one as refused. The
// count, the hold, the read and the record are one statement and one commit, shared
// with the look-ups of other users that arrive meanwhile (lookups.go); the record is
// chained on the audit log afterwards (ledger.ChainPending).
func (s *Service) Lookup(ctx context.Context, id string) (issuance.Person, error) {
	u, ok := UserFrom(ctx)
	if !ok {
		return issuance.Person{}, fmt.Errorf("%w: register look-up without a signed-in user (intake.WithUser)", ErrUnauthenticated)
	}
	if err := require(u, RoleClerk, RoleSupervisor); err != nil {
		return issuance.Person{}, err
	}
	why, err := purpose(ctx, u, PurposePrefill, PurposeApproval)
	if err != nil {
		return issuance.Person{}, err
	}
	if _, err := idnum.Parse(id); err != nil {
		return issuance.Person{}, err
	}
	if s.noAccessLog {
		return s.register(ctx, id)
	}
	detail := func(outcome string) string {
		return ledger.AccessDetail{Role: u.Role, Purpose: why, Outcome: outcome}.String()
	}
	lim := s.Limits.withDefaults()
	res, err := s.lookup(ctx, &lookupReq{name: u.Name, office: u.Office, id: id, hold: u.Role == RoleClerk && why == PurposePrefill,
		detail: [5]string{detail(""), detail("not in register"),
			detail(fmt.Sprintf("refused: over %d look-ups per minute", lim.LookupsPerMinute)),
			detail(fmt.Sprintf("refused: over %d look-ups per day", lim.LookupsPerDay)),
			detail("refused: a look-up of another person is open")}})
	if err != nil {
		return issuance.Person{}, err
	}
	now, over, found := res.now, res.over, res.found
	minute, day := lookupWindows(now)
	switch {
	case over == "minute":
		return issuance.Person{}, &LimitError{Kind: ErrLookupLimit, RetryAfter: minute.Add(time.Minute).Sub(now),
			Rule: fmt.Sprintf("at most %d register look-ups per minute", lim.LookupsPerMinute),
			Msg: fmt.Sprintf("%s made more than %d register look-ups this minute: one application at a time; the refusal is recorded",
				u.Name, lim.LookupsPerMinute)}
	case over == "day":
		return issuance.Person{}, &LimitError{Kind: ErrLookupLimit, RetryAfter: day.AddDate(0, 0, 1).Sub(now),
			Rule: fmt.Sprintf("at most %d register look-ups per day", lim.LookupsPerDay),
			Msg: fmt.Sprintf("%s made more than %d register look-ups today (Vietnam time); the refusal is recorded",
				u.Name, lim.LookupsPerDay)}
	case over == "open":
		return issuance.Person{}, &OpenLookupError{User: u.Name, Open: maskID(res.openID), RetryAfter: res.openAt.Add(lim.LookupHold).Sub(now)}
	case !found:
		return issuance.Person{}, fmt.Errorf("%w: %s", ErrNotInRegister, id)
	}
	p := res.p
	p.IDNumber = id
	p.DateOfBirth = issuance.DateOf(*res.dob)
	p.Sex = issuance.Sex(res.sex)
	return p, nil
}

// maskID hides an ID number but for its last 4 digits.
func maskID(id string) string {
	if len(id) <= 4 {
		return id
	}
	return strings.Repeat("•", len(id)-4) + id[len(id)-4:]
}

// Release gives up the clerk's open look-up (the person did not apply after all, or the
// number was mistyped), so that the clerk may look up someone else; it is recorded in
// the audit log. It returns the released ID number masked (maskID), or "" when none
// was open.
func (s *Service) Release(ctx context.Context, clerk User) (string, error) {
	if err := require(clerk, RoleClerk); err != nil {
		return "", err
	}
	var id string
	err := s.db.QueryRow(ctx, `WITH o AS (SELECT open_id FROM access_counts WHERE name = $1 AND open_id <> '' FOR UPDATE),
			u AS (UPDATE access_counts c SET open_id = '' FROM o WHERE c.name = $1 RETURNING o.open_id),
			a AS (SELECT audit_append((pg_backend_pid() % $2)::smallint, $1, $3, 'lookup.released', 'person/' || open_id, '') FROM u)
		SELECT coalesce((SELECT open_id FROM u), ''), (SELECT count(*) FROM a)`,
		clerk.Name, ledger.Chains, clerk.Office).Scan(&id, new(int64))
	if err != nil {
		return "", fmt.Errorf("intake: release look-up: %w", err)
	}
	if id == "" {
		return "", nil
	}
	return maskID(id), nil
}

// recordReads records reads by u, one per ID number, with purpose why.
func (s *Service) recordReads(ctx context.Context, u User, kind, why string, ids, refs []string) error {
	if s.noAccessLog || len(ids) == 0 {
		return nil
	}
	reads := make([]ledger.Access, len(ids))
	for i, id := range ids {
		reads[i] = ledger.Access{Kind: kind, IDNumber: id, Detail: ledger.AccessDetail{Role: u.Role, Purpose: why, Ref: refs[i]}}
	}
	return ledger.RecordAccess(ctx, s.db, u.Actor(), reads)
}

// Accesses returns who read whose record, for an administrator (`cccd audit access`).
func (s *Service) Accesses(ctx context.Context, u User, f ledger.AccessFilter) ([]ledger.AccessRecord, error) {
	if err := require(u, RoleAdmin); err != nil {
		return nil, err
	}
	if f.IDNumber != "" {
		if _, err := idnum.Parse(f.IDNumber); err != nil {
			return nil, err
		}
	}
	return ledger.Accesses(ctx, s.db, f)
}

// ChainReads chains the recorded reads onto the audit log in the background
// (ledger.ChainPending), every interval until ctx ends: `cccd serve` runs it, so a read
// waits in access_pending for about that long. Every reader of access records chains
// what is pending first anyway.
func (s *Service) ChainReads(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := ledger.ChainPending(ctx, s.db)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			log.Error("intake: chaining access records; retrying", "err", err)
			failing = true
		case err == nil && failing:
			log.Info("intake: chaining access records again")
			failing = false
		}
	}
}
