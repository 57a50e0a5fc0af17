package verify_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/station"
	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/personalization/verify/verifytest"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/pcsc"
	"github.com/cccd-project/cccd/smartcard/pcsc/pcsctest"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

// Verifier slots of the shared pcscd (pcsctest's allocation).
const (
	slotProduction = 8
	slotForeign    = 9
)

// oneApp is a station.Applications holding one application.
type oneApp struct{ app issuance.Application }

func (o oneApp) Application(context.Context, int64) (issuance.Application, error) { return o.app, nil }

// signer is a station.SignerSource with one Document Signer.
type signer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func (s signer) Acquire(context.Context) (crypto.Signer, *x509.Certificate, error) {
	return s.key, s.cert, nil
}

// verifyInReader inserts chip into slot and verifies it through pcscd.
func verifyInReader(t *testing.T, slot int, chip *vchip.Chip, creds emrtd.Credentials, opts verify.Options) verify.Report {
	t.Helper()
	reader := pcsctest.Insert(t, slot, chip)
	pc, err := pcsc.Open()
	if err != nil {
		t.Fatalf("pcscd: %v", err)
	}
	defer pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	card, err := pc.Connect(ctx, reader)
	if err != nil {
		t.Fatalf("connect %q: %v", reader, err)
	}
	defer card.Close()
	return verify.Verify(ctx, card, creds, opts)
}

// TestVerifyProductionCardThroughPCSC: a card written by the production station
// (personalization/station, brainpool profile as issued) verifies through pcscd.
func TestVerifyProductionCardThroughPCSC(t *testing.T) {
	fx := newFixture(t)
	app, err := verifytest.Application(11)
	if err != nil {
		t.Fatal(err)
	}
	chip := blankChip("VNPROD0001")
	p := &station.Personalizer{Apps: oneApp{app}, Signers: signer{fx.vn.DS, fx.vn.DSKey}, Trust: fx.trust,
		Transmitter: vchip.Transport{Chip: chip}}
	if _, err := p.MakeCard(context.Background(), workflow.Job{ID: "job-1", ApplicationID: 1}, func(string) error { return nil }); err != nil {
		t.Fatalf("station: %v", err)
	}
	chip.Reset()
	reg := registry{cards: map[string]verify.Status{chip.Serial(): {Known: true, IDNumber: app.IDNumber}}}
	r := verifyInReader(t, slotProduction, chip, emrtd.Credentials{CAN: app.IDNumber[6:]},
		verify.Options{Trust: fx.trust, Status: reg, ExpectSerial: chip.Serial()})
	if r.Verdict != verify.Genuine {
		t.Fatalf("production card through pcscd: %s: %v (%+v)", r.Verdict, r.Err(), r.Reasons)
	}
	if r.Access != emrtd.AccessPACECAN || r.Holder == nil || r.Holder.IDNumber != app.IDNumber || r.Serial != chip.Serial() {
		t.Errorf("access %s holder %+v serial %q", r.Access, r.Holder, r.Serial)
	}
}

// TestVerifyMasterListCardThroughPCSC: a card whose CSCA is trusted only through an
// imported master list verifies through pcscd.
func TestVerifyMasterListCardThroughPCSC(t *testing.T) {
	fx := newFixture(t)
	app, err := verifytest.Application(12)
	if err != nil {
		t.Fatal(err)
	}
	chip, card := issue(t, "XXFOREIGN2", verifytest.Spec{App: app, DS: fx.foreign.DS, DSKey: fx.foreign.DSKey})
	ml, err := fx.vn.MasterList(fx.foreign.CSCA)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.trust.ImportMasterList(ml, time.Now()); err != nil {
		t.Fatal(err)
	}
	r := verifyInReader(t, slotForeign, chip, card.Credentials(), verify.Options{Trust: fx.trust})
	if r.Verdict != verify.Genuine || r.CSCA != fx.foreign.CSCA.Subject.String() {
		t.Fatalf("%s CSCA %q: %v", r.Verdict, r.CSCA, r.Err())
	}
}
