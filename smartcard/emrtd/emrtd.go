// Package emrtd is the terminal-side reader of the ICAO 9303 eMRTD application on a
// CCCD chip, for quality control at personalization stations and for verification at
// counters. Read does, in order (each a timed Step):
//
//  1. SELECT MF (a 6D00 answer, as some CCCD chips give, is tolerated) and read
//     EF.CardAccess in the clear.
//  2. PACE with the CAN if given, else the MRZ (ICAO 9303-11 §4.4), then SELECT the
//     application under secure messaging; or, when the chip offers no PACE this reader
//     runs or PACE fails for a protocol reason (not a wrong password), SELECT the
//     application and BAC (§4.3).
//  3. Read EF.COM; when it lists DG14, read DG14 and run Chip Authentication (§6.2),
//     switching to the new session and proving it with one read.
//  4. Read EF.SOD and every data group EF.COM lists (DG3 answers 6982 on CCCD chips:
//     recorded in Document.Denied).
//  5. When DG15 is present, run Active Authentication (§6.1).
//
// Files are read with few APDUs: 4 bytes through the short EF identifier to learn the
// TLV length, then the rest in chunks as large as the transport allows (Options.MaxChunk,
// MaxLengther), with READ BINARY B1 beyond offset 7FFF. Read checks no signatures:
// Passive Authentication of EF.SOD is the verifier's job.
package emrtd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cccd-project/cccd/smartcard/apdu"
)

// Outcomes a caller branches on; every error of Read is a *StepError wrapping at most
// one of them (and the underlying cause).
var (
	// ErrAccessDenied: PACE or BAC rejected the credentials (wrong CAN or MRZ data).
	ErrAccessDenied = errors.New("emrtd: access denied (wrong CAN or MRZ data)")
	// ErrNoCredentials: the credentials do not allow any protocol the chip offers.
	ErrNoCredentials = errors.New("emrtd: no usable credentials")
	// ErrChipAuthentication: Chip Authentication failed: the chip does not hold the
	// private key of DG14.
	ErrChipAuthentication = errors.New("emrtd: chip authentication failed")
	// ErrActiveAuthentication: the chip's signature does not verify with DG15: the chip
	// is possibly a clone.
	ErrActiveAuthentication = errors.New("emrtd: active authentication failed (possible clone)")
	// ErrCardRemoved: the card left the field during the read.
	ErrCardRemoved = errors.New("emrtd: card removed")
	// ErrMalformed: a file the chip returned is not well formed.
	ErrMalformed = errors.New("emrtd: malformed chip data")
)

// Access methods recorded in Document.Access.
const (
	AccessPACECAN = "PACE-CAN"
	AccessPACEMRZ = "PACE-MRZ"
	AccessBAC     = "BAC"
)

// Credentials open the chip: the CAN (preferred, PACE only) and/or the MRZ data.
type Credentials struct {
	CAN            string // 6 digits printed on the card
	DocumentNumber string // MRZ document number (the last 9 digits of the ID on a CCCD)
	DateOfBirth    string // YYMMDD
	DateOfExpiry   string // YYMMDD
}

func (c Credentials) hasMRZ() bool {
	return c.DocumentNumber != "" && c.DateOfBirth != "" && c.DateOfExpiry != ""
}

// Options tune a read. The zero value reads everything with the best protocols.
type Options struct {
	// MaxChunk caps the plain bytes asked per READ BINARY. Zero means: what the transport
	// reports through MaxLength (extended length), else ShortChunk (223), which every
	// reader carries. PC/SC readers differ: set it for one that limits extended APDUs.
	MaxChunk int
	// NoPACE skips PACE and goes straight to BAC.
	NoPACE bool
	// Rand is the source of terminal nonces and ephemeral keys (crypto/rand when nil).
	Rand io.Reader
}

// Step is one timed step of a read.
type Step struct {
	Name     string
	Duration time.Duration
}

// Document is what Read got from the chip.
type Document struct {
	Access     string // AccessPACECAN, AccessPACEMRZ or AccessBAC
	CardAccess []byte // EF.CardAccess, nil when the chip has none
	COM, SOD   []byte
	// DataGroups holds the raw files by data group number.
	DataGroups map[int][]byte
	// Denied lists data groups EF.COM names that the chip refused (DG3: 6982, EAC).
	Denied              []int
	ChipAuthenticated   bool
	ActiveAuthenticated bool
	Steps               []Step
}

