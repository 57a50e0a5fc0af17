package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/store/storetest"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/personalization/verify/verifytest"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

// TestCardStatusVerdicts: a genuine chip is judged by its state in the issuance records. A
// card printed, in transit or waiting at the office is card-not-issued (at the office it
// passes only at its own hand-over); a card reported stolen is card-revoked; each finding
// says since when. Only a handed-over card is GENUINE at a counter.
func TestCardStatusVerdicts(t *testing.T) {
	db := storetest.New(t)
	e := &workflow.Engine{DB: db}
	// The registry check is a recorded read: it asks as a signed-in verifier.
	verifier := intake.User{Name: "tam.verifier", Role: intake.RoleVerifier, Office: "001-HK01"}
	p, err := verifytest.NewPKI("VN")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := p.Trust()
	if err != nil {
		t.Fatal(err)
	}
	app, err := verifytest.Application(23)
	if err != nil {
		t.Fatal(err)
	}
	const receipt, serial = "R-STATUS-1", "VNSTATUS01"
	seedCardAtOffice(t, db, receipt, app, serial)
	ctx := context.Background()
	began := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	chip := issueChip(t, serial, verifytest.Spec{App: app, DS: p.DS, DSKey: p.DSKey, NISTP256: true})
	cases := []struct {
		state, report string
		expect        string // Options.ExpectSerial (hand-over)
		verdict       verify.Verdict
		code, detail  string
	}{
		{"printed", "", "", verify.NotGenuine, verify.CodeNotIssued, "card is printed since 2026-03-02"},
		{"dispatched", "", "", verify.NotGenuine, verify.CodeNotIssued, "card is dispatched since 2026-03-02"},
		{"in_stock", "", "", verify.NotGenuine, verify.CodeNotIssued, "card is in_stock since 2026-03-02"},
		{"in_stock", "", serial, verify.Genuine, "", "waits at the office for this hand-over since 2026-03-02"},
		{"issued", "", "", verify.Genuine, "", "is valid in the registry"},
		{"issued", "stolen", "", verify.NotGenuine, verify.CodeRevoked, "revoked in the registry (stolen) since 2026-03-02"},
		{"spoiled", "", "", verify.NotGenuine, verify.CodeRevoked, "spoiled, destroyed, never issued"},
	}
	for _, tc := range cases {
		t.Run(tc.state+" "+tc.report+" "+tc.expect, func(t *testing.T) {
			if _, err := db.Exec(ctx, "UPDATE cards SET state = $2, updated_at = $3 WHERE serial = $1", serial, tc.state, began); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(ctx, "DELETE FROM card_reports WHERE serial = $1", serial); err != nil {
				t.Fatal(err)
			}
			if tc.report != "" {
				if _, err := db.Exec(ctx, "INSERT INTO card_reports (serial, kind, reported_by, at) VALUES ($1, $2, 'police', $3)", serial, tc.report, began); err != nil {
					t.Fatal(err)
				}
			}
			chip.Reset()
			r := verify.Verify(ctx, vchip.Transport{Chip: chip}, verifytest.CANOf(app), verify.Options{Trust: ts, Status: statusAs{e, verifier}, ExpectSerial: tc.expect})
			if r.Verdict != tc.verdict || r.Code != tc.code {
				t.Fatalf("%s %q, want %s %q: %v", r.Verdict, r.Code, tc.verdict, tc.code, r.Err())
			}
			var status string
			for _, f := range r.Reasons {
				if f.Check == verify.CheckStatus {
					status = f.Detail
				}
			}
			if !strings.Contains(status, tc.detail) {
				t.Errorf("status finding %q does not say %q", status, tc.detail)
			}
		})
	}
}
