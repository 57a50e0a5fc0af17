package cardbench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/perso"
	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vchip/vchiptest"
)

// selectEMRTD is the APDU whose round trip is timed: SELECT the eMRTD application by
// AID without response data (ICAO 9303-10 §3.6.2), the command pcsc.MeasureRoundTrip uses.
var selectEMRTD = apdu.Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: vchip.AID}

// roundTrips times n single APDUs on t, after one warm-up.
func roundTrips(ctx context.Context, t apdu.Transmitter, n int) (Stat, error) {
	if _, err := t.Transmit(ctx, selectEMRTD); err != nil {
		return Stat{}, err
	}
	samples := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if _, err := t.Transmit(ctx, selectEMRTD); err != nil {
			return Stat{}, err
		}
		samples = append(samples, time.Since(start))
	}
	return stat("round trip", samples), nil
}

// counter counts the APDUs of a read.
type counter struct {
	t apdu.Transmitter
	n int
}

func (c *counter) Transmit(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	c.n++
	return c.t.Transmit(ctx, cmd)
}

// opener connects to the card for one read and returns how to let go of it.
type opener func(ctx context.Context) (t apdu.Transmitter, release func() error, err error)

// reads runs n reads with PACE-CAN through open's transmitter and returns the statistics
// per step (in the order of Steps) and the APDUs of one read. Both transports carry
// extended length APDUs, so the reader asks for whole files at once on either.
func reads(ctx context.Context, n int, open opener) ([]Stat, int, error) {
	samples := map[string][]time.Duration{}
	apdus := 0
	for i := range n {
		start := time.Now()
		t, release, err := open(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("read %d: %w", i+1, err)
		}
		connect := time.Since(start)
		c := &counter{t: t}
		doc, err := emrtd.Read(ctx, perso.WithMaxLength(c, apdu.MaxExtendedLe), emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{})
		total := time.Since(start)
		if err = errors.Join(err, release()); err != nil {
			return nil, 0, fmt.Errorf("read %d: %w", i+1, err)
		}
		if err := complete(doc); err != nil {
			return nil, 0, fmt.Errorf("read %d: %w", i+1, err)
		}
		for name, d := range group(doc.Steps) {
			samples[name] = append(samples[name], d)
		}
		samples[StepConnect] = append(samples[StepConnect], connect)
		samples[StepTotal] = append(samples[StepTotal], total)
		apdus = c.n
	}
	out := make([]Stat, 0, len(Steps))
	for _, name := range Steps {
		out = append(out, stat(name, samples[name]))
	}
	return out, apdus, nil
}

// complete checks that a read did everything the benchmark times.
func complete(doc *emrtd.Document) error {
	switch {
	case doc.Access != emrtd.AccessPACECAN:
		return fmt.Errorf("cardbench: access was %q, want %s", doc.Access, emrtd.AccessPACECAN)
	case !doc.ChipAuthenticated:
		return errors.New("cardbench: chip authentication did not run")
	case !doc.ActiveAuthenticated:
		return errors.New("cardbench: active authentication did not run")
	}
	return nil
}

// group sums emrtd's steps into the benchmark's: PACE, chip and active authentication
// by name, every SELECT and file read into StepRead.
func group(steps []emrtd.Step) map[string]time.Duration {
	out := map[string]time.Duration{StepPACE: 0, StepRead: 0, StepCA: 0, StepAA: 0}
	for _, s := range steps {
		switch s.Name {
		case "PACE":
			out[StepPACE] += s.Duration
		case "chip authentication":
			out[StepCA] += s.Duration
		case "active authentication":
			out[StepAA] += s.Duration
		default:
			out[StepRead] += s.Duration
		}
	}
	return out
}

// stat returns the nearest-rank median and 95th percentile of samples.
func stat(name string, samples []time.Duration) Stat {
	if len(samples) == 0 {
		return Stat{Name: name}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return Stat{Name: name, P50: percentile(s, 50), P95: percentile(s, 95)}
}

// percentile returns the nearest-rank p-th percentile of the sorted, non-empty s.
func percentile(s []time.Duration, p int) time.Duration {
	rank := (p*len(s) + 99) / 100 // ceil(p/100 * n)
	return s[max(rank, 1)-1]
}
