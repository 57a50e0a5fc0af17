package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/hsm/authority"
	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/hsm/softkey"
)

// withPKI gives the console a CSCA made by two admins, one Document Signer and a CRL,
// and returns the authority and its key store (the production line signs with them).
func withPKI(t testing.TB, e *testEnv) (*authority.Authority, *softkey.Store) {
	t.Helper()
	ctx := context.Background()
	ks, err := softkey.Open(t.TempDir(), "kho khoá thử", softkey.KDF{Time: 1, MemoryKiB: 8 * 1024, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, err := authority.New(e.db, ks, authority.Config{
		Authority: pki.Authority{Country: "VN", Organization: "Bo Cong an", CRLURL: "http://pki.example.vn/csca.crl"}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.Request(ctx, "chi.admin", authority.ActionCreateCSCA, authority.Params{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Confirm(ctx, id, "dung.admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.IssueDocumentSigner(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PublishCRLs(ctx, true); err != nil {
		t.Fatal(err)
	}
	e.con.cfg.PKI = a
	return a, ks
}

func TestAdminPages(t *testing.T) {
	p := testResident(t, 41, false)
	e := newEnv(t, Config{}, p)
	withPKI(t, e)
	submitted(t, e, p)
	cl := e.login("chi.admin")
	code, body := cl.get("/console/admin/users")
	if code != 200 || !strings.Contains(body, "lan.clerk") || !strings.Contains(body, "binh.verifier") {
		t.Fatalf("users: %d", code)
	}
	code, body = cl.get("/console/admin/audit?verify=1")
	if code != 200 || !strings.Contains(body, "Nhật ký nguyên vẹn") || !strings.Contains(body, "application.submitted") {
		t.Fatalf("audit: %d\n%s", code, body)
	}
	code, body = cl.get("/console/admin/audit?action=user.passwd&subject=user/lan.clerk")
	if code != 200 || strings.Count(body, `<td class="mono">user/lan.clerk</td>`) != 1 || strings.Contains(body, `<td class="mono">application.submitted</td>`) {
		t.Fatalf("audit filter: %d\n%s", code, body)
	}
	if code, body = cl.get("/console/admin/audit?page=x"); code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="page-err"`) {
		t.Fatalf("bad cursor: %d", code)
	}
	// Tampering shows as such.
	if _, err := e.db.Exec(context.Background(), "DROP RULE audit_log_no_update ON audit_log"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(context.Background(), "UPDATE audit_log SET detail = detail || ' (sửa)' WHERE action = 'application.submitted'"); err != nil {
		t.Fatal(err)
	}
	if _, body = cl.get("/console/admin/audit?verify=1"); !strings.Contains(body, "NHẬT KÝ BỊ SỬA") {
		t.Fatal("edited audit log not reported")
	}
	code, body = cl.get("/console/admin/pki")
	for _, want := range []string{`id="cscas"`, "active", "0 / 100000", "Lần phát hành kế tiếp"} {
		if !strings.Contains(body, want) {
			t.Errorf("pki page (%d) lacks %q", code, want)
		}
	}
	if strings.Contains(body, "Chưa phát hành CRL") || strings.Contains(body, "Chưa có CSCA") {
		t.Error("pki page says there is no CSCA or CRL")
	}
}

// TestRefused checks that the console refuses what it must: a POST without the CSRF
// token, a session cookie used by someone else's browser after logout or swapped into
// another session, an expired session (idle and absolute), a disabled user, a clerk of
// another office and a verifier opening an admin page.
func TestRefused(t *testing.T) {
	p := testResident(t, 51, true)
	e := newEnv(t, Config{}, p)
	ctx := context.Background()
	rs := submitted(t, e, p)

	t.Run("POST without CSRF token", func(t *testing.T) {
		sup := e.login("hoa.sup")
		sup.get("/console/supervisor")
		code, body := sup.postForm("/console/supervisor/"+rs[0], url.Values{"action": {"approve"}, "csrf": {""}})
		if code != http.StatusForbidden || !strings.Contains(body, "CSRF") || stateOf(t, e, rs[0]) != "submitted" {
			t.Fatalf("no token: %d", code)
		}
		// Another session's token is no better.
		other := e.login("hoa.sup")
		other.get("/console/supervisor")
		code, _ = sup.postForm("/console/supervisor/"+rs[0], url.Values{"action": {"approve"}, "csrf": {other.csrf}})
		if code != http.StatusForbidden || stateOf(t, e, rs[0]) != "submitted" {
			t.Fatalf("other session's token: %d", code)
		}
		// Logging in needs the login form's own token too.
		anon := e.client()
		code, _ = anon.postForm("/console/login", url.Values{"user": {"hoa.sup"}, "password": {testPassword}})
		if code != http.StatusForbidden {
			t.Fatalf("login without the form's token: %d", code)
		}
	})

	t.Run("cookie from another user", func(t *testing.T) {
		clerk := e.login("lan.clerk")
		sup := e.login("hoa.sup")
		u, _ := url.Parse(e.srv.URL + "/console/")
		var clerkCookie []*http.Cookie
		for _, c := range clerk.hc.Jar.Cookies(u) {
			clerkCookie = append(clerkCookie, &http.Cookie{Name: c.Name, Value: c.Value, Path: "/console/"})
		}
		// The supervisor's browser carrying the clerk's cookie is the clerk: no approvals.
		sup.hc.Jar.SetCookies(u, clerkCookie)
		if code, _ := sup.get("/console/supervisor"); code != http.StatusForbidden {
			t.Fatalf("clerk's cookie on the approval queue: %d", code)
		}
		// A session id planted before login (fixation) is not the one logged in.
		planted := e.client()
		planted.get("/console/login")
		planted.hc.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "planted-by-attacker", Path: "/console/"}})
		if code, _ := planted.tryLogin("hoa.sup", testPassword); code != http.StatusSeeOther {
			t.Fatalf("login: %d", code)
		}
		for _, c := range planted.hc.Jar.Cookies(u) {
			if c.Name == sessionCookie && c.Value == "planted-by-attacker" {
				t.Fatal("session id planted before login was kept")
			}
		}
		// After logout the old cookie is worthless, whoever replays it.
		clerk.get("/console/clerk")
		clerk.postForm("/console/logout", url.Values{})
		thief := e.client()
		thief.hc.Jar.SetCookies(u, clerkCookie)
		if code, _ := thief.get("/console/clerk"); code != http.StatusSeeOther || !strings.HasPrefix(thief.location, "/console/login") {
			t.Fatalf("replayed cookie after logout: %d %s", code, thief.location)
		}
	})

	t.Run("expired session", func(t *testing.T) {
		for _, q := range []string{
			"UPDATE console_sessions SET last_seen = now() - interval '31 minutes' WHERE user_name = $1", // idle
			"UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE user_name = $1",  // absolute
		} {
			cl := e.login("binh.verifier")
			if _, err := e.db.Exec(ctx, q, "binh.verifier"); err != nil {
				t.Fatal(err)
			}
			if code, _ := cl.get("/console/status"); code != http.StatusOK {
				t.Fatalf("public page: %d", code) // public pages stay open
			}
			if code, _ := cl.postForm("/console/logout", url.Values{}); code != http.StatusSeeOther || cl.location != "/console/login" {
				t.Fatalf("expired session: %d", code)
			}
			var n int
			e.db.QueryRow(ctx, "SELECT count(*) FROM console_sessions WHERE user_name = 'binh.verifier'").Scan(&n)
			if n != 0 {
				t.Fatalf("%d expired sessions left", n)
			}
		}
		clerk := e.login("lan.clerk")
		e.db.Exec(ctx, "UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE user_name = 'lan.clerk'")
		if code, _ := clerk.get("/console/clerk"); code != http.StatusSeeOther || !strings.HasPrefix(clerk.location, "/console/login") {
			t.Fatalf("expired clerk session: %d", code)
		}
	})

	t.Run("revoked user", func(t *testing.T) {
		cl := e.login("an.operator")
		if err := e.svc.Revoke(ctx, "an.operator", "chuyển công tác (moved to another post)"); err != nil {
			t.Fatal(err)
		}
		if code, _ := cl.get("/console/"); code != http.StatusSeeOther || cl.location != "/console/login" {
			t.Fatalf("disabled user's session: %d %s", code, cl.location)
		}
		var n int
		e.db.QueryRow(ctx, "SELECT count(*) FROM console_sessions WHERE user_name = 'an.operator'").Scan(&n)
		if n != 0 {
			t.Fatalf("disabled user keeps %d sessions", n)
		}
		if code, _ := e.client().tryLogin("an.operator", testPassword); code != http.StatusUnauthorized {
			t.Fatalf("disabled user logs in: %d", code)
		}
	})

	t.Run("clerk of another office", func(t *testing.T) {
		other := e.login("minh.clerk")
		for _, path := range []string{"/console/clerk/receipt/" + rs[0], "/console/clerk/slip/" + rs[0], "/console/applications/" + rs[0] + "/portrait"} {
			if code, _ := other.get(path); code != http.StatusNotFound {
				t.Errorf("%s from another office: %d, want 404", path, code)
			}
		}
		if _, body := other.get("/console/clerk"); strings.Contains(body, rs[0]) {
			t.Error("another office's application listed")
		}
	})

	t.Run("verifier on admin pages", func(t *testing.T) {
		v := e.login("binh.verifier")
		for _, path := range []string{"/console/admin/users", "/console/admin/audit", "/console/admin/pki", "/console/clerk", "/console/supervisor"} {
			if code, body := v.get(path); code != http.StatusForbidden || !strings.Contains(body, "Không được phép") {
				t.Errorf("verifier on %s: %d, want 403", path, code)
			}
		}
		if code, _ := e.client().get("/console/admin/users"); code != http.StatusSeeOther {
			t.Errorf("anonymous on an admin page: %d, want a redirect to login", code)
		}
	})
}
