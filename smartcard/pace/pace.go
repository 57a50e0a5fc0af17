package pace

import (
	"errors"
	"fmt"

	"github.com/cccd-project/cccd/smartcard/apdu"
)

// Sentinel errors. Every error of this package wraps at most one of them.
var (
	// ErrAuthentication: the authentication tokens did not verify, which is what a wrong
	// password looks like (the chip answers 6300 to the terminal's token), or the chip's
	// own token was wrong.
	ErrAuthentication = errors.New("pace: authentication failed")
	// ErrSequence: a GENERAL AUTHENTICATE step arrived out of order, or before MSE:Set AT.
	ErrSequence = errors.New("pace: command out of sequence")
	// ErrMalformed: command or response data that does not follow ICAO 9303-11 §4.4.4
	// (bad TLV, missing data object, point not on the curve, ...).
	ErrMalformed = errors.New("pace: malformed data")
	// ErrUnsupported: a protocol, domain parameter or password kind this package does not
	// implement.
	ErrUnsupported = errors.New("pace: unsupported")
	// ErrNoPassword: the chip holds no password of the kind MSE:Set AT references.
	ErrNoPassword = errors.New("pace: password not available")
)

// StatusWord maps an error of the chip-side API to the status word a chip answers with:
// ErrAuthentication 6300, ErrSequence 6985, ErrNoPassword 6A88, ErrMalformed and
// ErrUnsupported 6A80, anything else 6F00, nil 9000.
func StatusWord(err error) uint16 {
	switch {
	case err == nil:
		return apdu.SWOK
	case errors.Is(err, ErrAuthentication):
		return swAuthenticationFailed
	case errors.Is(err, ErrSequence):
		return apdu.SWConditionsNotSatisfied
	case errors.Is(err, ErrNoPassword):
		return apdu.SWRefDataNotFound
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrUnsupported):
		return apdu.SWWrongData
	}
	return apdu.SWUnknown
}

// swAuthenticationFailed is the chip's answer to a wrong terminal token (ICAO 9303-11
// §4.4.4.2: "6300 authentication failed").
const swAuthenticationFailed uint16 = 0x6300

// PasswordKind is the kind of PACE password; its value is the password reference sent in
// tag 83 of MSE:Set AT (ICAO 9303-11 §4.4.4.1: 1 MRZ, 2 CAN, 3 PIN, 4 PUK).
type PasswordKind byte

// Password kinds.
const (
	MRZ PasswordKind = 1
	CAN PasswordKind = 2
	PIN PasswordKind = 3
	PUK PasswordKind = 4
)

func (k PasswordKind) String() string {
	switch k {
	case MRZ:
		return "MRZ"
	case CAN:
		return "CAN"
	case PIN:
		return "PIN"
	case PUK:
		return "PUK"
	}
	return fmt.Sprintf("PasswordKind(%d)", byte(k))
}

// Password is a PACE password.
//
// For Kind MRZ, Value is the MRZ information: document number (padded with '<' to 9
// characters) + its check digit + date of birth YYMMDD + check digit + date of expiry
// YYMMDD + check digit, 24 ASCII characters, exactly the input of the BAC key seed
// (ICAO 9303-11 §9.7); MRZInformation builds it. PACE hashes it with SHA-1.
// For CAN, PIN and PUK, Value is the digits as ASCII (a CAN is 6 digits).
type Password struct {
	Kind  PasswordKind
	Value []byte
}

// String hides the password value.
func (p Password) String() string { return p.Kind.String() + " password" }

// GoString hides the password value from %#v.
func (p Password) GoString() string { return "pace.Password{Kind: " + p.Kind.String() + "}" }

// MRZInformation returns the MRZ information used as the MRZ password: the document number
// padded with '<' to 9 characters, the birth and expiry dates (YYMMDD), each followed by
// its check digit (ICAO 9303-3 §4.9, 7-3-1 weighting). Document numbers longer than 9
// characters are not supported.
func MRZInformation(documentNumber, dateOfBirth, dateOfExpiry string) ([]byte, error) {
	if n := len(documentNumber); n == 0 || n > 9 {
		return nil, fmt.Errorf("pace: document number of %d characters, want 1..9", n)
	}
	doc := documentNumber
	for len(doc) < 9 {
		doc += "<"
	}
	fields := []struct{ name, v string }{{"document number", doc}, {"date of birth", dateOfBirth}, {"date of expiry", dateOfExpiry}}
	var out []byte
	for i, f := range fields {
		if i > 0 && len(f.v) != 6 {
			return nil, fmt.Errorf("pace: %s %q is not YYMMDD", f.name, f.v)
		}
		cd, err := checkDigit(f.v)
		if err != nil {
			return nil, fmt.Errorf("pace: %s: %w", f.name, err)
		}
		out = append(append(out, f.v...), cd)
	}
	return out, nil
}

// checkDigit computes the ICAO 9303-3 §4.9 check digit (weights 7, 3, 1; digits, A-Z = 10-35, '<' = 0).
func checkDigit(s string) (byte, error) {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		case c == '<':
			v = 0
		default:
			return 0, fmt.Errorf("character %q not allowed in the MRZ", c)
		}
		sum += v * weights[i%3]
	}
	return byte('0' + sum%10), nil
}
