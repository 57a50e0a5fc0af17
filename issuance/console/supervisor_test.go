package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/issuance"
)

// submitted submits one unchanged application per resident as lan.clerk and returns the receipts.
func submitted(t testing.TB, e *testEnv, people ...issuance.Person) []string {
	t.Helper()
	cl := e.login("lan.clerk")
	cl.get("/console/clerk")
	var out []string
	for _, p := range people {
		out = append(out, submitAs(t, cl, applicationValues(p), testPortraitJPEG(t)))
	}
	return out
}

func stateOf(t testing.TB, e *testEnv, receipt string) string {
	t.Helper()
	var s string
	if err := e.db.QueryRow(context.Background(), "SELECT state FROM applications WHERE receipt = $1", receipt).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSupervisorDecisions(t *testing.T) {
	people := []issuance.Person{testResident(t, 11, true), testResident(t, 12, false), testResident(t, 13, true), testResident(t, 14, false)}
	e := newEnv(t, Config{}, people...)
	rs := submitted(t, e, people...)

	// The clerk who took them cannot approve: the route is for supervisors.
	clerk := e.login("lan.clerk")
	clerk.get("/console/clerk")
	if code, _ := clerk.postForm("/console/supervisor/"+rs[0], url.Values{"action": {"approve"}}); code != http.StatusForbidden {
		t.Fatalf("clerk approving: %d, want 403", code)
	}

	sup := e.login("hoa.sup")
	code, body := sup.get("/console/supervisor")
	for _, r := range rs {
		if !strings.Contains(body, r) {
			t.Fatalf("queue (%d) lacks %s", code, r)
		}
	}
	code, body = sup.get("/console/supervisor/" + rs[0])
	if code != 200 || !strings.Contains(body, `id="compare"`) || !strings.Contains(body, "Nguyễn Thị Ngọc Ánh") {
		t.Fatalf("review: %d", code)
	}
	if code, _ = sup.postForm("/console/supervisor/"+rs[0], url.Values{"action": {"approve"}}); code != http.StatusSeeOther {
		t.Fatalf("approve: %d", code)
	}
	sup.get("/console/supervisor/" + rs[1])
	code, body = sup.postForm("/console/supervisor/"+rs[1], url.Values{"action": {"reject"}, "reason": {"  "}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="reason-err"`) || stateOf(t, e, rs[1]) != "submitted" {
		t.Fatalf("reject without reason: %d", code)
	}
	if code, _ = sup.postForm("/console/supervisor/"+rs[1], url.Values{"action": {"reject"}, "reason": {"Ảnh không rõ mặt"}}); code != http.StatusSeeOther {
		t.Fatalf("reject: %d", code)
	}
	// Bulk: two good ones and one already decided, each with its own outcome.
	sup.get("/console/supervisor")
	code, body = sup.postForm("/console/supervisor/approve", url.Values{"receipt": {rs[2], rs[3], rs[0]}})
	if code != 200 || !strings.Contains(body, "Đã phê duyệt 2/3") || !strings.Contains(body, "không còn chờ phê duyệt") {
		t.Fatalf("bulk approve: %d\n%s", code, body)
	}
	for i, want := range []string{"approved", "rejected", "approved", "approved"} {
		if got := stateOf(t, e, rs[i]); got != want {
			t.Errorf("%s is %s, want %s", rs[i], got, want)
		}
	}
	// A supervisor of another office sees none of them and cannot decide.
	other := e.login("tuan.sup")
	if _, body = other.get("/console/supervisor"); strings.Contains(body, rs[2]) {
		t.Fatal("another office's queue shows this office's application")
	}
	if code, _ = other.get("/console/supervisor/" + rs[2]); code != http.StatusNotFound {
		t.Fatalf("review from another office: %d, want 404", code)
	}
}

func TestSupervisorOwnIntake(t *testing.T) {
	p := testResident(t, 21, true)
	e := newEnv(t, Config{}, p)
	rs := submitted(t, e, p)
	// The clerk is promoted to supervisor: still never their own intake (dual control in intake.Decide).
	if _, err := e.db.Exec(context.Background(), "UPDATE users SET role = 'supervisor' WHERE name = 'lan.clerk'"); err != nil {
		t.Fatal(err)
	}
	cl := e.login("lan.clerk")
	_, body := cl.get("/console/supervisor")
	if !strings.Contains(body, `value="`+rs[0]+`" aria-label="Chọn `+rs[0]+`" disabled`) {
		t.Fatal("own intake selectable in the queue")
	}
	cl.get("/console/supervisor/" + rs[0])
	code, body := cl.postForm("/console/supervisor/"+rs[0], url.Values{"action": {"approve"}})
	if code != http.StatusForbidden || !strings.Contains(body, "dual control") || stateOf(t, e, rs[0]) != "submitted" {
		t.Fatalf("own approval: %d", code)
	}
	code, body = cl.postForm("/console/supervisor/approve", url.Values{"receipt": {rs[0]}})
	if !strings.Contains(body, "Đã phê duyệt 0/1") || stateOf(t, e, rs[0]) != "submitted" {
		t.Fatalf("own bulk approval: %d", code)
	}
}
