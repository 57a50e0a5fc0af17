package station_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/station"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

// TestRefusesCardOutlivingSigner: a card issued today to a 38-year-old is valid to the 60th
// birthday; a Document Signer certificate that ends in two years cannot cover it, so the
// station refuses to sign it (the card is spoiled with that reason) and raises the alarm.
// A card without expiry (issued at 58) is signed by the same DS: it is verified by the chain
// model, which needs the DS valid only when it signs.
func TestRefusesCardOutlivingSigner(t *testing.T) {
	d := newPKI(t)
	short, err := d.pki.NewDS("two years", time.Now().Add(-time.Hour), time.Now().AddDate(2, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	signers := &docPKI{ds: short}
	a := newApps(t, 2)
	today := issuance.DateOf(time.Now().In(time.FixedZone("ICT", 7*3600)))
	for id, age := range map[int64]int{1: 38, 2: 58} {
		app := a.byID[id]
		app.Person.DateOfBirth = today.AddYears(-age)
		app.IDNumber = app.IDNumber[:3] + centuryDigit(app.Person.DateOfBirth, app.Person.Sex) + app.Person.DateOfBirth.String()[2:4] + app.IDNumber[6:]
		app.Person.IDNumber = app.IDNumber
		a.byID[id] = app
	}
	var alarms []string
	p := &station.Personalizer{Apps: a, Signers: signers, Trust: d.trust,
		Alarm: func(_ context.Context, _ workflow.Job, serial string, err error) {
			alarms = append(alarms, serial+": "+err.Error())
		}}

	chip := blankChip("VNLIFE38")
	_, err = p.Personalize(context.Background(), vchip.Transport{Chip: chip}, workflow.Job{ID: "j1", ApplicationID: 1}, func(string) error { return nil })
	var se *station.StepError
	if !errors.As(err, &se) || se.Step != "sign EF.SOD" || !errors.Is(err, station.ErrSignerExpiresFirst) {
		t.Fatalf("38-year-old: %v, want the sign step refused with ErrSignerExpiresFirst", err)
	}
	if want := today.AddYears(22).String(); !strings.Contains(err.Error(), "valid through "+want) {
		t.Errorf("reason %q does not name the card's expiry %s", err, want)
	}
	if chip.Locked() {
		t.Error("the refused card was locked")
	}
	if len(alarms) != 1 || !strings.HasPrefix(alarms[0], "VNLIFE38: ") {
		t.Errorf("alarms %q, want one for VNLIFE38", alarms)
	}
	t.Logf("spoil reason: %v", err)

	if _, err := p.Personalize(context.Background(), vchip.Transport{Chip: blankChip("VNLIFE58")}, workflow.Job{ID: "j2", ApplicationID: 2},
		func(string) error { return nil }); err != nil {
		t.Errorf("58-year-old (no expiry): %v", err)
	}
	if len(alarms) != 1 {
		t.Errorf("alarms %q after the card without expiry", alarms)
	}
}

// centuryDigit is the ID number's century-and-sex digit (REFERENCE.md §2).
func centuryDigit(birth issuance.Date, sex issuance.Sex) string {
	d := (birth.Year/100 - 19) * 2
	if sex == issuance.SexFemale {
		d++
	}
	return string(rune('0' + d))
}
