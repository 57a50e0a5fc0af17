package verify_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/personalization/verify/verifytest"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

// specimenDir holds the specimen cards: chips a verifier can read without a production
// line, and the trust store that goes with them (see its README.md).
const specimenDir = "../../testdata/specimen"

// specimen is one card of the set and the verdict a counter must reach on it.
type specimen struct {
	File    string         `json:"file"`
	Serial  string         `json:"serial"`
	CAN     string         `json:"can"`
	Verdict verify.Verdict `json:"verdict"`
	Code    string         `json:"code,omitempty"` // the first failure code
	About   string         `json:"about"`
}

// specimens are the cards of testdata/specimen, and how each is made from a genuine one.
var specimens = []struct {
	specimen
	make func(s *verifytest.Spec, rogue, revoked *verifytest.PKI)
}{
	{specimen{File: "genuine.json", Serial: "VNSPEC0001", Verdict: verify.Genuine,
		About: "a genuine card: every check passes"}, nil},
	{specimen{File: "altered-dg13.json", Serial: "VNSPEC0002", Verdict: verify.NotGenuine, Code: verify.CodeHashMismatch + ":DG13",
		About: "the holder's name in DG13 was changed after the card was signed"},
		func(s *verifytest.Spec, _, _ *verifytest.PKI) {
			s.AfterSign = func(files map[uint16][]byte) (err error) {
				files[0x010D], err = reencodeDG13(files[0x010D], func(d *lds.DG13) { d.FullName = "Trần Văn Giả" })
				return err
			}
		}},
	{specimen{File: "cloned.json", Serial: "VNSPEC0003", Verdict: verify.NotGenuine, Code: verify.CodeCloneAA,
		About: "a copy of a genuine card's data on another chip: its Active Authentication key is not the one in DG15"},
		func(s *verifytest.Spec, _, _ *verifytest.PKI) { s.SwapAAKey = true }},
	{specimen{File: "unknown-signer.json", Serial: "VNSPEC0004", Verdict: verify.NotGenuine, Code: verify.CodeUnknownSigner,
		About: "signed by a Document Signer of an authority the trust store does not hold"},
		func(s *verifytest.Spec, rogue, _ *verifytest.PKI) { s.DS, s.DSKey = rogue.DS, rogue.DSKey }},
	{specimen{File: "revoked-signer.json", Serial: "VNSPEC0005", Verdict: verify.NotGenuine, Code: verify.CodeDSRevoked,
		About: "signed by a Document Signer that the specimen CSCA's CRL revokes"},
		func(s *verifytest.Spec, _, revoked *verifytest.PKI) { s.DS, s.DSKey = revoked.DS, revoked.DSKey }},
}

