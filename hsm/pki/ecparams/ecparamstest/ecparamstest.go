// Package ecparamstest makes document PKIs whose keys have explicit elliptic-curve domain
// parameters (or named brainpool curves), as real CSCAs and Document Signers have them,
// and finds the real interoperability files the tests read (../shared/interop beside the
// repository). Go's crypto/x509 cannot issue such certificates: package hsm/pki/ecparams
// writes them (CreateCertificate), and this package gives them the ICAO 9303-12 §7.1.1
// profiles of a CSCA, a Document Signer and a Master List Signer.
//
// Test support only: its keys are software keys made on the fly.
package ecparamstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/cccd-project/cccd/hsm/pki/cms"
	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/hsm/pki/masterlist"
)

// Set is one State's CSCA with a Document Signer, on one curve.
type Set struct {
	Name     string // e.g. "brainpoolP384r1-explicit"
	Country  string
	CSCA     *x509.Certificate
	CSCAKey  crypto.Signer
	DS       *x509.Certificate
	DSKey    crypto.Signer
	Curve    *ecparams.Curve
	Explicit bool
}

// Sets are the curve and encoding combinations the tests cover: brainpool 256/384/512 and
// P-256/384 with explicit parameters, brainpool 256 named.
var Sets = []struct {
	Curve    string
	Explicit bool
}{
	{"brainpoolP256r1", true}, {"brainpoolP384r1", true}, {"brainpoolP512r1", true},
	{"P-256", true}, {"P-384", true}, {"brainpoolP256r1", false},
}

// serial returns a random positive 64-bit serial number.
func serial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil
}

func name(country, cn string) pkix.Name {
	return pkix.Name{Country: []string{country}, Organization: []string{"cccd ecparamstest"}, CommonName: cn}
}

// NewKey makes a key on the named known curve.
func NewKey(curve string) (*ecdsa.PrivateKey, error) {
	c := ecparams.ByName(curve)
	if c == nil {
		return nil, fmt.Errorf("ecparamstest: unknown curve %q", curve)
	}
	return ecdsa.GenerateKey(c.Curve, rand.Reader)
}

// NewCSCA issues a self-signed CSCA (basicConstraints CA, keyCertSign+cRLSign) for key,
// valid from an hour ago for ten years.
func NewCSCA(country string, key *ecdsa.PrivateKey, explicit bool) (*x509.Certificate, error) {
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	now := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: sn, Subject: name(country, "CSCA "+country), NotBefore: now,
		NotAfter: now.AddDate(10, 0, 0), KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true}
	return ecparams.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, explicit, key)
}

// oidDocumentTypeList is ICAO 9303-12 §7.1.1.3's DocumentTypeList extension.
var oidDocumentTypeList = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 6, 2}

// NewLeaf issues a certificate for pub signed by the CSCA: a Document Signer (keyUsage
// digitalSignature, DocumentTypeList {"ID", "P"}) or, with eku, a Master List Signer.
func NewLeaf(csca *x509.Certificate, cscaKey crypto.Signer, cn string, pub *ecdsa.PublicKey, explicit bool, eku ...asn1.ObjectIdentifier) (*x509.Certificate, error) {
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	dtl, err := asn1.Marshal(struct {
		Version int
		Types   []string `asn1:"set"`
	}{0, []string{"ID", "P"}})
	if err != nil {
		return nil, err
	}
	now := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: sn, Subject: name(csca.Subject.Country[0], cn), NotBefore: now,
		NotAfter: now.AddDate(5, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature, UnknownExtKeyUsage: eku,
		ExtraExtensions: []pkix.Extension{{Id: oidDocumentTypeList, Value: dtl}}}
	return ecparams.CreateCertificate(rand.Reader, tmpl, csca, pub, explicit, cscaKey)
}

// NewSet issues a CSCA and a Document Signer of country on curve, both with explicit
// parameters or both named.
func NewSet(country, curve string, explicit bool) (*Set, error) {
	s := &Set{Name: curve + map[bool]string{true: "-explicit", false: "-named"}[explicit], Country: country,
		Curve: ecparams.ByName(curve), Explicit: explicit}
	ck, err := NewKey(curve)
	if err != nil {
		return nil, err
	}
	if s.CSCA, err = NewCSCA(country, ck, explicit); err != nil {
		return nil, err
	}
	dk, err := NewKey(curve)
	if err != nil {
		return nil, err
	}
	if s.DS, err = NewLeaf(s.CSCA, ck, "Document Signer "+country, &dk.PublicKey, explicit); err != nil {
		return nil, err
	}
	s.CSCAKey, s.DSKey = ck, dk
	return s, nil
}

// MasterList signs a CSCA Master List holding certs with a new Master List Signer of this
// set's CSCA (same curve and encoding).
func (s *Set) MasterList(certs ...*x509.Certificate) ([]byte, error) {
	mls, k, err := s.masterListSigner()
	if err != nil {
		return nil, err
	}
	return masterlist.Sign(append([]*x509.Certificate{s.CSCA}, certs...), mls, k, time.Now())
}

func (s *Set) masterListSigner() (*x509.Certificate, crypto.Signer, error) {
	k, err := NewKey(s.Curve.Name)
	if err != nil {
		return nil, nil, err
	}
	mls, err := NewLeaf(s.CSCA, s.CSCAKey, "Master List Signer "+s.Country, &k.PublicKey, s.Explicit, masterlist.OIDMasterListSigning)
	return mls, k, err
}

// RawMasterList signs a master list whose certList holds the elements exactly as given, in
// order, repeats included (masterlist.Sign writes a DER SET OF: sorted, without repeats),
// as lists found in the wild may be.
func (s *Set) RawMasterList(elements ...[]byte) ([]byte, error) {
	mls, k, err := s.masterListSigner()
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			for _, e := range elements {
				b.AddBytes(e)
			}
		})
	})
	content, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	return cms.Sign(masterlist.OIDCSCAMasterList, content, mls, k, &cms.SignOptions{SigningTime: time.Now()})
}

// Interop file names in the interop directory.
const (
	GermanCSCA       = "DE_ROOT_CA_CSCA07.cer"
	GermanMasterList = "DE_ML_2026-05-28-08-28-45.ml"
)

// InteropDir returns the directory of the real interoperability files: shared/interop
// beside the repository (../shared/interop from the module root). It fails the test when
// the directory is missing: CI must provide it.
func InteropDir(t testing.TB) string {
	t.Helper()
	dir, err := interopDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func interopDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("ecparamstest: go.mod not found above the working directory")
		}
		dir = parent
	}
	in := filepath.Join(dir, "..", "shared", "interop")
	if _, err := os.Stat(filepath.Join(in, GermanMasterList)); err != nil {
		return "", fmt.Errorf("ecparamstest: the real interop files are missing: %w (the tests need shared/interop beside the repository, %s)", err, in)
	}
	return filepath.Clean(in), nil
}

// ReadInterop reads a file of the interop directory.
func ReadInterop(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(InteropDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
