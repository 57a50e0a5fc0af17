package verify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/hsm/pki/ecparams/ecparamstest"
	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/issuance/mrz"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/prep"
	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/personalization/verify/verifytest"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/tlv"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

func check(s string) string {
	d, err := mrz.CheckDigit(s)
	if err != nil {
		panic(err)
	}
	return string(d)
}

func fill(s string, n int) string { return s + strings.Repeat("<", n-len(s)) }

// td3 builds a passport MRZ (ICAO 9303-4 §4.2.2) with its check digits.
func td3(issuer, number, birth, sex, expiry, name string) string {
	l1 := fill("P<"+fill(issuer, 3)+name, 44)
	doc := fill(number, 9)
	l2 := doc + check(doc) + fill(issuer, 3) + birth + check(birth) + sex + expiry + check(expiry) + fill("", 14) + "<"
	return l1 + l2 + check(l2[0:10]+l2[13:20]+l2[21:43])
}

// td1 builds an identity card MRZ (ICAO 9303-5 §4.2.2) of another State.
func td1(issuer, number, birth, sex, expiry, name string) string {
	z, err := mrz.TD1{DocumentCode: "ID", Issuer: issuer, DocumentNumber: number, BirthDate: birth, Sex: sex,
		ExpiryDate: expiry, Nationality: issuer, Name: name}.Lines()
	if err != nil {
		panic(err)
	}
	return z[0] + z[1] + z[2]
}

// foreignSpec makes Spec write a document of another State on the virtual chip: DG1 with
// zone(card), DG2 as prepared, no DG13, and the clone-check data groups of keep only.
func foreignSpec(spec verifytest.Spec, zone func(*prep.Card) string, keep ...int) verifytest.Spec {
	groups := append([]int{1, 2}, keep...)
	spec.BeforeSign = func(c *prep.Card, dgs map[int][]byte) error {
		dg1, err := lds.EncodeDocumentDG1(zone(c))
		if err != nil {
			return err
		}
		dgs[1] = dg1
		for n := range dgs {
			if n != 1 && n != 2 && !slices.Contains(keep, n) {
				delete(dgs, n)
			}
		}
		return nil
	}
	spec.AfterSign = func(files map[uint16][]byte) error {
		com, err := lds.NewCOM(groups...)
		if err != nil {
			return err
		}
		files[lds.FIDCOM], err = com.Encode()
		return err
	}
	return spec
}

