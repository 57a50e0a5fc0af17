package problem

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// decoded is a problem body as a client reads it.
type decoded struct {
	Type, Title, Detail, Instance string
	Status                        int
	RequestID                     string `json:"request_id"`
	Fields                        []Field
}

func decode(t testing.TB, rec *httptest.ResponseRecorder) decoded {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != ContentType {
		t.Fatalf("Content-Type %q, want %q", ct, ContentType)
	}
	var d decoded
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("body is not problem details: %v", err)
	}
	if d.Status != rec.Code || d.Type != "about:blank" || d.Title != http.StatusText(rec.Code) || d.Fields == nil {
		t.Fatalf("problem %+v does not match status %d", d, rec.Code)
	}
	return d
}

func TestWrite(t *testing.T) {
	hostile := strings.Repeat("9", 100_000) + "\u202e\x00\x1b[31m"
	cases := []struct {
		name   string
		status int
		detail string
		fields []Field
		want   decoded
	}{
		{"fields", 422, "application is invalid", []Field{{"date_of_birth", "in the future"}},
			decoded{Detail: "application is invalid", Fields: []Field{{"date_of_birth", "in the future"}}}},
		{"no fields", 404, "no such application", nil, decoded{Detail: "no such application", Fields: []Field{}}},
		{"5xx hides detail", 500, "dial tcp 10.0.0.1:5432: *pgconn.PgError", []Field{{"x", "y"}},
			decoded{Detail: "internal error", Fields: []Field{}}},
		{"not an error status", 200, "ok", nil, decoded{Detail: "internal error", Fields: []Field{}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, nil, c.status, c.detail, c.fields...)
			got := decode(t, rec)
			if got.Detail != c.want.Detail || len(got.Fields) != len(c.want.Fields) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
	t.Run("echo cut", func(t *testing.T) {
		rec := httptest.NewRecorder()
		Write(rec, nil, 400, "bad date "+hostile, Field{"date_of_birth", "invalid " + Quote(hostile)})
		got := decode(t, rec)
		if len(got.Detail) > MaxDetail || len(got.Fields[0].Rule) > MaxRule {
			t.Fatalf("echo not cut: detail %d bytes, rule %d bytes", len(got.Detail), len(got.Fields[0].Rule))
		}
		if strings.ContainsAny(got.Detail+got.Fields[0].Rule, "\u202e\x00\x1b") {
			t.Fatalf("control or bidi character echoed: %q", got.Detail)
		}
	})
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"2026-02-30":            `"2026-02-30"`,
		"a\x00b\u202ec":         `"a\u0000b\u202ec"`,
		"\xff\xfe":              `"\xff\xfe"`,
		strings.Repeat("ế", 40): `"` + strings.Repeat("ế", 32) + `"…`,
		"say \"hi\" \\":         `"say \"hi\" \\"`,
		"zero\u200bwidth":       `"zero\u200bwidth"`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestHandlerRouterErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	var logs bytes.Buffer
	h := Handler(slog.New(slog.NewJSONHandler(&logs, nil)), mux)
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/nothing", 404, ""},
		{"GET", "/things/%00", 200, ""},
		{"DELETE", "/things/1", 405, "GET, HEAD"},
		{"GET", "/things/1", 200, ""},
	} {
		req := httptest.NewRequest(c.method, c.path, nil)
		req.Header.Set("X-Request-Id", "bad id with spaces")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Fatalf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.status)
		}
		id := rec.Header().Get("X-Request-Id")
		if !validRequestID(id) || strings.Contains(id, " ") {
			t.Fatalf("%s %s: request ID %q", c.method, c.path, id)
		}
		if c.status < 400 {
			continue
		}
		d := decode(t, rec)
		if d.RequestID != id || len(d.Fields) == 0 {
			t.Fatalf("%s %s: %+v", c.method, c.path, d)
		}
		if rec.Header().Get("Allow") != c.allow {
			t.Fatalf("%s %s: Allow %q, want %q", c.method, c.path, rec.Header().Get("Allow"), c.allow)
		}
	}
	if strings.Contains(logs.String(), "%00") || strings.Contains(logs.String(), "/nothing") {
		t.Fatalf("raw path logged: %s", logs.String())
	}
	if n := strings.Count(logs.String(), `"msg":"http request"`); n != 4 {
		t.Fatalf("%d request log lines, want 4:\n%s", n, logs.String())
	}
}

func TestHandlerPanic(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(http.ResponseWriter, *http.Request) { panic("boom") })
	rec := httptest.NewRecorder()
	Handler(slog.New(slog.DiscardHandler), mux).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || decode(t, rec).Detail != "internal error" {
		t.Fatalf("panic: %d %s", rec.Code, rec.Body)
	}
}

// FuzzWrite: whatever a handler passes, the body is valid problem details JSON with the
// status, cut and cleaned text, and no control or bidi character.
func FuzzWrite(f *testing.F) {
	f.Add(422, "application is invalid", "date_of_birth", "in the future")
	f.Add(400, "\xff\xfe\x00", "\u202e", strings.Repeat("x", 1000))
	f.Add(500, "pq: SQLSTATE 22021", "a", "b")
	f.Add(99, "", "", "")
	f.Fuzz(func(t *testing.T, status int, detail, field, rule string) {
		rec := httptest.NewRecorder()
		Write(rec, nil, status, detail, Field{field, rule})
		d := decode(t, rec)
		if rec.Code < 400 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
		for _, s := range []string{d.Detail, d.Title} {
			if !utf8.ValidString(s) || len(s) > MaxDetail || strings.ContainsAny(s, "\x00\x1b\u202e\u200b") {
				t.Fatalf("unsafe text %q", s)
			}
		}
		for _, fl := range d.Fields {
			if !utf8.ValidString(fl.Rule) || len(fl.Rule) > MaxRule || strings.ContainsAny(fl.Rule+fl.Field, "\x00\x1b\u202e\u200b") {
				t.Fatalf("unsafe field %+v", fl)
			}
		}
		if got := Quote(detail); !utf8.ValidString(got) || strings.ContainsAny(got, "\x00\x1b\u202e\u200b") {
			t.Fatalf("Quote(%q) = %q", detail, got)
		}
	})
}
