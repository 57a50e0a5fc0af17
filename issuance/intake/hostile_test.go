package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/problem"
)

// hostileClasses are the classes of bad input every route is tried with (TestHostileRoutes).
var hostileClasses = []string{"wrong type", "bad UTF-8", "NUL", "surrogate", "bidi/zero-width", "oversized",
	"deep nesting", "wrong content type", "bad path parameter"}

// hostileCase is one request of TestHostileRoutes and the status it must get.
type hostileCase struct {
	method, path, contentType string
	body                      []byte
	want                      int
}

// hostileRoute makes, for one class, the requests of a route (none when the class does not apply).
type hostileRoute struct {
	name  string
	token string
	cases func(class string) []hostileCase
}

// deep returns a JSON value nested n levels.
func deep(n int) string { return strings.Repeat("[", n) + "1" + strings.Repeat("]", n) }

// withRaw returns the JSON object doc with key set to the raw JSON value v.
func withRaw(t testing.TB, doc []byte, key, v string) []byte {
	t.Helper()
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	m[key] = json.RawMessage(v)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("%s=%s: %v", key, v, err)
	}
	return b
}

// badPaths are path parameters that must be refused before they reach SQL, by class.
var badPaths = map[string][]string{
	"wrong type":         {"12345", "true", "-1"},
	"bad UTF-8":          {"%ff%fe", "%c0%af", "HS-%ff%ff%ff%ff%ff-00000"},
	"NUL":                {"%00", "HS-00000-0000%00"},
	"surrogate":          {"%ed%a0%80", "HS-%ed%b0%80-00000"},
	"bidi/zero-width":    {"HS-00000-%e2%80%ae0000", "%e2%80%8bHS-00000-00000"},
	"oversized":          {strings.Repeat("A", 8000)},
	"bad path parameter": {"HS-00000-0000I", "..%2F..%2Fetc%2Fpasswd", "%27%20OR%201=1--", "HS-00000-00000%20"},
}