// TestVerifyForeignDocuments: documents of other States, signed under their own CSCA with
// explicit brainpool parameters and trusted through the trust store, are read with PACE or
// BAC and checked (Passive Authentication, CA and AA where offered, DG1 and DG2 decode,
// expiry); the verifier names the issuer and reports DG13 and the registry status as not
// applicable, never as failures. A foreign document with an untrusted signer, or altered,
// is still refused.
func TestVerifyForeignDocuments(t *testing.T) {
	de, err := ecparamstest.NewSet("DE", "brainpoolP512r1", true)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := ecparamstest.NewSet("DE", "brainpoolP384r1", true)
	if err != nil {
		t.Fatal(err)
	}
	store := trust.New()
	if err := store.AddCSCA(de.CSCA); err != nil {
		t.Fatal(err)
	}
	app, err := verifytest.Application(40)
	if err != nil {
		t.Fatal(err)
	}
	idCard := func(c *prep.Card) string {
		return td1("D", c.DocumentNumber, c.BirthYYMMDD, "F", c.ExpiryYYMMDD, "MUSTERMANN<<ERIKA")
	}
	passport := func(c *prep.Card) string {
		return td3("D", c.DocumentNumber, c.BirthYYMMDD, "F", c.ExpiryYYMMDD, "MUSTERMANN<<ERIKA")
	}
	expired := func(c *prep.Card) string {
		return td3("D", c.DocumentNumber, c.BirthYYMMDD, "F", "200101", "MUSTERMANN<<ERIKA")
	}
	base := verifytest.Spec{App: app, DS: de.DS, DSKey: de.DSKey}
	cases := []struct {
		name     string
		spec     verifytest.Spec
		mrzCreds bool
		read     emrtd.Options
		verdict  verify.Verdict
		code     string
		access   string
		format   string
	}{
		{"id card with CA and AA, PACE", foreignSpec(base, idCard, 14, 15), false, emrtd.Options{}, verify.Genuine, "", emrtd.AccessPACECAN, "TD1"},
		{"passport with AA only, BAC", foreignSpec(base, passport, 15), true, emrtd.Options{NoPACE: true}, verify.Genuine, "", emrtd.AccessBAC, "TD3"},
		{"passport without clone checks, PACE-MRZ", foreignSpec(base, passport), true, emrtd.Options{}, verify.Genuine, "", emrtd.AccessPACEMRZ, "TD3"},
		{"passport with an explicit-parameter AA key", explicitAA(foreignSpec(base, passport, 14, 15)), false, emrtd.Options{}, verify.Genuine, "", emrtd.AccessPACECAN, "TD3"},
		{"expired passport", foreignSpec(base, expired, 14, 15), false, emrtd.Options{}, verify.NotGenuine, verify.CodeExpired, emrtd.AccessPACECAN, "TD3"},
		{"untrusted signer", foreignSpec(verifytest.Spec{App: app, DS: stranger.DS, DSKey: stranger.DSKey}, passport, 14, 15),
			false, emrtd.Options{}, verify.NotGenuine, verify.CodeUnknownSigner, emrtd.AccessPACECAN, "TD3"},
		{"portrait altered", func() verifytest.Spec {
			s := foreignSpec(base, passport, 14, 15)
			s.AfterSign = chain(s.AfterSign, func(files map[uint16][]byte) error { files[0x0102][len(files[0x0102])-1] ^= 1; return nil })
			return s
		}(), false, emrtd.Options{}, verify.NotGenuine, "dg-hash-mismatch:DG2", emrtd.AccessPACECAN, "TD3"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chip, card := issue(t, fmt.Sprintf("DEFOREIGN%d", i), c.spec)
			creds := card.Credentials()
			if c.mrzCreds {
				creds = card.MRZCredentials()
			}
			reg := registry{cards: map[string]verify.Status{}} // would say card-unknown if asked
			r := verify.Verify(context.Background(), vchip.Transport{Chip: chip}, creds,
				verify.Options{Trust: store, Status: reg, Read: c.read})
			if r.Verdict != c.verdict || r.Code != c.code || r.Access != c.access {
				t.Fatalf("%s %q via %s, want %s %q via %s: %+v", r.Verdict, r.Code, r.Access, c.verdict, c.code, c.access, r.Reasons)
			}
			if r.Issuer != "D" || r.Document == nil || r.Document.Format != c.format || r.Holder == nil ||
				r.Holder.FullName != "MUSTERMANN, ERIKA" || len(r.Portrait) == 0 {
				t.Fatalf("issuer %q document %+v holder %+v portrait %d", r.Issuer, r.Document, r.Holder, len(r.Portrait))
			}
			na := map[string]bool{}
			for _, f := range r.Reasons {
				if f.NotApplicable {
					na[f.Check] = f.OK && f.Skipped
				}
				if !f.OK && !f.Skipped && (f.Check == verify.CheckDG1DG13 || f.Check == verify.CheckStatus) {
					t.Errorf("CCCD-only check failed on a foreign document: %+v", f)
				}
			}
			if c.verdict == verify.Genuine && (!na[verify.CheckDG1DG13] || !na[verify.CheckStatus]) {
				t.Errorf("DG13 and registry status should be not applicable: %+v", r.Reasons)
			}
			if c.verdict != verify.Genuine {
				return
			}
			// At a hand-over the card expected is a CCCD card: a foreign document is not it.
			chip.Reset()
			r = verify.Verify(context.Background(), vchip.Transport{Chip: chip}, creds,
				verify.Options{Trust: store, ExpectSerial: "VN0000001", Read: c.read})
			if r.Verdict != verify.NotGenuine || r.Code != verify.CodeSerialMismatch {
				t.Errorf("hand-over of a foreign document: %s %s", r.Verdict, r.Code)
			}
		})
	}
}

// TestForeignPassportSignedByAnIDCardSigner: a Document Signer whose DocumentTypeList
// allows ID cards only (ICAO 9303-12 §7.1.1.3) cannot sign a passport (TD3 "P").
func TestForeignPassportSignedByAnIDCardSigner(t *testing.T) {
	fx := newFixture(t)
	app, err := verifytest.Application(41)
	if err != nil {
		t.Fatal(err)
	}
	passport := func(c *prep.Card) string {
		return td3("D", c.DocumentNumber, c.BirthYYMMDD, "F", c.ExpiryYYMMDD, "MUSTERMANN<<ERIKA")
	}
	chip, card := issue(t, "DEPROFILE1", foreignSpec(verifytest.Spec{App: app, DS: fx.vn.DS, DSKey: fx.vn.DSKey}, passport, 14, 15))
	r := verify.Verify(context.Background(), vchip.Transport{Chip: chip}, card.Credentials(), verify.Options{Trust: fx.trust})
	if r.Verdict != verify.NotGenuine || r.Code != verify.CodeDSProfile || !strings.Contains(r.Err().Error(), "not \"P\"") {
		t.Fatalf("%s: %v", r.Verdict, r.Err())
	}
}

// explicitAA makes spec write DG15's Active Authentication key with explicit domain
// parameters (the same key, spelled out), as many States' documents do.
func explicitAA(spec verifytest.Spec) verifytest.Spec {
	before := spec.BeforeSign
	spec.BeforeSign = func(c *prep.Card, dgs map[int][]byte) error {
		if err := before(c, dgs); err != nil {
			return err
		}
		pub, err := lds.ParseDG15(dgs[15])
		if err != nil {
			return err
		}
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("AA key %T, want ECDSA", pub)
		}
		spki, err := ecparams.MarshalPublicKey(k, true)
		if err != nil {
			return err
		}
		dgs[15] = tlv.Encode(0x6F, spki)
		if _, err := x509.ParsePKIXPublicKey(spki); err == nil {
			return fmt.Errorf("crypto/x509 reads the explicit AA key: the test would prove nothing")
		}
		return nil
	}
	return spec
}

// chain runs f, then g.
func chain(f, g func(map[uint16][]byte) error) func(map[uint16][]byte) error {
	return func(files map[uint16][]byte) error {
		if err := f(files); err != nil {
			return err
		}
		return g(files)
	}
}
