// Package intake takes applications for chip identity cards: clerks submit them
// pre-filled from the population register, a different supervisor approves or rejects
// them (dual control), and applicants follow them by receipt number. It serves the same
// operations over an HTTP JSON API and to the command line.
package intake

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
}

// New returns the service on db.
func New(db *pgxpool.Pool) *Service {
	return &Service{db: db, Today: func() issuance.Date { return issuance.Today(vietnam) }}
}

// AddUser creates a user and returns its bearer token. The token is shown only here;
// only its SHA-256 is stored.
func (s *Service) AddUser(ctx context.Context, u User) (token string, err error) {
	switch {
	case !userName.MatchString(u.Name):
		return "", fmt.Errorf("intake: user name %q: 2-64 of a-z 0-9 . _ -", u.Name)
	case !roles[u.Role]:
		return "", fmt.Errorf("intake: role %q: one of clerk, supervisor, operator, verifier, admin", u.Role)
	case !issuance.ValidOfficeCode(u.Office):
		return "", fmt.Errorf("intake: office %q: a province code, '-', 2-6 of A-Z 0-9 (e.g. 001-HK01)", u.Office)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token = "cccd_" + base64.RawURLEncoding.EncodeToString(b)
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO users (name, role, office, token_hash) VALUES ($1, $2, $3, $4)",
			u.Name, u.Role, u.Office, hashToken(token)); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" {
				return fmt.Errorf("%w: %s", ErrUserExists, u.Name)
			}
			return err
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: ledger.System("admin"), Action: "user.add",
			Subject: "user/" + u.Name, Detail: u.Role + " at " + u.Office})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// Authenticate returns the user a token belongs to.
func (s *Service) Authenticate(ctx context.Context, token string) (User, error) {
	if token == "" {
		return User{}, ErrUnauthenticated
	}
	var u User
	err := s.db.QueryRow(ctx, "SELECT name, role, office FROM users WHERE token_hash = $1 AND NOT disabled",
		hashToken(token)).Scan(&u.Name, &u.Role, &u.Office)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrUnauthenticated
	}
	if err != nil {
		return User{}, fmt.Errorf("intake: authenticate: %w", err)
	}
	return u, nil
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