// TestHostileRoutes sends every route each class of bad input and checks that each gets its 4xx as an RFC 9457
// problem with fields, within the error contract (no Go type names, no addresses, echoes cut short), that
// the log holds no raw input, and that nothing was stored.
func TestHostileRoutes(t *testing.T) {
	p, other := resident(t, 50, false), resident(t, 51, true)
	f := setup(t, p, other)
	var logs bytes.Buffer
	srv := httptest.NewServer(f.svc.Handler(slog.New(slog.NewJSONHandler(&logs, nil))))
	defer srv.Close()
	clerk, sup := f.tokens["lan.clerk"], f.tokens["hoa.sup"]
	open, err := f.svc.Submit(context.Background(), f.clerk, application(t, other))
	if err != nil {
		t.Fatal(err)
	}
	rcpt := "/api/v1/applications/" + open.Receipt
	app, _ := json.Marshal(application(t, p)) // valid, and p has no application: a leak would be a 201

	jsonBody := func(method, path string, good []byte, limit int, key string) func(string) []hostileCase {
		return func(class string) []hostileCase {
			c := func(body []byte, want int) []hostileCase {
				return []hostileCase{{method, path, "application/json", body, want}}
			}
			switch class {
			case "wrong type":
				return append(append(c(withRaw(t, good, key, "42"), 422), c(withRaw(t, good, key, `{"a":1}`), 422)...),
					append(c([]byte(`[]`), 400), c([]byte(`"x"`), 400)...)...)
			case "bad UTF-8":
				return c(bytes.Replace(withRaw(t, good, key, `"abc"`), []byte("abc"), []byte("a\xff\xfeb"), 1), 400)
			case "NUL":
				raw := 400 // a raw NUL in a string is not JSON
				if !bytes.Contains(good, []byte(`"`+key+`"`)) {
					raw = 422 // the key itself is refused first
				}
				return append(c(withRaw(t, good, key, `"a\u0000b"`), 422), c(bytes.Replace(withRaw(t, good, key, `"abc"`), []byte("abc"), []byte("a\x00b"), 1), raw)...)
			case "surrogate":
				return append(c(withRaw(t, good, key, `"\ud800"`), 422), c(withRaw(t, good, key, `"x\udc00"`), 422)...)
			case "bidi/zero-width":
				return append(c(withRaw(t, good, key, `"Nguy\u202eễn"`), 422), c(withRaw(t, good, key, `"An\u200b"`), 422)...)
			case "oversized":
				return c(withRaw(t, good, key, `"`+strings.Repeat("9", limit)+`"`), 413)
			case "deep nesting":
				return c(withRaw(t, good, key, deep(200)), 400)
			case "wrong content type":
				return []hostileCase{{method, path, "image/jpeg", good, 415}, {method, path, "", good, 415},
					{method, path, "text/plain; charset=utf-8", good, 415}, {method, path, "application/json; charset=latin1", good, 415}}
			case "bad path parameter":
				if !strings.Contains(path, "HS-") {
					return nil
				}
				var out []hostileCase
				for _, bad := range badPaths[class] {
					out = append(out, hostileCase{method, strings.Replace(path, open.Receipt, bad, 1), "application/json", good, 400})
				}
				return out
			}
			return nil
		}
	}
	// pathParam tries the bad path parameters of each class, or instead the paths own[class] gives.
	pathParam := func(prefix, suffix, query string, own map[string][]string) func(string) []hostileCase {
		return func(class string) []hostileCase {
			var out []hostileCase
			bads := badPaths[class]
			if o, ok := own[class]; ok {
				bads = o
			}
			for _, bad := range bads {
				out = append(out, hostileCase{"GET", prefix + bad + suffix + query, "", nil, 400})
			}
			switch class {
			case "deep nesting":
				out = append(out, hostileCase{"GET", prefix + strings.Repeat("a/", 50) + "b", "", nil, 404})
			case "wrong content type":
				out = append(out, hostileCase{"GET", prefix + "HS-00000-00000" + suffix, "application/json", []byte(`{}`), 415})
			}
			return out
		}
	}
	routes := []hostileRoute{
		{"POST /api/v1/applications", clerk, jsonBody("POST", "/api/v1/applications", app, 300_000, "full_name")},
		{"POST .../approve", sup, jsonBody("POST", rcpt+"/approve", []byte(`{}`), 9000, "reason")},
		{"POST .../reject", sup, jsonBody("POST", rcpt+"/reject", []byte(`{"reason":"Ảnh mờ"}`), 9000, "reason")},
		{"POST /status/{receipt}/access", "", jsonBody("POST", "/status/"+open.Receipt+"/access", []byte(`{"date_of_birth":"1990-03-15"}`), 2000, "date_of_birth")},
		{"GET /api/v1/applications", clerk, func(class string) []hostileCase {
			q := map[string][]string{
				"wrong type":         {"limit=abc", "limit=1.5", "limit=0", "state=42"},
				"bad UTF-8":          {"state=%ff%fe"},
				"NUL":                {"state=%00", "limit=1%00"},
				"surrogate":          {"state=%ed%a0%80"},
				"bidi/zero-width":    {"state=submitted%e2%80%ae", "state=%e2%80%8bsubmitted"},
				"oversized":          {"limit=99999999999999999999", "state=" + strings.Repeat("s", 8000)},
				"deep nesting":       {"state[a][b][c]=x", "limit=1&limit=2"},
				"bad path parameter": {"nonsense=1"},
			}[class]
			var out []hostileCase
			for _, v := range q {
				out = append(out, hostileCase{"GET", "/api/v1/applications?" + v, "", nil, 400})
			}
			if class == "wrong content type" {
				out = append(out, hostileCase{"GET", "/api/v1/applications", "text/plain", []byte("x"), 415})
			}
			return out
		}},
		{"GET /api/v1/applications/{receipt}", clerk, pathParam("/api/v1/applications/", "", "", nil)},
		{"GET /status/{receipt}", "", pathParam("/status/", "", "", nil)},
		{"GET /api/v1/register/{id}", clerk, pathParam("/api/v1/register/", "", "", nil)},
		{"DELETE /api/v1/register/open", clerk, func(class string) []hostileCase {
			const path = "/api/v1/register/open"
			switch class {
			case "wrong content type":
				return []hostileCase{{"DELETE", path, "application/json", []byte(`{}`), 415}}
			case "bad path parameter":
				return []hostileCase{{"DELETE", path + "?id=1", "", nil, 400}, {"DELETE", path + "?%00", "", nil, 400}}
			case "deep nesting":
				return []hostileCase{{"DELETE", path + "/" + strings.Repeat("a/", 50) + "b", "", nil, 404}}
			}
			return nil
		}},
		// A serial is free-form (1-64 of A-Z a-z 0-9 . _ : -): "12345" is a well-formed unknown card (200).
		{"GET /api/v1/cards/{serial}/status", clerk, pathParam("/api/v1/cards/", "/status", "?id_number="+p.IDNumber, map[string][]string{
			"wrong type":         {"C1/status?id_number=abc#", "C1/status?id_number=12345#", "C1/status?id_number=true#"},
			"bad path parameter": {"..%2F..%2Fetc%2Fpasswd", "%27%20OR%201=1--", "C1%20", "C1/status?x=1#", "C1/status?id_number=1&id_number=2#"},
		})},
	}

	// Every route of Handler is here: a new route must bring its hostile cases.
	src, err := os.ReadFile("http.go")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(src), "mux.HandleFunc("); n != len(routes) {
		t.Fatalf("Handler serves %d routes, this test tries %d: add the new route's cases", n, len(routes))
	}

	before := counts(t, f) + " " + countIdempotency(t, f)
	cases := 0
	for _, rt := range routes {
		for _, class := range hostileClasses {
			for i, c := range rt.cases(class) {
				name := fmt.Sprintf("%s/%s/%d", rt.name, class, i)
				req, err := http.NewRequest(c.method, srv.URL+c.path, bytes.NewReader(c.body))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if rt.token != "" {
					req.Header.Set("Authorization", "Bearer "+rt.token)
				}
				if c.contentType != "" {
					req.Header.Set("Content-Type", c.contentType)
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				checkProblem(t, name, resp, body, c.want)
				cases++
			}
		}
	}
	if after := counts(t, f) + " " + countIdempotency(t, f); after != before {
		t.Fatalf("hostile requests changed the database: before %s, after %s", before, after)
	}
	for _, raw := range []string{"\u202e", "\u200b", "\x00", "\\u0000", "%00", "%ff", "OR 1=1", "etc/passwd", "AAAAAAAAAAAAAAAA"} {
		if strings.Contains(logs.String(), raw) {
			t.Fatalf("log holds raw input %q", raw)
		}
	}
	t.Logf("%d hostile requests over %d routes and %d classes", cases, len(routes), len(hostileClasses))
	if cases < 150 {
		t.Fatalf("only %d cases", cases)
	}
}

