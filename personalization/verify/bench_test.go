package verify_test

import (
	"context"
	"testing"

	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/personalization/verify/verifytest"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

// BenchmarkVerify measures a full in-process verification (PACE-CAN, read all, CA, AA,
// PA, checks) of a good card; the virtual chip's own cryptography is included. Through
// pcscd: `cccd bench verify`.
func BenchmarkVerify(b *testing.B) {
	for _, profile := range []struct {
		name string
		nist bool
	}{{"brainpoolP256r1", false}, {"P-256", true}} {
		b.Run(profile.name, func(b *testing.B) {
			p, err := verifytest.NewPKI("VN")
			if err != nil {
				b.Fatal(err)
			}
			ts, err := p.Trust()
			if err != nil {
				b.Fatal(err)
			}
			app, err := verifytest.Application(1)
			if err != nil {
				b.Fatal(err)
			}
			chip := vchip.New("VNBENCH001", vchip.Options{})
			card, err := verifytest.Issue(context.Background(), vchip.Transport{Chip: chip}, verifytest.Spec{App: app, DS: p.DS, DSKey: p.DSKey, NISTP256: profile.nist})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				chip.Reset()
				if r := verify.Verify(context.Background(), vchip.Transport{Chip: chip}, card.Credentials(), verify.Options{Trust: ts}); r.Verdict != verify.Genuine {
					b.Fatal(r.Err())
				}
			}
		})
	}
}
