package verify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/prep"
	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/personalization/verify/verifytest"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

// registry is an in-memory StatusSource.
type registry struct {
	cards map[string]verify.Status
	err   error
}

func (r registry) CardStatus(_ context.Context, serial, _ string) (verify.Status, error) {
	if r.err != nil {
		return verify.Status{}, r.err
	}
	return r.cards[serial], nil
}

// fixture is the PKI of the tests: the own country's CSCA with two Document Signers
// (the second revoked on the CRL), and a foreign CSCA nobody trusts.
type fixture struct {
	vn, foreign *verifytest.PKI
	trust       *trust.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	vn, err := verifytest.NewPKI("VN")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := verifytest.NewPKI("XX")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := vn.Trust()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{vn: vn, foreign: foreign, trust: ts}
}

func blankChip(serial string) *vchip.Chip {
	c := vchip.New(serial, vchip.Options{})
	c.SetSleep(func(time.Duration) {})
	return c
}

// issue personalizes a fresh virtual chip.
func issue(t *testing.T, serial string, spec verifytest.Spec) (*vchip.Chip, *verifytest.Card) {
	t.Helper()
	chip := blankChip(serial)
	card, err := verifytest.Issue(context.Background(), vchip.Transport{Chip: chip}, spec)
	if err != nil {
		t.Fatalf("issue %s: %v", serial, err)
	}
	chip.Reset()
	return chip, card
}

// reencodeDG13 changes DG13 with f and encodes it again.
func reencodeDG13(b []byte, f func(*lds.DG13)) ([]byte, error) {
	d, err := lds.ParseDG13(b)
	if err != nil {
		return nil, err
	}
	f(&d)
	return d.Encode()
}

