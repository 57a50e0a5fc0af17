package intake_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/intake"
)

// TestTokenRevokedExpiredRotated: a revoked user's token and an expired token are
// refused (401 over HTTP, with why); a rotated token replaces the old one at once.
func TestTokenRevokedExpiredRotated(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	clk := &clock{time.Now()}
	f.svc.Now = clk.now
	srv := httptest.NewServer(f.svc.Handler(nil))
	defer srv.Close()

	if _, err := f.svc.Authenticate(ctx, f.tokens["lan.clerk"]); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Revoke(ctx, "lan.clerk", ""); !errors.Is(err, intake.ErrReasonRequired) {
		t.Fatalf("revoke without a reason: %v", err)
	}
	// The reason follows the free-text note rules: nothing that hides or reorders text.
	var ve issuance.ValidationError
	if err := f.svc.Revoke(ctx, "lan.clerk", "lost\u202e kcits BSU"); !errors.As(err, &ve) || ve[0].Field != "reason" {
		t.Fatalf("revoke with a bidi override in the reason: %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, f.tokens["lan.clerk"]); err != nil {
		t.Fatalf("a refused revocation changed the user: %v", err)
	}
	if err := f.svc.Revoke(ctx, "lan.clerk", "token copied to a USB stick"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, f.tokens["lan.clerk"]); !errors.Is(err, intake.ErrTokenRevoked) || !errors.Is(err, intake.ErrUnauthenticated) {
		t.Fatalf("revoked token: %v", err)
	}
	if code, body := do(t, srv, "GET", "/api/v1/applications", f.tokens["lan.clerk"], nil); code != http.StatusUnauthorized || !strings.Contains(string(body), "revoked") {
		t.Fatalf("revoked token over HTTP: %d %s", code, body)
	}
	if _, err := f.svc.ActiveUser(ctx, "lan.clerk"); !errors.Is(err, intake.ErrUnauthenticated) {
		t.Fatalf("a console session of a revoked user: %v", err)
	}
	if _, _, err := f.svc.Rotate(ctx, "lan.clerk"); !errors.Is(err, intake.ErrTokenRevoked) {
		t.Fatalf("rotating a revoked user: %v", err)
	}
	if err := f.svc.Revoke(ctx, "nobody.here", "x"); !errors.Is(err, intake.ErrNoUser) {
		t.Fatalf("revoking an unknown user: %v", err)
	}

	// Expiry: tokens live DefaultTokenLifetime.
	clk.t = clk.t.Add(intake.DefaultTokenLifetime + time.Minute)
	if _, err := f.svc.Authenticate(ctx, f.tokens["hoa.sup"]); !errors.Is(err, intake.ErrTokenExpired) || !strings.Contains(err.Error(), "cccd user rotate hoa.sup") {
		t.Fatalf("expired token: %v", err)
	}
	if code, body := do(t, srv, "GET", "/api/v1/applications", f.tokens["hoa.sup"], nil); code != http.StatusUnauthorized || !strings.Contains(string(body), "expired") {
		t.Fatalf("expired token over HTTP: %d %s", code, body)
	}

	// Rotation: a new token, valid for a new lifetime; the old one is refused.
	tok, exp, err := f.svc.Rotate(ctx, "hoa.sup")
	if err != nil || !exp.Equal(clk.t.Add(intake.DefaultTokenLifetime)) {
		t.Fatalf("rotate: %v, expires %v", err, exp)
	}
	if u, err := f.svc.Authenticate(ctx, tok); err != nil || u != f.sup {
		t.Fatalf("rotated token: %+v %v", u, err)
	}
	if _, err := f.svc.Authenticate(ctx, f.tokens["hoa.sup"]); !errors.Is(err, intake.ErrUnauthenticated) {
		t.Fatalf("the token before rotation: %v", err)
	}
	var actions []string
	rows, _ := f.pool.Query(ctx, "SELECT action FROM audit_log WHERE subject IN ('user/lan.clerk', 'user/hoa.sup') AND action <> 'user.add' ORDER BY at")
	for rows.Next() {
		var a string
		rows.Scan(&a)
		actions = append(actions, a)
	}
	if strings.Join(actions, " ") != "user.revoke user.rotate" {
		t.Fatalf("audited user changes: %v", actions)
	}
	auditIntact(t, f)
}

// TestFailedAuthenticationLimit: past the limit of failed authentications a source is
// refused with 429, even with a good token, until the window ends; other sources are not.
func TestFailedAuthenticationLimit(t *testing.T) {
	f := setup(t)
	clk := &clock{time.Now()}
	f.svc.Now = clk.now
	f.svc.Limits = intake.Limits{AuthFailures: 4, AuthWindow: 10 * time.Minute}
	srv := httptest.NewServer(f.svc.Handler(nil))
	defer srv.Close()
	for i := 0; i < 4; i++ {
		if code, body := do(t, srv, "GET", "/api/v1/applications", "cccd_guess"+strings.Repeat("x", i), nil); code != http.StatusUnauthorized {
			t.Fatalf("bad token %d: %d %s", i, code, body)
		}
	}
	code, body := do(t, srv, "GET", "/api/v1/applications", f.tokens["lan.clerk"], nil)
	if code != http.StatusTooManyRequests || !strings.Contains(string(body), "4 failed attempts from 127.0.0.1") {
		t.Fatalf("good token from a locked source: %d %s", code, body)
	}
	other := intake.WithSource(context.Background(), "192.0.2.1")
	if _, err := f.svc.Authenticate(other, f.tokens["lan.clerk"]); err != nil {
		t.Fatalf("another source: %v", err)
	}
	var locked int
	f.pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_log WHERE action = 'auth.locked' AND subject = 'source/127.0.0.1'").Scan(&locked)
	if locked != 1 {
		t.Fatalf("lock-outs audited: %d, want 1", locked)
	}
	clk.t = clk.t.Add(10*time.Minute + time.Second)
	if code, body := do(t, srv, "GET", "/api/v1/applications", f.tokens["lan.clerk"], nil); code != http.StatusOK {
		t.Fatalf("after the window: %d %s", code, body)
	}
}
