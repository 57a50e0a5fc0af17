package trust

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/hsm/pki/masterlist"
)

// Reasons a master-list certificate is refused (Refusal.Reason).
const (
	ReasonUnparsable    = "unparsable"            // crypto/x509 (and ecparams) cannot read it
	ReasonUnknownCurve  = "unknown-curve"         // EC key on a curve not known (ecparams.ErrUnknownCurve)
	ReasonNotCSCA       = "not-csca"              // no basicConstraints CA or no keyCertSign
	ReasonBadSignature  = "signature-invalid"     // its self-signature does not verify
	ReasonInsecure      = "insecure-algorithm"    // signed with SHA-1 or MD5, which this verifier refuses
	ReasonUnsupported   = "unsupported-algorithm" // a signature or key algorithm not supported
	ReasonLinkUntrusted = "link-issuer-unknown"   // link certificate whose issuer is not trusted
)

// Refusal is one master-list certificate that was not trusted, and why.
type Refusal struct {
	Index   int    `json:"index"`   // position in the list's certList, from 0
	Country string `json:"country"` // subject country, "" when unknown
	Subject string `json:"subject"` // "" when the certificate does not parse
	Reason  string `json:"reason"`  // one of the Reason* codes
	Detail  string `json:"detail"`
}

// Counts are the outcomes for one country.
type Counts struct {
	Added          int `json:"added"`
	AlreadyTrusted int `json:"already_trusted"`
	Refused        int `json:"refused"`
}

// ImportReport says what ImportList did with each certificate of a master list.
type ImportReport struct {
	Signer      string    `json:"signer"`      // Master List Signer subject
	SignerCSCA  string    `json:"signer_csca"` // the trusted CSCA that issued it
	SigningTime time.Time `json:"signing_time"`
	Total       int       `json:"total"` // certificates in the list
	// Added are the certificates newly trusted; AlreadyTrusted were in the store before;
	// Duplicates repeat an earlier certificate of the same list (counted once).
	Added          []*x509.Certificate `json:"-"`
	AlreadyTrusted int                 `json:"already_trusted"`
	Duplicates     int                 `json:"duplicates"`
	Links          int                 `json:"links_added"` // link certificates among Added
	Refused        []Refusal           `json:"refused"`
	ByReason       map[string]int      `json:"refused_by_reason"`
	ByCountry      map[string]*Counts  `json:"by_country"`

	links map[string]bool // DER of the link certificates among Added
}

// IsLink reports whether c, one of Added, is a link certificate.
func (r *ImportReport) IsLink(c *x509.Certificate) bool { return r.links[string(c.Raw)] }

func (r *ImportReport) addedLink(c *x509.Certificate) {
	r.added(c)
	r.Links++
	if r.links == nil {
		r.links = map[string]bool{}
	}
	r.links[string(c.Raw)] = true
}

// ImportList verifies a CSCA Master List (ICAO 9303-12 §9) and adds its certificates one
// by one. The list must parse as a whole, its CMS signature must verify, and its signer
// must be a Master List Signer that VerifySigner accepts at 'at' (the issuing State's CSCA
// is already trusted, directly or through a link certificate of the list that a trusted
// CSCA signed); otherwise nothing is added and the error says why.
//
// Then each certificate is judged on its own: a self-signed CSCA (basicConstraints CA,
// keyCertSign) whose self-signature verifies is trusted; a link certificate (ICAO 9303-12
// §5.1.1) is trusted when a trusted CSCA, or one this list adds, signed it; a certificate
// already trusted or repeated in the list is counted, not added twice. Every other
// certificate is refused with its reason, and does not affect the others. source is
// recorded as where the added certificates came from (see Entries).
func (s *Store) ImportList(der []byte, at time.Time, source string) (*ImportReport, error) {
	ml, err := masterlist.Parse(der)
	if err != nil {
		return nil, err
	}
	signer, err := ml.Verify()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	fresh := map[string]bool{} // links added before the signer check: a list signed under a rolled-over CSCA
	for _, c := range s.addLinksLocked(ml.Certificates, source) {
		fresh[string(c.Raw)] = true
	}
	s.mu.Unlock()
	csca, err := s.VerifySigner(signer, at)
	if err != nil {
		return nil, fmt.Errorf("trust: master list signer: %w", err)
	}
	r := &ImportReport{Signer: signer.Subject.String(), SignerCSCA: csca.Subject.String(),
		SigningTime: ml.SignedData.Signers[0].SigningTime, Total: len(ml.Entries),
		ByReason: map[string]int{}, ByCountry: map[string]*Counts{}}
	selfErrs := selfSignatures(ml.Entries) // the costly part, on every core, outside the lock
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	type pending struct {
		masterlist.Entry
		selfErr error // why its own key does not verify it
	}
	var links []pending
	for _, e := range ml.Entries {
		if seen[string(e.Raw)] {
			r.Duplicates++
			continue
		}
		seen[string(e.Raw)] = true
		if e.Err != nil {
			r.refuse(e, reasonOfParse(e.Err), e.Err.Error())
			continue
		}
		c := e.Cert
		if err := isCSCA(c); err != nil {
			r.refuse(e, ReasonNotCSCA, err.Error())
			continue
		}
		if fresh[string(c.Raw)] {
			r.addedLink(c)
			continue
		}
		if s.holdsLocked(c) {
			r.country(c).AlreadyTrusted++
			r.AlreadyTrusted++
			continue
		}
		if err := selfErrs[e.Index]; err != nil {
			// Not self-signed, or a link certificate under the same name as its issuer.
			links = append(links, pending{e, err})
			continue
		}
		s.cscas = append(s.cscas, c)
		s.setSourceLocked(c, source)
		r.added(c)
	}
	// Link certificates: repeat while one verifies against what is trusted now (a chain of
	// rollovers may come in any order).
	for progress := true; progress; {
		progress = false
		links = slices.DeleteFunc(links, func(e pending) bool {
			if s.issuerOf(e.Cert) == nil {
				return false
			}
			s.cscas = append(s.cscas, e.Cert)
			s.setSourceLocked(e.Cert, source)
			r.addedLink(e.Cert)
			progress = true
			return true
		})
	}
	for _, e := range links {
		c := e.Cert
		if selfSigned(c) && (len(c.AuthorityKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId)) {
			r.refuse(e.Entry, reasonOfSignature(e.selfErr), "self-signature: "+e.selfErr.Error())
			continue
		}
		r.refuse(e.Entry, ReasonLinkUntrusted, fmt.Sprintf("link certificate whose issuer %s (key %x) is no trusted CSCA of the store or the list",
			c.Issuer, c.AuthorityKeyId))
	}
	return r, nil
}

