package intake_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/ledger"
)

// TestVerifierCardStatusNoPersonalFields: a verifier's registry check says valid or
// revoked and whether the card was made for the chip's ID number, never the record; it
// is a recorded read for verification.
func TestVerifierCardStatusNoPersonalFields(t *testing.T) {
	ctx := context.Background()
	p := resident(t, 31, true)
	f := setup(t, p)
	verifier := intake.User{Name: "an.verifier", Role: intake.RoleVerifier, Office: office}
	tok, err := f.svc.AddUser(ctx, verifier)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := f.svc.Submit(ctx, f.clerk, application(t, p))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, `WITH b AS (INSERT INTO batches (line, office, created_by) VALUES ('L1', $2, 'minh.op') RETURNING id)
		INSERT INTO cards (serial, application_id, batch_id, state) SELECT 'C0000001', $1, id, 'issued' FROM b`, sub.ID, office); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.svc.Handler(nil))
	defer srv.Close()
	check := func(id string) (intake.CardCheck, string) {
		t.Helper()
		code, body := do(t, srv, "GET", "/api/v1/cards/C0000001/status?id_number="+id, tok, nil)
		if code != http.StatusOK {
			t.Fatalf("card status: %d %s", code, body)
		}
		var fields map[string]any
		if err := json.Unmarshal(body, &fields); err != nil {
			t.Fatal(err)
		}
		for k := range fields {
			switch k {
			case "serial", "known", "valid", "revoked", "not_issued", "at_office", "reason", "since", "holder_matches":
			default:
				t.Errorf("registry check carries field %q: %s", k, body)
			}
		}
		for _, s := range []string{p.IDNumber, p.FullName, jsonEscaped(p.FullName), p.DateOfBirth.String(), jsonEscaped(p.PlaceOfResidence)} {
			if strings.Contains(string(body), s) {
				t.Errorf("registry check carries %q: %s", s, body)
			}
		}
		var c intake.CardCheck
		json.Unmarshal(body, &c)
		return c, string(body)
	}
	if c, body := check(p.IDNumber); !c.Known || !c.Valid || c.Revoked || !c.HolderMatches {
		t.Fatalf("issued card, its holder's chip: %s", body)
	}
	if c, body := check(resident(t, 32, false).IDNumber); !c.Valid || c.HolderMatches {
		t.Fatalf("a chip claiming another ID number: %s", body)
	}
	if _, err := f.pool.Exec(ctx, "INSERT INTO card_reports (serial, kind, reported_by) VALUES ('C0000001', 'stolen', 'hoa.sup')"); err != nil {
		t.Fatal(err)
	}
	if c, body := check(p.IDNumber); c.Valid || !c.Revoked || c.Reason != "stolen" {
		t.Fatalf("stolen card: %s", body)
	}
	if code, body := do(t, srv, "GET", "/api/v1/cards/C0000002/status", tok, nil); code != http.StatusOK || !strings.Contains(string(body), `"known":false`) {
		t.Fatalf("unknown card: %d %s", code, body)
	}
	// A clerk's check (office staff handing a card over) is a hand-over read.
	if _, err := f.svc.CardStatus(ctx, f.clerk, "C0000001", p.IDNumber); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range accesses(t, f, ledger.AccessFilter{IDNumber: p.IDNumber}) {
		got = append(got, r.User+" "+r.Kind+" "+r.Purpose+" "+r.Ref)
	}
	want := strings.Repeat("an.verifier card verification C0000001\n", 3) + "lan.clerk card hand-over C0000001"
	if strings.Join(got, "\n") != want {
		t.Fatalf("access records of %s:\n%s\nwant\n%s", p.IDNumber, strings.Join(got, "\n"), want)
	}
	if _, err := f.svc.CardStatus(ctx, intake.User{Name: "minh.op", Role: intake.RoleOperator, Office: office}, "C0000001", p.IDNumber); err == nil {
		t.Fatal("an operator checked a card's status")
	}
}
