package intake_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/intake"
)

// TestAnomalies: a clerk whose look-ups jump, are not followed by applications and
// happen outside office hours is reported; a clerk who submits what they looked up is not.
func TestAnomalies(t *testing.T) {
	ctx := context.Background()
	var people []issuance.Person
	for i := 0; i < 5; i++ {
		people = append(people, resident(t, 40+i, i%2 == 0))
	}
	f := setup(t, people...)
	admin := intake.User{Name: "an.admin", Role: intake.RoleAdmin, Office: "001-TT01"}
	snoop := intake.WithUser(ctx, f.clerk)
	for _, p := range people[:4] {
		if _, err := f.svc.Lookup(snoop, p.IDNumber); err != nil {
			t.Fatal(err)
		}
		// One look-up at a time: the snoop gives each up to look up the next.
		if _, err := f.svc.Release(ctx, f.clerk); err != nil {
			t.Fatal(err)
		}
	}
	honest := intake.WithUser(ctx, f.clerk2)
	if _, err := f.svc.Lookup(honest, people[4].IDNumber); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Submit(honest, f.clerk2, application(t, people[4])); err != nil {
		t.Fatal(err)
	}
	// Office hours that exclude the present hour in Vietnam.
	h := time.Now().In(time.FixedZone("ICT", 7*3600)).Hour()
	open, close := h+1, h+2
	if h >= 12 {
		open, close = h-2, h-1
	}
	if h < 2 {
		open, close = 12, 14
	}
	report := func(c intake.AnomalyConfig) string {
		t.Helper()
		c.OfficeOpen, c.OfficeClose = open, close
		list, err := f.svc.Anomalies(ctx, admin, c)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, a := range list {
			lines = append(lines, a.User+" "+a.Kind)
			if a.Detail == "" || a.Count == 0 {
				t.Errorf("anomaly without count or detail: %+v", a)
			}
		}
		return strings.Join(lines, "\n")
	}
	if got, want := report(intake.AnomalyConfig{Now: time.Now().Add(time.Hour), MinReads: 4}),
		"lan.clerk after-hours\nlan.clerk jump\nminh.clerk after-hours"; got != want {
		t.Fatalf("report of today:\n%s\nwant\n%s", got, want)
	}
	if got, want := report(intake.AnomalyConfig{Now: time.Now().Add(25 * time.Hour), MinReads: 4}),
		"lan.clerk after-hours\nlan.clerk unfollowed\nminh.clerk after-hours"; got != want {
		t.Fatalf("report of tomorrow:\n%s\nwant\n%s", got, want)
	}
	if _, err := f.svc.Anomalies(ctx, f.sup, intake.AnomalyConfig{}); err == nil {
		t.Fatal("a supervisor got the anomaly report")
	}
	if _, err := f.svc.Anomalies(ctx, admin, intake.AnomalyConfig{OfficeOpen: 18, OfficeClose: 7}); err == nil {
		t.Fatal("office hours closing before they open were accepted")
	}
}