// StepError says which step of a read failed.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return "emrtd: " + e.Step + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// remover is implemented by transport errors that mean the card left the field.
type remover interface{ CardRemoved() bool }

// link is the card transmitter, remembering the last transport error so that a failure
// of the link is never mistaken for a protocol failure.
type link struct {
	t   apdu.Transmitter
	err error
}

func (l *link) Transmit(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	r, err := l.t.Transmit(ctx, cmd)
	if err != nil {
		l.err = err
	}
	return r, err
}

// reader carries the state of one Read.
type reader struct {
	raw     apdu.Transmitter // the card, plain (through link)
	link    *link
	ch      apdu.Transmitter // the card under secure messaging once access control is done
	creds   Credentials
	opts    Options
	chunk   int
	doc     *Document
	lastErr error // why PACE did not complete, when it fell back to BAC
}

// step runs f as a named, timed step and wraps its error.
func (r *reader) step(name string, f func() error) error {
	start := time.Now()
	err := f()
	r.doc.Steps = append(r.doc.Steps, Step{Name: name, Duration: time.Since(start)})
	if err == nil {
		return nil
	}
	var rm remover
	if errors.As(err, &rm) && rm.CardRemoved() && !errors.Is(err, ErrCardRemoved) {
		err = fmt.Errorf("%w: %w", ErrCardRemoved, err)
	}
	return &StepError{Step: name, Err: err}
}

// Read reads the chip on t (ICAO 9303-11 §4, §6; ICAO 9303-10 §4.6). See the package
// documentation for the order of steps.
func Read(ctx context.Context, t apdu.Transmitter, creds Credentials, opts Options) (*Document, error) {
	l := &link{t: t}
	r := &reader{raw: l, link: l, creds: creds, opts: opts, chunk: chunkSize(t, opts.MaxChunk),
		doc: &Document{DataGroups: map[int][]byte{}}}
	if creds.CAN == "" && !creds.hasMRZ() {
		return nil, &StepError{Step: "credentials", Err: ErrNoCredentials}
	}
	if err := r.openChip(ctx); err != nil {
		return r.doc, err
	}
	var com COM
	if err := r.step("read EF.COM", func() error {
		b, err := readFile(ctx, r.ch, 0x1E, r.chunk)
		if err != nil {
			return err
		}
		r.doc.COM = b
		com, err = ParseCOM(b)
		return err
	}); err != nil {
		return r.doc, err
	}
	listed := map[int]bool{}
	for _, n := range com.DataGroups {
		listed[n] = true
	}
	if listed[14] {
		if err := r.readDG(ctx, 14); err != nil {
			return r.doc, err
		}
		if err := r.step("chip authentication", func() error { return r.chipAuthenticate(ctx) }); err != nil {
			return r.doc, err
		}
	}
	if err := r.step("read EF.SOD", func() error {
		b, err := readFile(ctx, r.ch, 0x1D, r.chunk)
		r.doc.SOD = b
		return err
	}); err != nil {
		return r.doc, err
	}
	for _, n := range com.DataGroups {
		if n == 14 {
			continue
		}
		if err := r.readDG(ctx, n); err != nil {
			return r.doc, err
		}
	}
	if listed[15] && r.doc.DataGroups[15] != nil {
		if err := r.step("active authentication", func() error { return r.activeAuthenticate(ctx) }); err != nil {
			return r.doc, err
		}
	}
	return r.doc, nil
}

// readDG reads data group n, recording a refusal with 6982 (EAC-protected DG3) in Denied.
func (r *reader) readDG(ctx context.Context, n int) error {
	return r.step(fmt.Sprintf("read DG%d", n), func() error {
		b, err := readFile(ctx, r.ch, byte(n), r.chunk)
		if isStatus(err, apdu.SWSecurityNotSatisfied) {
			r.doc.Denied = append(r.doc.Denied, n)
			return nil
		}
		if err != nil {
			return err
		}
		r.doc.DataGroups[n] = b
		return nil
	})
}

// selectApplication selects the eMRTD application (ICAO 9303-10 §3.6.2).
func selectApplication(ctx context.Context, t apdu.Transmitter) error {
	_, err := apdu.Run(ctx, t, apdu.Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: aid})
	return err
}

var aid = []byte{0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01}
