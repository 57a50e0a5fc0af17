package emrtd_test

import (
	"context"
	"testing"
	"time"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vchip/vchiptest"
)

// BenchmarkPersonalizeAndRead issues a ~20 KB chip (key generation, files, lock) and
// reads it back with PACE-CAN, Chip and Active Authentication, in process.
func BenchmarkPersonalizeAndRead(b *testing.B) {
	ctx := context.Background()
	var total int
	for b.Loop() {
		chip := vchip.New("VN-BENCH", vchip.Options{})
		chip.SetSleep(func(time.Duration) {})
		card, err := vchiptest.Issue(ctx, vchip.Transport{Chip: chip}, vchiptest.Profile{})
		if err != nil {
			b.Fatal(err)
		}
		chip.Reset()
		doc, err := emrtd.Read(ctx, vchip.Transport{Chip: chip}, emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{})
		if err != nil || !doc.ActiveAuthenticated || !doc.ChipAuthenticated {
			b.Fatalf("read: %v", err)
		}
		total = card.Total()
	}
	b.SetBytes(int64(total))
}

// BenchmarkPersonalize issues a ~20 KB chip.
func BenchmarkPersonalize(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		chip := vchip.New("VN-BENCH", vchip.Options{})
		if _, err := vchiptest.Issue(ctx, vchip.Transport{Chip: chip}, vchiptest.Profile{}); err != nil {
			b.Fatal(err)
		}
	}
}

// counter counts the APDUs sent.
type counter struct {
	vchip.Transport
	n int
}

func (c *counter) Transmit(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	c.n++
	return c.Transport.Transmit(ctx, cmd)
}

// BenchmarkRead reads a ~20 KB chip with each access method and transport length.
func BenchmarkRead(b *testing.B) {
	cases := []struct {
		name  string
		chip  vchip.Options
		creds emrtd.Credentials
		opts  emrtd.Options
	}{
		{"PACE-CAN/extended", vchip.Options{}, emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{}},
		{"PACE-CAN/short", vchip.Options{ShortOnly: true}, emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{}},
		{"BAC/extended", vchip.Options{}, mrzCreds, emrtd.Options{NoPACE: true}},
		{"BAC/short", vchip.Options{ShortOnly: true}, mrzCreds, emrtd.Options{NoPACE: true}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			chip, card := issue(b, tc.chip, vchiptest.Profile{})
			b.SetBytes(int64(card.Total()))
			tr := &counter{Transport: vchip.Transport{Chip: chip}}
			for b.Loop() {
				chip.Reset()
				tr.n = 0
				if _, err := emrtd.Read(context.Background(), tr, tc.creds, tc.opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(tr.n), "apdus/op")
		})
	}
}
