package verify_test

import (
	"fmt"
	"testing"

	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/hsm/pki/ecparams/ecparamstest"
	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/personalization/verify/verifytest"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

// verifyOnce verifies chip through pcscd in slot and takes it out again.
func verifyOnce(t *testing.T, slot int, chip *vchip.Chip, creds emrtd.Credentials, store *trust.Store) verify.Report {
	t.Helper()
	var r verify.Report
	t.Run(fmt.Sprintf("slot%d", slot), func(t *testing.T) {
		r = verifyInReader(t, slot, chip, creds, verify.Options{Trust: store})
	})
	chip.Reset()
	return r
}

// TestVerifyExplicitBrainpoolSignerThroughPCSC: a card whose EF.SOD is signed by a
// Document Signer whose brainpool key (256 or 512 bits) has explicit parameters, issued by
// a CSCA with such a key, is genuine through pcscd when its CSCA is trusted; a card signed by a Document Signer of a CSCA the store does not hold, and the
// genuine card read against a store without its CSCA, are not genuine with
// sod-unknown-signer.
func TestVerifyExplicitBrainpoolSignerThroughPCSC(t *testing.T) {
	for _, curve := range []string{"brainpoolP256r1", "brainpoolP512r1"} {
		t.Run(curve, func(t *testing.T) {
			home, err := ecparamstest.NewSet("VN", curve, true)
			if err != nil {
				t.Fatal(err)
			}
			stranger, err := ecparamstest.NewSet("VN", curve, true)
			if err != nil {
				t.Fatal(err)
			}
			if got := ecparams.Describe(home.DS); got != curve+" (explicit parameters)" {
				t.Fatalf("DS key %q", got)
			}
			store := trust.New()
			if err := store.AddCSCA(home.CSCA); err != nil {
				t.Fatal(err)
			}
			app, err := verifytest.Application(31)
			if err != nil {
				t.Fatal(err)
			}
			chip, card := issue(t, "VNBP"+curve[10:13]+"01", verifytest.Spec{App: app, DS: home.DS, DSKey: home.DSKey})
			r := verifyOnce(t, slotProduction, chip, card.Credentials(), store)
			if r.Verdict != verify.Genuine || r.CSCA != home.CSCA.Subject.String() {
				t.Fatalf("explicit %s signer: %s CSCA %q: %v", curve, r.Verdict, r.CSCA, r.Err())
			}
			other := trust.New()
			if err := other.AddCSCA(stranger.CSCA); err != nil {
				t.Fatal(err)
			}
			r = verifyOnce(t, slotForeign, chip, card.Credentials(), other)
			if r.Verdict != verify.NotGenuine || r.Code != verify.CodeUnknownSigner {
				t.Fatalf("genuine card, CSCA not trusted: %s %s: %v", r.Verdict, r.Code, r.Err())
			}
			forged, fcard := issue(t, "VNBP"+curve[10:13]+"02", verifytest.Spec{App: app, DS: stranger.DS, DSKey: stranger.DSKey})
			r = verifyOnce(t, slotForeign, forged, fcard.Credentials(), store)
			if r.Verdict != verify.NotGenuine || r.Code != verify.CodeUnknownSigner {
				t.Fatalf("signer of an untrusted CSCA: %s %s: %v", r.Verdict, r.Code, r.Err())
			}
		})
	}
}
