package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestOfficeScreen: staff see and receive only their office's shipments; a hand-over
// with missing fields is refused next to them before any card is read; operators have
// no office screen; the verifier's watch refuses a reader that does not exist and a
// CAN that is not 6 digits.
func TestOfficeScreen(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	var mine, theirs string
	for _, s := range []struct {
		office string
		id     *string
	}{{testOffice, &mine}, {otherOffice, &theirs}} {
		if err := e.db.QueryRow(ctx, "INSERT INTO shipments (office, created_by) VALUES ($1, 'an.operator') RETURNING id::text", s.office).Scan(s.id); err != nil {
			t.Fatal(err)
		}
	}
	clerk := e.login("lan.clerk")
	code, body := clerk.get("/console/office")
	if code != http.StatusOK || !strings.Contains(body, `id="shipment-`+mine+`"`) || strings.Contains(body, `id="shipment-`+theirs+`"`) {
		t.Fatalf("office screen: %d\n%s", code, body)
	}
	if code, _ := clerk.postForm("/console/office/shipments/"+theirs+"/receive", url.Values{}); code != http.StatusForbidden {
		t.Fatalf("receive another office's shipment: %d", code)
	}
	if code, _ := clerk.postForm("/console/office/shipments/"+mine+"/receive", url.Values{}); code != http.StatusOK {
		t.Fatalf("receive: %d", code)
	}
	if st := e.scalar("SELECT string_agg(office || '=' || state, ' ' ORDER BY id) FROM shipments"); st != testOffice+"=received "+otherOffice+"=dispatched" {
		t.Fatalf("shipments %s", st)
	}
	code, body = clerk.postForm("/console/office/handover", url.Values{"receipt": {""}, "received_by": {""}, "reader": {"no such reader"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "Nhập số biên nhận") || !strings.Contains(body, "Nhập họ tên người nhận") {
		t.Fatalf("hand-over without fields: %d\n%s", code, body)
	}
	if code, _ := e.login("an.operator").get("/console/office"); code != http.StatusForbidden {
		t.Fatalf("operator opens the office screen: %d", code)
	}

	ver := e.login("binh.verifier")
	if code, body := ver.get("/console/verifier?reader=" + url.QueryEscape("<no reader>") + "&can=12ab"); code != http.StatusUnprocessableEntity ||
		!strings.Contains(body, "Chọn một đầu đọc") || !strings.Contains(body, "CAN: 6 chữ số") || strings.Contains(body, "data-watch") {
		t.Fatalf("verifier with a bad reader and CAN: %d\n%s", code, body)
	}
	if code, _ := ver.get("/console/verifier/watch?reader=x&can=123456"); code == http.StatusOK {
		t.Fatal("watch of an unknown reader started")
	}
	if code, _ := ver.get("/console/operator"); code != http.StatusForbidden {
		t.Fatalf("verifier opens the operator screen: %d", code)
	}
}
