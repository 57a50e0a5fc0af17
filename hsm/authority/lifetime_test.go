package authority_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/authority"
	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/issuance"
)

// TestCeremonyLifetime: the certificates of a default ceremony (two admins) outlive a card
// issued today to a 38-year-old, valid to the 60th birthday; a ceremony asked for a CSCA that
// cannot cover its Document Signers is refused with the arithmetic, and records nothing.
func TestCeremonyLifetime(t *testing.T) {
	a, db, _ := setup(t, cfg)
	ctx := context.Background()
	if _, err := a.Request(ctx, "alice", authority.ActionCreateCSCA, authority.Params{Lifetime: &pki.Lifetime{CSCAValidity: pki.Span{Years: 20}}}); !errors.Is(err, pki.ErrProfile) ||
		!strings.Contains(err.Error(), "5y key usage + 22y3m2d DS validity = 27y3m2d") {
		t.Fatalf("20-year CSCA: %v, want ErrProfile with the arithmetic", err)
	}
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM pki_request").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d requests recorded after a refusal (%v)", n, err)
	}
	if _, err := authority.New(db, nil, authority.Config{Authority: cfg.Authority, Lifetime: pki.Lifetime{CardValidity: pki.Span{Years: 10}}}); !errors.Is(err, pki.ErrProfile) {
		t.Errorf("config with 10-year cards: %v, want ErrProfile", err)
	}

	csca := confirm(t, a, authority.ActionCreateCSCA, authority.Params{}).CSCA
	ds := confirm(t, a, authority.ActionIssueDS, authority.Params{}).DS
	ict := time.FixedZone("ICT", 7*3600)
	issue := issuance.DateOf(time.Now().In(ict))
	birth := issue.AddYears(-38)
	e, ok := issuance.ExpiryDate(birth, issue)
	if !ok {
		t.Fatal("a 38-year-old's card has no expiry")
	}
	end := time.Date(e.Year, e.Month, e.Day+1, 0, 0, 0, 0, ict)
	if ds.NotAfter.Before(end) || csca.NotAfter.Before(ds.NotAfter) {
		t.Errorf("card issued %s valid to %s; DS until %s; CSCA until %s", issue, e, ds.NotAfter, csca.NotAfter)
	}
	t.Logf("card issued %s to a 38-year-old, valid to %s; DS until %s; CSCA until %s", issue, e,
		ds.NotAfter.Format(time.DateOnly), csca.NotAfter.Format(time.DateOnly))
}
