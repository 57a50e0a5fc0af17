package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPasswordHash(t *testing.T) {
	h := hashPassword("đúng mật khẩu")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("PHC string %q", h)
	}
	if !checkPassword(h, "đúng mật khẩu") || checkPassword(h, "sai mật khẩu") {
		t.Fatal("checkPassword does not tell the right password from a wrong one")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=0,t=0,p=0$AA$AA", "$argon2i$v=19$m=19456,t=2,p=1$AA$AA", "$$$$$"} {
		if checkPassword(bad, "") {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestSetPasswordRules(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	for _, tc := range []struct{ user, password, want string }{
		{"lan.clerk", "ngắn", "shorter than 10"},
		{"lan.clerk", strings.Repeat("x", 300), "longer than 256"},
		{"lan.clerk", "bad\xffutf8 password", "UTF-8"},
		{"nobody", "long enough password", `no user "nobody"`},
	} {
		err := SetPassword(ctx, e.db, tc.user, tc.password)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetPassword(%s, %q) = %v, want %q", tc.user, tc.password, err, tc.want)
		}
	}
}

func TestLoginLogout(t *testing.T) {
	e := newEnv(t, Config{})
	cl := e.login("lan.clerk")
	// Logged in, home leads to the role's first screen, not back to the login form.
	code, body := cl.get("/console/")
	if code == http.StatusSeeOther && strings.Contains(body, "/console/login") || code >= 400 {
		t.Fatalf("home: %d %s", code, body)
	}
	if code, body = cl.get("/console/clerk"); code != http.StatusOK {
		t.Fatalf("clerk screen: %d", code)
	}
	code, body = cl.postForm("/console/logout", url.Values{})
	if code != http.StatusSeeOther {
		t.Fatalf("logout: %d %s", code, body)
	}
	var n int
	e.db.QueryRow(context.Background(), "SELECT count(*) FROM console_sessions").Scan(&n)
	if n != 0 {
		t.Fatalf("%d sessions after logout", n)
	}
	if code, _ = cl.get("/console/clerk"); code != http.StatusSeeOther || !strings.HasPrefix(cl.location, "/console/login") {
		t.Fatalf("after logout: %d to %q, want the login page", code, cl.location)
	}
}

func TestLoginFailures(t *testing.T) {
	e := newEnv(t, Config{MaxFailures: 3, Lockout: time.Minute})
	cl := e.client()
	for _, tc := range []struct{ user, password, want string }{
		{"", "x", "Nhập tên đăng nhập"},
		{"lan.clerk", "", "Nhập mật khẩu"},
		{"nobody", "whatever password", "Sai tên đăng nhập hoặc mật khẩu"},
	} {
		code, body := cl.tryLogin(tc.user, tc.password)
		if code != http.StatusUnauthorized || !strings.Contains(body, tc.want) {
			t.Fatalf("login %q/%q: %d, want 401 with %q", tc.user, tc.password, code, tc.want)
		}
	}
	for i := 1; i <= 3; i++ {
		code, body := cl.tryLogin("lan.clerk", "wrong password")
		want := "Sai tên đăng nhập"
		if i == 3 {
			want = "tạm khoá"
		}
		if code != http.StatusUnauthorized || !strings.Contains(body, want) {
			t.Fatalf("failure %d: %d, want %q", i, code, want)
		}
	}
	// Locked: even the right password is refused, and no session is made.
	if code, body := cl.tryLogin("lan.clerk", testPassword); code != http.StatusUnauthorized || !strings.Contains(body, "tạm khoá") {
		t.Fatalf("right password while locked: %d", code)
	}
	var n int
	e.db.QueryRow(context.Background(), "SELECT count(*) FROM console_sessions").Scan(&n)
	if n != 0 {
		t.Fatalf("%d sessions made while locked", n)
	}
	// Another user is not affected; the lock ends.
	e.login("hoa.sup")
	e.db.Exec(context.Background(), "UPDATE console_passwords SET locked_until = now() - interval '1 second' WHERE user_name = 'lan.clerk'")
	e.login("lan.clerk")
}

func TestLoginRedirectStaysInConsole(t *testing.T) {
	for in, want := range map[string]string{"/console/clerk": "/console/clerk", "//evil.example/": "",
		"https://evil.example/console/": "", "/console/\\evil": "", "/api/v1/applications": ""} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
