package verifytest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/pcsc"
	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vpcd"
)

// BenchConfig configures Bench. The zero value (after defaults) runs 50 verifications in
// process and 50 through pcscd on slot 10, with the brainpoolP256r1 profile of issued cards.
type BenchConfig struct {
	Runs      int  // verifications per mode; default 50
	Slot      int  // vpcd slot for the pcscd mode (pcsctest allocation: 10-11 benchmarks); default 10
	NoPCSC    bool // in process only
	NISTP256  bool // cards with the P-256 profile instead of brainpoolP256r1
	SkipWarm  bool // do not discard a first warm-up run
	ShortAPDU bool // short APDUs only in process (a reader without extended length)
	// MaxChunk is the READ BINARY chunk through pcscd (emrtd.Options.MaxChunk): 0 means
	// short APDUs (223 plain bytes), which every reader carries; vpcd carries extended
	// length, so emrtd.MaxChunk is possible there.
	MaxChunk int
}

// Validate checks the configuration.
func (c BenchConfig) Validate() error {
	switch {
	case c.Runs < 0 || c.Runs > 100000:
		return fmt.Errorf("verifytest: runs %d out of range 1..100000", c.Runs)
	case c.MaxChunk < 0:
		return fmt.Errorf("verifytest: max chunk %d is negative", c.MaxChunk)
	case c.Slot < 0 || c.Slot >= vpcd.MaxSlots:
		return fmt.Errorf("verifytest: slot %d out of range 0..%d", c.Slot, vpcd.MaxSlots-1)
	}
	return nil
}

func (c BenchConfig) withDefaults() BenchConfig {
	if c.Runs == 0 {
		c.Runs = 50
	}
	if c.Slot == 0 {
		c.Slot = 10
	}
	return c
}

// Bench step names, in table order.
const (
	StepConnect = "connect"
	StepPACE    = "PACE"
	StepRead    = "read"
	StepCA      = "CA"
	StepAA      = "AA"
	StepPA      = "PA"
	StepChecks  = "checks"
	StepTotal   = "total"
)

// BenchSteps lists the step names of a BenchMode in table order.
var BenchSteps = []string{StepConnect, StepPACE, StepRead, StepCA, StepAA, StepPA, StepChecks, StepTotal}

// BenchStep is the distribution of one step over the runs.
type BenchStep struct {
	Name string        `json:"name"`
	P50  time.Duration `json:"p50_ns"`
	P95  time.Duration `json:"p95_ns"`
	Max  time.Duration `json:"max_ns"`
}

// BenchMode is the result of one transport.
type BenchMode struct {
	Mode   string      `json:"mode"` // "pcscd <reader>" or "in-process"
	Runs   int         `json:"runs"`
	Access string      `json:"access"`
	Steps  []BenchStep `json:"steps"`
}

// BenchResult is what Bench measured.
type BenchResult struct {
	Profile string      `json:"profile"` // brainpoolP256r1 or P-256
	Bytes   int         `json:"bytes"`   // bytes of the files on the card
	Modes   []BenchMode `json:"modes"`
}

// Bench issues one good card on a virtual chip and verifies it cfg.Runs times in process
// and through pcscd (the chip attached to a vpcd slot), every run a full verification:
// PACE-CAN, every data group, Chip and Active Authentication, Passive Authentication,
// DG1/DG13 consistency and expiry. A run that is not Genuine fails the benchmark.
func Bench(ctx context.Context, cfg BenchConfig) (*BenchResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p, err := NewPKI("VN")
	if err != nil {
		return nil, err
	}
	ts, err := p.Trust()
	if err != nil {
		return nil, err
	}
	app, err := Application(1)
	if err != nil {
		return nil, err
	}
	chip := vchip.New("VNBENCH0001", vchip.Options{})
	card, err := Issue(ctx, vchip.Transport{Chip: chip}, Spec{App: app, DS: p.DS, DSKey: p.DSKey, NISTP256: cfg.NISTP256})
	if err != nil {
		return nil, err
	}
	res := &BenchResult{Profile: "brainpoolP256r1"}
	if cfg.NISTP256 {
		res.Profile = "P-256"
	}
	for _, f := range card.Files {
		res.Bytes += len(f)
	}
	opts := verify.Options{Trust: ts}
	var local apdu.Transmitter = vchip.Transport{Chip: chip}
	if cfg.ShortAPDU {
		opts.Read.MaxChunk = 223
	}
	m, err := benchMode(ctx, cfg, "in-process", func(context.Context) (apdu.Transmitter, func() error, error) {
		chip.Reset()
		return local, func() error { return nil }, nil
	}, card, opts)
	if err != nil {
		return nil, err
	}
	res.Modes = append(res.Modes, m)
	if cfg.NoPCSC {
		return res, nil
	}
	pcscOpts := verify.Options{Trust: ts}
	pcscOpts.Read.MaxChunk = cfg.MaxChunk
	m, err = benchPCSC(ctx, cfg, chip, card, pcscOpts)
	if err != nil {
		return nil, err
	}
	res.Modes = append(res.Modes, m)
	return res, nil
}

