// Package trust is the verifier's trust store for Passive Authentication (ICAO 9303-11 §5.1,
// 9303-12 §6): the CSCA certificates a relying party trusts (own and foreign, self-signed or
// authenticated through link certificates), the CSCAs' CRLs, and the import of CSCA Master
// Lists. VerifySigner decides whether a Document Signer certificate found in an EF.SOD chains
// to a trusted CSCA, is valid at a given time and is not revoked. It holds no private keys
// and knows no database.
package trust

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/cccd-project/cccd/hsm/pki/ecparams"
)

// Sentinel errors of VerifySigner and the Add methods.
var (
	ErrUnknownSigner = errors.New("trust: signer does not chain to a trusted CSCA")
	ErrRevoked       = errors.New("trust: certificate revoked")
	ErrExpired       = errors.New("trust: certificate not valid at the given time")
	ErrNotCSCA       = errors.New("trust: not a CSCA certificate")
)

// Store is a set of trusted CSCA certificates and their CRLs. It is safe for concurrent use.
type Store struct {
	mu    sync.RWMutex
	cscas []*x509.Certificate             // trusted: self-signed CSCAs and authenticated link certificates
	crls  map[string]*x509.RevocationList // by issuer key (see crlKey)
	raw   map[string][]byte               // CRL DER by issuer key, for Save
	// sources says where each CSCA came from, by file name (fileName of its DER).
	sources map[string]string
}

// New returns an empty store.
func New() *Store {
	return &Store{crls: map[string]*x509.RevocationList{}, raw: map[string][]byte{}, sources: map[string]string{}}
}

func crlKey(subject, keyID []byte) string { return string(subject) + "\x00" + string(keyID) }

func isCSCA(c *x509.Certificate) error {
	if !c.BasicConstraintsValid || !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("%w: %s (needs basicConstraints CA and keyCertSign)", ErrNotCSCA, c.Subject)
	}
	return nil
}

// AddCSCA adds a CSCA certificate. A self-signed certificate is trusted as given: adding it
// is the caller's trust decision (e.g. the own CSCA, or a foreign one received through a
// diplomatic channel). A link certificate (ICAO 9303-12 §5.1.1) is accepted only if it is
// signed by a CSCA already trusted; ErrUnknownSigner otherwise.
func (s *Store) AddCSCA(c *x509.Certificate) error {
	if err := isCSCA(c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLocked(c)
}

func (s *Store) addLocked(c *x509.Certificate) error {
	for _, have := range s.cscas {
		if have.Equal(c) {
			return nil
		}
	}
	otherKey := len(c.SubjectKeyId) > 0 && len(c.AuthorityKeyId) > 0 && !bytes.Equal(c.SubjectKeyId, c.AuthorityKeyId)
	if otherKey || !verifiesItself(c) {
		if s.issuerOf(c) == nil {
			return fmt.Errorf("%w: link certificate %s", ErrUnknownSigner, c.Subject)
		}
	}
	s.cscas = append(s.cscas, c)
	return nil
}

// issuerOf returns a trusted CSCA whose key verifies c's signature, or nil.
func (s *Store) issuerOf(c *x509.Certificate) *x509.Certificate {
	for _, ca := range s.cscas {
		if !bytes.Equal(ca.RawSubject, c.RawIssuer) {
			continue
		}
		if len(c.AuthorityKeyId) > 0 && len(ca.SubjectKeyId) > 0 && !bytes.Equal(c.AuthorityKeyId, ca.SubjectKeyId) {
			continue
		}
		if c.CheckSignatureFrom(ca) == nil {
			return ca
		}
	}
	return nil
}

// CSCAs returns the trusted CSCA and link certificates.
func (s *Store) CSCAs() []*x509.Certificate {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.cscas)
}