// selfSignatures checks the self-signature of every CSCA certificate among entries
// concurrently, one goroutine per core; the result is indexed like entries (nil: it verifies,
// or the entry is no CSCA certificate).
func selfSignatures(entries []masterlist.Entry) []error {
	errs := make([]error, len(entries))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				errs[i] = entries[i].Cert.CheckSignatureFrom(entries[i].Cert)
			}
		})
	}
	for i, e := range entries {
		if e.Cert != nil && isCSCA(e.Cert) == nil {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	return errs
}

// holdsLocked reports whether c is trusted already.
func (s *Store) holdsLocked(c *x509.Certificate) bool {
	return slices.ContainsFunc(s.cscas, func(h *x509.Certificate) bool { return bytes.Equal(h.Raw, c.Raw) })
}

func (r *ImportReport) country(c *x509.Certificate) *Counts {
	k := countryOf(c)
	if r.ByCountry[k] == nil {
		r.ByCountry[k] = &Counts{}
	}
	return r.ByCountry[k]
}

func (r *ImportReport) added(c *x509.Certificate) {
	r.Added = append(r.Added, c)
	r.country(c).Added++
}

func (r *ImportReport) refuse(e masterlist.Entry, reason, detail string) {
	f := Refusal{Index: e.Index, Reason: reason, Detail: detail}
	if e.Cert != nil {
		f.Country, f.Subject = countryOf(e.Cert), e.Cert.Subject.String()
		r.country(e.Cert).Refused++
	} else {
		if r.ByCountry[""] == nil {
			r.ByCountry[""] = &Counts{}
		}
		r.ByCountry[""].Refused++
	}
	r.Refused = append(r.Refused, f)
	r.ByReason[reason]++
}

// countryOf is the subject's country (ICAO 9303-12 §7.1.1: mandatory in CSCA subjects),
// else the issuer's, upper case; "" when neither has one.
func countryOf(c *x509.Certificate) string {
	for _, n := range [][]string{c.Subject.Country, c.Issuer.Country} {
		if len(n) > 0 {
			return strings.ToUpper(n[0])
		}
	}
	return ""
}

func reasonOfParse(err error) string {
	if errors.Is(err, ecparams.ErrUnknownCurve) {
		return ReasonUnknownCurve
	}
	return ReasonUnparsable
}

func reasonOfSignature(err error) string {
	var insecure x509.InsecureAlgorithmError
	switch {
	case errors.As(err, &insecure):
		return ReasonInsecure
	case errors.Is(err, x509.ErrUnsupportedAlgorithm):
		return ReasonUnsupported
	case strings.Contains(err.Error(), "insecure"): // crypto/rsa: keys under 1024 bits
		return ReasonInsecure
	}
	return ReasonBadSignature
}

// Countries returns the countries of ByCountry in order, "" (unknown) last.
func (r *ImportReport) Countries() []string { return sortedCountries(r.ByCountry) }
