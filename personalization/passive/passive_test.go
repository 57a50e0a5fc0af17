package passive_test

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"maps"
	"math/big"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/pki/cms"
	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/personalization/lds/ldstest"
	"github.com/cccd-project/cccd/personalization/passive"
	"github.com/cccd-project/cccd/personalization/sod"
	"github.com/cccd-project/cccd/personalization/sod/sodtest"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

var (
	issued = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now    = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
)

// fixture is one country's PKI, a trust store that trusts its CSCA, and the sample card
// personalized with a Document Signer of that PKI.
type fixture struct {
	pki   *sodtest.PKI
	ds    *sodtest.DS
	store *trust.Store
	dgs   map[int][]byte // every data group on the chip, DG3 included
	sod   []byte
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	p, err := sodtest.NewPKI("VN", issued)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := p.NewDS("2026-1", issued, issued.AddDate(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	store := trust.New()
	if err := store.AddCSCA(p.CSCA); err != nil {
		t.Fatal(err)
	}
	_, _, dgs, err := ldstest.Sample().Files()
	if err != nil {
		t.Fatal(err)
	}
	ef, err := sod.Sign(dgs, ds.Cert, ds.Key)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{pki: p, ds: ds, store: store, dgs: dgs, sod: ef}
}

// readable returns the data groups a reader without Extended Access Control gets: all but DG3.
func (f *fixture) readable() map[int][]byte {
	m := maps.Clone(f.dgs)
	delete(m, 3)
	return m
}

func TestVerifyGenuineCard(t *testing.T) {
	f := newFixture(t)
	t.Run("all data groups read", func(t *testing.T) {
		r, err := passive.Verify(f.sod, f.dgs, f.store, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range r.DataGroups {
			if d.Status != passive.Valid {
				t.Errorf("dg%d: %v, want valid", d.Number, d.Status)
			}
		}
		if len(r.DataGroups) != 6 {
			t.Errorf("%d data groups reported, want 6", len(r.DataGroups))
		}
		if r.DSSubject != f.ds.Cert.Subject.String() || r.CSCASubject != f.pki.CSCA.Subject.String() {
			t.Errorf("subjects %q / %q", r.DSSubject, r.CSCASubject)
		}
		if !r.CSCA.Equal(f.pki.CSCA) || r.SigningTime.IsZero() {
			t.Errorf("CSCA %v, signing time %v", r.CSCA.Subject, r.SigningTime)
		}
	})
	t.Run("DG3 behind EAC not read", func(t *testing.T) {
		r, err := passive.Verify(f.sod, f.readable(), f.store, now)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]passive.Status{1: passive.Valid, 2: passive.Valid, 3: passive.NotRead,
			13: passive.Valid, 14: passive.Valid, 15: passive.Valid}
		for n, st := range want {
			if got := r.Status(n); got != st {
				t.Errorf("dg%d: %v, want %v", n, got, st)
			}
		}
	})
}

func TestVerifyDataGroups(t *testing.T) {
	f := newFixture(t)
	flip := func(n, i int) map[int][]byte {
		m := f.readable()
		m[n] = bytes.Clone(m[n])
		m[n][i] ^= 0x01
		return m
	}
	tests := []struct {
		name   string
		dgs    map[int][]byte
		number int
		status passive.Status
		is     error
	}{
		{"DG2 portrait byte", flip(2, 5000), 2, passive.HashMismatch, passive.ErrDataGroupHash},
		{"DG2 last byte", flip(2, len(f.dgs[2])-1), 2, passive.HashMismatch, passive.ErrDataGroupHash},
		{"DG13 name byte", flip(13, 40), 13, passive.HashMismatch, passive.ErrDataGroupHash},
		{"DG1 MRZ byte", flip(1, 10), 1, passive.HashMismatch, passive.ErrDataGroupHash},
		{"DG11 not signed", with(f.readable(), 11, []byte{0x6B, 0x00}), 11, passive.NotInSOD, passive.ErrNotInSOD},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := passive.Verify(f.sod, tc.dgs, f.store, now)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			var dge *passive.DataGroupError
			if !errors.As(err, &dge) || dge.Number != tc.number || dge.Status != tc.status {
				t.Errorf("err = %v, want a DataGroupError for dg%d", err, tc.number)
			}
			if r == nil || r.Status(tc.number) != tc.status || r.CSCA == nil {
				t.Fatalf("result %+v", r)
			}
			for _, d := range r.DataGroups {
				if d.Number != tc.number && d.Status != passive.Valid && d.Status != passive.NotRead {
					t.Errorf("dg%d reported %v", d.Number, d.Status)
				}
			}
		})
	}
	t.Run("two tampered groups both named", func(t *testing.T) {
		m := flip(2, 5000)
		m[13] = bytes.Clone(m[13])
		m[13][40] ^= 1
		_, err := passive.Verify(f.sod, m, f.store, now)
		for _, n := range []int{2, 13} {
			if !errors.Is(err, passive.ErrDataGroupHash) || !containsDG(err, n) {
				t.Errorf("err = %v does not name dg%d", err, n)
			}
		}
	})
}

// containsDG reports whether a joined error holds a DataGroupError for dg n.
func containsDG(err error, n int) bool {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return false
	}
	for _, e := range j.Unwrap() {
		var dge *passive.DataGroupError
		if errors.As(e, &dge) && dge.Number == n {
			return true
		}
	}
	return false
}

func with(m map[int][]byte, n int, b []byte) map[int][]byte {
	m[n] = b
	return m
}

