package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestPrintRoomScreen: the print room refuses bad input next to its field and changes
// nothing, takes a printer down and up as `cccd print down/up` does, refuses a reprint
// of a card that does not exist yet without a server error, and is closed to verifiers.
func TestPrintRoomScreen(t *testing.T) {
	e := newEnv(t, Config{})
	seedApproved(t, e, 1, testOffice)
	op := e.login("an.operator")
	if code, body := op.get("/console/print"); code != http.StatusOK || !strings.Contains(body, "Phòng in") {
		t.Fatalf("print room: %d\n%s", code, body)
	}
	bad := []struct {
		name, path string
		form       url.Values
		code       int
		says       string
	}{
		{"reprint without a reason", "/console/print/reprint", url.Values{"receipt": {"HS-OP-1"}}, 422, "Nhập lý do in lại"},
		{"reprint of an unknown receipt", "/console/print/reprint", url.Values{"receipt": {"<b>HS</b>"}, "reprint_reason": {"mờ"}}, 422, "Không có hồ sơ"},
		{"reprint with a control character in the reason", "/console/print/reprint", url.Values{"receipt": {"HS-OP-1"}, "reprint_reason": {"mờ\x1b[2J"}}, 422, "Lý do không hợp lệ"},
		{"reprint of a card not made yet", "/console/print/reprint", url.Values{"receipt": {"HS-OP-1"}, "reprint_reason": {"mờ"}}, 409, "no good card"},
		{"printer down without a reason", "/console/print/down", url.Values{"printer": {"P1"}, "reason": {" "}, "general": {"1"}}, 422, "Nhập lý do máy in ngừng"},
		{"printer down with a bad name", "/console/print/down", url.Values{"printer": {"P <1>"}, "reason": {"kẹt"}, "general": {"1"}}, 422, "Tên máy in không hợp lệ"},
		{"up of a printer that works", "/console/print/printers/P1/up", url.Values{}, 409, "not down"},
		{"dispatch with nothing ready", "/console/print/dispatch", url.Values{"office": {testOffice}}, 422, "Không có thẻ nào đã qua kiểm tra"},
		{"retry of job x", "/console/print/jobs/x/retry", url.Values{}, 422, "Số lệnh in không hợp lệ"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			code, body := op.postForm(tc.path, tc.form)
			if code != tc.code || !strings.Contains(body, tc.says) {
				t.Fatalf("status %d, want %d saying %q\n%s", code, tc.code, tc.says, body)
			}
			if strings.Contains(body, "<b>HS</b>") {
				t.Fatal("input echoed unescaped")
			}
			if n := e.scalar("SELECT (SELECT count(*) FROM printer_holds) + (SELECT count(*) FROM cards) + (SELECT count(*) FROM shipments)"); n != "0" {
				t.Fatalf("bad input changed %s rows", n)
			}
			if st := e.scalar("SELECT state FROM applications"); st != "approved" {
				t.Fatalf("application %s", st)
			}
		})
	}
	if code, _ := op.postForm("/console/print/printers/P1/down", url.Values{"reason": {"hết mực <ribbon>"}}); code != http.StatusSeeOther {
		t.Fatalf("down: %d", code)
	}
	code, body := op.get("/console/print")
	if code != http.StatusOK || !strings.Contains(body, "hết mực &lt;ribbon&gt;") || !strings.Contains(body, `action="/console/print/printers/P1/up"`) {
		t.Fatalf("held printer not shown: %d\n%s", code, body)
	}
	if code, _ := op.postForm("/console/print/printers/P1/up", url.Values{}); code != http.StatusSeeOther || e.scalar("SELECT count(*)::text FROM printer_holds") != "0" {
		t.Fatalf("up: %d", code)
	}
	if code, _ := op.get("/console/print/jobs/999/face.png"); code != http.StatusNotFound {
		t.Fatalf("face of a missing job: %d", code)
	}
	if code, _ := op.get("/console/print/qc?batch=-3"); code != http.StatusUnprocessableEntity {
		t.Fatalf("qc of batch -3: %d", code)
	}
	sup := e.login("hoa.sup")
	if code, body := sup.get("/console/print"); code != http.StatusOK || strings.Contains(body, `action="/console/print/reprint"`) {
		t.Fatalf("supervisor: %d, offered a reprint", code)
	}
	if code, _ := sup.postForm("/console/print/printers/P1/down", url.Values{"reason": {"x"}}); code != http.StatusForbidden {
		t.Fatalf("supervisor takes a printer down: %d", code)
	}
	if code, _ := e.login("binh.verifier").get("/console/print"); code != http.StatusForbidden {
		t.Fatalf("verifier opens the print room: %d", code)
	}
}
