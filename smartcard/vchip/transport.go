package vchip

import (
	"context"
	"fmt"

	"github.com/cccd-project/cccd/smartcard/apdu"
)

// ErrRemoved is returned by Transport when the card answers nothing: it was torn out of
// the field (see Faults.TearAfter). It has a CardRemoved method returning true, which
// readers (package emrtd) look for.
var ErrRemoved error = removedError{}

type removedError struct{}

func (removedError) Error() string { return "vchip: card removed" }

// CardRemoved reports that the card left the field.
func (removedError) CardRemoved() bool { return true }

// Transport is an in-process apdu.Transmitter to a Chip, as if the chip sat in a reader
// that supports extended length APDUs (unless the chip is ShortOnly).
type Transport struct {
	Chip *Chip
}

// Transmit encodes cmd, lets the chip process it and decodes the answer. A torn card
// gives an error wrapping ErrRemoved.
func (t Transport) Transmit(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	if err := ctx.Err(); err != nil {
		return apdu.Response{}, err
	}
	b, err := cmd.Bytes()
	if err != nil {
		return apdu.Response{}, fmt.Errorf("vchip: %w", err)
	}
	out := t.Chip.Process(b)
	if len(out) == 0 {
		return apdu.Response{}, fmt.Errorf("vchip: INS %02X: %w", cmd.INS, ErrRemoved)
	}
	r, err := apdu.ParseResponse(out)
	if err != nil {
		return apdu.Response{}, fmt.Errorf("vchip: %w", err)
	}
	return r, nil
}

// MaxLength reports the largest Nc and Ne the link carries: 65536 with extended
// length, 256 for a ShortOnly chip. Readers (perso, emrtd) size their chunks from it.
func (t Transport) MaxLength() int {
	if t.Chip.opts.ShortOnly {
		return apdu.MaxShortLe
	}
	return apdu.MaxExtendedLe
}
