// Package console is the web console of cccd: the screens of the clerk, supervisor,
// operator, print room, office, verifier and administrator, and the applicant's public
// status page. It is served by `cccd serve` on the API's listener under /console/.
//
// Pages are rendered on the server with html/template (so every value is escaped); the
// templates, the style sheet and the little JavaScript there is are embedded with embed,
// so the console works offline and needs no CDN. Every label is Vietnamese first with
// its English below it (the bi template function). Every screen checks role and office
// by calling the same service methods as the JSON API and the command line
// (intake.Service and friends): the console holds no second copy of any rule.
//
// # Adding a screen
//
// A screen is a handler and a template. In a new file of this package:
//
//	func init() {
//		addNav(Nav{Path: "/console/operator", Title: L("Sản xuất", "Production"), Key: "o", Order: 30,
//			Roles: []string{intake.RoleOperator, intake.RoleAdmin}})
//		addRoute("GET /console/operator", []string{intake.RoleOperator, intake.RoleAdmin}, (*Console).operator)
//		addRoute("POST /console/operator/pause", []string{intake.RoleOperator}, (*Console).operatorPause)
//	}
//
//	func (c *Console) operator(p *Page) error {
//		... call the services with p.User ...
//		return p.Render("operator", L("Sản xuất", "Production"), data)
//	}
//
// and templates/operator.html defines {{define "content"}}...{{end}} (optionally "head"
// for extra <link>/<script> tags), reading the handler's data as .Data. The layout gives
// every page the navigation bar of the user's role, .User, .CSRF and .Flash. A route with
// no roles is public (no login); any other route answers 303 to the login page without a
// session and 403 for a role not listed. Every POST needs the form field "csrf" (or the
// header X-CSRF-Token) equal to .CSRF: put {{template "csrf" .}} in every form. A handler
// returns an error only for what the user cannot fix (errors.Is(err, intake.ErrForbidden)
// gives 403, intake.ErrNotFound 404, anything else a logged 500); bad input is shown next
// to its field with p.Form.
package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/hsm/authority"
	"github.com/cccd-project/cccd/issuance/intake"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Label is a text of the console in Vietnamese and English.
type Label struct{ VI, EN string }

// L returns a Label.
func L(vi, en string) Label { return Label{VI: vi, EN: en} }

// Nav is an entry of the navigation bar.
type Nav struct {
	Path  string
	Title Label
	Key   string   // accesskey (Alt+Shift+Key in Chromium)
	Order int      // position: clerk 10, supervisor 20, operator 30, print 40, office 50, verifier 60, admin 70+
	Roles []string // who sees it
}

// HandlerFunc handles one console request for a page.
type HandlerFunc func(c *Console, p *Page) error

type route struct {
	pattern string
	roles   []string
	handle  HandlerFunc
}

var (
	regMu  sync.Mutex
	routes []route
	navs   []Nav
)

// addRoute registers a handler for a http.ServeMux pattern ("GET /console/x/{id}").
// roles empty means public: no login needed.
func addRoute(pattern string, roles []string, h HandlerFunc) {
	regMu.Lock()
	defer regMu.Unlock()
	routes = append(routes, route{pattern, roles, h})
}

// addNav adds an entry to the navigation bar.
func addNav(n Nav) {
	regMu.Lock()
	defer regMu.Unlock()
	navs = append(navs, n)
	slices.SortStableFunc(navs, func(a, b Nav) int { return a.Order - b.Order })
}

// Config configures a Console.
type Config struct {
	DB  *pgxpool.Pool
	Log *slog.Logger // default slog.Default()
	// Intake is the intake service the screens call; default intake.New(DB).
	Intake *intake.Service
	// IdleTimeout ends a session not used for this long (default 30 minutes);
	// SessionLifetime ends any session this long after login (default 12 hours).
	IdleTimeout, SessionLifetime time.Duration
	// SecureCookies marks cookies Secure. Set it when the console is reached over HTTPS
	// (directly or behind a TLS proxy); cookies of a request that came over TLS are
	// always Secure.
	SecureCookies bool
	// MaxFailures failed logins in a row lock a user out for Lockout (defaults 5 and 15 minutes).
	MaxFailures int
	Lockout     time.Duration
	// PublicURL is the console's address as printed on receipt slips (e.g.
	// "https://cccd.example.vn"); empty prints the path only.
	PublicURL string
	// PKI lists the CSCAs, Document Signers and CRLs for the administrator's PKI overview
	// (only its listing methods are used: it needs no key store); nil shows the PKI as not
	// configured.
	PKI *authority.Authority
	// Production is what the operator, print room, office and verifier screens need
	// (live.go).
	Production Production
}

