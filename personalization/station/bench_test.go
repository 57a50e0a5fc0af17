package station_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/station"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

// BenchmarkPersonalize writes, signs, locks and reads back one card per iteration on an
// in-process virtual chip, with the issued cards' Brainpool profile and with NIST P-256.
func BenchmarkPersonalize(b *testing.B) {
	d := newPKI(b)
	a := newApps(b, 10)
	for _, tc := range []struct {
		name    string
		profile station.Profile
	}{{"brainpoolP256r1", station.Profile{}}, {"P-256", station.Profile{NISTP256: true}}} {
		b.Run(tc.name, func(b *testing.B) {
			p := &station.Personalizer{Apps: a, Signers: d, Trust: d.trust, Profile: tc.profile}
			i := 0
			for b.Loop() {
				i++
				chip := blankChip(fmt.Sprintf("VNB%06d", i))
				if _, err := p.Personalize(context.Background(), vchip.Transport{Chip: chip}, workflow.Job{ApplicationID: int64(1 + i%10)},
					func(string) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