// AddCRL adds a CRL issued by a trusted CSCA (signature checked); it replaces an older CRL of
// the same CSCA (by CRL number) and is ignored if older than the one held.
func (s *Store) AddCRL(der []byte) error {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("trust: CRL: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var issuer *x509.Certificate
	for _, ca := range s.cscas {
		if bytes.Equal(ca.RawSubject, crl.RawIssuer) && crl.CheckSignatureFrom(ca) == nil {
			issuer = ca
			break
		}
	}
	if issuer == nil {
		return fmt.Errorf("%w: CRL issuer", ErrUnknownSigner)
	}
	k := crlKey(issuer.RawSubject, issuer.SubjectKeyId)
	if old, ok := s.crls[k]; ok && old.Number != nil && crl.Number != nil && old.Number.Cmp(crl.Number) >= 0 {
		return nil
	}
	s.crls[k] = crl
	s.raw[k] = slices.Clone(der)
	return nil
}

// VerifySigner checks a Document Signer (or Master List Signer) certificate: it must be
// signed by a trusted CSCA key, both certificates must be valid at 'at', and the signer must
// not be listed on the CSCA's CRL (when a CRL is held). It returns the CSCA certificate used.
func (s *Store) VerifySigner(ds *x509.Certificate, at time.Time) (*x509.Certificate, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var found []*x509.Certificate
	for _, ca := range s.cscas {
		if bytes.Equal(ca.RawSubject, ds.RawIssuer) && ds.CheckSignatureFrom(ca) == nil {
			found = append(found, ca)
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: %s (issuer %s)", ErrUnknownSigner, ds.Subject, ds.Issuer)
	}
	if at.Before(ds.NotBefore) || at.After(ds.NotAfter) {
		return nil, fmt.Errorf("%w: signer %s valid %s..%s", ErrExpired, ds.Subject,
			ds.NotBefore.Format(time.DateOnly), ds.NotAfter.Format(time.DateOnly))
	}
	var csca *x509.Certificate
	for _, ca := range found {
		if !at.Before(ca.NotBefore) && !at.After(ca.NotAfter) {
			csca = ca
			break
		}
	}
	if csca == nil {
		return nil, fmt.Errorf("%w: CSCA %s", ErrExpired, found[0].Subject)
	}
	if crl, ok := s.crls[crlKey(csca.RawSubject, csca.SubjectKeyId)]; ok {
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(ds.SerialNumber) == 0 {
				return nil, fmt.Errorf("%w: %s serial %x since %s", ErrRevoked, ds.Subject, ds.SerialNumber,
					e.RevocationTime.Format(time.RFC3339))
			}
		}
	}
	return csca, nil
}

// ImportMasterList verifies a CSCA Master List (ICAO 9303-12 §9) and adds its certificates:
// the list's signature must verify, its signer must have the Master List Signer profile and
// must itself pass VerifySigner at 'at' (so the issuing State's CSCA must already be trusted,
// directly or through a link certificate in the list that a trusted CSCA signed).
// It is ImportList without the report: it returns the certificates newly added.
func (s *Store) ImportMasterList(der []byte, at time.Time) ([]*x509.Certificate, error) {
	r, err := s.ImportList(der, at, "master list")
	if err != nil {
		return nil, err
	}
	return r.Added, nil
}

// addLinksLocked adds the link certificates among certs that verify against the store,
// repeating while new ones verify (a chain of rollovers), and returns them.
func (s *Store) addLinksLocked(certs []*x509.Certificate, source string) (added []*x509.Certificate) {
	for progress := true; progress; {
		progress = false
		for _, c := range certs {
			if isCSCA(c) != nil || !s.namesIssuerLocked(c) || slices.ContainsFunc(s.cscas, c.Equal) || verifiesItself(c) {
				continue
			}
			if s.addLocked(c) == nil {
				s.setSourceLocked(c, source)
				added = append(added, c)
				progress = true
			}
		}
	}
	return added
}

// namesIssuerLocked reports whether a trusted CSCA has c's issuer name (a cheap filter
// before signatures are checked).
func (s *Store) namesIssuerLocked(c *x509.Certificate) bool {
	return slices.ContainsFunc(s.cscas, func(ca *x509.Certificate) bool { return bytes.Equal(ca.RawSubject, c.RawIssuer) })
}

func selfSigned(c *x509.Certificate) bool { return bytes.Equal(c.RawSubject, c.RawIssuer) }

// verifiesItself reports whether c is self-signed: its own key verifies it. A link
// certificate can carry its issuer's name as subject (a new key under the same name).
func verifiesItself(c *x509.Certificate) bool { return selfSigned(c) && c.CheckSignatureFrom(c) == nil }

// isAnchor reports whether c, read back from a saved store, is a self-signed CSCA rather than
// a link certificate: same name as its issuer and its own key identifier as the authority
// key identifier (ICAO 9303-12 §7.1.1 makes both mandatory), else its own key verifies it.
// Loading a store of a few hundred foreign CSCAs thus checks no self-signature twice.
func isAnchor(c *x509.Certificate) bool {
	if selfSigned(c) && len(c.SubjectKeyId) > 0 && len(c.AuthorityKeyId) > 0 {
		return bytes.Equal(c.SubjectKeyId, c.AuthorityKeyId)
	}
	return verifiesItself(c)
}

func fileName(der []byte, ext string) string {
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:10]) + ext
}

