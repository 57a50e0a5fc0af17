package console

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance/broker"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/workflow"
)

// seedApproved inserts n approved applications of lan.clerk, to be delivered at office.
func seedApproved(t *testing.T, e *testEnv, n int, office string) {
	t.Helper()
	if _, err := e.db.Exec(context.Background(), `INSERT INTO applications (receipt, id_number, state, person, portrait, reason,
		intake_office, delivery, clerk)
		SELECT 'HS-OP-' || g, lpad(g::text, 12, '0'), 'approved', '{}', '\xffd8', 'first_issue', $2,
		jsonb_build_object('method', 'office', 'office', $2::text), 'lan.clerk' FROM generate_series(1, $1) g`, n, office); err != nil {
		t.Fatal(err)
	}
}

func (e *testEnv) scalar(q string, args ...any) string {
	e.t.Helper()
	var s string
	if err := e.db.QueryRow(context.Background(), q, args...).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// TestOperatorScreen: batches are created, started and refused as `cccd batch` does,
// bad input is named next to its field and changes nothing, dead letters are retried
// or rejected with a reason, and only production roles act.
func TestOperatorScreen(t *testing.T) {
	e := newEnv(t, Config{})
	seedApproved(t, e, 3, testOffice)
	op := e.login("an.operator")

	if code, body := op.get("/console/operator"); code != http.StatusOK || !strings.Contains(body, "Lô sản xuất") {
		t.Fatalf("operator screen: %d\n%s", code, body)
	}
	bad := []struct {
		name  string
		form  url.Values
		field string
	}{
		{"line with a space", url.Values{"line": {"L 1"}}, "Dây chuyền"},
		{"no line", url.Values{"line": {""}}, "Dây chuyền"},
		{"max not a number", url.Values{"line": {"L1"}, "max": {"nhiều"}}, "Số hồ sơ tối đa"},
		{"no approved applications there", url.Values{"line": {"L1"}, "office": {"079-Q1"}}, "Không có hồ sơ đã duyệt"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			code, body := op.postForm("/console/operator/batches", tc.form)
			if code != http.StatusUnprocessableEntity || !strings.Contains(body, `class="field-error"`) || !strings.Contains(body, tc.field) {
				t.Fatalf("status %d, want 422 naming %q\n%s", code, tc.field, body)
			}
			if n := e.scalar("SELECT count(*)::text FROM batches"); n != "0" {
				t.Fatalf("%s batches after bad input", n)
			}
		})
	}
	code, body := op.postForm("/console/operator/batches", url.Values{"line": {"L1"}})
	if code != http.StatusOK || !strings.Contains(body, "Đã tạo lô") {
		t.Fatalf("create: %d\n%s", code, body)
	}
	id := e.scalar("SELECT id::text FROM batches")
	if !strings.Contains(body, `id="start-`+id+`"`) {
		t.Fatalf("no start button for batch %s\n%s", id, body)
	}
	if code, _ := op.postForm("/console/operator/batches/"+id+"/start", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("start: %d", code)
	}
	if st := e.scalar("SELECT state FROM batches"); st != "running" {
		t.Fatalf("batch %s after start", st)
	}
	if code, body := op.postForm("/console/operator/batches/"+id+"/start", url.Values{}); code != http.StatusConflict ||
		!strings.Contains(body, "start needs created") {
		t.Fatalf("second start: %d\n%s", code, body)
	}
	if code, _ := op.postForm("/console/operator/batches/x1/pause", url.Values{}); code != http.StatusUnprocessableEntity {
		t.Fatalf("pause of batch x1: %d", code)
	}
	if code, _ := op.postForm("/console/operator/batches/"+id+"/pause", url.Values{}); code != http.StatusSeeOther ||
		e.scalar("SELECT state FROM batches") != "paused" {
		t.Fatalf("pause: %d", code)
	}
	if code, _ := op.postForm("/console/operator/batches/"+id+"/pause", url.Values{"csrf": {"forged"}}); code != http.StatusForbidden {
		t.Fatalf("POST with a wrong CSRF token: %d", code)
	}

	t.Run("dead letters", func(t *testing.T) {
		if _, err := e.db.Exec(context.Background(), `INSERT INTO dead_letters (consumer, subject, msg_id, payload, deliveries, error)
			VALUES ('stage-print', 'cccd.app.personalized', 'm1', '{"application_id": 1}', 5, 'printer <b>on fire</b>')`); err != nil {
			t.Fatal(err)
		}
		dl := e.scalar("SELECT id::text FROM dead_letters")
		code, body := op.get("/console/operator")
		if code != http.StatusOK || !strings.Contains(body, "printer &lt;b&gt;on fire&lt;/b&gt;") {
			t.Fatalf("dead letter not shown escaped: %d\n%s", code, body)
		}
		if code, body := op.postForm("/console/operator/dead/"+dl+"/reject", url.Values{"reason": {"  "}}); code != http.StatusUnprocessableEntity ||
			!strings.Contains(body, "Nhập lý do") || e.scalar("SELECT state FROM dead_letters") != "dead" {
			t.Fatalf("reject without a reason: %d\n%s", code, body)
		}
		if code, body := op.postForm("/console/operator/dead/"+dl+"/reject", url.Values{"reason": {"thẻ\u202e đã hủy"}}); code != http.StatusUnprocessableEntity ||
			!strings.Contains(body, "Lý do không hợp lệ") || e.scalar("SELECT state FROM dead_letters") != "dead" {
			t.Fatalf("reject with a bidi override in the reason: %d\n%s", code, body)
		}
		if code, _ := op.postForm("/console/operator/dead/"+dl+"/reject", url.Values{"reason": {"thẻ đã hủy <tay>"}}); code != http.StatusSeeOther {
			t.Fatalf("reject: %d", code)
		}
		if st := e.scalar("SELECT state || ' ' || resolved_by FROM dead_letters"); st != "rejected an.operator" {
			t.Fatalf("dead letter %s", st)
		}
		if code, _ := op.postForm("/console/operator/dead/"+dl+"/retry", url.Values{}); code != http.StatusConflict {
			t.Fatalf("retry of a rejected dead letter: %d", code)
		}
	})

	t.Run("roles", func(t *testing.T) {
		sup := e.login("hoa.sup")
		code, body := sup.get("/console/operator")
		if code != http.StatusOK || strings.Contains(body, `action="/console/operator/batches"`) || strings.Contains(body, "dead-") {
			t.Fatalf("supervisor: %d, sees the actions\n%s", code, body)
		}
		if code, _ := sup.postForm("/console/operator/batches/"+id+"/resume", url.Values{}); code != http.StatusForbidden {
			t.Fatalf("supervisor resumes a batch: %d", code)
		}
		ver := e.login("binh.verifier")
		if code, _ := ver.get("/console/operator"); code != http.StatusForbidden {
			t.Fatalf("verifier opens the operator screen: %d", code)
		}
		if st := e.scalar("SELECT state FROM batches"); st != "paused" {
			t.Fatalf("batch %s after refused requests", st)
		}
	})

	t.Run("reconcile", func(t *testing.T) {
		code, body := op.get("/console/operator/reconcile?batch=" + id)
		if code != http.StatusOK || !strings.Contains(body, `id="balanced"`) {
			t.Fatalf("reconcile: %d\n%s", code, body)
		}
		code, body = op.get("/console/operator/reconcile?batch=" + url.QueryEscape("<script>alert(1)</script>"))
		if code != http.StatusUnprocessableEntity || strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;") {
			t.Fatalf("bad batch: %d\n%s", code, body)
		}
		if code, _ := op.get("/console/operator/reconcile?day=2026-13-45"); code != http.StatusUnprocessableEntity {
			t.Fatalf("bad day: %d", code)
		}
	})
}

