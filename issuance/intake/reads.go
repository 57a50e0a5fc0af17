package intake

import (
	"context"
	"errors"
	"fmt"
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
	return l
}

// Validate checks the limits.
func (l Limits) Validate() error {
	switch {
	case l.LookupsPerMinute < 0, l.LookupsPerDay < 0, l.AuthFailures < 0, l.AuthWindow < 0:
		return errors.New("intake: limits: must not be negative (0 takes the default)")
	case l.LookupsPerMinute > 0 && l.LookupsPerDay > 0 && l.LookupsPerDay < l.LookupsPerMinute:
		return fmt.Errorf("intake: limits: %d look-ups per day is below %d per minute", l.LookupsPerDay, l.LookupsPerMinute)
	}
	return nil
}

// Lookup returns the register's record for an ID number, to pre-fill an application,
// for the user in ctx (WithUser), who must be a clerk (or a supervisor checking an
// application). Look-ups are limited per user per minute and per day (Limits); every
// attempt counts, refused ones too. Every look-up is recorded, a refused one as refused. The count, the read and
// the record are one statement: one round trip, like the look-up alone.
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
	lim := s.Limits.withDefaults()
	now := s.Now()
	minute := now.Truncate(time.Minute)
	local := now.In(vietnam)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, vietnam)
	detail := func(outcome string) string {
		return ledger.AccessDetail{Role: u.Role, Purpose: why, Outcome: outcome}.String()
	}
	var over string
	var found bool
	var p issuance.Person
	var dob *time.Time
	var sex string
	err = s.db.QueryRow(ctx, `WITH c AS (
			INSERT INTO access_counts AS c (name, minute, per_minute, day, per_day) VALUES ($1, $2, 1, $3, 1)
			ON CONFLICT (name) DO UPDATE SET
				per_minute = CASE WHEN c.minute = excluded.minute THEN c.per_minute + 1 ELSE 1 END, minute = excluded.minute,
				per_day = CASE WHEN c.day = excluded.day THEN c.per_day + 1 ELSE 1 END, day = excluded.day
			RETURNING per_minute, per_day),
		v AS (SELECT CASE WHEN per_minute > $4 THEN 'minute' WHEN per_day > $5 THEN 'day' ELSE '' END AS over FROM c),
		r AS (SELECT residents.* FROM residents, v WHERE id_number = $6 AND v.over = ''),
		a AS (SELECT audit_append((pg_backend_pid() % $7)::smallint, $1, $8,
				CASE WHEN v.over = '' THEN 'access.register' ELSE 'access.refused' END, 'person/' || $6,
				CASE v.over WHEN 'minute' THEN $9 WHEN 'day' THEN $10
					ELSE CASE WHEN EXISTS (SELECT 1 FROM r) THEN $11 ELSE $12 END END) FROM v)
		SELECT v.over, (SELECT count(*) FROM a), r.id_number IS NOT NULL, coalesce(r.full_name, ''), r.date_of_birth,
			coalesce(r.sex, ''), coalesce(r.nationality, ''), coalesce(r.ethnicity, ''), coalesce(r.religion, ''),
			coalesce(r.place_of_origin, ''), coalesce(r.place_of_residence, ''), coalesce(r.identifying_features, ''),
			coalesce(r.father, ''), coalesce(r.mother, ''), coalesce(r.spouse, ''), coalesce(r.previous_id_number, '')
		FROM v LEFT JOIN r ON true`,
		u.Name, minute, day, lim.LookupsPerMinute, lim.LookupsPerDay, id, ledger.Chains, u.Office,
		detail(fmt.Sprintf("refused: over %d look-ups per minute", lim.LookupsPerMinute)),
		detail(fmt.Sprintf("refused: over %d look-ups per day", lim.LookupsPerDay)),
		detail(""), detail("not in register")).
		Scan(&over, new(int64), &found, &p.FullName, &dob, &sex, &p.Nationality, &p.Ethnicity, &p.Religion,
			&p.PlaceOfOrigin, &p.PlaceOfResidence, &p.IdentifyingFeatures, &p.Father, &p.Mother, &p.Spouse, &p.PreviousIDNumber)
	if err != nil {
		return issuance.Person{}, fmt.Errorf("intake: register lookup: %w", err)
	}
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
	case !found:
		return issuance.Person{}, fmt.Errorf("%w: %s", ErrNotInRegister, id)
	}
	p.IDNumber = id
	p.DateOfBirth = issuance.DateOf(*dob)
	p.Sex = issuance.Sex(sex)
	return p, nil
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
