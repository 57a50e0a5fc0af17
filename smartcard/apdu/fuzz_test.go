package apdu

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/cccd-project/cccd/smartcard/icaotest"
)

// commandSeeds are ICAO 9303-11 appendix D.4 commands plus one of each ISO/IEC 7816-4 case.
var commandSeeds = []string{
	icaoSelect, icaoReadBinary,
	"00A4040C", "00B0000000", "00B00000000000", "00A4020C02011E", "00A4020C02011E00",
	"00A4020C000002011E", "00A4020C000002011E0000", "00A4020C00000001", "00",
}

// FuzzParseCommand checks that ParseCommand never panics and that every command it accepts
// is canonical: Bytes of the parsed Command reproduces the input exactly, and parsing that
// again gives an equal Command. (ISO/IEC 7816-4 §5.1 leaves no choice of encoding once
// Extended records the form: short Le 00 parses to Ne 256 and encodes back to 00, extended
// Le 0000 to Ne 65536 and back to 0000.)
func FuzzParseCommand(f *testing.F) {
	for _, s := range commandSeeds {
		f.Add(icaotest.Unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			return
		}
		if len(c.Data) > MaxExtendedData || c.Ne < 0 || c.Ne > MaxExtendedLe {
			t.Fatalf("ParseCommand(% X) gave out-of-range Command: len(Data)=%d Ne=%d", b, len(c.Data), c.Ne)
		}
		out, err := c.Bytes()
		if err != nil {
			t.Fatalf("Bytes of parsed %+v: %v", c, err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("Bytes(ParseCommand(% X)) = % X", b, out)
		}
		c2, err := ParseCommand(out)
		if err != nil {
			t.Fatalf("ParseCommand(Bytes) = %v", err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("second parse %+v differs from first %+v", c2, c)
		}
	})
}

// FuzzParseResponse checks that ParseResponse never panics, splits off exactly two status
// bytes, copies the data, and that Bytes reproduces the input.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{icaoSelectResp, icaoReadBinResp, "9000", "6982", "63C2", "90", ""} {
		f.Add(icaotest.Unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if err != nil {
			if len(b) >= 2 {
				t.Fatalf("ParseResponse(% X): %v", b, err)
			}
			return
		}
		if len(r.Data) != len(b)-2 {
			t.Fatalf("len(Data) = %d for %d input bytes", len(r.Data), len(b))
		}
		if !bytes.Equal(r.Bytes(), b) {
			t.Fatalf("Bytes = % X, want % X", r.Bytes(), b)
		}
		if (r.Err() == nil) != r.OK() {
			t.Fatalf("Err() = %v but OK() = %v", r.Err(), r.OK())
		}
		if r.Err() != nil && r.Err().Error() == "" {
			t.Fatalf("empty error text for SW %04X", r.SW)
		}
	})
}