// Load reads a store saved by Save: fsys holds csca/*.der (trusted as if added with AddCSCA,
// self-signed first) and crl/*.crl.
func Load(fsys fs.FS) (*Store, error) {
	s := New()
	certs, err := fs.Glob(fsys, "csca/*.der")
	if err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	var list []*x509.Certificate
	for _, name := range certs {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("trust: %w", err)
		}
		c, err := ecparams.ParseCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("trust: %s: %w", name, err)
		}
		list = append(list, c)
	}
	// Self-signed CSCAs first, then link certificates while one verifies (chains of rollovers).
	var links []*x509.Certificate
	for _, c := range list {
		if err := isCSCA(c); err != nil {
			return nil, err
		}
		if isAnchor(c) {
			s.cscas = append(s.cscas, c) // as AddCSCA: the anchor's self-signature was checked when it was added
		} else {
			links = append(links, c)
		}
	}
	for progress := true; progress && len(links) > 0; {
		progress = false
		links = slices.DeleteFunc(links, func(c *x509.Certificate) bool {
			ok := s.AddCSCA(c) == nil
			progress = progress || ok
			return ok
		})
	}
	if len(links) > 0 {
		return nil, s.AddCSCA(links[0])
	}
	if err := s.loadSources(fsys); err != nil {
		return nil, err
	}
	crls, err := fs.Glob(fsys, "crl/*.crl")
	if err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	for _, name := range crls {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("trust: %w", err)
		}
		if err := s.AddCRL(b); err != nil {
			return nil, fmt.Errorf("trust: %s: %w", path.Base(name), err)
		}
	}
	return s, nil
}

// Save writes the store under dir (csca/*.der, crl/*.crl; files named by content hash).
// CRL files of superseded CRLs are removed.
func (s *Store) Save(dir string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, sub := range []string{"csca", "crl"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("trust: %w", err)
		}
	}
	for _, c := range s.cscas {
		if err := os.WriteFile(filepath.Join(dir, "csca", fileName(c.Raw, ".der")), c.Raw, 0o644); err != nil {
			return fmt.Errorf("trust: %w", err)
		}
	}
	if err := s.saveSourcesLocked(dir); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, der := range s.raw {
		n := fileName(der, ".crl")
		keep[n] = true
		if err := os.WriteFile(filepath.Join(dir, "crl", n), der, 0o644); err != nil {
			return fmt.Errorf("trust: %w", err)
		}
	}
	old, _ := filepath.Glob(filepath.Join(dir, "crl", "*.crl"))
	for _, p := range old {
		if !keep[filepath.Base(p)] {
			os.Remove(p)
		}
	}
	return nil
}