func TestVerify(t *testing.T) {
	fx := newFixture(t)
	app, err := verifytest.Application(7)
	if err != nil {
		t.Fatal(err)
	}
	revokedDS, revokedKey, err := fx.vn.NewDS("DS-REVOKED")
	if err != nil {
		t.Fatal(err)
	}
	crl, err := fx.vn.CRL(revokedDS)
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.trust.AddCRL(crl); err != nil {
		t.Fatal(err)
	}
	expiredIssue, ok := verifytest.ExpiredIssueDate(app.DateOfBirth)
	if !ok {
		t.Fatalf("no issue date gives an expired card for birth %s", app.DateOfBirth)
	}
	good := verifytest.Spec{App: app, DS: fx.vn.DS, DSKey: fx.vn.DSKey, NISTP256: true}
	with := func(f func(*verifytest.Spec)) verifytest.Spec {
		s := good
		f(&s)
		return s
	}
	revokedSerial := "VNREVOKED1"
	reg := registry{cards: map[string]verify.Status{revokedSerial: {Known: true, Revoked: true, Reason: "lost"}}}
	for _, s := range []string{"VNGOOD0001", "VNGOODBP01", "VNGOODMRZ1", "VNEXPECT01"} {
		reg.cards[s] = verify.Status{Known: true, IDNumber: app.IDNumber}
	}
	reg.cards["VNOTHERID1"] = verify.Status{Known: true, WrongHolder: true} // a registry that discloses no ID number

	cases := []struct {
		name    string
		serial  string
		spec    verifytest.Spec
		creds   func(*verifytest.Card) emrtd.Credentials
		opts    verify.Options
		faults  vchip.Faults // injected after personalization
		verdict verify.Verdict
		code    string // first failure code; "" for a genuine card
	}{
		{name: "good card", serial: "VNGOOD0001", spec: good, opts: verify.Options{Status: reg}, verdict: verify.Genuine},
		{name: "good card brainpool as issued", serial: "VNGOODBP01", spec: with(func(s *verifytest.Spec) { s.NISTP256 = false }),
			opts: verify.Options{Status: reg}, verdict: verify.Genuine},
		{name: "good card with MRZ", serial: "VNGOODMRZ1", spec: good, creds: (*verifytest.Card).MRZCredentials,
			opts: verify.Options{Status: reg}, verdict: verify.Genuine},
		{name: "registry unreachable is skipped", serial: "VNNOREG001", spec: good,
			opts: verify.Options{Status: registry{err: errors.New("connection refused")}}, verdict: verify.Genuine},
		{name: "unknown signer", serial: "VNFORGED01", spec: with(func(s *verifytest.Spec) { s.DS, s.DSKey = fx.foreign.DS, fx.foreign.DSKey }),
			verdict: verify.NotGenuine, code: verify.CodeUnknownSigner},
		{name: "revoked document signer", serial: "VNDSREV001", spec: with(func(s *verifytest.Spec) { s.DS, s.DSKey = revokedDS, revokedKey }),
			verdict: verify.NotGenuine, code: verify.CodeDSRevoked},
		{name: "DG13 altered after signing", serial: "VNALTER001", spec: with(func(s *verifytest.Spec) {
			s.AfterSign = func(files map[uint16][]byte) (err error) {
				files[0x010D], err = reencodeDG13(files[0x010D], func(d *lds.DG13) { d.PlaceOfResidence = "Số 1 Đường Giả, Hà Nội" })
				return err
			}
		}), verdict: verify.NotGenuine, code: "dg-hash-mismatch:DG13"},
		{name: "DG2 portrait replaced after signing", serial: "VNALTER002", spec: with(func(s *verifytest.Spec) {
			s.AfterSign = func(files map[uint16][]byte) error {
				f, err := lds.ParseDG2(files[0x0102])
				if err != nil {
					return err
				}
				other, err := verifytest.Application(8)
				if err != nil {
					return err
				}
				f.JPEG, f.Width, f.Height = other.Portrait, 0, 0
				files[0x0102], err = lds.EncodeDG2(f)
				return err
			}
		}), verdict: verify.NotGenuine, code: "dg-hash-mismatch:DG2"},
		{name: "DG1 DG13 mismatch signed validly", serial: "VNMISM0001", spec: with(func(s *verifytest.Spec) {
			s.BeforeSign = func(_ *prep.Card, dgs map[int][]byte) (err error) {
				dgs[13], err = reencodeDG13(dgs[13], func(d *lds.DG13) { d.DateOfBirth = "01/01/1970" })
				return err
			}
		}), verdict: verify.NotGenuine, code: verify.CodeDG1DG13},
		{name: "clone: active authentication key replaced", serial: "VNCLONEAA1", spec: with(func(s *verifytest.Spec) { s.SwapAAKey = true }),
			verdict: verify.NotGenuine, code: verify.CodeCloneAA},
		{name: "clone: chip authentication key replaced", serial: "VNCLONECA1", spec: with(func(s *verifytest.Spec) { s.SwapCAKey = true }),
			verdict: verify.NotGenuine, code: verify.CodeCloneCA},
		{name: "clone check hidden: EF.COM without DG15", serial: "VNHIDE0001", spec: with(func(s *verifytest.Spec) {
			s.AfterSign = func(files map[uint16][]byte) error {
				com, err := lds.NewCOM(1, 2, 13, 14)
				if err != nil {
					return err
				}
				files[lds.FIDCOM], err = com.Encode()
				return err
			}
		}), verdict: verify.NotGenuine, code: "dg-missing:DG15"},
		{name: "expired card", serial: "VNEXPIRED1", spec: with(func(s *verifytest.Spec) { s.Issue = expiredIssue }),
			verdict: verify.NotGenuine, code: verify.CodeExpired},
		{name: "registry made the card for another holder", serial: "VNOTHERID1", spec: good, opts: verify.Options{Status: reg},
			verdict: verify.NotGenuine, code: verify.CodeRegistryMismatch},
		{name: "revoked in registry", serial: revokedSerial, spec: good, opts: verify.Options{Status: reg},
			verdict: verify.NotGenuine, code: verify.CodeRevoked},
		{name: "unknown to registry", serial: "VNNOTMADE1", spec: good, opts: verify.Options{Status: reg},
			verdict: verify.NotGenuine, code: verify.CodeUnknownCard},
		{name: "not the card expected", serial: "VNEXPECT01", spec: good, opts: verify.Options{ExpectSerial: "VNOTHER001"},
			verdict: verify.NotGenuine, code: verify.CodeSerialMismatch},
		{name: "wrong CAN", serial: "VNWRONGCAN", spec: good,
			creds:   func(*verifytest.Card) emrtd.Credentials { return emrtd.Credentials{CAN: "000000"} },
			verdict: verify.Unreadable, code: verify.CodeAccessDenied},
		{name: "card pulled out mid-read", serial: "VNTORN0001", spec: good, faults: vchip.Faults{TearAfter: 14},
			verdict: verify.Unreadable, code: verify.CodeCardRemoved},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chip, card := issue(t, tc.serial, tc.spec)
			chip.SetFaults(tc.faults)
			creds := card.Credentials()
			if tc.creds != nil {
				creds = tc.creds(card)
			}
			opts := tc.opts
			opts.Trust = fx.trust
			r := verify.Verify(context.Background(), vchip.Transport{Chip: chip}, creds, opts)
			if r.Verdict != tc.verdict || r.Code != tc.code {
				t.Fatalf("verdict %s code %q, want %s %q; findings %+v", r.Verdict, r.Code, tc.verdict, tc.code, r.Reasons)
			}
			if got := r.Verdict.ExitCode(); got != map[verify.Verdict]int{verify.Genuine: 0, verify.NotGenuine: 1, verify.Unreadable: 2}[tc.verdict] {
				t.Errorf("exit code %d", got)
			}
			if tc.verdict == verify.Genuine {
				checkGenuine(t, r, app, card)
				return
			}
			if !slices.ContainsFunc(r.Failures(), func(f verify.Finding) bool { return f.Code == tc.code && f.Detail != "" }) {
				t.Errorf("no failure %q with a reason in %+v", tc.code, r.Failures())
			}
			if err := r.Err(); err == nil || !strings.Contains(err.Error(), tc.code) {
				t.Errorf("Err() = %v, want one naming %s", err, tc.code)
			}
		})
	}
}

