package vchiptest

import (
	"context"
	"fmt"
	"time"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

// BenchConfig configures Bench. Zero values take the documented defaults.
type BenchConfig struct {
	Cards   int    // chips to issue and read; default 20
	DG2Size int    // bytes of DG2; default DefaultDG2Size (a ~20 KB chip)
	Access  string // emrtd.AccessPACECAN (default), emrtd.AccessPACEMRZ or emrtd.AccessBAC
	Short   bool   // short APDUs only (a reader without extended length)
}

// Validate checks the configuration.
func (c BenchConfig) Validate() error {
	if c.Cards < 0 || c.DG2Size < 0 {
		return fmt.Errorf("vchiptest: cards and dg2 size must not be negative")
	}
	switch c.Access {
	case "", emrtd.AccessPACECAN, emrtd.AccessPACEMRZ, emrtd.AccessBAC:
		return nil
	}
	return fmt.Errorf("vchiptest: access %q is not %s, %s or %s", c.Access, emrtd.AccessPACECAN, emrtd.AccessPACEMRZ, emrtd.AccessBAC)
}

// BenchStep is the mean duration of one named step over all cards.
type BenchStep struct {
	Name string
	Mean time.Duration
}

// BenchResult is what Bench measured, per card on average.
type BenchResult struct {
	Cards        int
	Bytes        int // file bytes per card
	Access       string
	Personalize  time.Duration
	Read         time.Duration
	PersoAPDUs   int
	ReadAPDUs    int
	Steps        []BenchStep // of the read, in order
	ChipAuth     bool
	ActiveAuth   bool
	ExtendedAPDU bool
}

// counting counts APDUs and keeps the transport's MaxLength.
type counting struct {
	vchip.Transport
	n int
}

func (c *counting) Transmit(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	c.n++
	return c.Transport.Transmit(ctx, cmd)
}

// Bench issues cfg.Cards virtual chips in process and reads each back with emrtd,
// one at a time, and returns mean latencies and APDU counts.
func Bench(ctx context.Context, cfg BenchConfig) (*BenchResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Cards == 0 {
		cfg.Cards = 20
	}
	if cfg.Access == "" {
		cfg.Access = emrtd.AccessPACECAN
	}
	creds := emrtd.Credentials{CAN: CAN}
	opts := emrtd.Options{}
	switch cfg.Access {
	case emrtd.AccessPACEMRZ, emrtd.AccessBAC:
		creds = emrtd.Credentials{DocumentNumber: DocumentNumber, DateOfBirth: DateOfBirth, DateOfExpiry: DateOfExpiry}
		opts.NoPACE = cfg.Access == emrtd.AccessBAC
	}
	res := &BenchResult{Cards: cfg.Cards, Access: cfg.Access, ExtendedAPDU: !cfg.Short}
	var perso, read time.Duration
	stepSum := map[string]time.Duration{}
	var order []string
	for i := range cfg.Cards {
		chip := vchip.New(fmt.Sprintf("VN-BENCH-%06d", i), vchip.Options{ShortOnly: cfg.Short})
		tr := &counting{Transport: vchip.Transport{Chip: chip}}
		start := time.Now()
		card, err := Issue(ctx, tr, Profile{DG2Size: cfg.DG2Size})
		if err != nil {
			return nil, fmt.Errorf("vchiptest: card %d: %w", i, err)
		}
		perso += time.Since(start)
		res.PersoAPDUs, res.Bytes = tr.n, card.Total()
		chip.Reset()
		tr.n = 0
		start = time.Now()
		doc, err := emrtd.Read(ctx, tr, creds, opts)
		if err != nil {
			return nil, fmt.Errorf("vchiptest: card %d: %w", i, err)
		}
		read += time.Since(start)
		res.ReadAPDUs, res.ChipAuth, res.ActiveAuth = tr.n, doc.ChipAuthenticated, doc.ActiveAuthenticated
		for _, s := range doc.Steps {
			if _, seen := stepSum[s.Name]; !seen {
				order = append(order, s.Name)
			}
			stepSum[s.Name] += s.Duration
		}
	}
	n := time.Duration(cfg.Cards)
	res.Personalize, res.Read = perso/n, read/n
	for _, name := range order {
		res.Steps = append(res.Steps, BenchStep{Name: name, Mean: stepSum[name] / n})
	}
	return res, nil
}
