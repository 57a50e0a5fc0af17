package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// sessionCookie carries the session id. Only its SHA-256 is stored in console_sessions.
const sessionCookie = "cccd_session"

var errNoSession = errors.New("console: no valid session")

// session is a logged-in browser.
type session struct {
	idHash []byte
	user   string
	csrf   string
}

// sessions stores sessions in PostgreSQL (table console_sessions, migration 0600).
type sessions struct {
	db       *pgxpool.Pool
	idle     time.Duration
	lifetime time.Duration
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashID(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// create starts a session for user and returns its id (the cookie value). Each login
// gets a fresh id, so an id planted in a browser before login (session fixation) is
// never the one that gets logged in.
func (s *sessions) create(ctx context.Context, user string) (string, *session, error) {
	id := randomToken()
	se := &session{idHash: hashID(id), user: user, csrf: randomToken()}
	// Ended sessions are removed as new ones start, so the table holds live ones only.
	if _, err := s.db.Exec(ctx, `DELETE FROM console_sessions WHERE expires_at < now()
		OR last_seen < now() - make_interval(secs => $1)`, s.idle.Seconds()); err != nil {
		return "", nil, fmt.Errorf("console: session: %w", err)
	}
	if _, err := s.db.Exec(ctx, `INSERT INTO console_sessions (id_hash, user_name, csrf, expires_at)
		VALUES ($1, $2, $3, now() + make_interval(secs => $4))`, se.idHash, user, se.csrf, s.lifetime.Seconds()); err != nil {
		return "", nil, fmt.Errorf("console: session: %w", err)
	}
	return id, se, nil
}

// lookup returns the live session of id and marks it used now. A session past its
// absolute expiry or idle for longer than the idle timeout is deleted and not returned.
func (s *sessions) lookup(ctx context.Context, id string) (*session, error) {
	if id == "" || len(id) > 100 {
		return nil, errNoSession
	}
	se := &session{idHash: hashID(id)}
	var live bool
	err := s.db.QueryRow(ctx, `SELECT user_name, csrf,
		expires_at > now() AND last_seen > now() - make_interval(secs => $2) FROM console_sessions WHERE id_hash = $1`,
		se.idHash, s.idle.Seconds()).Scan(&se.user, &se.csrf, &live)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("console: session: %w", err)
	}
	if !live {
		s.end(ctx, se.idHash)
		return nil, errNoSession
	}
	// last_seen moves at most every 10 s: a page and its assets cost one write, not five.
	if _, err := s.db.Exec(ctx, `UPDATE console_sessions SET last_seen = now()
		WHERE id_hash = $1 AND last_seen < now() - interval '10 seconds'`, se.idHash); err != nil {
		return nil, fmt.Errorf("console: session: %w", err)
	}
	return se, nil
}

// end deletes one session.
func (s *sessions) end(ctx context.Context, idHash []byte) error {
	_, err := s.db.Exec(ctx, "DELETE FROM console_sessions WHERE id_hash = $1", idHash)
	return err
}

// endUser deletes every session of user (disabled, revoked or a new password).
func (s *sessions) endUser(ctx context.Context, user string) error {
	_, err := s.db.Exec(ctx, "DELETE FROM console_sessions WHERE user_name = $1", user)
	return err
}

// checkCSRF reports whether the request carries the session's CSRF token, in the form
// field "csrf" or the header X-CSRF-Token (for fetch from the console's own scripts).
func checkCSRF(r *http.Request, se *session) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(se.csrf)) == 1
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/console/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.cfg.SecureCookies || r.TLS != nil})
}
