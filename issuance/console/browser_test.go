package console

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/console/browsertest"
)

// The browser steps below are shared by every browser test of the console (the
// production line's too): each drives the screens as a person would and fails the test
// with a screenshot when a screen does not answer as it should.

// browserLogin logs user in through the login form.
func browserLogin(t testing.TB, b *browsertest.Browser, base, user string) {
	t.Helper()
	b.Go(base + "/console/login")
	if b.Has("form[action='/console/logout'] button") {
		b.Find("form[action='/console/logout'] button").Click()
		b.Find("#user")
	}
	b.Find("#user").Fill(user)
	b.Find("#password").Fill(testPassword)
	b.Find("button[type=submit]").Click()
	b.Find("form[action='/console/logout']")
}

// browserLogout ends the session through the navigation bar's button.
func browserLogout(t testing.TB, b *browsertest.Browser) {
	t.Helper()
	b.Find("form[action='/console/logout'] button").Click()
	b.Find("#user")
}

// browserSubmit takes p's application as the logged-in clerk: looks the ID number up,
// checks the pre-filled form, changes the place of residence (the field must turn
// yellow), uploads a portrait (the structural check's verdict must say it passes),
// submits, and fetches the receipt slip. It returns the receipt number.
func browserSubmit(t testing.TB, b *browsertest.Browser, base string, p issuance.Person, shots bool) string {
	t.Helper()
	b.Go(base + "/console/clerk")
	b.Find("#id").Fill(p.IDNumber)
	if shots {
		b.Shot("clerk-lookup")
	}
	b.Find("button[accesskey=l]").Click()
	if got := b.Find("#f-full_name").Prop("value"); got != p.FullName {
		t.Fatalf("pre-filled name %q, want %q", got, p.FullName)
	}
	b.Find("#f-place_of_residence").Fill("Số 3 Phố Tràng Tiền, Phường Tràng Tiền, Hoàn Kiếm, Hà Nội")
	changed := b.Script(`return document.getElementById("f-place_of_residence").closest(".field").classList.contains("changed")`)
	if changed != true {
		t.Fatal("changed field not highlighted")
	}
	jpg := filepath.Join(t.TempDir(), "portrait.jpg")
	if err := os.WriteFile(jpg, testPortraitJPEG(t), 0o600); err != nil {
		t.Fatal(err)
	}
	b.Find("#f-portrait").Type(jpg)
	b.WaitText("#portrait-verdict", "Ảnh đạt kiểm tra cấu trúc")
	if shots {
		b.Shot("clerk-form")
	}
	b.Find("#submit").Click()
	receipt := b.Find("#receipt").Text()
	if !receiptPattern.MatchString(receipt) {
		t.Fatalf("receipt %q", receipt)
	}
	if shots {
		b.Shot("clerk-receipt")
	}
	// The slip, fetched as the browser would with the session's cookie.
	res := b.Script(`const x = new XMLHttpRequest(); x.open("GET", arguments[0], false); x.send();
		return [x.status, x.getResponseHeader("Content-Type")];`, "/console/clerk/slip/"+receipt)
	if r, ok := res.([]any); !ok || len(r) != 2 || r[0] != float64(200) || r[1] != "application/pdf" {
		t.Fatalf("slip: %v", res)
	}
	return receipt
}

// browserApprove approves receipt as the logged-in supervisor from the review screen.
func browserApprove(t testing.TB, b *browsertest.Browser, base, receipt string, shots bool) {
	t.Helper()
	b.Go(base + "/console/supervisor")
	b.Find(`a[href="/console/supervisor/` + receipt + `"]`).Click()
	b.Find("#compare tr.changed")
	if shots {
		b.Shot("supervisor-review")
	}
	b.Find("#approve").Click()
	b.WaitText(".flash", receipt)
}

