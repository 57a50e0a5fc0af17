package console

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/console/browsertest"
	"github.com/cccd-project/cccd/issuance/idnum"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/store/storetest"
)

func TestMain(m *testing.M) {
	browsertest.CloseInheritedFiles() // before storetest starts PostgreSQL
	storetest.Main(m)
}

// Offices and the password every test user gets.
const (
	testOffice   = "001-HK01"
	otherOffice  = "079-Q1"
	testPassword = "mật khẩu thử 2026"
)

// testEnv is a console on a fresh database, served by httptest, with one user per role.
type testEnv struct {
	t     testing.TB
	db    *pgxpool.Pool
	svc   *intake.Service
	con   *Console
	srv   *httptest.Server
	cfg   Config
	today issuance.Date
}

// testUsers are created by newEnv, each with testPassword.
var testUsers = []intake.User{
	{Name: "lan.clerk", Role: intake.RoleClerk, Office: testOffice},
	{Name: "minh.clerk", Role: intake.RoleClerk, Office: otherOffice},
	{Name: "hoa.sup", Role: intake.RoleSupervisor, Office: testOffice},
	{Name: "tuan.sup", Role: intake.RoleSupervisor, Office: otherOffice},
	{Name: "an.operator", Role: intake.RoleOperator, Office: testOffice},
	{Name: "binh.verifier", Role: intake.RoleVerifier, Office: testOffice},
	{Name: "chi.admin", Role: intake.RoleAdmin, Office: testOffice},
	{Name: "dung.admin", Role: intake.RoleAdmin, Office: testOffice},
}

// newEnv starts a console with the testUsers and the given residents in the register.
// cfg may set timeouts; DB and Intake are filled in.
func newEnv(t testing.TB, cfg Config, residents ...issuance.Person) *testEnv {
	t.Helper()
	ctx := context.Background()
	e := &testEnv{t: t, db: storetest.New(t)}
	e.svc = intake.New(e.db)
	// Screens' tests look residents up faster than a counter may (intake.Limits).
	e.svc.Limits = intake.Limits{LookupsPerMinute: 1000, LookupsPerDay: 100000}
	e.today = issuance.Today(vietnam)
	for _, u := range testUsers {
		if _, err := e.svc.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := SetPassword(ctx, e.db, u.Name, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	var lines bytes.Buffer
	for _, r := range residents {
		b, _ := json.Marshal(r)
		lines.Write(append(b, '\n'))
	}
	if _, err := e.svc.ImportRegister(ctx, &lines, nil); err != nil {
		t.Fatal(err)
	}
	cfg.DB, cfg.Intake = e.db, e.svc
	e.cfg = cfg
	con, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.con = con
	e.srv = httptest.NewServer(con)
	t.Cleanup(e.srv.Close)
	return e
}

// testResident returns a register record of office 001 (Hà Nội).
func testResident(t testing.TB, serial int, female bool) issuance.Person {
	t.Helper()
	id, err := idnum.Make("001", 1990, female, serial)
	if err != nil {
		t.Fatal(err)
	}
	sex, name := issuance.SexMale, "Nguyễn Văn Đức"
	if female {
		sex, name = issuance.SexFemale, "Nguyễn Thị Ngọc Ánh"
	}
	return issuance.Person{IDNumber: id, FullName: name, DateOfBirth: issuance.MustParseDate("1990-03-15"), Sex: sex,
		Nationality: "Việt Nam", Ethnicity: "Kinh", Religion: "Không", PlaceOfOrigin: "Xã Yên Sở, Hoài Đức, Hà Nội",
		PlaceOfResidence: "Số 12 Phố Huế, Phường Hàng Bài, Hoàn Kiếm, Hà Nội", Father: "Nguyễn Văn Hùng", Mother: "Trần Thị Lan"}
}

// client is a browser-like HTTP client of the console with its own cookie jar.
type client struct {
	t    testing.TB
	e    *testEnv
	hc   *http.Client
	csrf string // the CSRF token of the last page fetched
	// location is the Location header of the last response (a redirect's target).
	location string
}

func (e *testEnv) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, e: e, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// login logs name in with testPassword and fails the test unless it worked.
func (e *testEnv) login(name string) *client {
	e.t.Helper()
	cl := e.client()
	if code, body := cl.tryLogin(name, testPassword); code != http.StatusSeeOther {
		e.t.Fatalf("login %s: status %d\n%s", name, code, body)
	}
	return cl
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// tryLogin fetches the login form and posts it.
func (cl *client) tryLogin(name, password string) (int, string) {
	cl.t.Helper()
	if code, body := cl.get("/console/login"); code != http.StatusOK {
		cl.t.Fatalf("login form: %d %s", code, body)
	}
	return cl.postForm("/console/login", url.Values{"user": {name}, "password": {password}})
}

func (cl *client) do(req *http.Request) (int, string) {
	cl.t.Helper()
	resp, err := cl.hc.Do(req)
	if err != nil {
		cl.t.Fatal(err)
	}
	defer resp.Body.Close()
	cl.location = resp.Header.Get("Location")
	b, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindSubmatch(b); m != nil {
		cl.csrf = string(m[1])
	}
	return resp.StatusCode, string(b)
}

// get fetches a console path.
func (cl *client) get(path string) (int, string) {
	cl.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, cl.e.srv.URL+path, nil)
	return cl.do(req)
}

// postForm posts form values with the CSRF token of the last page (unless v sets "csrf").
func (cl *client) postForm(path string, v url.Values) (int, string) {
	cl.t.Helper()
	if _, ok := v["csrf"]; !ok && cl.csrf != "" {
		v.Set("csrf", cl.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, cl.e.srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return cl.do(req)
}

// postMultipart posts a multipart form with files (field name -> bytes) and the CSRF token.
func (cl *client) postMultipart(path string, v url.Values, files map[string][]byte) (int, string) {
	cl.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if _, ok := v["csrf"]; !ok && cl.csrf != "" {
		v.Set("csrf", cl.csrf)
	}
	for k, vals := range v {
		for _, s := range vals {
			mw.WriteField(k, s)
		}
	}
	for k, b := range files {
		fw, _ := mw.CreateFormFile(k, k+".jpg")
		fw.Write(b)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, cl.e.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return cl.do(req)
}
