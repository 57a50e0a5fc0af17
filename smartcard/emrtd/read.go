package emrtd

import (
	"context"
	"errors"
	"fmt"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// MaxLengther is implemented by transports that know the largest Ne the reader and
// chip carry (vchip.Transport does; 65536 means extended length works end to end).
type MaxLengther interface {
	MaxLength() int
}

// Chunk sizes of READ BINARY under secure messaging (ICAO 9303-11 §9.8): a protected
// answer adds up to 35 bytes (DO 87 header and padding, DO 99, DO 8E) to the plain data.
const (
	// ShortChunk is the largest plain chunk whose protected answer fits a short Le (256).
	ShortChunk = 223
	// MaxChunk is the largest plain chunk whose protected answer fits an extended Le.
	MaxChunk = apdu.MaxExtendedLe - 64
	// smOverhead is what secure messaging adds to an answer, rounded up.
	smOverhead = 64
)

// chunkSize picks the plain bytes asked per READ BINARY: the option if set, else what
// the transport reports, else ShortChunk.
func chunkSize(t apdu.Transmitter, opt int) int {
	if opt > 0 {
		return min(opt, MaxChunk)
	}
	if m, ok := t.(MaxLengther); ok && m.MaxLength() > apdu.MaxShortLe {
		return min(m.MaxLength()-smOverhead, MaxChunk)
	}
	return ShortChunk
}

// headerSize is how many bytes are read first to learn a file's TLV length.
const headerSize = 4

// readFile reads a whole EF holding one BER-TLV object (every LDS file does): the first
// 4 bytes through its short EF identifier (which also selects it), then the rest from
// the now current EF in chunks of at most chunk bytes, READ BINARY B0 up to offset 7FFF
// and B1 with an offset DO beyond (ISO 7816-4 §11.3.3, ICAO 9303-10 §4.6).
func readFile(ctx context.Context, t apdu.Transmitter, sfi byte, chunk int) ([]byte, error) {
	r, err := t.Transmit(ctx, apdu.Command{INS: 0xB0, P1: 0x80 | sfi, P2: 0, Ne: headerSize})
	if err != nil {
		return nil, err
	}
	if r.SW != apdu.SWOK && (r.SW != apdu.SWEndOfFile || len(r.Data) == 0) {
		return nil, r.Err() // 6282 with data: a file shorter than the header read
	}
	head := r.Data
	if len(head) == 0 || len(head) > headerSize {
		return nil, fmt.Errorf("%w: %d header bytes for %d asked", ErrMalformed, len(head), headerSize)
	}
	_, tn, err := tlv.ReadTag(head)
	if err != nil {
		return nil, fmt.Errorf("%w: file header: %w", ErrMalformed, err)
	}
	l, ln, err := tlv.ReadLength(head[tn:])
	if err != nil {
		return nil, fmt.Errorf("%w: file header: %w", ErrMalformed, err)
	}
	total := tn + ln + l
	if total > 0xFFFF+8 {
		return nil, fmt.Errorf("%w: file of %d bytes", ErrMalformed, total)
	}
	if total < len(head) {
		return head[:total], nil
	}
	out := make([]byte, len(head), total)
	copy(out, head)
	for len(out) < total {
		off := len(out)
		want := min(chunk, total-off)
		data, err := readAt(ctx, t, off, want)
		if err != nil {
			return nil, err
		}
		if len(data) == 0 || len(data) > want {
			return nil, fmt.Errorf("%w: %d bytes at offset %d for %d asked", ErrMalformed, len(data), off, want)
		}
		out = append(out, data...)
	}
	return out, nil
}

// readAt reads up to n bytes at offset off of the current EF.
func readAt(ctx context.Context, t apdu.Transmitter, off, n int) ([]byte, error) {
	if off <= 0x7FFF {
		return apdu.Run(ctx, t, apdu.Command{INS: 0xB0, P1: byte(off >> 8), P2: byte(off), Ne: n})
	}
	odo := tlv.Encode(0x54, []byte{byte(off >> 16), byte(off >> 8), byte(off)})
	data, err := apdu.Run(ctx, t, apdu.Command{INS: 0xB1, Data: odo, Ne: min(n+4, MaxChunk)})
	if err != nil {
		return nil, err
	}
	tag, v, rest, err := tlv.Next(data)
	if err != nil || tag != 0x53 || len(rest) != 0 {
		return nil, fmt.Errorf("%w: READ BINARY B1 answer is not one DO 53", ErrMalformed)
	}
	return v, nil
}

// COM is the content of EF.COM (ICAO 9303-10 §4.6.1).
type COM struct {
	LDSVersion     string // "0107"
	UnicodeVersion string // "040000"
	DataGroups     []int  // data group numbers of the tag list 5C, in order
}

// dgTags maps LDS data group tags to their numbers (ICAO 9303-10 §4.6.1, table 34).
var dgTags = map[byte]int{
	0x61: 1, 0x75: 2, 0x63: 3, 0x76: 4, 0x65: 5, 0x66: 6, 0x67: 7, 0x68: 8,
	0x69: 9, 0x6A: 10, 0x6B: 11, 0x6C: 12, 0x6D: 13, 0x6E: 14, 0x6F: 15, 0x70: 16,
}

// ParseCOM decodes EF.COM: 60 { 5F01 LDS version, 5F36 Unicode version, 5C tag list }.
func ParseCOM(b []byte) (COM, error) {
	o, err := tlv.Decode(b)
	if err != nil {
		return COM{}, fmt.Errorf("%w: EF.COM: %w", ErrMalformed, err)
	}
	if o.Tag != 0x60 {
		return COM{}, fmt.Errorf("%w: EF.COM tag %s, want 60", ErrMalformed, o.Tag)
	}
	var com COM
	if v, ok := o.Find(0x5F01); ok {
		com.LDSVersion = string(v.Value)
	}
	if v, ok := o.Find(0x5F36); ok {
		com.UnicodeVersion = string(v.Value)
	}
	list, ok := o.Find(0x5C)
	if !ok {
		return COM{}, fmt.Errorf("%w: EF.COM without tag list 5C", ErrMalformed)
	}
	seen := map[int]bool{}
	for _, tag := range list.Value {
		n, ok := dgTags[tag]
		if !ok {
			return COM{}, fmt.Errorf("%w: EF.COM lists unknown tag %02X", ErrMalformed, tag)
		}
		if seen[n] {
			return COM{}, fmt.Errorf("%w: EF.COM lists DG%d twice", ErrMalformed, n)
		}
		seen[n] = true
		com.DataGroups = append(com.DataGroups, n)
	}
	return com, nil
}

// isStatus reports whether err is the given status word.
func isStatus(err error, sw uint16) bool {
	return errors.Is(err, apdu.StatusError{SW: sw})
}
