// Package tlv encodes and decodes BER-TLV data objects (ISO/IEC 7816-4 §5.2, ISO/IEC 8825-1)
// as used on smart cards: multi-byte tags, definite lengths up to four length bytes, and
// nested constructed objects, with limits on nesting depth and object size so that bytes
// from a card or a file can never make a parser recurse or allocate without bound.
package tlv

import (
	"errors"
	"fmt"
)

// Limits applied by Parse and Decode.
const (
	MaxDepth  = 16
	MaxLength = 1 << 24 // 16 MiB: far above any chip file
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("tlv: malformed")

// Tag is a BER tag with its class and constructed bits kept, e.g. 0x61, 0x5F1F, 0x7F61.
type Tag uint32

// Constructed reports whether the tag's first byte has the constructed bit (b6) set.
func (t Tag) Constructed() bool {
	first := uint32(t)
	for first > 0xFF {
		first >>= 8
	}
	return first&0x20 != 0
}

// Bytes returns the encoded tag.
func (t Tag) Bytes() []byte {
	switch {
	case t > 0xFFFFFF:
		return []byte{byte(t >> 24), byte(t >> 16), byte(t >> 8), byte(t)}
	case t > 0xFFFF:
		return []byte{byte(t >> 16), byte(t >> 8), byte(t)}
	case t > 0xFF:
		return []byte{byte(t >> 8), byte(t)}
	}
	return []byte{byte(t)}
}

func (t Tag) String() string { return fmt.Sprintf("%X", uint32(t)) }

// Object is one decoded data object. For a constructed tag, Children holds the parsed
// contents and Value the raw contents.
type Object struct {
	Tag      Tag
	Value    []byte
	Children []Object
}

// Find returns the first direct child with the given tag.
func (o Object) Find(tag Tag) (Object, bool) {
	for _, c := range o.Children {
		if c.Tag == tag {
			return c, true
		}
	}
	return Object{}, false
}

// ReadTag decodes a tag at the start of b and returns it with the number of bytes used.
func ReadTag(b []byte) (Tag, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: missing tag", ErrMalformed)
	}
	t := Tag(b[0])
	n := 1
	if b[0]&0x1F == 0x1F {
		for {
			if n >= len(b) {
				return 0, 0, fmt.Errorf("%w: truncated tag", ErrMalformed)
			}
			if n >= 4 {
				return 0, 0, fmt.Errorf("%w: tag longer than 4 bytes", ErrMalformed)
			}
			t = t<<8 | Tag(b[n])
			n++
			if b[n-1]&0x80 == 0 {
				break
			}
		}
	}
	return t, n, nil
}

// ReadLength decodes a definite length at the start of b and returns it with the number
// of bytes used.
func ReadLength(b []byte) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: missing length", ErrMalformed)
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	k := int(b[0] & 0x7F)
	if k == 0 {
		return 0, 0, fmt.Errorf("%w: indefinite length not allowed", ErrMalformed)
	}
	if k > 4 {
		return 0, 0, fmt.Errorf("%w: length of %d bytes", ErrMalformed, k)
	}
	if len(b) < 1+k {
		return 0, 0, fmt.Errorf("%w: truncated length", ErrMalformed)
	}
	var l uint64 // not int: four length bytes overflow a 32-bit int into a negative length
	for _, c := range b[1 : 1+k] {
		l = l<<8 | uint64(c)
	}
	if l > MaxLength {
		return 0, 0, fmt.Errorf("%w: length %d exceeds %d", ErrMalformed, l, MaxLength)
	}
	return int(l), 1 + k, nil
}

// Next splits the first data object off b: its tag, its value, and the rest of b.
// It does not descend into constructed values.
func Next(b []byte) (tag Tag, value, rest []byte, err error) {
	tag, tn, err := ReadTag(b)
	if err != nil {
		return 0, nil, nil, err
	}
	l, ln, err := ReadLength(b[tn:])
	if err != nil {
		return 0, nil, nil, err
	}
	start := tn + ln
	if len(b)-start < l {
		return 0, nil, nil, fmt.Errorf("%w: tag %s wants %d bytes, %d left", ErrMalformed, tag, l, len(b)-start)
	}
	return tag, b[start : start+l], b[start+l:], nil
}

// Parse decodes a sequence of data objects filling all of b, descending into
// constructed objects up to MaxDepth levels.
func Parse(b []byte) ([]Object, error) { return parse(b, 0) }

func parse(b []byte, depth int) ([]Object, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", ErrMalformed, MaxDepth)
	}
	var out []Object
	for len(b) > 0 {
		tag, v, rest, err := Next(b)
		if err != nil {
			return nil, err
		}
		o := Object{Tag: tag, Value: v}
		if tag.Constructed() {
			if o.Children, err = parse(v, depth+1); err != nil {
				return nil, err
			}
		}
		out = append(out, o)
		b = rest
	}
	return out, nil
}

// Decode parses b as exactly one data object.
func Decode(b []byte) (Object, error) {
	tag, v, rest, err := Next(b)
	if err != nil {
		return Object{}, err
	}
	if len(rest) != 0 {
		return Object{}, fmt.Errorf("%w: %d trailing bytes after tag %s", ErrMalformed, len(rest), tag)
	}
	o := Object{Tag: tag, Value: v}
	if tag.Constructed() {
		if o.Children, err = parse(v, 1); err != nil {
			return Object{}, err
		}
	}
	return o, nil
}

// AppendLength appends the definite-length encoding of n.
func AppendLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n <= 0xFF:
		return append(b, 0x81, byte(n))
	case n <= 0xFFFF:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n <= 0xFFFFFF:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// Encode returns tag || length || value.
func Encode(tag Tag, value []byte) []byte {
	b := append(tag.Bytes(), make([]byte, 0, 5+len(value))...)
	b = AppendLength(b, len(value))
	return append(b, value...)
}

// Encode returns the object's encoding; a constructed object with Children is encoded
// from them, otherwise from Value.
func (o Object) Encode() []byte {
	if len(o.Children) == 0 {
		return Encode(o.Tag, o.Value)
	}
	var v []byte
	for _, c := range o.Children {
		v = append(v, c.Encode()...)
	}
	return Encode(o.Tag, v)
}