// checkProblem asserts the error contract for one response.
func checkProblem(t *testing.T, name string, resp *http.Response, body []byte, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d, want %d: %s", name, resp.StatusCode, want, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("%s: Content-Type %q", name, ct)
	}
	var d struct {
		Type, Title, Detail string
		Status              int
		RequestID           string `json:"request_id"`
		Fields              []struct{ Field, Rule string }
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: not problem details: %v: %s", name, err, body)
	}
	if d.Type != "about:blank" || d.Status != want || d.Title != http.StatusText(want) || len(d.Fields) == 0 ||
		d.RequestID == "" || d.RequestID != resp.Header.Get("X-Request-Id") {
		t.Fatalf("%s: problem %+v", name, d)
	}
	for _, f := range d.Fields {
		if f.Field == "" || f.Rule == "" {
			t.Fatalf("%s: field without name or rule: %s", name, body)
		}
	}
	if len(body) > 2048 {
		t.Fatalf("%s: %d-byte body echoes too much", name, len(body))
	}
	for _, leak := range []string{"*json.", "json: ", "pgconn", "SQLSTATE", "pgx", "issuance.", "intake.", "struct {",
		"127.0.0.1", "goroutine", "\u202e", "\u200b", `\u0000`} {
		if strings.Contains(string(body), leak) {
			t.Fatalf("%s: body holds %q: %s", name, leak, body)
		}
	}
}

func countIdempotency(t *testing.T, f *fixture) string {
	var n int
	if err := f.pool.QueryRow(context.Background(), "SELECT count(*) FROM idempotency_keys").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("idempotency_keys=%d", n)
}

