package intake

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/ledger"
)

// DefaultTokenLifetime is how long a token is valid when Service.TokenLifetime is zero.
const DefaultTokenLifetime = 90 * 24 * time.Hour

func (s *Service) tokenLifetime() time.Duration {
	if s.TokenLifetime > 0 {
		return s.TokenLifetime
	}
	return DefaultTokenLifetime
}

// newToken returns a random bearer token (256 bits).
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "cccd_" + base64.RawURLEncoding.EncodeToString(b), nil
}

// AddUser creates a user and returns its bearer token, valid for TokenLifetime. The
// token is shown only here; only its SHA-256 is stored.
func (s *Service) AddUser(ctx context.Context, u User) (token string, err error) {
	switch {
	case !userName.MatchString(u.Name):
		return "", fmt.Errorf("intake: user name %q: 2-64 of a-z 0-9 . _ -", u.Name)
	case !roles[u.Role]:
		return "", fmt.Errorf("intake: role %q: one of clerk, supervisor, operator, verifier, admin", u.Role)
	case !issuance.ValidOfficeCode(u.Office):
		return "", fmt.Errorf("intake: office %q: a province code, '-', 2-6 of A-Z 0-9 (e.g. 001-HK01)", u.Office)
	}
	if token, err = newToken(); err != nil {
		return "", err
	}
	expires := s.Now().Add(s.tokenLifetime())
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO users (name, role, office, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)",
			u.Name, u.Role, u.Office, hashToken(token), expires); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" {
				return fmt.Errorf("%w: %s", ErrUserExists, u.Name)
			}
			return err
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: ledger.System("admin"), Action: "user.add",
			Subject: "user/" + u.Name, Detail: u.Role + " at " + u.Office + ", token expires " + expires.UTC().Format(time.RFC3339)})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// Authenticate returns the user a token belongs to. A revoked user's token
// (ErrTokenRevoked), an expired token (ErrTokenExpired) and an unknown one
// (ErrUnauthenticated) are refused, and each refusal counts against the request's
// source (WithSource): past Limits.AuthFailures in Limits.AuthWindow the source is
// refused with ErrAuthLimit, valid token or not, until the window ends. A valid token
// costs one query, as before.
func (s *Service) Authenticate(ctx context.Context, token string) (User, error) {
	if token == "" {
		return User{}, ErrUnauthenticated
	}
	lim := s.Limits.withDefaults()
	now := s.Now()
	src := sourceFrom(ctx)
	var name, role, office *string
	var disabled *bool
	var expires, revoked, since *time.Time
	var fails int
	err := s.db.QueryRow(ctx, `SELECT u.name, u.role, u.office, u.disabled, u.expires_at, u.revoked_at, coalesce(f.n, 0), f.since
		FROM (SELECT 1) x LEFT JOIN users u ON u.token_hash = $1 LEFT JOIN auth_failures f ON f.source = $2`,
		hashToken(token), src).Scan(&name, &role, &office, &disabled, &expires, &revoked, &fails, &since)
	if err != nil {
		return User{}, fmt.Errorf("intake: authenticate: %w", err)
	}
	if since != nil {
		if err := limitRefusal(fails, *since, src, now, lim); err != nil {
			return User{}, err
		}
	}
	var refused error
	switch {
	case name == nil:
		refused = ErrUnauthenticated
	case *disabled:
		refused = fmt.Errorf("%w: %s", ErrTokenRevoked, *name)
		if revoked != nil {
			refused = fmt.Errorf("%w: %s, on %s", ErrTokenRevoked, *name, revoked.UTC().Format(time.RFC3339))
		}
	case expires != nil && !now.Before(*expires):
		refused = fmt.Errorf("%w on %s: ask an administrator for a new one (cccd user rotate %s)",
			ErrTokenExpired, expires.UTC().Format(time.RFC3339), *name)
	default:
		return User{Name: *name, Role: *role, Office: *office}, nil
	}
	if err := s.authFailed(ctx, src, now, lim); err != nil {
		return User{}, err
	}
	return User{}, refused
}