// TestLiveStream: the live stream tells a screen which states were entered, from the
// workflow's events on JetStream, and nothing but state names.
func TestLiveStream(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := broker.Connect(ctx, broker.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := workflow.EnsureStreams(ctx, b.JS); err != nil {
		t.Fatal(err)
	}
	feed := &workflow.Feed{JS: b.JS}
	go feed.Run(ctx)
	e := newEnv(t, Config{Production: Production{Feed: feed}})
	op := e.login("an.operator")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/console/live", nil)
	resp, err := op.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("live: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Publish until the feed, which starts at the newest event, passes one on.
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	payload, _ := json.Marshal(ledger.Event{EventID: "e1", ApplicationID: 7, From: "personalizing", To: "personalized"})
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stream ended")
			}
			if strings.HasPrefix(l, "data: {\"states\"") {
				if l != `data: {"states":["personalized"],"lost":false}` {
					t.Fatalf("change %q", l)
				}
				return
			}
		case <-tick.C:
			if _, err := b.JS.Publish(ctx, ledger.SubjectPrefix+"personalized", payload); err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatal("no change event")
		}
	}
}

// TestShiftSeries: the chart's series with its closed intervals kept equals the card
// events counted afresh, and a new event in the open interval shows at the next read.
func TestShiftSeries(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Config{})
	seedApproved(t, e, 1, testOffice)
	eng := e.con.prod.Engine
	if _, err := e.db.Exec(ctx, `WITH b AS (INSERT INTO batches (line, office, created_by) VALUES ('L1', $1, 'an.operator') RETURNING id)
		INSERT INTO cards (serial, application_id, batch_id, state)
		SELECT 'S' || g, (SELECT min(id) FROM applications), b.id, 'spoiled' FROM b, generate_series(1, 4) g`, testOffice); err != nil {
		t.Fatal(err)
	}
	event := func(serial, to string, ago time.Duration) {
		if _, err := e.db.Exec(ctx, "INSERT INTO card_events (serial, from_state, to_state, actor, at) VALUES ($1, 'blank', $2, 't', now() - $3::interval)",
			serial, to, fmt.Sprintf("%d seconds", int(ago.Seconds()))); err != nil {
			t.Fatal(err)
		}
	}
	event("S1", "encoded", 25*time.Minute)
	event("S2", "spoiled", 12*time.Minute)
	event("S3", "encoded", 5*time.Second)
	var s shiftSeries
	check := func() {
		t.Helper()
		now := time.Now()
		got, err := s.series(ctx, eng, now)
		if err != nil {
			t.Fatal(err)
		}
		start, end := workflow.Shift(now)
		want, err := eng.Throughput(ctx, start, end, chartStep)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("series\n%v\nwant\n%v", got, want)
		}
	}
	check()
	event("S4", "encoded", 0)
	check()
}
