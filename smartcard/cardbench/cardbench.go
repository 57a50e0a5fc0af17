// Package cardbench measures how fast a personalized CCCD chip is read through the real
// PC/SC stack: a virtual chip (package vchip, personalized by vchiptest) is put into a
// vpcd reader slot of the local pcscd, and the counter's read — PACE with the CAN
// (brainpoolP256r1, AES-128, ICAO 9303-11 §4.4), every file EF.COM lists, Chip
// Authentication (§6.2) and Active Authentication (§6.1) — is timed step by step, next to
// the APDU round trip through pcscd and the same read in process for comparison. It is
// the logic of `cccd bench card`.
//
// The virtual chip answers from this process (behind pcscd, in the vpcd slot's
// goroutine), so the chip's own share of the PACE and Chip Authentication arithmetic is
// inside every figure, on the same CPUs as the terminal's.
//
// Measure needs a running pcscd with the cccd vpcd slots (scripts/pcscd.sh start 14)
// and an empty reader in the chosen slot.
package cardbench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/pcsc"
	"github.com/cccd-project/cccd/smartcard/perso"
	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vchip/vchiptest"
	"github.com/cccd-project/cccd/smartcard/vpcd"
)

// Defaults of Config's zero values.
const (
	DefaultN          = 50
	DefaultSlot       = 10 // the benchmark slots of scripts/pcscd.sh are 10 and 11
	DefaultRoundTrips = 200
)

// Names of the measured steps, in the order Series.Steps lists them.
const (
	StepConnect = "connect"    // pcscd: SCardConnect (power up, ATR); in process: Reset
	StepPACE    = "PACE"       // PACE-CAN key agreement (ICAO 9303-11 §4.4)
	StepRead    = "read files" // SELECTs and READ BINARY of every file
	StepCA      = "chip authentication"
	StepAA      = "active authentication"
	StepTotal   = "total" // connect + the whole emrtd.Read
)

// Steps lists the step names in table order.
var Steps = []string{StepConnect, StepPACE, StepRead, StepCA, StepAA, StepTotal}

// Transport names in Result.
const (
	TransportPCSC      = "pcscd"
	TransportInProcess = "in-process"
)

// Config configures Measure. Zero values take the documented defaults.
type Config struct {
	// N is the number of reads per transport; 0 means DefaultN.
	N int
	// Slot is the vpcd reader slot of the local pcscd; 0 means DefaultSlot (slot 0 cannot
	// be chosen: it belongs to smartcard/pcsc's tests).
	Slot int
	// DG2Size is the size of DG2 in bytes; 0 means vchiptest.DefaultDG2Size (a ~20 KB chip).
	DG2Size int
	// RoundTrips is the number of APDUs timed for the round trip; 0 means DefaultRoundTrips.
	RoundTrips int
}

