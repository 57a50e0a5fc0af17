package intake_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func counts(t *testing.T, f *fixture) string {
	t.Helper()
	var apps, events, audit, outbox, residents int
	err := f.pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM applications), (SELECT count(*) FROM application_events),
		(SELECT count(*) FROM audit_log), (SELECT count(*) FROM outbox), (SELECT count(*) FROM residents)`).
		Scan(&apps, &events, &audit, &outbox, &residents)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("applications=%d events=%d audit=%d outbox=%d residents=%d", apps, events, audit, outbox, residents)
}

func do(t *testing.T, srv *httptest.Server, method, path, token string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestHTTPSubmitAndDecide(t *testing.T) {
	p := resident(t, 11, true)
	f := setup(t, p)
	srv := httptest.NewServer(f.svc.Handler(nil))
	defer srv.Close()
	body, _ := json.Marshal(application(t, p))
	code, resp := do(t, srv, "POST", "/api/v1/applications", f.tokens["lan.clerk"], body)
	if code != http.StatusCreated {
		t.Fatalf("submit: %d %s", code, resp)
	}
	var sub struct{ Receipt string }
	json.Unmarshal(resp, &sub)
	if code, resp := do(t, srv, "POST", "/api/v1/applications/"+sub.Receipt+"/approve", f.tokens["lan.clerk"], nil); code != http.StatusForbidden {
		t.Fatalf("clerk approving: %d %s", code, resp)
	}
	if code, resp := do(t, srv, "POST", "/api/v1/applications/"+sub.Receipt+"/approve", f.tokens["hoa.sup"], nil); code != http.StatusOK {
		t.Fatalf("approve: %d %s", code, resp)
	}
	if code, _ := do(t, srv, "POST", "/api/v1/applications", f.tokens["minh.clerk"], body); code != http.StatusConflict {
		t.Fatalf("duplicate application: %d, want 409", code)
	}
	if code, resp := do(t, srv, "GET", "/status/"+sub.Receipt, "", nil); code != http.StatusOK || !strings.Contains(string(resp), `"approved"`) {
		t.Fatalf("public status: %d %s", code, resp)
	}
	if code, resp := do(t, srv, "GET", "/api/v1/register/"+p.IDNumber, f.tokens["lan.clerk"], nil); code != http.StatusOK || !strings.Contains(string(resp), "Ngọc Ánh") {
		t.Fatalf("register pre-fill: %d %s", code, resp)
	}
}

// TestHTTPMalformedPayloads sends thousands of malformed and random requests: none may
// get a 5xx, every refusal must name what is wrong, and the database must not change.
func TestHTTPMalformedPayloads(t *testing.T) {
	p := resident(t, 12, false)
	f := setup(t, p)
	srv := httptest.NewServer(f.svc.Handler(nil))
	defer srv.Close()
	tok := f.tokens["lan.clerk"]
	// The citizen already has an open application, so a payload that is still valid
	// after damage gets 409 and nothing can change the database.
	gb, _ := json.Marshal(application(t, p))
	if code, resp := do(t, srv, "POST", "/api/v1/applications", tok, gb); code != http.StatusCreated {
		t.Fatalf("submit: %d %s", code, resp)
	}
	before := counts(t, f)

	good := map[string]any{}
	json.Unmarshal(gb, &good)
	mutate := func(key string, v any) []byte {
		m := map[string]any{}
		for k, x := range good {
			m[k] = x
		}
		if v == nil {
			delete(m, key)
		} else {
			m[key] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	var payloads [][]byte
	hostile := []any{
		42, -1, 3.5, true, false, []any{}, []any{1, 2}, map[string]any{}, "", " ",
		strings.Repeat("A", 300_000), strings.Repeat("Ư", 5000), "'; DROP TABLE applications; --",
		"\" OR 1=1 --", "Robert'); DELETE FROM audit_log;--", "\x00", "\u202e\u0000", "<script>alert(1)</script>",
		"0000-00-00", "2026-02-30", "9999-99-99", "1800-01-01", "2999-01-01", "001090000001", "abc",
		base64.StdEncoding.EncodeToString([]byte("GIF89a not a jpeg")),
		base64.StdEncoding.EncodeToString(append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, 200_000)...)),
		base64.StdEncoding.EncodeToString([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10}),
		"!!!not base64!!!",
	}
	for key := range good {
		for _, v := range hostile {
			payloads = append(payloads, mutate(key, v))
		}
		payloads = append(payloads, mutate(key, nil))
	}
	rnd := rand.New(rand.NewSource(1))
	for i := 0; i < 1500; i++ {
		b := make([]byte, rnd.Intn(400))
		rnd.Read(b)
		payloads = append(payloads, b)
		// Random damage to a valid document: flip, cut or duplicate a stretch.
		d := bytes.Clone(gb)
		switch i % 4 {
		case 0:
			d[rnd.Intn(len(d))] ^= byte(1 + rnd.Intn(255))
		case 1:
			d = d[:rnd.Intn(len(d))]
		case 2:
			at := rnd.Intn(len(d))
			d = append(d[:at:at], append([]byte{0xC3, 0x28}, d[at:]...)...) // invalid UTF-8
		case 3:
			d = append(d, d...)
		}
		payloads = append(payloads, d)
	}
	payloads = append(payloads, []byte("null"), []byte("[]"), []byte(`{"id_number": {"$gt": ""}}`),
		bytes.Repeat([]byte("["), 100_000), bytes.Repeat([]byte("x"), 1<<20), []byte(`{"full_name":"a","full_name":"b"}`))

	if len(payloads) < 2000 {
		t.Fatalf("only %d payloads", len(payloads))
	}
	for i, body := range payloads {
		code, resp := do(t, srv, "POST", "/api/v1/applications", tok, body)
		if code >= 500 || code < 400 {
			t.Fatalf("payload %d: status %d %s; body %.300q", i, code, resp, body)
		}
		var e struct {
			Title  string
			Status int
			Fields []struct{ Field, Rule string }
		}
		if json.Unmarshal(resp, &e) != nil || e.Title == "" || e.Status != code || len(e.Fields) == 0 {
			t.Fatalf("payload %d: status %d without problem details naming a field: %s", i, code, resp)
		}
	}
	// Bad tokens, methods and paths.
	for _, c := range []struct{ method, path, token string }{
		{"POST", "/api/v1/applications", ""}, {"POST", "/api/v1/applications", "cccd_forged"},
		{"GET", "/api/v1/applications?limit=-5", tok}, {"GET", "/api/v1/applications?state=nonsense", tok},
		{"POST", "/api/v1/applications/HS-XXXXX-XXXXX/approve", f.tokens["hoa.sup"]},
		{"POST", "/api/v1/applications/HS-XXXXX-XXXXX/reject", f.tokens["hoa.sup"]},
		{"GET", "/api/v1/register/12345", tok}, {"GET", "/api/v1/register/999090000001", tok},
		{"GET", "/status/%27%20OR%201=1", ""}, {"DELETE", "/api/v1/applications", tok},
	} {
		code, resp := do(t, srv, c.method, c.path, c.token, []byte("{"))
		if code < 400 || code >= 500 {
			t.Errorf("%s %s: status %d %s", c.method, c.path, code, resp)
		}
	}
	if after := counts(t, f); after != before {
		t.Fatalf("database changed: before %s, after %s", before, after)
	}
}
