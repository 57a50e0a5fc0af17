package pki_test

import (
	"crypto/elliptic"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/issuance"
)

// ict is Vietnam's time zone: a card is valid through the end of its expiry date there.
var ict = time.FixedZone("ICT", 7*3600)

// validThrough is the last instant a card with expiry e is valid: the end of e in Vietnam.
func validThrough(e issuance.Date) time.Time {
	return time.Date(e.Year, e.Month, e.Day+1, 0, 0, 0, 0, ict).Add(-time.Second)
}

// TestLongestCardValidity checks pki.LongestCardValidity against the expiry rule itself
// (issuance.ExpiryDate, Law 26/2023 art. 21), with every issue day of a holder's life for
// holders born around 29 February and on ordinary days: no card runs longer, and some card
// runs exactly that long.
func TestLongestCardValidity(t *testing.T) {
	var births []issuance.Date
	for y := 1999; y <= 2003; y++ {
		for d := 20; d <= 40; d++ { // 20 February .. 12 March
			births = append(births, issuance.DateOf(time.Date(y, time.February, d, 0, 0, 0, 0, time.UTC)))
		}
		births = append(births, issuance.DateOf(time.Date(y, time.June, 15, 0, 0, 0, 0, time.UTC)),
			issuance.DateOf(time.Date(y, time.December, 31, 0, 0, 0, 0, time.UTC)))
	}
	reached := false
	for _, b := range births {
		for day := 0; day < 60*366; day++ {
			issue := issuance.DateOf(b.Time().AddDate(0, 0, day))
			e, ok := issuance.ExpiryDate(b, issue)
			if !ok {
				continue
			}
			limit := issuance.DateOf(pki.LongestCardValidity.After(issue.Time()))
			if limit.Before(e) {
				t.Fatalf("born %s, issued %s: expires %s, after issue + %s = %s", b, issue, e, pki.LongestCardValidity, limit)
			}
			reached = reached || limit == e
		}
	}
	if !reached {
		t.Errorf("no card runs the full %s: the constant is longer than the law", pki.LongestCardValidity)
	}
}

// TestDefaultCeremonyOutlivesCards: the CSCA and DS of a default ceremony outlive a card issued
// today to a 38-year-old (valid to 60), also when the DS is issued on the last day of the CSCA
// key's usage and the card is signed on the last day of the DS key's usage.
func TestDefaultCeremonyOutlivesCards(t *testing.T) {
	today := time.Now().UTC().Truncate(time.Second)
	cscaKey := ecKey(t, elliptic.P384())
	csca, err := pki.NewCSCA(cscaKey, pki.CSCAOptions{Authority: authority, Now: today})
	if err != nil {
		t.Fatal(err)
	}
	_, keyEnd, err := pki.PrivateKeyUsagePeriod(csca)
	if err != nil {
		t.Fatal(err)
	}
	for _, dsAt := range []time.Time{today, keyEnd} {
		ds, err := pki.IssueDocumentSigner(csca, cscaKey, ecKey(t, elliptic.P256()).Public(), pki.DSOptions{Authority: authority, Now: dsAt})
		if err != nil {
			t.Fatalf("DS issued %s: %v", dsAt, err)
		}
		_, usageEnd, err := pki.PrivateKeyUsagePeriod(ds)
		if err != nil {
			t.Fatal(err)
		}
		for _, signed := range []time.Time{dsAt, usageEnd} {
			issue := issuance.DateOf(signed.In(ict))
			birth := issue.AddYears(-38)
			e, ok := issuance.ExpiryDate(birth, issue)
			if !ok || e != birth.AddYears(60) {
				t.Fatalf("born %s issued %s: expiry %s %v, want the 60th birthday", birth, issue, e, ok)
			}
			end := validThrough(e)
			if ds.NotAfter.Before(end) || csca.NotAfter.Before(ds.NotAfter) {
				t.Errorf("card signed %s valid through %s; DS until %s; CSCA until %s", signed, end, ds.NotAfter, csca.NotAfter)
			}
			t.Logf("card issued %s to a 38-year-old, valid to %s; DS %s..%s; CSCA until %s", issue, e,
				ds.NotBefore.Format(time.DateOnly), ds.NotAfter.Format(time.DateOnly), csca.NotAfter.Format(time.DateOnly))
		}
	}
	if want := (pki.Span{Years: 27, Months: 3, Days: 2}).After(today); !csca.NotAfter.Equal(want) {
		t.Errorf("CSCA validity until %s, want 5y + 22y3m2d = %s", csca.NotAfter, want)
	}
}