// saveSlipPNG renders a receipt slip to PNG beside the screenshots (poppler's pdftoppm).
func saveSlipPNG(t testing.TB, e *testEnv, receipt, shot string) {
	t.Helper()
	d, err := e.svc.Show(t.Context(), testUsers[0], receipt)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(t.TempDir(), "slip-*.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if err := writeSlip(f, d, "https://cccd.example.vn"+"/console/status?receipt="+receipt); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := strings.TrimSuffix(shot, ".png")
	if err := exec.Command("pdftoppm", "-png", "-r", "80", "-singlefile", f.Name(), out).Run(); err != nil {
		t.Fatalf("pdftoppm (Debian poppler-utils): %v", err)
	}
}

func TestBrowserClerkSupervisorAdminPublic(t *testing.T) {
	p, q, r := testResident(t, 31, true), testResident(t, 32, false), testResident(t, 33, true)
	e := newEnv(t, Config{}, p, q, r)
	withPKI(t, e)
	b := browsertest.Start(t)
	base := e.srv.URL

	b.Go(base + "/console/")
	b.Find("#user")
	b.Shot("login")

	browserLogin(t, b, base, "lan.clerk")
	receipt := browserSubmit(t, b, base, p, true)
	saveSlipPNG(t, e, receipt, filepath.Join(filepath.Dir(b.Shot("clerk-today")), "clerk-slip.png"))

	// One look-up at a time: with q's look-up open, r's is refused with q's last digits
	// and a button that gives q's up; then r may be looked up.
	b.Go(base + "/console/clerk")
	b.Find("#id").Fill(q.IDNumber)
	b.Find("button[accesskey=l]").Click()
	b.Find("#f-full_name")
	b.Go(base + "/console/clerk")
	b.Find("#id").Fill(r.IDNumber)
	b.Find("button[accesskey=l]").Click()
	b.WaitText("#id-err", "••••••••"+q.IDNumber[8:])
	b.Shot("clerk-one-look-up-at-a-time")
	b.Find("#release").Click()
	b.WaitText(".flash", "Đã huỷ tra cứu")
	b.Find("#id").Fill(r.IDNumber)
	b.Find("button[accesskey=l]").Click()
	if got := b.Find("#f-full_name").Prop("value"); got != r.FullName {
		t.Fatalf("after giving q up, r's form: name %q, want %q", got, r.FullName)
	}
	b.Find("#release").Click()
	b.WaitText(".flash", "Đã huỷ tra cứu")

	// The clerk has no approval screen: not in the navigation bar, and refused when typed.
	if b.Has(`a[href="/console/supervisor"]`) {
		t.Fatal("clerk sees the approval screen in the navigation bar")
	}
	b.Go(base + "/console/supervisor/" + receipt)
	b.WaitText("h1", "Không được phép")
	if b.Has("#approve") {
		t.Fatal("clerk was offered an approve button")
	}
	b.Shot("clerk-cannot-approve")
	browserLogout(t, b)

	browserLogin(t, b, base, "hoa.sup")
	b.Find("#queue")
	b.Shot("supervisor-queue")
	browserApprove(t, b, base, receipt, true)
	if s := stateOf(t, e, receipt); s != "approved" {
		t.Fatalf("after approval: %s", s)
	}
	b.Shot("supervisor-approved")
	browserLogout(t, b)

	browserLogin(t, b, base, "chi.admin")
	b.Go(base + "/console/admin/users")
	b.WaitText("#users", "lan.clerk")
	b.Shot("admin-users")
	b.Go(base + "/console/admin/audit")
	b.Find("#verify").Click()
	b.WaitText("#audit-verify", "nguyên vẹn")
	b.WaitText("#audit", "application.submitted")
	b.Shot("admin-audit")
	b.Go(base + "/console/admin/pki")
	b.Find("#pki")
	b.Shot("admin-pki")
	browserLogout(t, b)

	// The public page needs no login and shows no personal data.
	b.Go(base + "/console/status")
	b.Find("#receipt").Fill(receipt)
	b.Find("button[type=submit]").Click()
	b.WaitText("#status-state", "Đã phê duyệt")
	if body := b.Find("main").Text(); strings.Contains(body, p.FullName) || strings.Contains(body, p.IDNumber) {
		t.Fatal("the public status page shows personal data")
	}
	b.Shot("public-status")
}
