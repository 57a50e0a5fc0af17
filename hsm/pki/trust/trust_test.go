package trust_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/hsm/pki/trust"
)

var (
	vn  = pki.Authority{Country: "VN", Organization: "Bo Cong an", CRLURL: "http://pki.example.vn/csca.crl"}
	fr  = pki.Authority{Country: "FR", Organization: "Gouvernement", CRLURL: "http://pki.example.fr/csca.crl"}
	now = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
)

type ca struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func key(t *testing.T, c elliptic.Curve) crypto.Signer {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newCSCA(t *testing.T, a pki.Authority) ca {
	k := key(t, elliptic.P384())
	c, err := pki.NewCSCA(k, pki.CSCAOptions{Authority: a, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return ca{c, k}
}

func (c ca) ds(t *testing.T, at time.Time) *x509.Certificate {
	d, err := pki.IssueDocumentSigner(c.cert, c.key, key(t, elliptic.P256()).Public(), pki.DSOptions{Authority: vn, Now: at})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (c ca) crl(t *testing.T, n int64, serials ...*big.Int) []byte {
	var r []pki.Revoked
	for _, s := range serials {
		r = append(r, pki.Revoked{Serial: s, At: now, Reason: 1})
	}
	der, err := pki.CRL(c.cert, c.key, r, pki.CRLOptions{Number: big.NewInt(n), ThisUpdate: now.Add(time.Duration(n) * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestVerifySigner(t *testing.T) {
	own := newCSCA(t, vn)
	stranger := newCSCA(t, vn) // same name, other key
	ds := own.ds(t, now)
	revokedDS := own.ds(t, now)
	s := trust.New()
	if err := s.AddCSCA(own.cert); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCRL(own.crl(t, 1, revokedDS.SerialNumber)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ds   *x509.Certificate
		at   time.Time
		want error
	}{
		{"valid", ds, now.AddDate(1, 0, 0), nil},
		{"before validity", ds, now.Add(-time.Hour), trust.ErrExpired},
		{"after validity", ds, ds.NotAfter.Add(time.Second), trust.ErrExpired},
		{"other CSCA key", stranger.ds(t, now), now, trust.ErrUnknownSigner},
		{"revoked", revokedDS, now, trust.ErrRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.VerifySigner(tt.ds, tt.at)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifySigner = %v, want %v", err, tt.want)
			}
			if err == nil && !got.Equal(own.cert) {
				t.Error("returned another CSCA")
			}
		})
	}
}

func TestAddCRL(t *testing.T) {
	own := newCSCA(t, vn)
	ds := own.ds(t, now)
	s := trust.New()
	s.AddCSCA(own.cert)
	if err := s.AddCRL(newCSCA(t, vn).crl(t, 1)); !errors.Is(err, trust.ErrUnknownSigner) {
		t.Errorf("CRL of an untrusted CSCA: %v, want ErrUnknownSigner", err)
	}
	if err := s.AddCRL(own.crl(t, 2, ds.SerialNumber)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCRL(own.crl(t, 1)); err != nil { // older: ignored
		t.Fatal(err)
	}
	if _, err := s.VerifySigner(ds, now); !errors.Is(err, trust.ErrRevoked) {
		t.Errorf("older CRL replaced a newer one: %v", err)
	}
	if err := s.AddCRL(own.crl(t, 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifySigner(ds, now); err != nil {
		t.Errorf("newer CRL without the entry: %v", err)
	}
}

func TestLinkCertificate(t *testing.T) {
	old := newCSCA(t, vn)
	later := now.AddDate(2, 0, 0)
	newKey := key(t, elliptic.P384())
	next, link, err := pki.Rollover(old.cert, old.key, newKey, pki.CSCAOptions{Authority: vn, Now: later})
	if err != nil {
		t.Fatal(err)
	}
	ds := ca{next, newKey}.ds(t, later)

	empty := trust.New()
	if err := empty.AddCSCA(link); !errors.Is(err, trust.ErrUnknownSigner) {
		t.Errorf("link without its old CSCA: %v, want ErrUnknownSigner", err)
	}
	s := trust.New()
	s.AddCSCA(old.cert)
	if _, err := s.VerifySigner(ds, later); !errors.Is(err, trust.ErrUnknownSigner) {
		t.Errorf("new DS before the link is known: %v", err)
	}
	if err := s.AddCSCA(link); err != nil {
		t.Fatal(err)
	}
	got, err := s.VerifySigner(ds, later.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(link) {
		t.Error("expected the link certificate as the anchor")
	}
}

func TestImportMasterList(t *testing.T) {
	own := newCSCA(t, vn)
	foreign := newCSCA(t, fr)
	mlsKey := key(t, elliptic.P256())
	mls, err := pki.NewMasterListSigner(own.cert, own.key, mlsKey.Public(), pki.MLSOptions{Authority: vn, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ml, err := pki.ExportMasterList([]*x509.Certificate{own.cert, foreign.cert}, mls, mlsKey, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("untrusted issuer", func(t *testing.T) {
		s := trust.New()
		if _, err := s.ImportMasterList(ml, now); !errors.Is(err, trust.ErrUnknownSigner) {
			t.Errorf("ImportMasterList = %v, want ErrUnknownSigner", err)
		}
	})
	t.Run("trusted issuer", func(t *testing.T) {
		s := trust.New()
		s.AddCSCA(own.cert)
		added, err := s.ImportMasterList(ml, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(added) != 1 || !added[0].Equal(foreign.cert) {
			t.Fatalf("added %d certificates, want the foreign CSCA", len(added))
		}
		if _, err := s.VerifySigner(foreign.ds(t, now), now); err != nil {
			t.Errorf("foreign DS after import: %v", err)
		}
	})
	t.Run("signer revoked", func(t *testing.T) {
		s := trust.New()
		s.AddCSCA(own.cert)
		s.AddCRL(own.crl(t, 1, mls.SerialNumber))
		if _, err := s.ImportMasterList(ml, now); !errors.Is(err, trust.ErrRevoked) {
			t.Errorf("ImportMasterList = %v, want ErrRevoked", err)
		}
	})
}

func TestSaveLoad(t *testing.T) {
	old := newCSCA(t, vn)
	newKey := key(t, elliptic.P384())
	_, link, err := pki.Rollover(old.cert, old.key, newKey, pki.CSCAOptions{Authority: vn, Now: now.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	revoked := old.ds(t, now)
	s := trust.New()
	s.AddCSCA(old.cert)
	s.AddCSCA(link)
	s.AddCRL(old.crl(t, 1, revoked.SerialNumber))
	dir := t.TempDir()
	if err := s.Save(dir); err != nil {
		t.Fatal(err)
	}
	l, err := trust.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(l.CSCAs()); n != 2 {
		t.Errorf("loaded %d CSCAs, want 2", n)
	}
	if _, err := l.VerifySigner(revoked, now); !errors.Is(err, trust.ErrRevoked) {
		t.Errorf("CRL not reloaded: %v", err)
	}
}
