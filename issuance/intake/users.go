// Package intake takes applications for chip identity cards: clerks submit them
// pre-filled from the population register, a different supervisor approves or rejects
// them (dual control), and applicants follow them by receipt number. It serves the same
// operations over an HTTP JSON API and to the command line.
package intake

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/ledger"
)

// Roles of users.
const (
	RoleClerk      = "clerk"
	RoleSupervisor = "supervisor"
	RoleOperator   = "operator"
	RoleVerifier   = "verifier"
	RoleAdmin      = "admin"
)

var roles = map[string]bool{RoleClerk: true, RoleSupervisor: true, RoleOperator: true, RoleVerifier: true, RoleAdmin: true}

// User is an authenticated user.
type User struct {
	Name   string `json:"name"`
	Role   string `json:"role"`
	Office string `json:"office"`
}

// Actor returns the ledger actor for u.
func (u User) Actor() ledger.Actor { return ledger.Actor{Name: u.Name, Role: u.Role, Office: u.Office} }

// Errors callers branch on.
var (
	ErrUnauthenticated = errors.New("intake: missing or unknown token")
	ErrTokenRevoked    = fmt.Errorf("%w: the token's user was revoked", ErrUnauthenticated)
	ErrTokenExpired    = fmt.Errorf("%w: the token expired", ErrUnauthenticated)
	ErrAuthLimit       = errors.New("intake: too many failed authentications from this source")
	ErrNoUser          = errors.New("intake: no such user")
	ErrForbidden       = errors.New("intake: not allowed for this role")
	ErrUserExists      = errors.New("intake: user already exists")
)

var userName = regexp.MustCompile(`^[a-z0-9._-]{2,64}$`)

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// vietnam is the time zone of intake dates (UTC+7, no daylight saving).
var vietnam = time.FixedZone("ICT", 7*60*60)

// Service is the intake service on a PostgreSQL pool.
type Service struct {
	db *pgxpool.Pool
	// Today returns the date of intake (the validation reference); tests fix it.
	Today func() issuance.Date
	// Now is the clock of look-up limits and token expiry; tests move it.
	Now func() time.Time
	// Limits bounds register look-ups and failed authentications (zero: defaults).
	Limits Limits
	// TokenLifetime is how long a new or rotated token is valid (zero: DefaultTokenLifetime).
	TokenLifetime time.Duration
	// noAccessLog turns access records and look-up limits off: only the benchmark does,
	// to measure what they cost.
	noAccessLog bool
	// groups writes look-ups with access records on in groups (lookups.go).
	groups lookupGroups
}

// New returns the service on db.
func New(db *pgxpool.Pool) *Service {
	return &Service{db: db, Today: func() issuance.Date { return issuance.Today(vietnam) }, Now: time.Now}
}

func require(u User, allowed ...string) error {
	for _, r := range allowed {
		if u.Role == r {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is %s, needs %v", ErrForbidden, u.Name, u.Role, allowed)
}

// ActiveUser returns the user called name if it may still act: it exists and is not
// disabled. The web console checks it on every request, so a disabled user's sessions
// stop at once.
func (s *Service) ActiveUser(ctx context.Context, name string) (User, error) {
	var u User
	err := s.db.QueryRow(ctx, "SELECT name, role, office FROM users WHERE name = $1 AND NOT disabled",
		name).Scan(&u.Name, &u.Role, &u.Office)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrUnauthenticated
	}
	if err != nil {
		return User{}, fmt.Errorf("intake: user: %w", err)
	}
	return u, nil
}
