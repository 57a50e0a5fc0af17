// Package lds encodes and decodes the elementary files of the eMRTD application on the
// Vietnamese chip identity card (ICAO Doc 9303-10, the Logical Data Structure): EF.COM,
// DG1 (MRZ), DG2 (facial image), DG13 (Vietnamese personal data, REFERENCE.md §5),
// DG14 (SecurityInfos), DG15 (Active Authentication public key) and EF.CardAccess.
//
// The package is pure: it turns values into file bytes and file bytes back into values,
// and does no I/O. Every decoder takes bytes from outside (a chip, a file) and returns an
// error wrapping ErrMalformed for anything that does not follow the layout; none panics.
package lds

import (
	"errors"
	"fmt"

	"github.com/cccd-project/cccd/smartcard/tlv"
)

// ErrMalformed is wrapped by every decoding error: the bytes do not follow the file's layout.
var ErrMalformed = errors.New("lds: malformed")

// ErrInvalid is wrapped by every encoding error: a value cannot be written to a file.
var ErrInvalid = errors.New("lds: invalid value")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
}

// unwrap decodes b as exactly one data object with the given tag and returns its value.
func unwrap(b []byte, tag tlv.Tag, what string) ([]byte, error) {
	t, v, rest, err := tlv.Next(b)
	if err != nil {
		return nil, malformed("%s: %w", what, err)
	}
	if t != tag {
		return nil, malformed("%s: tag %s, want %s", what, t, tag)
	}
	if len(rest) != 0 {
		return nil, malformed("%s: %d trailing bytes", what, len(rest))
	}
	return v, nil
}
