package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/argon2"

	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/ledger"
)

// Password rules and argon2id cost (RFC 9106 §4; OWASP's minimum of 19 MiB, 2 passes,
// one lane keeps a login under ~50 ms on a small server).
const (
	MinPasswordRunes = 10
	MaxPasswordBytes = 256
	argonTime        = 2
	argonMemory      = 19 * 1024
	argonThreads     = 1
	argonKeyLen      = 32
)

// Login outcomes.
var (
	ErrBadLogin = errors.New("console: wrong user name or password")
	ErrLocked   = errors.New("console: too many failed logins; the account is locked for a while")
)

// loginCookie holds the CSRF token of the login form (a double-submit token: there is
// no session yet to keep it in).
const loginCookie = "cccd_login"

func init() {
	addRoute("GET /console/login", nil, (*Console).loginForm)
	addRoute("POST /console/login", nil, (*Console).login)
	addRoute("POST /console/logout", nil, (*Console).logout)
	addRoute("GET /console/{$}", nil, (*Console).home)
}

// hashPassword returns the PHC string of password under a fresh salt.
func hashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// checkPassword reports whether password matches the PHC string phc.
func checkPassword(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v, m, t int
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m < 1 || t < 1 || p < 1 || m > 1<<21 || t > 16 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, uint32(t), uint32(m), p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// checkPasswordRule returns what is wrong with a new password, or "".
func checkPasswordRule(password string) string {
	switch {
	case !utf8.ValidString(password):
		return "not valid UTF-8"
	case len(password) > MaxPasswordBytes:
		return fmt.Sprintf("longer than %d bytes", MaxPasswordBytes)
	case utf8.RuneCountInString(password) < MinPasswordRunes:
		return fmt.Sprintf("shorter than %d characters", MinPasswordRunes)
	}
	return ""
}

// SetPassword sets the console password of an existing user (`cccd user passwd`), resets
// its failed logins and ends its sessions. The password is stored as an argon2id hash.
func SetPassword(ctx context.Context, db interface {
	Begin(context.Context) (pgx.Tx, error)
}, name, password string) error {
	if rule := checkPasswordRule(password); rule != "" {
		return fmt.Errorf("console: password: %s", rule)
	}
	hash := hashPassword(password)
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO console_passwords (user_name, hash)
			SELECT name, $2 FROM users WHERE name = $1
			ON CONFLICT (user_name) DO UPDATE SET hash = $2, failures = 0, locked_until = NULL, updated_at = now()`,
			name, hash)
		if err != nil {
			return fmt.Errorf("console: password: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("console: password: no user %q", name)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM console_sessions WHERE user_name = $1", name); err != nil {
			return fmt.Errorf("console: password: %w", err)
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: ledger.System("admin"), Action: "user.passwd",
			Subject: "user/" + name, Detail: "console password set"})
	})
}

// dummyHash is checked against when the user does not exist, so that the answer takes as
// long as for a wrong password and does not tell which user names exist.
var dummyHash = hashPassword(randomToken())

// authenticate checks name and password. After cfg.MaxFailures failures in a row the
// user is locked out for cfg.Lockout, whatever password comes next.
func (c *Console) authenticate(ctx context.Context, name, password string) (intake.User, error) {
	var hash string
	var failures int
	var locked bool
	err := c.db.QueryRow(ctx, `SELECT hash, failures, coalesce(locked_until > now(), false)
		FROM console_passwords WHERE user_name = $1`, name).Scan(&hash, &failures, &locked)
	if errors.Is(err, pgx.ErrNoRows) {
		checkPassword(dummyHash, password)
		return intake.User{}, ErrBadLogin
	}
	if err != nil {
		return intake.User{}, fmt.Errorf("console: login: %w", err)
	}
	if locked {
		return intake.User{}, ErrLocked
	}
	if !checkPassword(hash, password) {
		return intake.User{}, c.loginFailed(ctx, name, failures+1)
	}
	u, err := c.intake.ActiveUser(ctx, name)
	if err != nil {
		if errors.Is(err, intake.ErrUnauthenticated) {
			return intake.User{}, ErrBadLogin
		}
		return intake.User{}, err
	}
	if _, err := c.db.Exec(ctx, "UPDATE console_passwords SET failures = 0 WHERE user_name = $1 AND failures > 0",
		name); err != nil {
		return intake.User{}, fmt.Errorf("console: login: %w", err)
	}
	return u, nil
}

func (c *Console) loginFailed(ctx context.Context, name string, failures int) error {
	lock := failures >= c.cfg.MaxFailures
	err := pgx.BeginFunc(ctx, c.db, func(tx pgx.Tx) error {
		if lock {
			if _, err := tx.Exec(ctx, `UPDATE console_passwords SET failures = 0,
				locked_until = now() + make_interval(secs => $2) WHERE user_name = $1`, name, c.cfg.Lockout.Seconds()); err != nil {
				return err
			}
			return ledger.Audit(ctx, tx, ledger.Entry{Actor: ledger.System("console"), Action: "user.locked",
				Subject: "user/" + name, Detail: fmt.Sprintf("%d failed console logins", failures)})
		}
		_, err := tx.Exec(ctx, "UPDATE console_passwords SET failures = $2 WHERE user_name = $1", name, failures)
		return err
	})
	if err != nil {
		return fmt.Errorf("console: login: %w", err)
	}
	if lock {
		return ErrLocked
	}
	return ErrBadLogin
}

// wrap authenticates a request for route r: session, active user, role, CSRF on POST.
func (c *Console) wrap(r route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := &Page{W: w, R: req, c: c}
		if ck, err := req.Cookie(sessionCookie); err == nil {
			se, err := c.sessions.lookup(req.Context(), ck.Value)
			switch {
			case err == nil:
				u, err := c.intake.ActiveUser(req.Context(), se.user)
				if err == nil {
					p.session, p.User = se, u
					// The reader of personal data, for the intake service's access records.
					p.R = req.WithContext(intake.WithUser(req.Context(), u))
				} else if errors.Is(err, intake.ErrUnauthenticated) {
					c.sessions.endUser(req.Context(), se.user)
				} else {
					c.errorPage(p, err)
					return
				}
			case !errors.Is(err, errNoSession):
				c.errorPage(p, err)
				return
			}
		}
		if len(r.roles) > 0 {
			if p.session == nil {
				if req.Method == http.MethodGet {
					http.Redirect(w, req, "/console/login?next="+url.QueryEscape(req.URL.RequestURI()), http.StatusSeeOther)
				} else {
					c.errorPageStatus(p, http.StatusUnauthorized, L("Chưa đăng nhập", "Not logged in"),
						"Phiên làm việc đã hết hạn hoặc chưa đăng nhập. Xin đăng nhập lại.")
				}
				return
			}
			if !slices.Contains(r.roles, p.User.Role) {
				c.errorPage(p, fmt.Errorf("%w: %s is %s, needs %v", intake.ErrForbidden, p.User.Name, p.User.Role, r.roles))
				return
			}
		}
		if req.Method == http.MethodPost && p.session != nil {
			// The largest form is an application with its portrait (at most 100 KiB, twice
			// when carried over in base64 after a refused attempt).
			p.R.Body = http.MaxBytesReader(w, p.R.Body, 1<<20)
			if err := p.R.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
				c.errorPageStatus(p, http.StatusBadRequest, L("Yêu cầu không hợp lệ", "Bad request"),
					"Biểu mẫu quá lớn hoặc hỏng (form too large or malformed).")
				return
			}
			if !checkCSRF(p.R, p.session) {
				c.errorPageStatus(p, http.StatusForbidden, L("Yêu cầu bị từ chối", "Request refused"),
					"Thiếu hoặc sai mã chống giả mạo (CSRF token missing or wrong). Xin tải lại trang và thử lại.")
				return
			}
		}
		if err := r.handle(c, p); err != nil {
			c.errorPage(p, err)
		}
	})
}

func (c *Console) errorPageStatus(p *Page, code int, title Label, msg string) {
	if err := p.RenderStatus(code, "error", title, msg); err != nil {
		http.Error(p.W, title.EN, code)
	}
}

// home sends a logged-in user to the first screen of their role, anyone else to login.
func (c *Console) home(p *Page) error {
	if !p.LoggedIn() {
		return p.Redirect("/console/login")
	}
	if n := navFor(p.User.Role); len(n) > 0 {
		return p.Redirect(n[0].Path)
	}
	return p.Render("error", L("Không có màn hình", "No screen"), "Vai trò này chưa có màn hình nào.")
}

type loginData struct {
	Token string
	Next  string
}

func (c *Console) loginForm(p *Page) error {
	if p.LoggedIn() {
		return p.Redirect("/console/")
	}
	return p.Render("login", L("Đăng nhập", "Log in"), loginData{Token: c.formToken(p), Next: safeNext(p.R.URL.Query().Get("next"))})
}

// formToken returns the double-submit token of the forms shown without a session (login,
// the applicant's access list): the browser's cookie if it has one, else a new one set now.
func (c *Console) formToken(p *Page) string {
	if ck, err := p.R.Cookie(loginCookie); err == nil && len(ck.Value) == 43 {
		return ck.Value
	}
	tok := randomToken()
	c.setCookie(p.W, p.R, loginCookie, tok, 3600)
	return tok
}

// safeNext keeps a post-login redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ""
	}
	return next
}

func (c *Console) login(p *Page) error {
	r := p.R
	r.Body = http.MaxBytesReader(p.W, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		c.errorPageStatus(p, http.StatusBadRequest, L("Yêu cầu không hợp lệ", "Bad request"), "Biểu mẫu hỏng (malformed form).")
		return nil
	}
	name, password := strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("password")
	p.Form = &Form{Values: map[string]string{"user": name}}
	ck, err := r.Cookie(loginCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		c.errorPageStatus(p, http.StatusForbidden, L("Yêu cầu bị từ chối", "Request refused"),
			"Thiếu hoặc sai mã chống giả mạo (CSRF token missing or wrong). Xin tải lại trang đăng nhập.")
		return nil
	}
	switch {
	case name == "":
		p.Form.Fail("user", "Nhập tên đăng nhập (user name required).")
	case len(name) > 64:
		p.Form.Fail("user", "Tên đăng nhập quá dài (at most 64 characters).")
	}
	if password == "" {
		p.Form.Fail("password", "Nhập mật khẩu (password required).")
	}
	if p.Form.OK() {
		u, err := c.authenticate(r.Context(), name, password)
		switch {
		case err == nil:
			id, _, err := c.sessions.create(r.Context(), u.Name)
			if err != nil {
				return err
			}
			c.setCookie(p.W, r, sessionCookie, id, 0)
			c.setCookie(p.W, r, loginCookie, "", -1)
			next := safeNext(r.PostFormValue("next"))
			if next == "" {
				next = "/console/"
			}
			return p.Redirect(next)
		case errors.Is(err, ErrLocked):
			p.Form.Fail("password", "Tài khoản tạm khoá do đăng nhập sai nhiều lần; xin thử lại sau 15 phút (locked after repeated failures).")
		case errors.Is(err, ErrBadLogin):
			p.Form.Fail("password", "Sai tên đăng nhập hoặc mật khẩu (wrong user name or password).")
		default:
			return err
		}
	}
	return p.RenderStatus(http.StatusUnauthorized, "login", L("Đăng nhập", "Log in"),
		loginData{Token: ck.Value, Next: safeNext(r.PostFormValue("next"))})
}

func (c *Console) logout(p *Page) error {
	if p.session == nil {
		return p.Redirect("/console/login")
	}
	// wrap has checked the CSRF token of this POST.
	if err := c.sessions.end(p.Ctx(), p.session.idHash); err != nil {
		return err
	}
	c.setCookie(p.W, p.R, sessionCookie, "", -1)
	return p.Redirect("/console/login")
}
