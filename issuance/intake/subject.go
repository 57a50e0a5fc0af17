package intake

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
)

// CardCheck is a card's registry status as a counter gets it: valid or not and why,
// never the holder's record (Decree 13/2023 art. 3: no more data than the purpose needs).
type CardCheck struct {
	Serial    string    `json:"serial"`
	Known     bool      `json:"known"`                // the registry has a card with this serial
	Valid     bool      `json:"valid"`                // known, handed over, not revoked or reported
	Revoked   bool      `json:"revoked"`              // revoked, reported lost, stolen or damaged, or destroyed at production
	NotIssued bool      `json:"not_issued,omitempty"` // made but not handed over yet (printed, in transit, at the office)
	AtOffice  bool      `json:"at_office,omitempty"`  // not issued, waiting at the receiving office for its hand-over
	Reason    string    `json:"reason,omitempty"`     // why it is not valid
	Since     time.Time `json:"since,omitzero"`       // when that state began
	// HolderMatches tells whether the card was made for the ID number the chip carries
	// (the caller's), without disclosing the registry's.
	HolderMatches bool `json:"holder_matches"`
}

// CardStatus tells a verifier (or office staff handing a card over) whether the card
// with serial is valid, and whether it was made for idNumber (read from its chip).
// The check is a recorded read of the holder's record (purpose verification or
// hand-over); it returns no personal field.
func (s *Service) CardStatus(ctx context.Context, u User, serial, idNumber string) (CardCheck, error) {
	if err := require(u, RoleVerifier, RoleClerk, RoleSupervisor, RoleAdmin); err != nil {
		return CardCheck{}, err
	}
	allowed := []string{PurposeVerification, PurposeHandover}
	if u.Role == RoleAdmin {
		allowed = append(allowed, PurposeAdministration)
	}
	if _, ok := ctx.Value(purposeKey{}).(string); !ok && u.Role != RoleVerifier && u.Role != RoleAdmin {
		ctx = WithPurpose(ctx, PurposeHandover)
	}
	why, err := purpose(ctx, u, allowed...)
	if err != nil {
		return CardCheck{}, err
	}
	if serial == "" || len(serial) > 64 {
		return CardCheck{}, issuance.FieldError{Field: "serial", Rule: "1-64 characters"}
	}
	out := CardCheck{Serial: serial}
	var state, reason, report string
	var reported *time.Time
	err = s.db.QueryRow(ctx, `WITH c AS (
			SELECT c.state, c.reason, a.id_number, c.updated_at, COALESCE(r.kind, '') AS report, r.at AS reported
			FROM cards c JOIN applications a ON a.id = c.application_id
			LEFT JOIN LATERAL (SELECT r.kind, r.at FROM card_reports r WHERE r.serial = c.serial
				ORDER BY r.at DESC, r.id DESC LIMIT 1) r ON true
			WHERE c.serial = $1),
		au AS (INSERT INTO access_pending (actor, office, action, subject, detail)
			SELECT $3, $4, 'access.card', 'person/' || c.id_number, $5 FROM c WHERE $6 RETURNING 1)
		SELECT c.state, c.reason, c.updated_at, c.report, c.reported, c.id_number = $2, (SELECT count(*) FROM au) FROM c`,
		serial, idNumber, u.Name, u.Office,
		ledger.AccessDetail{Role: u.Role, Purpose: why, Ref: serial}.String(), !s.noAccessLog).
		Scan(&state, &reason, &out.Since, &report, &reported, &out.HolderMatches, new(int64))
	if errors.Is(err, pgx.ErrNoRows) {
		out.Reason = "unknown card"
		return out, nil
	}
	if err != nil {
		return CardCheck{}, fmt.Errorf("intake: card status: %w", err)
	}
	out.Known = true
	switch cs := lifecycle.CardState(state); {
	case report != "" && reported != nil:
		out.Revoked, out.Reason, out.Since = true, report, *reported
	case cs == lifecycle.Revoked:
		out.Revoked, out.Reason = true, reason
	case cs == lifecycle.Spoiled, cs == lifecycle.QCFailed, cs == lifecycle.CardReturned:
		out.Revoked, out.Reason = true, "card is "+state+", destroyed, never issued"
	case cs != lifecycle.Issued:
		out.NotIssued, out.Reason, out.AtOffice = true, "card is "+state, cs == lifecycle.InStock
	default:
		out.Valid = true
	}
	return out, nil
}

// SubjectAccess is one read of an applicant's record, as the applicant sees it.
type SubjectAccess struct {
	At      time.Time `json:"at"`
	User    string    `json:"user"`
	Role    string    `json:"role"`
	Office  string    `json:"office"`
	Kind    string    `json:"kind"`
	Purpose string    `json:"purpose"`
	Outcome string    `json:"outcome,omitempty"`
}

// ErrProof means the receipt and date of birth given do not match an application.
var ErrProof = errors.New("intake: receipt and date of birth do not match an application")

// AccessesForApplicant returns who read the record of the applicant of receipt, and why
// (Decree 13/2023 art. 9: the data subject's right to know), once the applicant proves
// the receipt with their date of birth. A failed proof counts against the source like
// a failed authentication (WithSource), so dates of birth cannot be tried at will.
func (s *Service) AccessesForApplicant(ctx context.Context, receipt string, dob issuance.Date) ([]SubjectAccess, error) {
	lim := s.Limits.withDefaults()
	now := s.Now()
	src := sourceFrom(ctx)
	if err := s.authBlocked(ctx, src, now, lim); err != nil {
		return nil, err
	}
	var id, born string
	err := s.db.QueryRow(ctx, "SELECT id_number, person->>'date_of_birth' FROM applications WHERE receipt = $1", receipt).
		Scan(&id, &born)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("intake: accesses: %w", err)
	}
	if err != nil || subtle.ConstantTimeCompare([]byte(born), []byte(dob.String())) != 1 {
		if err := s.authFailed(ctx, src, now, lim); err != nil {
			return nil, err
		}
		return nil, ErrProof
	}
	recs, err := ledger.Accesses(ctx, s.db, ledger.AccessFilter{IDNumber: id, Limit: 100000})
	if err != nil {
		return nil, err
	}
	out := make([]SubjectAccess, len(recs))
	for i, r := range recs {
		out[i] = SubjectAccess{At: r.At, User: r.User, Role: r.Role, Office: r.Office, Kind: r.Kind, Purpose: r.Purpose, Outcome: r.Outcome}
	}
	return out, nil
}

// authBlocked refuses a source past the failed-authentication limit.
func (s *Service) authBlocked(ctx context.Context, src string, now time.Time, lim Limits) error {
	var n int
	var since time.Time
	err := s.db.QueryRow(ctx, "SELECT n, since FROM auth_failures WHERE source = $1", src).Scan(&n, &since)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("intake: authenticate: %w", err)
	}
	return limitRefusal(n, since, src, now, lim)
}

// limitRefusal is the refusal of a source with n failures since `since`, or nil.
func limitRefusal(n int, since time.Time, src string, now time.Time, lim Limits) error {
	if n < lim.AuthFailures || !now.Before(since.Add(lim.AuthWindow)) {
		return nil
	}
	until := since.Add(lim.AuthWindow)
	return &LimitError{Kind: ErrAuthLimit, RetryAfter: until.Sub(now),
		Rule: fmt.Sprintf("at most %d failed attempts per %s", lim.AuthFailures, lim.AuthWindow),
		Msg:  fmt.Sprintf("%d failed attempts from %s; refused until %s", n, src, until.UTC().Format(time.RFC3339))}
}
