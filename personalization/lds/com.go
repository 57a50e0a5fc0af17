package lds

import (
	"fmt"

	"github.com/cccd-project/cccd/smartcard/tlv"
)

// Default versions written to EF.COM on issued cards (REFERENCE.md §5).
const (
	LDSVersion     = "0107"   // LDS 1.7
	UnicodeVersion = "040000" // Unicode 4.0.0
)

// COM is EF.COM, the common data elements (ICAO 9303-10 §4.6.1):
//
//	60 { 5F01 LDS version "aabb", 5F36 Unicode version "aabbcc", 5C tag list }
type COM struct {
	LDSVersion     string // four digits, "0107"
	UnicodeVersion string // six digits, "040000"
	Tags           []byte // outer tags of the data groups present, e.g. 61 75 63 6D 6E 6F
}

// NewCOM returns the EF.COM listing data groups dgs with the default versions.
func NewCOM(dgs ...int) (COM, error) {
	c := COM{LDSVersion: LDSVersion, UnicodeVersion: UnicodeVersion}
	for _, n := range dgs {
		f, err := DataGroupFile(n)
		if err != nil {
			return COM{}, err
		}
		c.Tags = append(c.Tags, f.Tag)
	}
	return c, nil
}

// DataGroups returns the numbers of the data groups listed in c, in list order.
// It fails if a tag is not a data group tag.
func (c COM) DataGroups() ([]int, error) {
	out := make([]int, 0, len(c.Tags))
	for _, t := range c.Tags {
		n, err := DataGroupByTag(t)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func (c COM) validate() error {
	if !isDigits(c.LDSVersion, 4) {
		return fmt.Errorf("ef.com: LDS version %q must be 4 digits", c.LDSVersion)
	}
	if !isDigits(c.UnicodeVersion, 6) {
		return fmt.Errorf("ef.com: Unicode version %q must be 6 digits", c.UnicodeVersion)
	}
	var seen [256]bool
	for _, t := range c.Tags {
		if _, err := DataGroupByTag(t); err != nil {
			return fmt.Errorf("ef.com: tag %02X is not a data group tag", t)
		}
		if seen[t] {
			return fmt.Errorf("ef.com: tag %02X listed twice", t)
		}
		seen[t] = true
	}
	return nil
}

// Encode returns the EF.COM file (ICAO 9303-10 §4.6.1).
func (c COM) Encode() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, invalid("%w", err)
	}
	var v []byte
	v = append(v, tlv.Encode(0x5F01, []byte(c.LDSVersion))...)
	v = append(v, tlv.Encode(0x5F36, []byte(c.UnicodeVersion))...)
	v = append(v, tlv.Encode(0x5C, c.Tags)...)
	return tlv.Encode(tlv.Tag(TagCOM), v), nil
}

// ParseCOM decodes an EF.COM file. The three elements must appear in the order of
// ICAO 9303-10 §4.6.1 and the tag list may only name data groups, each once.
func ParseCOM(b []byte) (COM, error) {
	v, err := unwrap(b, tlv.Tag(TagCOM), "ef.com")
	if err != nil {
		return COM{}, err
	}
	var c COM
	for _, want := range []tlv.Tag{0x5F01, 0x5F36, 0x5C} {
		t, val, rest, err := tlv.Next(v)
		if err != nil {
			return COM{}, malformed("ef.com: %w", err)
		}
		if t != want {
			return COM{}, malformed("ef.com: tag %s where %s expected", t, want)
		}
		switch want {
		case 0x5F01:
			c.LDSVersion = string(val)
		case 0x5F36:
			c.UnicodeVersion = string(val)
		case 0x5C:
			c.Tags = append([]byte{}, val...)
		}
		v = rest
	}
	if len(v) != 0 {
		return COM{}, malformed("ef.com: %d trailing bytes", len(v))
	}
	if err := c.validate(); err != nil {
		return COM{}, malformed("%w", err)
	}
	return c, nil
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