// Console is the web console. It is an http.Handler.
type Console struct {
	cfg      Config
	db       *pgxpool.Pool
	log      *slog.Logger
	intake   *intake.Service
	sessions *sessions
	pages    map[string]*template.Template
	mux      *http.ServeMux
	prod     *production
}

// New returns the console on cfg.DB. It parses every template now, so a broken template
// is an error here rather than on a user's screen.
func New(cfg Config) (*Console, error) {
	if cfg.DB == nil {
		return nil, errors.New("console: no database")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Intake == nil {
		cfg.Intake = intake.New(cfg.DB)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = 12 * time.Hour
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.Lockout <= 0 {
		cfg.Lockout = 15 * time.Minute
	}
	c := &Console{cfg: cfg, db: cfg.DB, log: cfg.Log, intake: cfg.Intake,
		sessions: &sessions{db: cfg.DB, idle: cfg.IdleTimeout, lifetime: cfg.SessionLifetime}}
	c.prod = newProduction(cfg.Production, cfg.DB, cfg.Log)
	var err error
	if c.pages, err = parseTemplates(); err != nil {
		return nil, err
	}
	c.mux = http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", staticHandler(static)))
	regMu.Lock()
	rs := slices.Clone(routes)
	regMu.Unlock()
	for _, r := range rs {
		c.mux.Handle(r.pattern, c.wrap(r))
	}
	return c, nil
}

// ServeHTTP serves the console's paths (/console/...).
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "+
		"script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("console: panic in handler", "panic", v, "path", r.URL.Path)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	c.mux.ServeHTTP(w, r)
}

func staticHandler(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// Page is one request to a console page, as its handler sees it.
type Page struct {
	W    http.ResponseWriter
	R    *http.Request
	User intake.User // zero on public pages without a session
	// Form holds the values and errors of the form being shown again after bad input.
	Form    *Form
	c       *Console
	session *session
	flash   string
}

// Ctx returns the request's context, carrying the signed-in user (intake.WithUser).
func (p *Page) Ctx() context.Context {
	if p.User.Name != "" {
		// The signed-in user: reads of personal data made with it are recorded as theirs.
		return intake.WithUser(p.R.Context(), p.User)
	}
	return p.R.Context()
}

// LoggedIn reports whether the request has a session.
func (p *Page) LoggedIn() bool { return p.session != nil }

// Flash sets a message shown once at the top of the page rendered now.
func (p *Page) Flash(msg string) { p.flash = msg }

// view is what the layout template executes.
type view struct {
	Title   Label
	User    intake.User
	Nav     []Nav
	Current string
	CSRF    string
	Flash   string
	Form    *Form
	Data    any
}

// Render writes the page template name (templates/name.html) in the layout with status 200.
func (p *Page) Render(name string, title Label, data any) error {
	return p.RenderStatus(http.StatusOK, name, title, data)
}

// RenderStatus is Render with another status code (422 for a form shown again with errors).
func (p *Page) RenderStatus(code int, name string, title Label, data any) error {
	t, ok := p.c.pages[name]
	if !ok {
		return fmt.Errorf("console: no template %q", name)
	}
	v := view{Title: title, User: p.User, Current: p.R.URL.Path, Flash: p.flash, Form: p.Form, Data: data}
	if p.Form == nil {
		v.Form = &Form{}
	}
	if p.session != nil {
		v.CSRF = p.session.csrf
		v.Nav = navFor(p.User.Role)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("console: render %s: %w", name, err)
	}
	h := p.W.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	p.W.WriteHeader(code)
	_, err := p.W.Write(buf.Bytes())
	return err
}

// Redirect answers 303 See Other to path (after a POST, so a reload does not repeat it).
func (p *Page) Redirect(path string) error {
	http.Redirect(p.W, p.R, path, http.StatusSeeOther)
	return nil
}

func navFor(role string) []Nav {
	regMu.Lock()
	defer regMu.Unlock()
	var out []Nav
	for _, n := range navs {
		if slices.Contains(n.Roles, role) {
			out = append(out, n)
		}
	}
	return out
}

// Form is a submitted form: its values (to fill the fields again) and an error per field.
type Form struct {
	Values map[string]string
	Errors map[string]string
}

// Value returns the submitted value of field.
func (f *Form) Value(field string) string {
	if f == nil {
		return ""
	}
	return f.Values[field]
}

// Error returns the message shown next to field, or "".
func (f *Form) Error(field string) string {
	if f == nil {
		return ""
	}
	return f.Errors[field]
}

// Fail records msg as the error of field.
func (f *Form) Fail(field, msg string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	if f.Errors[field] == "" {
		f.Errors[field] = msg
	}
}

// OK reports whether no field failed.
func (f *Form) OK() bool { return len(f.Errors) == 0 }

// errorPage renders a page for an error the user cannot fix by editing a field.
func (c *Console) errorPage(p *Page, err error) {
	code, title, msg := http.StatusInternalServerError, L("Lỗi hệ thống", "Internal error"),
		"Đã có lỗi; thao tác chưa được thực hiện. Xin thử lại hoặc báo quản trị viên."
	switch {
	case errors.Is(err, intake.ErrForbidden), errors.Is(err, intake.ErrSameClerk), errors.Is(err, intake.ErrWrongOffice):
		code, title, msg = http.StatusForbidden, L("Không được phép", "Forbidden"), err.Error()
	case errors.Is(err, intake.ErrNotFound):
		code, title, msg = http.StatusNotFound, L("Không tìm thấy", "Not found"), err.Error()
	case errors.Is(err, intake.ErrLookupOpen):
		code, title, msg = http.StatusConflict, L("Đang mở một tra cứu khác", "Another look-up is open"), err.Error()
	case errors.Is(err, intake.ErrLookupLimit), errors.Is(err, intake.ErrAuthLimit):
		code, title, msg = http.StatusTooManyRequests, L("Quá giới hạn tra cứu", "Too many requests"), err.Error()
	case errors.Is(err, intake.ErrPurpose):
		code, title, msg = http.StatusForbidden, L("Không đúng mục đích", "Purpose not allowed"), err.Error()
	default:
		c.log.Error("console: internal error", "path", p.R.URL.Path, "err", err)
	}
	if rerr := p.RenderStatus(code, "error", title, msg); rerr != nil {
		c.log.Error("console: render error page", "err", rerr)
		http.Error(p.W, title.EN, code)
	}
}

// parseTemplates parses layout.html with each page template.
func parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, fmt.Errorf("console: templates: %w", err)
		}
		pages[name] = t
	}
	return pages, nil
}

