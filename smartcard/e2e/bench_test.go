package e2e_test

import (
	"context"
	"slices"
	"testing"

	"github.com/cccd-project/cccd/smartcard/cardbench"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/pcsc"
	"github.com/cccd-project/cccd/smartcard/pcsc/pcsctest"
	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vchip/vchiptest"
)

// TestBenchCard runs `cccd bench card`'s measurement briefly on this package's slot: it
// must complete every read with PACE-CAN, CA and AA on both transports and fill every
// step. (How fast is for the command's table, not for a test.)
func TestBenchCard(t *testing.T) {
	pcsctest.Reader(t, slotStation) // fails clearly without pcscd
	res, err := cardbench.Measure(context.Background(), cardbench.Config{N: 3, Slot: slotStation, RoundTrips: 10})
	if err != nil {
		t.Fatalf("measure: %v", err)
	}
	if res.Bytes < 20000 || !res.ChipAuth || !res.ActiveAuth || res.Access != emrtd.AccessPACECAN {
		t.Errorf("result %+v: want a ~20 KB chip read with PACE-CAN, CA and AA", res)
	}
	if res.PCSC.APDUs == 0 || res.PCSC.APDUs != res.InProcess.APDUs {
		t.Errorf("APDUs per read: pcscd %d, in process %d; want the same, non-zero", res.PCSC.APDUs, res.InProcess.APDUs)
	}
	for _, s := range []cardbench.Series{res.PCSC, res.InProcess} {
		var names []string
		for _, st := range s.Steps {
			names = append(names, st.Name)
		}
		if !slices.Equal(names, cardbench.Steps) || s.Reads != 3 {
			t.Errorf("%s: %d reads, steps %q; want 3 reads, steps %q", s.Transport, s.Reads, names, cardbench.Steps)
		}
		if s.Step(cardbench.StepPACE).P50 <= 0 || s.Step(cardbench.StepTotal).P50 < s.Step(cardbench.StepPACE).P50 {
			t.Errorf("%s: PACE %v, total %v: steps not measured", s.Transport, s.Step(cardbench.StepPACE), s.Step(cardbench.StepTotal))
		}
	}
	if res.PCSC.RoundTrip.P50 <= 0 || res.MeanRoundTrip <= 0 {
		t.Errorf("round trip not measured: %+v, mean %v", res.PCSC.RoundTrip, res.MeanRoundTrip)
	}
}

// BenchmarkRead reads a personalized ~20 KB chip with PACE-CAN, every file, CA and AA,
// through pcscd (connect, read, disconnect) and in process. For a CPU profile:
//
//	go test -run XXX -bench Read -cpuprofile cpu.out ./smartcard/e2e
func BenchmarkRead(b *testing.B) {
	creds := emrtd.Credentials{CAN: vchiptest.CAN}
	b.Run("pcscd", func(b *testing.B) {
		chip, card := issueBench(b)
		reader := pcsctest.Insert(b, slotStation, chip)
		pc, err := pcsc.Open()
		if err != nil {
			b.Fatal(err)
		}
		defer pc.Close()
		b.SetBytes(int64(card.Total()))
		for b.Loop() {
			c, err := pc.Connect(context.Background(), reader)
			if err != nil {
				b.Fatal(err)
			}
			doc, err := emrtd.Read(context.Background(), link(c), creds, emrtd.Options{})
			if err != nil || !doc.ChipAuthenticated || !doc.ActiveAuthenticated {
				b.Fatalf("read: %v", err)
			}
			if err := c.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("in-process", func(b *testing.B) {
		chip, card := issueBench(b)
		b.SetBytes(int64(card.Total()))
		for b.Loop() {
			chip.Reset()
			doc, err := emrtd.Read(context.Background(), link(vchip.Transport{Chip: chip}), creds, emrtd.Options{})
			if err != nil || !doc.ChipAuthenticated || !doc.ActiveAuthenticated {
				b.Fatalf("read: %v", err)
			}
		}
	})
}

func issueBench(b *testing.B) (*vchip.Chip, *vchiptest.Card) {
	chip := vchip.New("VN-E2E-BENCH", vchip.Options{})
	card, err := vchiptest.Issue(context.Background(), link(vchip.Transport{Chip: chip}), vchiptest.Profile{})
	if err != nil {
		b.Fatal(err)
	}
	chip.Reset()
	return chip, card
}