// TestHTTPConventions: the auth scheme in any case, router 404/405 as problems, Idempotency-Key, and a 409
// that names the open application's receipt only to a caller of its office.
func TestHTTPConventions(t *testing.T) {
	ctx := context.Background()
	p, q := resident(t, 60, false), resident(t, 61, true)
	f := setup(t, p, q)
	srv := httptest.NewServer(f.svc.Handler(slog.New(slog.DiscardHandler)))
	defer srv.Close()
	farTok, err := f.svc.AddUser(ctx, intake.User{Name: "xa.clerk", Role: intake.RoleClerk, Office: "079-Q1"})
	if err != nil {
		t.Fatal(err)
	}
	send := func(method, path, auth, key string, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, b
	}
	tok := f.tokens["lan.clerk"]
	for _, auth := range []string{"bearer " + tok, "BEARER " + tok, "Bearer   " + tok} {
		if resp, b := send("GET", "/api/v1/applications", auth, "", nil); resp.StatusCode != 200 {
			t.Fatalf("Authorization %.12q…: %d %s", auth, resp.StatusCode, b)
		}
	}
	for _, c := range []struct {
		method, path, auth string
		want               int
	}{
		{"GET", "/api/v1/applications", "", 401},
		{"GET", "/api/v1/applications", "Basic " + tok, 401},
		{"GET", "/api/v1/applications", "Bearer cccd_forged", 401},
		{"GET", "/api/v1/nothing", "Bearer " + tok, 404},
		{"GET", "/", "", 404},
		{"DELETE", "/api/v1/applications", "Bearer " + tok, 405},
		{"PUT", "/status/HS-00000-00000", "", 405},
	} {
		resp, b := send(c.method, c.path, c.auth, "", nil)
		checkProblem(t, c.method+" "+c.path, resp, b, c.want)
		if c.want == 405 && resp.Header.Get("Allow") == "" {
			t.Fatalf("405 without Allow")
		}
	}

	// Idempotency-Key: a retry gets the first response; another body with the key gets 422.
	body, _ := json.Marshal(application(t, p))
	r1, b1 := send("POST", "/api/v1/applications", "Bearer "+tok, "k-1", body)
	r2, b2 := send("POST", "/api/v1/applications", "Bearer "+tok, "k-1", body)
	if r1.StatusCode != 201 || r2.StatusCode != 201 || !bytes.Equal(b1, b2) || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry with the same key: %d %s / %d %s", r1.StatusCode, b1, r2.StatusCode, b2)
	}
	other, _ := json.Marshal(application(t, q))
	r3, b3 := send("POST", "/api/v1/applications", "Bearer "+tok, "k-1", other)
	checkProblem(t, "same key, other body", r3, b3, 422)
	r4, b4 := send("POST", "/api/v1/applications", "Bearer "+tok, "bad key \u00e9", other)
	checkProblem(t, "bad key", r4, b4, 400)
	var n int
	f.pool.QueryRow(ctx, "SELECT count(*) FROM applications").Scan(&n)
	if n != 1 {
		t.Fatalf("%d applications after a retried submission, want 1", n)
	}

	// 409 for a citizen with an open application: its receipt to the same office, not to another.
	var first struct{ Receipt string }
	json.Unmarshal(b1, &first)
	r5, b5 := send("POST", "/api/v1/applications", "Bearer "+f.tokens["minh.clerk"], "", body)
	checkProblem(t, "duplicate, same office", r5, b5, 409)
	if !strings.Contains(string(b5), `"receipt":"`+first.Receipt+`"`) {
		t.Fatalf("409 does not name the open receipt: %s", b5)
	}
	far := application(t, p)
	far.IntakeOffice, far.Delivery.Office = "079-Q1", "079-Q1"
	fb, _ := json.Marshal(far)
	r6, b6 := send("POST", "/api/v1/applications", "Bearer "+farTok, "", fb)
	checkProblem(t, "duplicate, other office", r6, b6, 409)
	if strings.Contains(string(b6), first.Receipt) {
		t.Fatalf("409 names another office's receipt: %s", b6)
	}

	// A 100 KB bad date is echoed back as a short prefix only.
	long := withRaw(t, other, "date_of_birth", `"`+strings.Repeat("9", 100_000)+`"`)
	r7, b7 := send("POST", "/api/v1/applications", "Bearer "+tok, "", long)
	checkProblem(t, "100 KB date", r7, b7, 422)
	if !strings.Contains(string(b7), `"field":"date_of_birth"`) || strings.Count(string(b7), "9") > 64 {
		t.Fatalf("100 KB date: %s", b7)
	}

	// A delivery office that does not exist, or an intake office that is not a code: 422 naming the rule.
	for _, c := range []struct{ field, value string }{{"delivery.office", "001-HK01X7"}, {"intake_office", "HK01"}} {
		a := application(t, q)
		if c.field == "intake_office" {
			a.IntakeOffice = c.value
		} else {
			a.Delivery.Office = c.value
		}
		b, _ := json.Marshal(a)
		resp, rb := send("POST", "/api/v1/applications", "Bearer "+tok, "", b)
		checkProblem(t, c.field, resp, rb, 422)
		if !strings.Contains(string(rb), `"field":"`+c.field+`"`) {
			t.Fatalf("%s %s: %s", c.field, c.value, rb)
		}
	}
}

// TestOfficeClosed: a closed delivery office is refused with the rule named; opening it again admits it.
func TestOfficeClosed(t *testing.T) {
	ctx := context.Background()
	p := resident(t, 70, false)
	f := setup(t, p)
	admin := intake.User{Name: "an.admin", Role: intake.RoleAdmin, Office: "001-TW"}
	if _, err := f.svc.AddUser(ctx, admin); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetOffice(ctx, f.clerk, office, false); err == nil {
		t.Fatal("a clerk closed an office")
	}
	if err := f.svc.SetOffice(ctx, admin, office, false); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Submit(ctx, f.clerk, application(t, p))
	var ve issuance.ValidationError
	if !errors.As(err, &ve) || !ve.Has("delivery.office") || !strings.Contains(ve.Error(), "office is closed") {
		t.Fatalf("closed delivery office: %v", err)
	}
	if err := f.svc.SetOffice(ctx, admin, office, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Submit(ctx, f.clerk, application(t, p)); err != nil {
		t.Fatalf("reopened office: %v", err)
	}
	list, err := f.svc.Offices(ctx, admin)
	if err != nil || len(list) < 2 {
		t.Fatalf("offices: %v %v", list, err)
	}
}