// authFailed counts a failed authentication from src; the one that reaches the limit
// is audited (the source is locked out from then on).
func (s *Service) authFailed(ctx context.Context, src string, now time.Time, lim Limits) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var n int
		err := tx.QueryRow(ctx, `INSERT INTO auth_failures AS f (source, since, n) VALUES ($1, $2, 1)
			ON CONFLICT (source) DO UPDATE SET n = CASE WHEN f.since > $3 THEN f.n + 1 ELSE 1 END,
				since = CASE WHEN f.since > $3 THEN f.since ELSE $2 END
			RETURNING n`, src, now, now.Add(-lim.AuthWindow)).Scan(&n)
		if err != nil {
			return fmt.Errorf("intake: authenticate: %w", err)
		}
		if n != lim.AuthFailures {
			return nil
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: ledger.System("auth"), Action: "auth.locked",
			Subject: "source/" + src, Detail: fmt.Sprintf("%d failed authentications within %s", n, lim.AuthWindow)})
	})
}

// Revoke disables a user at once: their token is refused from the next request on.
// The reason (1-500 characters) is audited.
func (s *Service) Revoke(ctx context.Context, name, reason string) error {
	reason = issuance.NormalizeText(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 500 {
		return ErrReasonRequired
	}
	if err := issuance.CheckNote("reason", reason, 500); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET disabled = true, revoked_at = $2, revoke_reason = $3
			WHERE name = $1 AND NOT disabled`, name, s.Now(), reason)
		if err != nil {
			return fmt.Errorf("intake: revoke: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return s.whyNot(ctx, tx, name)
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: ledger.System("admin"), Action: "user.revoke",
			Subject: "user/" + name, Detail: reason})
	})
}

// Rotate replaces a user's token: the old one is refused from now on, the new one (the
// result, shown only here) is valid for TokenLifetime. A revoked user is not rotated.
func (s *Service) Rotate(ctx context.Context, name string) (token string, expires time.Time, err error) {
	if token, err = newToken(); err != nil {
		return "", time.Time{}, err
	}
	now := s.Now()
	expires = now.Add(s.tokenLifetime())
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET token_hash = $2, rotated_at = $3, expires_at = $4
			WHERE name = $1 AND NOT disabled`, name, hashToken(token), now, expires)
		if err != nil {
			return fmt.Errorf("intake: rotate: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return s.whyNot(ctx, tx, name)
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: ledger.System("admin"), Action: "user.rotate",
			Subject: "user/" + name, Detail: "token expires " + expires.UTC().Format(time.RFC3339)})
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return token, expires, nil
}

// whyNot explains why an update of an active user changed nothing.
func (s *Service) whyNot(ctx context.Context, tx pgx.Tx, name string) error {
	var disabled bool
	err := tx.QueryRow(ctx, "SELECT disabled FROM users WHERE name = $1", name).Scan(&disabled)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%w: %s", ErrNoUser, name)
	case err != nil:
		return fmt.Errorf("intake: user %s: %w", name, err)
	}
	return fmt.Errorf("%w: %s was revoked; add a new user instead", ErrTokenRevoked, name)
}

// UserInfo is a user as an administrator sees it (never the token).
type UserInfo struct {
	User
	Disabled bool       `json:"disabled"` // revoked
	Reason   string     `json:"revoke_reason,omitempty"`
	Expires  *time.Time `json:"expires_at,omitempty"`
	Rotated  *time.Time `json:"rotated_at,omitempty"`
	Created  time.Time  `json:"created_at"`
}

// Users lists every user by name: administrators only.
func (s *Service) Users(ctx context.Context, u User) ([]UserInfo, error) {
	if err := require(u, RoleAdmin); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT name, role, office, disabled, revoke_reason, expires_at, rotated_at, created_at
		FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("intake: users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (UserInfo, error) {
		var ui UserInfo
		err := r.Scan(&ui.Name, &ui.Role, &ui.Office, &ui.Disabled, &ui.Reason, &ui.Expires, &ui.Rotated, &ui.Created)
		return ui, err
	})
	if err != nil {
		return nil, fmt.Errorf("intake: users: %w", err)
	}
	return out, nil
}