func TestVerifySigner(t *testing.T) {
	f := newFixture(t)

	// A second country whose CSCA the store does not trust.
	rogue, err := sodtest.NewPKI("XX", issued)
	if err != nil {
		t.Fatal(err)
	}
	rogueDS, err := rogue.NewDS("1", issued, issued.AddDate(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	rogueSOD, err := sod.Sign(f.dgs, rogueDS.Cert, rogueDS.Key)
	if err != nil {
		t.Fatal(err)
	}

	// A Document Signer whose certificate ran out in 2025.
	shortDS, err := f.pki.NewDS("short", issued, issued.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	shortSOD, err := sod.Sign(f.dgs, shortDS.Cert, shortDS.Key)
	if err != nil {
		t.Fatal(err)
	}

	// A Document Signer revoked on the CSCA's CRL, in a store of its own.
	revokedDS, err := f.pki.NewDS("revoked", issued, issued.AddDate(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	revokedSOD, err := sod.Sign(f.dgs, revokedDS.Cert, revokedDS.Key)
	if err != nil {
		t.Fatal(err)
	}
	revokingStore := trust.New()
	if err := revokingStore.AddCSCA(f.pki.CSCA); err != nil {
		t.Fatal(err)
	}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:     big.NewInt(1),
		ThisUpdate: now.AddDate(0, -1, 0),
		NextUpdate: now.AddDate(0, 2, 0),
		RevokedCertificateEntries: []x509.RevocationListEntry{
			{SerialNumber: revokedDS.Cert.SerialNumber, RevocationTime: now.AddDate(0, -1, 0)},
		},
	}, f.pki.CSCA, f.pki.CSCAKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := revokingStore.AddCRL(crl); err != nil {
		t.Fatal(err)
	}

	// A Document Signer for passports only, and a CSCA-issued certificate without
	// digitalSignature whose EF.SOD is built with cms directly (sod.Sign refuses it).
	passportDS, err := f.pki.NewDSWith("passports", issued, issued.AddDate(10, 0, 0), &sodtest.DSOptions{DocumentTypes: []string{"P"}})
	if err != nil {
		t.Fatal(err)
	}
	passportSOD, err := sod.Sign(f.dgs, passportDS.Cert, passportDS.Key)
	if err != nil {
		t.Fatal(err)
	}
	crlSigner, err := f.pki.NewDSWith("crl signer", issued, issued.AddDate(10, 0, 0), &sodtest.DSOptions{KeyUsage: x509.KeyUsageCRLSign})
	if err != nil {
		t.Fatal(err)
	}
	so, err := sod.NewLDSSecurityObject(f.dgs)
	if err != nil {
		t.Fatal(err)
	}
	content, err := so.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := cms.Sign(sod.OIDLDSSecurityObject, content, crlSigner.Cert, crlSigner.Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	crlSignerSOD := tlv.Encode(0x77, signed)

	tamperedSig := bytes.Clone(f.sod)
	tamperedSig[len(tamperedSig)-3] ^= 0x01

	tests := []struct {
		name  string
		sod   []byte
		store passive.TrustStore
		at    time.Time
		is    error
	}{
		{"signed by an untrusted CSCA's DS", rogueSOD, f.store, now, passive.ErrUnknownSigner},
		{"empty trust store", f.sod, trust.New(), now, passive.ErrUnknownSigner},
		{"expired Document Signer", shortSOD, f.store, now, passive.ErrExpired},
		{"before the DS was issued", f.sod, f.store, issued.AddDate(0, 0, -1), passive.ErrExpired},
		{"revoked Document Signer", revokedSOD, revokingStore, now, passive.ErrRevoked},
		{"tampered signature", tamperedSig, f.store, now, passive.ErrSignature},
		{"DS for passports only", passportSOD, f.store, now, passive.ErrSignerProfile},
		{"signer without digitalSignature", crlSignerSOD, f.store, now, passive.ErrSignerProfile},
		{"not an EF.SOD", f.dgs[1], f.store, now, passive.ErrSOD},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := passive.Verify(tc.sod, f.readable(), tc.store, tc.at)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			for _, other := range []error{passive.ErrUnknownSigner, passive.ErrExpired, passive.ErrRevoked, passive.ErrSignature,
				passive.ErrSOD, passive.ErrSignerProfile} {
				if other != tc.is && errors.Is(err, other) {
					t.Errorf("err = %v also matches %v", err, other)
				}
			}
			if tc.is == passive.ErrSOD {
				if r != nil {
					t.Errorf("result %+v for an unparsable EF.SOD", r)
				}
				return
			}
			if r == nil || r.DSSubject == "" || (r.CSCA != nil) != (tc.is == passive.ErrSignerProfile) {
				t.Errorf("result %+v: want the DS subject, and the CSCA only when the chain is trusted", r)
			}
		})
	}
	t.Run("revoked DS still fine in the store without the CRL", func(t *testing.T) {
		if _, err := passive.Verify(revokedSOD, f.readable(), f.store, now); err != nil {
			t.Errorf("err = %v", err)
		}
	})
}

// FuzzVerify feeds arbitrary EF.SOD bytes to Verify with the sample card's data groups.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.sod)
	f.Add([]byte{0x77, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := passive.Verify(b, fx.dgs, fx.store, now)
		if err == nil && (r == nil || r.CSCA == nil) {
			t.Errorf("Verify accepted %X without a CSCA", b)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	dgs := f.readable()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := passive.Verify(f.sod, dgs, f.store, now); err != nil {
			b.Fatal(err)
		}
	}
}
