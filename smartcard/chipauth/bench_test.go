package chipauth

import (
	"context"
	"testing"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
)

// BenchmarkChipAuthentication runs a full Chip Authentication (terminal and chip in process,
// over secure messaging, plus the first command under the new keys) per curve.
func BenchmarkChipAuthentication(b *testing.B) {
	for _, c := range curves {
		b.Run(c.name, func(b *testing.B) {
			info := securityinfo.ChipAuthenticationInfo{Protocol: securityinfo.OIDCAECDHAES128, Version: 1}
			for b.Loop() {
				b.StopTimer()
				pr := newPair(b, c.curve, 80)
				b.StartTimer()
				res, err := Authenticate(context.Background(), pr.terminal, info, pr.key, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := apdu.Run(context.Background(), res.Channel(pr.chip), apdu.Command{INS: 0xB0, Ne: 4}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