// TestSpecimenCards reads every specimen card through pcscd with the trust store of
// testdata/specimen, as `cccd verify --trust-dir` loads it, and checks the verdict and the
// first failure each must get.
// go test ./personalization/verify -run TestSpecimenCards -args -update makes the set anew.
func TestSpecimenCards(t *testing.T) {
	if *update {
		writeSpecimens(t)
	}
	ts, err := trust.Load(os.DirFS(filepath.Join(specimenDir, "trust")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(specimenDir, "cards.json"))
	if err != nil {
		t.Fatalf("%v (go test ./personalization/verify -run TestSpecimenCards -args -update makes the specimen cards)", err)
	}
	var listed []specimen
	if err := json.Unmarshal(b, &listed); err != nil {
		t.Fatalf("cards.json: %v", err)
	}
	if len(listed) != len(specimens) {
		t.Fatalf("cards.json lists %d cards, the test %d (run with -update)", len(listed), len(specimens))
	}
	for i, want := range specimens {
		t.Run(want.File, func(t *testing.T) {
			got := listed[i]
			if got.File != want.File || got.Serial != want.Serial || got.Verdict != want.Verdict || got.Code != want.Code {
				t.Fatalf("cards.json says %+v, the test expects %+v (run with -update)", got, want.specimen)
			}
			chip, err := vchip.Load(filepath.Join(specimenDir, got.File))
			if err != nil {
				t.Fatal(err)
			}
			out := verifyInReader(t, slotProduction, chip, emrtd.Credentials{CAN: got.CAN}, verify.Options{Trust: ts})
			if out.Verdict != want.Verdict || out.Code != want.Code {
				t.Fatalf("verdict %s (%s), want %s (%s); reasons: %+v", out.Verdict, out.Code, want.Verdict, want.Code, out.Failures())
			}
			if out.Serial != want.Serial {
				t.Errorf("serial %q, want %q", out.Serial, want.Serial)
			}
			if out.Verdict == verify.Genuine && len(out.Portrait) == 0 {
				t.Error("no portrait read from the genuine card")
			}
		})
	}
}

// writeSpecimens makes testdata/specimen anew: a specimen CSCA with its Document Signer
// (its trust store, with a CRL revoking a second signer), a rogue authority, and the
// cards. Every holder is 58 or older at issue, so the cards never expire; the set stays
// valid as long as the Document Signer certificates (about ten years).
func writeSpecimens(t *testing.T) {
	t.Helper()
	authority := func(org string) pki.Authority {
		return pki.Authority{Country: "VN", Organization: org, CRLURL: "http://crl.example/specimen.crl"}
	}
	vn, err := verifytest.NewPKIOf(authority("cccd specimen CSCA, not for production"))
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := verifytest.NewPKIOf(authority("cccd specimen rogue authority"))
	if err != nil {
		t.Fatal(err)
	}
	revoked := *vn
	if revoked.DS, revoked.DSKey, err = vn.NewDS("DS-REVOKED"); err != nil {
		t.Fatal(err)
	}
	crl, err := vn.CRL(revoked.DS)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := vn.Trust()
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.AddCRL(crl); err != nil {
		t.Fatal(err)
	}
	// The old CSCA goes with its trust store; the cards and cards.json are written over,
	// the README kept.
	if err := os.RemoveAll(filepath.Join(specimenDir, "trust")); err != nil {
		t.Fatal(err)
	}
	if err := ts.Save(filepath.Join(specimenDir, "trust")); err != nil {
		t.Fatal(err)
	}
	issue := issuance.DateOf(time.Now())
	seed := int64(0)
	var listed []specimen
	for _, sp := range specimens {
		app := seniorApplication(t, &seed, issue)
		spec := verifytest.Spec{App: app, DS: vn.DS, DSKey: vn.DSKey, Issue: issue}
		if sp.make != nil {
			sp.make(&spec, rogue, &revoked)
		}
		chip := vchip.New(sp.Serial, vchip.Options{})
		chip.SetSleep(func(time.Duration) {})
		card, err := verifytest.Issue(context.Background(), vchip.Transport{Chip: chip}, spec)
		if err != nil {
			t.Fatalf("%s: %v", sp.File, err)
		}
		chip.Reset()
		if err := chip.Save(filepath.Join(specimenDir, sp.File)); err != nil {
			t.Fatal(err)
		}
		s := sp.specimen
		s.CAN = card.Credentials().CAN
		listed = append(listed, s)
	}
	b, err := json.MarshalIndent(listed, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(specimenDir, "cards.json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// seniorApplication returns the application of the next synthetic resident (from seed
// *seed on) who is 58 or older on issue: a card issued at that age does not expire.
func seniorApplication(t *testing.T, seed *int64, issue issuance.Date) issuance.Application {
	t.Helper()
	for range 1000 {
		*seed++
		app, err := verifytest.Application(*seed)
		if err != nil {
			t.Fatal(err)
		}
		if app.DateOfBirth.AgeOn(issue) >= 58 {
			return app
		}
	}
	t.Fatalf("no resident of 58 or older among seeds up to %d", *seed)
	return issuance.Application{}
}
