package authority_test

import (
	"context"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/authority"
	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/hsm/pki/ecparams/ecparamstest"
	"github.com/cccd-project/cccd/hsm/pki/trust"
)

// TestForeignExplicitCSCAInMasterList: a foreign CSCA whose key has explicit brainpool
// parameters (the real German CSCA) is vouched for and exported in the own master list,
// and a verifier trusting the own CSCA learns it from that list.
func TestForeignExplicitCSCAInMasterList(t *testing.T) {
	ctx := context.Background()
	a, _, _ := setup(t, cfg)
	csca := confirm(t, a, authority.ActionCreateCSCA, authority.Params{}).CSCA
	de, err := ecparams.ParseCertificate(ecparamstest.ReadInterop(t, ecparamstest.GermanCSCA))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddForeignCSCA(ctx, de, "alice"); err != nil {
		t.Fatal(err)
	}
	der, err := a.ExportMasterList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := trust.New()
	if err := s.AddCSCA(csca); err != nil {
		t.Fatal(err)
	}
	r, err := s.ImportList(der, time.Now(), "own list")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Added) != 1 || !r.Added[0].Equal(de) || len(r.Refused) != 0 {
		t.Fatalf("added %d refused %+v", len(r.Added), r.Refused)
	}
}
