package console

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/portrait"
)

// testPortraitJPEG is a valid drawn portrait.
func testPortraitJPEG(t testing.TB) []byte {
	t.Helper()
	b, err := portrait.Generate(7)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// applicationValues returns the form values a clerk would submit for p unchanged.
func applicationValues(p issuance.Person) url.Values {
	v := url.Values{}
	for k, s := range personValues(p) {
		v.Set(k, s)
	}
	v.Set("reason", string(issuance.ReasonFirstIssue))
	v.Set("delivery_method", issuance.DeliveryOffice)
	v.Set("delivery_office", testOffice)
	return v
}

var receiptPath = regexp.MustCompile(`/console/clerk/receipt/(HS-[0-9A-Z]{5}-[0-9A-Z]{5})`)

// submitAs submits v with a portrait as cl and returns the receipt.
func submitAs(t testing.TB, cl *client, v url.Values, jpg []byte) string {
	t.Helper()
	code, body := cl.postMultipart("/console/clerk/new", v, map[string][]byte{"portrait": jpg})
	m := receiptPath.FindStringSubmatch(cl.location)
	if code != http.StatusSeeOther || m == nil {
		t.Fatalf("submit: %d\n%s", code, body)
	}
	return m[1]
}

func TestClerkPrefillSubmitSlip(t *testing.T) {
	p := testResident(t, 1, true)
	e := newEnv(t, Config{}, p)
	cl := e.login("lan.clerk")
	code, body := cl.get("/console/clerk/new?id=" + p.IDNumber)
	if code != http.StatusOK {
		t.Fatalf("prefill: %d %s", code, body)
	}
	for _, want := range []string{`value="Nguyễn Thị Ngọc Ánh"`, `value="15/03/1990"`, `data-register="Trần Thị Lan"`} {
		if !strings.Contains(body, want) {
			t.Errorf("pre-filled form lacks %s", want)
		}
	}
	v := applicationValues(p)
	v.Set("place_of_residence", "Số 3 Phố Tràng Tiền, Hoàn Kiếm, Hà Nội")
	receipt := submitAs(t, cl, v, testPortraitJPEG(t))
	code, body = cl.get("/console/clerk/receipt/" + receipt)
	if code != http.StatusOK || !strings.Contains(body, receipt) || !strings.Contains(body, "place_of_residence") {
		t.Fatalf("receipt page: %d\n%s", code, body)
	}
	if code, body = cl.get("/console/clerk"); !strings.Contains(body, receipt) {
		t.Fatalf("my applications today lacks %s: %d", receipt, code)
	}
	// The register's changed field is recorded by the intake service itself.
	var changed []string
	e.db.QueryRow(context.Background(), "SELECT changed_fields FROM applications WHERE receipt = $1", receipt).Scan(&changed)
	if len(changed) != 1 || changed[0] != "place_of_residence" {
		t.Fatalf("changed_fields %v", changed)
	}

	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/console/clerk/slip/"+receipt, nil)
	resp, err := cl.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pdf bytes.Buffer
	pdf.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("slip: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	text := pdfText(t, pdf.Bytes())
	for _, want := range []string{receipt, "Nguyễn Thị Ngọc Ánh", "GIẤY BIÊN NHẬN HỒ SƠ", "Cán bộ tiếp nhận", "lan.clerk"} {
		if !strings.Contains(text, want) {
			t.Errorf("slip text lacks %q:\n%s", want, text)
		}
	}
}

// pdfText extracts the text of a PDF with poppler's pdftotext, which reads back only
// what the embedded font really encodes.
func pdfText(t testing.TB, pdf []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "x.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (Debian poppler-utils): %v", err)
	}
	return string(out)
}