// benchPCSC attaches chip to the vpcd slot and runs the pcscd mode.
func benchPCSC(ctx context.Context, cfg BenchConfig, chip *vchip.Chip, card *Card, opts verify.Options) (BenchMode, error) {
	pc, err := pcsc.Open()
	if err != nil {
		return BenchMode{}, fmt.Errorf("verifytest: pcscd: %w (run `scripts/pcscd.sh start 14`)", err)
	}
	defer pc.Close()
	reader := vpcd.ReaderName(cfg.Slot)
	slot, err := vpcd.Attach(ctx, vpcd.Addr(cfg.Slot), chip)
	if err != nil {
		return BenchMode{}, fmt.Errorf("verifytest: attach to slot %d: %w", cfg.Slot, err)
	}
	defer slot.Detach()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pc.WaitForCard(wctx, reader); err != nil {
		return BenchMode{}, fmt.Errorf("verifytest: pcscd does not see the card in %q: %w", reader, err)
	}
	return benchMode(ctx, cfg, "pcscd "+reader, func(ctx context.Context) (apdu.Transmitter, func() error, error) {
		c, err := pc.Connect(ctx, reader)
		if err != nil {
			return nil, nil, err
		}
		return c, c.Close, nil
	}, card, opts)
}

// benchMode runs the verifications of one transport; open is timed as "connect".
func benchMode(ctx context.Context, cfg BenchConfig, name string, open func(context.Context) (apdu.Transmitter, func() error, error),
	card *Card, opts verify.Options) (BenchMode, error) {
	samples := map[string][]time.Duration{}
	m := BenchMode{Mode: name}
	runs := cfg.Runs
	if !cfg.SkipWarm {
		runs++
	}
	for i := range runs {
		start := time.Now()
		t, closeCard, err := open(ctx)
		if err != nil {
			return m, fmt.Errorf("verifytest: %s run %d: %w", name, i, err)
		}
		connect := time.Since(start)
		r := verify.Verify(ctx, t, card.Credentials(), opts)
		total := time.Since(start)
		if err := closeCard(); err != nil {
			return m, fmt.Errorf("verifytest: %s: close: %w", name, err)
		}
		if r.Verdict != verify.Genuine {
			return m, fmt.Errorf("verifytest: %s run %d: %w", name, i, errors.Join(r.Err()))
		}
		m.Access = r.Access
		if i == 0 && !cfg.SkipWarm {
			continue
		}
		steps := map[string]time.Duration{StepConnect: connect, StepTotal: total}
		for _, s := range r.Steps {
			steps[benchStep(s.Name)] += s.Duration
		}
		for k, d := range steps {
			samples[k] = append(samples[k], d)
		}
	}
	m.Runs = cfg.Runs
	for _, n := range BenchSteps {
		m.Steps = append(m.Steps, summarize(n, samples[n]))
	}
	return m, nil
}

// benchStep maps a step of a verification report to a bench step.
func benchStep(name string) string {
	switch name {
	case "PACE", "BAC":
		return StepPACE
	case "chip authentication":
		return StepCA
	case "active authentication":
		return StepAA
	case "passive authentication":
		return StepPA
	case "consistency checks", "card status":
		return StepChecks
	}
	return StepRead
}

func summarize(name string, d []time.Duration) BenchStep {
	if len(d) == 0 {
		return BenchStep{Name: name}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return BenchStep{Name: name, P50: at(0.50), P95: at(0.95), Max: s[len(s)-1]}
}
