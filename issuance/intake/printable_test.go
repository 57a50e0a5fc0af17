package intake_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHTTPUnprintableName: a name intake's own rules accept (100 letters) but that cannot be
// set on the card face even on two lines at the design's smallest size is refused with 422
// naming full_name and the fitting rule, and nothing is recorded; a 100-character Vietnamese
// name is accepted.
func TestHTTPUnprintableName(t *testing.T) {
	wide, long := resident(t, 21, true), resident(t, 22, true)
	wide.FullName = strings.Repeat("MMMMMMMMM ", 10)[:99] + "M"
	long.FullName = "Đặng Thị Hồng Nhung Phương Thảo Ngọc Bích Diễm Quỳnh Hương Giang Bảo Ngọc Ánh Dương Tuyết Mai Lan Vy"
	f := setup(t, wide, long)
	srv := httptest.NewServer(f.svc.Handler(nil))
	defer srv.Close()
	before := counts(t, f)
	body, _ := json.Marshal(application(t, wide))
	code, resp := do(t, srv, "POST", "/api/v1/applications", f.tokens["lan.clerk"], body)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(resp), `"full_name"`) ||
		!strings.Contains(string(resp), "too long to print on the card face") {
		t.Fatalf("unprintable name: %d %s, want 422 naming full_name and the rule", code, resp)
	}
	if after := counts(t, f); after != before {
		t.Fatalf("a refused application changed the database: %s -> %s", before, after)
	}
	body, _ = json.Marshal(application(t, long))
	if code, resp := do(t, srv, "POST", "/api/v1/applications", f.tokens["lan.clerk"], body); code != http.StatusCreated {
		t.Fatalf("100-character name: %d %s", code, resp)
	}
}