// checkGenuine checks what a genuine card's report carries.
func checkGenuine(t *testing.T, r verify.Report, app issuance.Application, card *verifytest.Card) {
	t.Helper()
	if r.Err() != nil || len(r.Failures()) != 0 {
		t.Fatalf("genuine report with failures: %v", r.Err())
	}
	if r.Holder == nil || r.Holder.IDNumber != app.IDNumber || r.Holder.FullName != app.FullName || r.Holder.MRZ != card.Prep.MRZText() {
		t.Errorf("holder %+v, want %s %s", r.Holder, app.IDNumber, app.FullName)
	}
	if r.Serial != card.Serial || !bytes.Equal(r.Portrait, app.Portrait) {
		t.Errorf("serial %q (want %q), portrait %d bytes (want %d)", r.Serial, card.Serial, len(r.Portrait), len(app.Portrait))
	}
	for _, check := range []string{verify.CheckRead, verify.CheckPassive, verify.CheckComplete, verify.CheckChipAuth,
		verify.CheckActive, verify.CheckDG1DG13, verify.CheckExpiry} {
		if !slices.ContainsFunc(r.Reasons, func(f verify.Finding) bool { return f.Check == check && f.OK }) {
			t.Errorf("no passed check %s in %+v", check, r.Reasons)
		}
	}
	names := map[string]bool{}
	for _, s := range r.Steps {
		names[s.Name] = true
	}
	for _, want := range []string{"chip authentication", "active authentication", "passive authentication"} {
		if !names[want] {
			t.Errorf("no step %q in %+v", want, r.Steps)
		}
	}
	if r.CSCA == "" || r.DocumentSigner == "" {
		t.Errorf("certificates not named: DS %q CSCA %q", r.DocumentSigner, r.CSCA)
	}
}

// TestVerifyMasterListCSCA: a card signed under a foreign CSCA verifies once a master
// list carrying that CSCA, signed by a CSCA already trusted, is imported.
func TestVerifyMasterListCSCA(t *testing.T) {
	fx := newFixture(t)
	app, err := verifytest.Application(9)
	if err != nil {
		t.Fatal(err)
	}
	chip, card := issue(t, "XXFOREIGN1", verifytest.Spec{App: app, DS: fx.foreign.DS, DSKey: fx.foreign.DSKey, NISTP256: true})
	opts := verify.Options{Trust: fx.trust}
	before := verify.Verify(context.Background(), vchip.Transport{Chip: chip}, card.Credentials(), opts)
	if before.Code != verify.CodeUnknownSigner {
		t.Fatalf("before import: %s %q, want %s", before.Verdict, before.Code, verify.CodeUnknownSigner)
	}
	ml, err := fx.vn.MasterList(fx.foreign.CSCA)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.trust.ImportMasterList(ml, time.Now()); err != nil {
		t.Fatal(err)
	}
	chip.Reset()
	after := verify.Verify(context.Background(), vchip.Transport{Chip: chip}, card.Credentials(), opts)
	if after.Verdict != verify.Genuine {
		t.Fatalf("after import: %s: %v", after.Verdict, after.Err())
	}
	if after.CSCA != fx.foreign.CSCA.Subject.String() {
		t.Errorf("CSCA %q, want the foreign one %q", after.CSCA, fx.foreign.CSCA.Subject)
	}
}

func TestVerifyNoTrustStore(t *testing.T) {
	r := verify.Verify(context.Background(), vchip.Transport{Chip: blankChip("X")}, emrtd.Credentials{CAN: "123456"}, verify.Options{})
	if r.Verdict != verify.Unreadable || r.Code != verify.CodeConfig {
		t.Fatalf("%s %q, want unreadable config", r.Verdict, r.Code)
	}
}

func ExampleVerdict_ExitCode() {
	for _, v := range []verify.Verdict{verify.Genuine, verify.NotGenuine, verify.Unreadable} {
		fmt.Println(v, v.ExitCode())
	}
	// Output:
	// genuine 0
	// not-genuine 1
	// unreadable 2
}
