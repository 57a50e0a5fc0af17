package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestPublicStatus(t *testing.T) {
	p := testResident(t, 61, true)
	e := newEnv(t, Config{}, p)
	rs := submitted(t, e, p)
	anon := e.client()
	code, body := anon.get("/console/status?receipt=" + strings.ToLower(rs[0]))
	if code != http.StatusOK || !strings.Contains(body, `data-state="submitted"`) || !strings.Contains(body, "Đã tiếp nhận hồ sơ") {
		t.Fatalf("status: %d", code)
	}
	for _, personal := range []string{p.FullName, p.IDNumber, "lan.clerk", p.PlaceOfResidence} {
		if strings.Contains(body, personal) {
			t.Errorf("public status page shows %q", personal)
		}
	}
	for q, want := range map[string]int{"HS-1": 422, "<script>x</script>": 422, "HS-ZZZZZ-ZZZZZ": 404} {
		code, body := anon.get("/console/status?receipt=" + url.QueryEscape(q))
		if code != want || !strings.Contains(body, `id="receipt-err"`) || strings.Contains(body, "<script>x") {
			t.Errorf("receipt %q: %d, want %d with the error next to the field", q, code, want)
		}
	}
}

func TestPublicAccessList(t *testing.T) {
	p := testResident(t, 62, false)
	e := newEnv(t, Config{}, p)
	rs := submitted(t, e, p)
	sup := e.login("hoa.sup")
	sup.get("/console/supervisor/" + rs[0]) // a recorded read by the supervisor

	anon := e.client()
	anon.get("/console/status")
	dob := p.DateOfBirth.DDMMYYYY()
	tests := []struct {
		name    string
		receipt string
		dob     string
		code    int
		field   string
	}{
		{"bad receipt", "HS-1", dob, 422, "access_receipt"},
		{"bad date", rs[0], "1990-03-15", 422, "date_of_birth"},
		{"unreal date", rs[0], "31/02/1990", 422, "date_of_birth"},
		{"wrong date", rs[0], "16/03/1990", 422, "date_of_birth"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := anon.postForm("/console/status/access", url.Values{"receipt": {tc.receipt}, "date_of_birth": {tc.dob}})
			if code != tc.code || !strings.Contains(body, `id="`+tc.field+`-err"`) || strings.Contains(body, `id="accesses"`) {
				t.Fatalf("%d, want %d with an error next to %s", code, tc.code, tc.field)
			}
		})
	}
	code, body := anon.postForm("/console/status/access", url.Values{"receipt": {rs[0]}, "date_of_birth": {dob}})
	if code != http.StatusOK || !strings.Contains(body, `id="accesses"`) || !strings.Contains(body, "hoa.sup") ||
		!strings.Contains(body, "Phê duyệt hồ sơ") {
		t.Fatalf("access list: %d\n%s", code, body)
	}
	// Without the form's token (another site posting the form) it is refused.
	code, _ = e.client().postForm("/console/status/access", url.Values{"receipt": {rs[0]}, "date_of_birth": {dob}})
	if code != http.StatusForbidden {
		t.Fatalf("without token: %d", code)
	}
}