// Validate checks the configuration: no negative counts, a slot pcsc-lite can hold.
func (c Config) Validate() error {
	switch {
	case c.N < 0:
		return fmt.Errorf("cardbench: n %d is negative", c.N)
	case c.RoundTrips < 0:
		return fmt.Errorf("cardbench: round trips %d is negative", c.RoundTrips)
	case c.DG2Size < 0:
		return fmt.Errorf("cardbench: dg2 size %d is negative", c.DG2Size)
	case c.DG2Size > 60000:
		return fmt.Errorf("cardbench: dg2 size %d exceeds 60000 (one EF holds at most 64 KiB)", c.DG2Size)
	case c.Slot < 0 || c.Slot >= vpcd.MaxSlots:
		return fmt.Errorf("cardbench: slot %d out of range 1..%d", c.Slot, vpcd.MaxSlots-1)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.N == 0 {
		c.N = DefaultN
	}
	if c.Slot == 0 {
		c.Slot = DefaultSlot
	}
	if c.RoundTrips == 0 {
		c.RoundTrips = DefaultRoundTrips
	}
	if c.DG2Size == 0 {
		c.DG2Size = vchiptest.DefaultDG2Size
	}
	return c
}

// Stat is the median and 95th percentile of one step over the reads (nearest rank).
type Stat struct {
	Name string        `json:"name"`
	P50  time.Duration `json:"p50_ns"`
	P95  time.Duration `json:"p95_ns"`
}

// Series is what the reads over one transport measured.
type Series struct {
	Transport string `json:"transport"` // TransportPCSC or TransportInProcess
	Reads     int    `json:"reads"`
	APDUs     int    `json:"apdus"` // per read, after connect
	// RoundTrip is the round trip of one short APDU (SELECT of the eMRTD application).
	RoundTrip Stat `json:"round_trip"`
	// Steps are the step statistics, in the order of Steps.
	Steps []Stat `json:"steps"`
}

// Step returns the statistics of the named step (zero if absent).
func (s Series) Step(name string) Stat {
	for _, st := range s.Steps {
		if st.Name == name {
			return st
		}
	}
	return Stat{}
}

// Result is what Measure measured.
type Result struct {
	Reader     string `json:"reader"`
	Slot       int    `json:"slot"`
	Bytes      int    `json:"bytes"` // bytes in the chip's files
	DG2Bytes   int    `json:"dg2_bytes"`
	Access     string `json:"access"` // emrtd.AccessPACECAN
	ChipAuth   bool   `json:"chip_authenticated"`
	ActiveAuth bool   `json:"active_authenticated"`
	// MeanRoundTrip is pcsc.MeasureRoundTrip's mean over RoundTrips APDUs, a cross-check
	// of PCSC.RoundTrip on a fresh connection.
	MeanRoundTrip time.Duration `json:"mean_round_trip_ns"`
	PCSC          Series        `json:"pcscd"`
	InProcess     Series        `json:"in_process"`
}

// Target is the time the whole read through pcscd should stay under (p50 of StepTotal).
const Target = 150 * time.Millisecond

// Measure personalizes a ~20 KB virtual chip in process, inserts it into cfg.Slot of the
// local pcscd and reads it cfg.N times through pcscd (connect, read, disconnect), then
// cfg.N times in process, after timing the APDU round trip on each transport. Every read
// must succeed with PACE-CAN, Chip and Active Authentication.
func Measure(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	chip := vchip.New(fmt.Sprintf("VN-CARDBENCH-%02d", cfg.Slot), vchip.Options{})
	card, err := vchiptest.Issue(ctx, vchip.Transport{Chip: chip}, vchiptest.Profile{DG2Size: cfg.DG2Size})
	if err != nil {
		return nil, fmt.Errorf("cardbench: personalize: %w", err)
	}
	chip.Reset()
	res := &Result{Slot: cfg.Slot, Bytes: card.Total(), DG2Bytes: len(card.DG(2)), Access: emrtd.AccessPACECAN,
		ChipAuth: true, ActiveAuth: true}

	reader, err := measurePCSC(ctx, cfg, chip, res)
	res.Reader = reader
	if err != nil {
		// Slots are shared by convention only (10 and 11 also serve `cccd bench perso`
		// and `cccd bench verify`): say so, since pcscd's own error does not.
		return nil, fmt.Errorf("%w (if another program uses slot %d, choose another slot)", err, cfg.Slot)
	}
	chip.Reset()
	tr := vchip.Transport{Chip: chip}
	res.InProcess = Series{Transport: TransportInProcess, Reads: cfg.N}
	if res.InProcess.RoundTrip, err = roundTrips(ctx, tr, cfg.RoundTrips); err != nil {
		return nil, fmt.Errorf("cardbench: in process: %w", err)
	}
	res.InProcess.Steps, res.InProcess.APDUs, err = reads(ctx, cfg.N, func(ctx context.Context) (apdu.Transmitter, func() error, error) {
		chip.Reset()
		return tr, func() error { return nil }, nil
	})
	if err != nil {
		return nil, fmt.Errorf("cardbench: in process: %w", err)
	}
	return res, nil
}

// measurePCSC inserts chip into the slot, times the round trip and the reads through
// pcscd and removes the chip again.
func measurePCSC(ctx context.Context, cfg Config, chip *vchip.Chip, res *Result) (reader string, err error) {
	reader = vpcd.ReaderName(cfg.Slot)
	pc, err := pcsc.Open()
	if err != nil {
		return reader, fmt.Errorf("cardbench: %w (start it: sudo scripts/pcscd.sh start 14)", err)
	}
	defer func() { err = errors.Join(err, pc.Close()) }()
	if err := checkSlot(ctx, pc, reader, cfg.Slot); err != nil {
		return reader, err
	}
	slot, err := vpcd.Attach(ctx, vpcd.Addr(cfg.Slot), chip)
	if err != nil {
		return reader, fmt.Errorf("cardbench: insert card into slot %d: %w", cfg.Slot, err)
	}
	defer func() { err = errors.Join(err, slot.Detach()) }()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = pc.WaitForCard(wctx, reader)
	cancel()
	if err != nil {
		return reader, fmt.Errorf("cardbench: pcscd does not see the card in slot %d: %w", cfg.Slot, err)
	}
	if res.MeanRoundTrip, err = pcsc.MeasureRoundTrip(ctx, reader, cfg.RoundTrips); err != nil {
		return reader, fmt.Errorf("cardbench: round trip: %w", err)
	}
	res.PCSC = Series{Transport: TransportPCSC, Reads: cfg.N}
	card, err := pc.Connect(ctx, reader)
	if err != nil {
		return reader, fmt.Errorf("cardbench: %w", err)
	}
	// The slot is shared by convention only: make sure the card pcscd reaches is ours.
	if serial, err := perso.Serial(ctx, card); err != nil || serial != chip.Serial() {
		return reader, errors.Join(fmt.Errorf("cardbench: slot %d holds another card than ours (serial %q, %v): is another benchmark using it?",
			cfg.Slot, serial, err), card.Close())
	}
	res.PCSC.RoundTrip, err = roundTrips(ctx, card, cfg.RoundTrips)
	if err = errors.Join(err, card.Close()); err != nil {
		return reader, fmt.Errorf("cardbench: round trip: %w", err)
	}
	res.PCSC.Steps, res.PCSC.APDUs, err = reads(ctx, cfg.N, func(ctx context.Context) (apdu.Transmitter, func() error, error) {
		card, err := pc.Connect(ctx, reader)
		if err != nil {
			return nil, nil, err
		}
		return card, card.Close, nil
	})
	if err != nil {
		return reader, fmt.Errorf("cardbench: through pcscd: %w", err)
	}
	return reader, nil
}

// checkSlot fails unless pcscd has the reader of slot and it is empty (a card left there
// by someone else would be benchmarked instead of ours).
func checkSlot(ctx context.Context, pc *pcsc.Context, reader string, slot int) error {
	names, err := pc.Readers(ctx)
	if err != nil {
		return fmt.Errorf("cardbench: %w", err)
	}
	if !slices.Contains(names, reader) {
		return fmt.Errorf("cardbench: pcscd has no reader %q for slot %d (run: sudo scripts/pcscd.sh start 14)", reader, slot)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := pc.WaitForRemoval(wctx, reader); err != nil {
		return fmt.Errorf("cardbench: slot %d (%q) holds another card: %w", slot, reader, err)
	}
	return nil
}
