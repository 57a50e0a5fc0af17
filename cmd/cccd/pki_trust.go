package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/hsm/pki/trust"
)

// trustedCert is one trusted certificate as `pki trust list` and `pki masterlist import`
// show it.
type trustedCert struct {
	Country   string    `json:"country"`
	Subject   string    `json:"subject"`
	Kind      string    `json:"kind"` // self-signed or link
	Key       string    `json:"key"`  // e.g. "brainpoolP512r1 (explicit parameters)"
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	Source    string    `json:"source,omitempty"`
	SHA256    string    `json:"sha256"`
}

func describeTrusted(c *x509.Certificate, source string, link bool) trustedCert {
	t := trustedCert{Subject: c.Subject.String(), Kind: "self-signed", Key: ecparams.Describe(c), NotBefore: c.NotBefore,
		NotAfter: c.NotAfter, Source: source}
	if len(c.Subject.Country) > 0 {
		t.Country = c.Subject.Country[0]
	}
	if link {
		t.Kind = "link"
	}
	h := sha256.Sum256(c.Raw)
	t.SHA256 = hex.EncodeToString(h[:])
	return t
}

// listTrust prints the trust store: country, subject, key, validity and source of each.
func listTrust(s *trust.Store) error {
	var out []trustedCert
	for _, e := range s.Entries() {
		out = append(out, describeTrusted(e.Cert, e.Source, e.Link))
	}
	slices.SortStableFunc(out, func(a, b trustedCert) int {
		return strings.Compare(a.Country+"\x00"+a.Subject, b.Country+"\x00"+b.Subject)
	})
	if global.json {
		return printJSON(out)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "COUNTRY\tSUBJECT\tKIND\tKEY\tVALID\tSOURCE")
	for _, t := range out {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s..%s\t%s\n", t.Country, t.Subject, t.Kind, t.Key,
			t.NotBefore.Format(time.DateOnly), t.NotAfter.Format(time.DateOnly), t.Source)
	}
	fmt.Fprintf(w, "%d certificates\n", len(out))
	return w.Flush()
}

// importMasterList imports the master list in file into the trust store in dir and prints
// what was added and refused (ICAO 9303-12 §9).
func importMasterList(file, dir string) error {
	der, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	s, err := trust.Load(os.DirFS(dir))
	if err != nil {
		return err
	}
	start := time.Now()
	r, err := s.ImportList(der, time.Now(), "master list "+filepath.Base(file))
	if err != nil {
		return err
	}
	took := time.Since(start)
	if err := s.Save(dir); err != nil {
		return err
	}
	if global.json {
		added := make([]trustedCert, 0, len(r.Added))
		for _, c := range r.Added {
			added = append(added, describeTrusted(c, "", r.IsLink(c)))
		}
		return printJSON(struct {
			*trust.ImportReport
			AddedCerts []trustedCert `json:"added"`
			ImportNS   int64         `json:"import_ns"`
		}{r, added, took.Nanoseconds()})
	}
	fmt.Printf("master list signed by %s (CSCA %s) on %s: %d certificates\n", r.Signer, r.SignerCSCA,
		r.SigningTime.Format(time.DateOnly), r.Total)
	fmt.Printf("%d added (%d link certificates), %d already trusted, %d duplicates, %d refused, in %s\n",
		len(r.Added), r.Links, r.AlreadyTrusted, r.Duplicates, len(r.Refused), took.Round(time.Millisecond))
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	if len(r.Refused) > 0 {
		fmt.Fprintln(w, "\nREFUSED BY REASON\tCOUNT")
		for _, reason := range slices.Sorted(maps.Keys(r.ByReason)) {
			fmt.Fprintf(w, "%s\t%d\n", reason, r.ByReason[reason])
		}
	}
	fmt.Fprintln(w, "\nCOUNTRY\tADDED\tALREADY TRUSTED\tREFUSED")
	for _, k := range r.Countries() {
		c := r.ByCountry[k]
		if k == "" {
			k = "(unknown)"
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\n", k, c.Added, c.AlreadyTrusted, c.Refused)
	}
	if len(r.Refused) > 0 {
		fmt.Fprintln(w, "\n#\tCOUNTRY\tREASON\tSUBJECT / DETAIL")
		for _, f := range r.Refused {
			subject := f.Subject
			if subject == "" {
				subject = "(does not parse)"
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s: %s\n", f.Index, f.Country, f.Reason, subject, f.Detail)
		}
	}
	return w.Flush()
}