var funcs = template.FuncMap{
	// bi writes a label: Vietnamese, and its English below in small grey.
	"bi": func(vi, en string) template.HTML {
		return template.HTML(`<span class="vi">` + template.HTMLEscapeString(vi) + `</span><span class="en">` +
			template.HTMLEscapeString(en) + `</span>`)
	},
	"L":        L,
	"contains": func(list []string, s string) bool { return slices.Contains(list, s) },
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(vietnam).Format("02/01/2006")
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(vietnam).Format("02/01/2006 15:04")
	},
	"roleVI":  func(r string) string { return roleNames[r].VI },
	"roleEN":  func(r string) string { return roleNames[r].EN },
	"stateVI": func(s string) string { return stateName(s).VI },
	"stateEN": func(s string) string { return stateName(s).EN },
	"add":     func(a, b int) int { return a + b },
}

// vietnam is the time zone the console shows times in (UTC+7, no daylight saving).
var vietnam = time.FixedZone("ICT", 7*60*60)

var roleNames = map[string]Label{
	intake.RoleClerk:      L("Cán bộ tiếp nhận", "Intake clerk"),
	intake.RoleSupervisor: L("Cán bộ phê duyệt", "Supervisor"),
	intake.RoleOperator:   L("Vận hành sản xuất", "Line operator"),
	intake.RoleVerifier:   L("Cán bộ kiểm tra thẻ", "Verifier"),
	intake.RoleAdmin:      L("Quản trị hệ thống", "Administrator"),
}