func TestClerkBadInput(t *testing.T) {
	p := testResident(t, 2, false)
	e := newEnv(t, Config{}, p)
	cl := e.login("lan.clerk")
	cl.get("/console/clerk/new?id=" + p.IDNumber)
	jpg := testPortraitJPEG(t)
	tests := []struct {
		name   string
		mutate func(v url.Values)
		jpg    []byte
		field  string // id of the field whose error must show
		want   string
	}{
		{"empty name", func(v url.Values) { v.Set("full_name", "") }, jpg, "full_name", "Bắt buộc"},
		{"script in a name", func(v url.Values) { v.Set("full_name", "<script>alert(1)</script>") }, jpg, "full_name", "letter"},
		{"bad date", func(v url.Values) { v.Set("date_of_birth", "31/02/1990") }, jpg, "date_of_birth", "dd/mm/yyyy"},
		{"no portrait", func(v url.Values) {}, nil, "portrait", "Bắt buộc"},
		{"not a JPEG", func(v url.Values) {}, []byte("GIF89a not a jpeg at all"), "portrait", "Ảnh không đạt"},
		{"post without address", func(v url.Values) { v.Set("delivery_method", "post") }, jpg, "delivery_address", "Bắt buộc"},
		{"bad office", func(v url.Values) { v.Set("delivery_office", "nowhere") }, jpg, "delivery_office", "office code"},
		{"unknown reason", func(v url.Values) { v.Set("reason", "because") }, jpg, "reason", "first_issue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := applicationValues(p)
			tc.mutate(v)
			files := map[string][]byte{}
			if tc.jpg != nil {
				files["portrait"] = tc.jpg
			}
			code, body := cl.postMultipart("/console/clerk/new", v, files)
			if code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422\n%s", code, body)
			}
			re := regexp.MustCompile(`id="` + tc.field + `-err"[^>]*>([^<]*)<`)
			m := re.FindStringSubmatch(body)
			if m == nil || !strings.Contains(m[1], tc.want) {
				t.Fatalf("error next to %s: %q, want %q", tc.field, m, tc.want)
			}
			if strings.Contains(body, "<script>alert") {
				t.Fatal("a field came back unescaped")
			}
		})
	}
	var n int
	e.db.QueryRow(context.Background(), "SELECT count(*) FROM applications").Scan(&n)
	if n != 0 {
		t.Fatalf("%d applications stored from bad input", n)
	}
	// A name with diacritics and "<script>" in a free-text field comes back as text.
	v := applicationValues(p)
	v.Set("identifying_features", `Nốt ruồi <script>alert("x")</script> & sẹo`)
	v.Set("full_name", "")
	_, body := cl.postMultipart("/console/clerk/new", v, map[string][]byte{"portrait": jpg})
	if !strings.Contains(body, `Nốt ruồi &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; sẹo`) {
		t.Fatalf("free text not escaped as text:\n%s", body)
	}
	// One look-up at a time: p's look-up is still open, so another number is refused
	// with the open one's last digits and a button to give it up.
	code, body := cl.get("/console/clerk/new?id=001190999999")
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "đang mở") ||
		!strings.Contains(body, "••••••••"+p.IDNumber[8:]) || !strings.Contains(body, `id="release"`) {
		t.Fatalf("look-up while another is open: %d\n%s", code, body)
	}
	if code, body := cl.postForm("/console/clerk/release", url.Values{}); code != http.StatusOK || !strings.Contains(body, "Đã huỷ tra cứu") {
		t.Fatalf("give up the open look-up: %d\n%s", code, body)
	}
	// Unknown ID numbers are refused next to the look-up field.
	for id, want := range map[string]string{"12": "12 chữ số", "001190999999": "Không có trong", "999190000001": "không hợp lệ"} {
		code, body := cl.get("/console/clerk/new?id=" + id)
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, want) {
			t.Errorf("look-up %s: %d, want 422 with %q", id, code, want)
		}
	}
}

func TestClerkPortraitCheck(t *testing.T) {
	e := newEnv(t, Config{})
	cl := e.login("lan.clerk")
	cl.get("/console/clerk")
	code, body := cl.postMultipart("/console/clerk/portrait", url.Values{}, map[string][]byte{"portrait": testPortraitJPEG(t)})
	if code != 200 || !strings.Contains(body, `"ok":true`) {
		t.Fatalf("good portrait: %d %s", code, body)
	}
	code, body = cl.postMultipart("/console/clerk/portrait", url.Values{}, map[string][]byte{"portrait": []byte{0xFF, 0xD8, 0xFF, 0xE0}})
	if code != 200 || !strings.Contains(body, `"ok":false`) {
		t.Fatalf("bad portrait: %d %s", code, body)
	}
}

// TestClerkLookupLimit: past the register's look-up limit the clerk gets the reason next
// to the ID number field, never an error page.
func TestClerkLookupLimit(t *testing.T) {
	p := testResident(t, 71, true)
	e := newEnv(t, Config{}, p)
	e.svc.Limits.LookupsPerMinute = 2
	cl := e.login("lan.clerk")
	for i := 0; i < 2; i++ {
		if code, _ := cl.get("/console/clerk/new?id=" + p.IDNumber); code != http.StatusOK {
			t.Fatalf("look-up %d: %d", i, code)
		}
	}
	code, body := cl.get("/console/clerk/new?id=" + p.IDNumber)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="id-err"`) || !strings.Contains(body, "giới hạn tra cứu") {
		t.Fatalf("third look-up: %d\n%s", code, body)
	}
}
