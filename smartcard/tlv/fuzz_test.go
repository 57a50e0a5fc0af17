package tlv

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cccd-project/cccd/smartcard/icaotest"
)

// tlvSeeds are spec-shaped inputs: EF.CardAccess from ICAO 9303-11 appendix G.1, EF.COM and
// DG13 in the shapes of REFERENCE.md §5, secure messaging objects from appendix D.4, and the
// edge cases of the length encoding.
var tlvSeeds = []string{
	"31143012060A04007F0007020204020202010202010D",
	"60185F0104303130375F36063034303030305C066175636D6E6F",
	dg13,
	"8709019FF0EC34F9922651990290008E08AD55CC17140B2DED",
	"8709016375432908C044F68E08BF8B92D635FF24F8",
	"04 8105 0102030405",
	"04 820000",
	"04 8400000001 AA",
	"04 80",
	"1F81818101 00",
	"30 8401000000",
}

// sameTree compares two parsed trees by tag, primitive value and children. The raw Value
// of a constructed object is left out: it keeps the original (possibly non-minimal) length
// bytes of the children.
func sameTree(a, b []Object) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Tag != b[i].Tag || a[i].Tag.Constructed() != b[i].Tag.Constructed() {
			return false
		}
		if a[i].Tag.Constructed() {
			if !sameTree(a[i].Children, b[i].Children) {
				return false
			}
		} else if !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

// minimal reports whether every length in the (already parsed) b uses the shortest form.
func minimal(objs []Object, b []byte) bool {
	for _, o := range objs {
		_, tn, _ := ReadTag(b)
		l, ln, _ := ReadLength(b[tn:])
		if ln != len(AppendLength(nil, l)) {
			return false
		}
		if o.Tag.Constructed() && !minimal(o.Children, o.Value) {
			return false
		}
		b = b[tn+ln+l:]
	}
	return true
}

func encodeAll(objs []Object) []byte {
	var b []byte
	for _, o := range objs {
		b = append(b, o.Encode()...)
	}
	return b
}

// FuzzParse checks that Parse never panics and that what it accepts re-encodes faithfully:
// Encode of the parsed objects parses again to the same tree; that encoding is a fixed
// point; and it reproduces the input byte for byte exactly when every length in the input
// is minimal (BER allows 81 05 for 05, which Encode writes back as 05).
func FuzzParse(f *testing.F) {
	for _, s := range tlvSeeds {
		f.Add(icaotest.Unhex(f, s))
	}
	f.Add(nest(MaxDepth, icaotest.Unhex(f, "0401AA")))
	f.Add(nest(MaxDepth+1, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		enc := encodeAll(objs)
		again, err := Parse(enc)
		if err != nil {
			t.Fatalf("Parse(re-encoding % X): %v", enc, err)
		}
		if !sameTree(objs, again) {
			t.Fatalf("re-encoding changed the tree:\n in % X\nout % X", b, enc)
		}
		if enc2 := encodeAll(again); !bytes.Equal(enc2, enc) {
			t.Fatalf("re-encoding is not a fixed point:\n% X\n% X", enc, enc2)
		}
		if len(enc) > len(b) {
			t.Fatalf("re-encoding grew from %d to %d bytes", len(b), len(enc))
		}
		if isMin := minimal(objs, b); isMin != bytes.Equal(enc, b) {
			t.Fatalf("minimal lengths = %v but re-encoding equal = %v:\n in % X\nout % X", isMin, !isMin, b, enc)
		}
	})
}

// FuzzDecode checks that Decode never panics and accepts exactly the inputs that Parse
// reads as a single object, giving the same object.
func FuzzDecode(f *testing.F) {
	for _, s := range tlvSeeds {
		f.Add(icaotest.Unhex(f, s))
	}
	f.Add(nest(MaxDepth, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := Decode(b)
		objs, perr := Parse(b)
		single := perr == nil && len(objs) == 1
		if (err == nil) != single {
			t.Fatalf("Decode err %v, Parse gave %d objects, err %v", err, len(objs), perr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if !sameTree([]Object{o}, objs) || !bytes.Equal(o.Value, objs[0].Value) {
			t.Fatalf("Decode %+v differs from Parse %+v", o, objs[0])
		}
	})
}
