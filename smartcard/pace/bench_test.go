package pace

import (
	"context"
	"testing"

	"github.com/cccd-project/cccd/smartcard/securityinfo"
)

// BenchmarkPACE runs a full PACE (terminal and chip in process, crypto/rand) per curve.
func BenchmarkPACE(b *testing.B) {
	for _, p := range []struct {
		name string
		id   int
	}{{"P-256", securityinfo.ParamP256}, {"brainpoolP256r1", securityinfo.ParamBrainpoolP256r1}} {
		b.Run(p.name, func(b *testing.B) {
			info := securityinfo.PACEInfo{Protocol: securityinfo.OIDPACEECDHGMAES128, Version: 2, ParameterID: p.id, HasParameterID: true}
			chip, err := NewChip(info, chipPasswords(b, testMRZ, testCAN))
			if err != nil {
				b.Fatal(err)
			}
			pw := Password{Kind: CAN, Value: []byte(testCAN)}
			for b.Loop() {
				card := &loopback{t: b, chip: chip}
				if _, err := Authenticate(context.Background(), card, info, pw, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