func TestLifetimeRefusesShortProfiles(t *testing.T) {
	tests := []struct {
		name string
		l    pki.Lifetime
		want string // part of the arithmetic the refusal shows
	}{
		{"CSCA 20 years", pki.Lifetime{CSCAValidity: pki.Span{Years: 20}}, "5y key usage + 22y3m2d DS validity = 27y3m2d"},
		{"CSCA one day short", pki.Lifetime{CSCAValidity: pki.Span{Years: 27, Months: 3, Days: 1}}, "CSCA validity chosen 27y3m1d"},
		{"cards of 10 years", pki.Lifetime{CardValidity: pki.Span{Years: 10}}, "3m key usage + 10y longest card + 1d last day = 10y3m1d"},
		{"cards of 22 years", pki.Lifetime{CardValidity: pki.Span{Years: 22}}, "shorter than the longest card"},
		{"DS used 6 months", pki.Lifetime{DSUsageMonths: 6}, "DS key usage 6 months"},
		{"CSCA key 8 years", pki.Lifetime{CSCAKeyYears: 8}, "CSCA key usage 8 years"},
		{"CSCA 50 years", pki.Lifetime{CSCAValidity: pki.Span{Years: 50}}, "longer than 40 years"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.l.Check()
			if !errors.Is(err, pki.ErrProfile) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check() = %v, want ErrProfile showing %q", err, tt.want)
			}
			if _, err := pki.NewCSCA(ecKey(t, elliptic.P384()), pki.CSCAOptions{Authority: authority, Now: now, Lifetime: tt.l}); !errors.Is(err, pki.ErrProfile) {
				t.Errorf("NewCSCA: %v, want ErrProfile", err)
			}
		})
	}
	for _, l := range []pki.Lifetime{{}, {CSCAKeyYears: 3, CSCAValidity: pki.Span{Years: 30}}, {DSUsageMonths: 1, CardValidity: pki.Span{Years: 23}}} {
		if err := l.Check(); err != nil {
			t.Errorf("%+v: %v", l, err)
		}
	}
}

func TestParseSpan(t *testing.T) {
	good := map[string]pki.Span{"22y1d": {22, 0, 1}, "3m": {0, 3, 0}, "27y3m2d": {27, 3, 2}, "0d": {}, "100y": {100, 0, 0}}
	for in, want := range good {
		if got, err := pki.ParseSpan(in); err != nil || got != want {
			t.Errorf("ParseSpan(%q) = %v, %v; want %v", in, got, err, want)
		}
		if in != "0d" {
			if s := want.String(); s != in {
				t.Errorf("%v.String() = %q, want %q", want, s, in)
			}
		}
	}
	for _, in := range []string{"", "22", "y", "1d2y", "22y22y", "-1y", "101y", "1000d", "22 y", "2w", "22y1d "} {
		if _, err := pki.ParseSpan(in); !errors.Is(err, pki.ErrSpan) {
			t.Errorf("ParseSpan(%q) = %v, want ErrSpan", in, err)
		}
	}
}

func FuzzParseSpan(f *testing.F) {
	for _, s := range []string{"22y1d", "27y3m2d", "3m", "", "1d2y", "999y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := pki.ParseSpan(in)
		if err != nil {
			return
		}
		back, err := pki.ParseSpan(s.String())
		if err != nil || back != s {
			t.Fatalf("%q -> %v -> %q -> %v %v", in, s, s.String(), back, err)
		}
	})
}
