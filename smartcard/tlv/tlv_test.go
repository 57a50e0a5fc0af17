package tlv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/smartcard/icaotest"
)

func TestReadTag(t *testing.T) {
	tests := []struct {
		name string
		in   string
		tag  Tag
		n    int
	}{
		{"1 byte 61", "61 05", 0x61, 1},
		{"1 byte 04 alone", "04", 0x04, 1},
		{"1 byte 00", "00", 0x00, 1},
		{"1 byte 1E (not the escape)", "1E 00", 0x1E, 1},
		{"2 bytes 5F1F", "5F1F 5A", 0x5F1F, 2},
		{"2 bytes 7F61", "7F61 82", 0x7F61, 2},
		{"2 bytes 5F2E", "5F2E", 0x5F2E, 2},
		{"2 bytes 9F00", "9F00", 0x9F00, 2},
		{"3 bytes 9F8101", "9F8101 00", 0x9F8101, 3},
		{"3 bytes BF8101", "BF8101", 0xBF8101, 3},
		{"4 bytes 1F818101", "1F818101 00", 0x1F818101, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tag, n, err := ReadTag(icaotest.Unhex(t, tt.in))
			if err != nil {
				t.Fatalf("ReadTag: %v", err)
			}
			if tag != tt.tag || n != tt.n {
				t.Fatalf("ReadTag = %s, %d; want %s, %d", tag, n, tt.tag, tt.n)
			}
			if !bytes.Equal(tag.Bytes(), icaotest.Unhex(t, tt.in)[:n]) {
				t.Errorf("Bytes = % X, want % X", tag.Bytes(), icaotest.Unhex(t, tt.in)[:n])
			}
		})
	}
	for _, tt := range []struct{ name, in string }{
		{"empty", ""},
		{"5F alone", "5F"},
		{"9F81 truncated", "9F81"},
		{"1F818181 truncated", "1F818181"},
		{"5 bytes", "1F81818101"},
		{"5 bytes with value", "1F8181810100"},
	} {
		t.Run("malformed "+tt.name, func(t *testing.T) {
			if tag, n, err := ReadTag(icaotest.Unhex(t, tt.in)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ReadTag = %s, %d, %v; want ErrMalformed", tag, n, err)
			}
		})
	}
}

func TestTagConstructed(t *testing.T) {
	tests := []struct {
		tag  Tag
		want bool
	}{
		{0x04, false}, {0x30, true}, {0x31, true}, {0x61, true}, {0x6D, true}, {0x75, true}, {0x80, false},
		{0xA1, true}, {0x5F1F, false}, {0x5F2E, false}, {0x7F61, true}, {0x7F60, true}, {0x7F21, true},
		{0x9F8101, false}, {0xBF8101, true}, {0x1F818101, false}, {0x3F818101, true},
	}
	for _, tt := range tests {
		t.Run(tt.tag.String(), func(t *testing.T) {
			if got := tt.tag.Constructed(); got != tt.want {
				t.Fatalf("Tag(%s).Constructed() = %v, want %v", tt.tag, got, tt.want)
			}
		})
	}
}

func TestReadLength(t *testing.T) {
	tests := []struct {
		name string
		in   string
		l, n int
	}{
		{"short 0", "00", 0, 1},
		{"short 127", "7F FF", 127, 1},
		{"81 80", "8180", 128, 2},
		{"81 FF", "81FF", 255, 2},
		{"81 05 non-minimal", "8105", 5, 2},
		{"82 0100", "820100", 256, 3},
		{"82 FFFF", "82FFFF", 65535, 3},
		{"83 010000", "83010000", 65536, 4},
		{"83 FFFFFF", "83FFFFFF", 16777215, 4},
		{"84 01000000 is MaxLength", "8401000000", MaxLength, 5},
		{"84 00000100 non-minimal", "8400000100", 256, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, n, err := ReadLength(icaotest.Unhex(t, tt.in))
			if err != nil {
				t.Fatalf("ReadLength: %v", err)
			}
			if l != tt.l || n != tt.n {
				t.Fatalf("ReadLength = %d, %d; want %d, %d", l, n, tt.l, tt.n)
			}
		})
	}
	for _, tt := range []struct{ name, in string }{
		{"empty", ""},
		{"indefinite 80", "80"},
		{"indefinite 80 with content", "800400"},
		{"85 five length bytes", "850000000001"},
		{"FF", "FFFFFFFFFFFFFFFF"},
		{"84 above MaxLength", "8401000001"},
		{"84 FFFFFFFF", "84FFFFFFFF"},
		{"84 80000000", "8480000000"},
		{"81 truncated", "81"},
		{"82 truncated", "8201"},
		{"83 truncated", "830100"},
		{"84 truncated", "84010000"},
	} {
		t.Run("malformed "+tt.name, func(t *testing.T) {
			if l, n, err := ReadLength(icaotest.Unhex(t, tt.in)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ReadLength = %d, %d, %v; want ErrMalformed", l, n, err)
			}
		})
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		tag       Tag
		value     string
		rest      string
		malformed bool
	}{
		{"one primitive", "5F0102 0101", 0x5F01, "0101", "", false},
		{"rest kept", "8001AA 8101BB", 0x80, "AA", "8101BB", false},
		{"constructed not descended", "6103 5F0100 04", 0x61, "5F0100", "04", false},
		{"empty value", "0400", 0x04, "", "", false},
		{"81 length", "04 8180" + strings.Repeat("EE", 128), 0x04, strings.Repeat("EE", 128), "", false},
		{"value truncated", "040301", 0, "", "", true},
		{"huge declared length", "04 8401000000 00", 0, "", "", true},
		{"missing length", "5F1F", 0, "", "", true},
		{"empty", "", 0, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tag, v, rest, err := Next(icaotest.Unhex(t, tt.in))
			if tt.malformed {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Next = %s % X % X %v; want ErrMalformed", tag, v, rest, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if tag != tt.tag || !bytes.Equal(v, icaotest.Unhex(t, tt.value)) || !bytes.Equal(rest, icaotest.Unhex(t, tt.rest)) {
				t.Fatalf("Next = %s, % X, % X; want %s, %s, %s", tag, v, rest, tt.tag, tt.value, tt.rest)
			}
		})
	}
}

// nest wraps inner in n SEQUENCE (30) layers.
func nest(n int, inner []byte) []byte {
	b := inner
	for range n {
		b = Encode(0x30, b)
	}
	return b
}

func TestParse(t *testing.T) {
	leaf := icaotest.Unhex(t, "0401AA")
	tests := []struct {
		name    string
		in      []byte
		count   int // top-level objects
		wantErr bool
	}{
		{"empty input", nil, 0, false},
		{"two primitives", icaotest.Unhex(t, "0401AA 5F1F00"), 2, false},
		{"nested constructed", icaotest.Unhex(t, "610A 5F1F02 4142 7F6102 8000 0400"), 2, false},
		{"empty constructed", icaotest.Unhex(t, "3000"), 1, false},
		{"depth MaxDepth with primitive leaf", nest(MaxDepth, leaf), 1, false},
		{"depth MaxDepth with empty constructed leaf", nest(MaxDepth, nil), 1, false},
		{"depth MaxDepth+1 with primitive leaf", nest(MaxDepth+1, leaf), 0, true},
		{"depth MaxDepth+1 with empty constructed leaf", nest(MaxDepth+1, nil), 0, true},
		{"depth 1000", nest(1000, leaf), 0, true},
		{"trailing garbage byte", icaotest.Unhex(t, "0401AA 5F"), 0, true},
		{"trailing truncated object", icaotest.Unhex(t, "0401AA 0402BB"), 0, true},
		{"bad child inside constructed", icaotest.Unhex(t, "6103 040201"), 0, true},
		{"child overruns parent", icaotest.Unhex(t, "6102 0402BBCC"), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) || objs != nil {
					t.Fatalf("Parse = %v, %v; want nil, ErrMalformed", objs, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(objs) != tt.count {
				t.Fatalf("Parse gave %d objects, want %d", len(objs), tt.count)
			}
			var enc []byte
			for _, o := range objs {
				enc = append(enc, o.Encode()...)
			}
			if !bytes.Equal(enc, tt.in) {
				t.Fatalf("re-encoding = % X, want % X", enc, tt.in)
			}
		})
	}
	t.Run("nested structure", func(t *testing.T) {
		objs, err := Parse(icaotest.Unhex(t, "610A 5F1F02 4142 7F6102 8000 0400"))
		if err != nil {
			t.Fatal(err)
		}
		want := []Object{
			{Tag: 0x61, Value: icaotest.Unhex(t, "5F1F0241427F61028000"), Children: []Object{
				{Tag: 0x5F1F, Value: []byte("AB")},
				{Tag: 0x7F61, Value: icaotest.Unhex(t, "8000"), Children: []Object{{Tag: 0x80, Value: []byte{}}}},
			}},
			{Tag: 0x04, Value: []byte{}},
		}
		if !reflect.DeepEqual(objs, want) {
			t.Fatalf("Parse = %+v\nwant    %+v", objs, want)
		}
	})
	t.Run("depth counted the same in Decode", func(t *testing.T) {
		if _, err := Decode(nest(MaxDepth, leaf)); err != nil {
			t.Errorf("Decode depth MaxDepth: %v", err)
		}
		if _, err := Decode(nest(MaxDepth+1, leaf)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode depth MaxDepth+1: %v, want ErrMalformed", err)
		}
	})
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		tag     Tag
		wantErr bool
	}{
		{"one primitive", "5F1F03414243", 0x5F1F, false},
		{"one constructed", "7F6105 0201 01 8000", 0x7F61, false},
		{"two objects", "0400 0400", 0, true},
		{"trailing byte", "0400 00", 0, true},
		{"empty", "", 0, true},
		{"bad child", "6102 0401", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Decode(icaotest.Unhex(t, tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Decode = %+v, %v; want ErrMalformed", o, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if o.Tag != tt.tag {
				t.Fatalf("Decode tag %s, want %s", o.Tag, tt.tag)
			}
			if !bytes.Equal(o.Encode(), icaotest.Unhex(t, tt.in)) {
				t.Fatalf("Encode = % X", o.Encode())
			}
		})
	}
}

func TestFind(t *testing.T) {
	o, err := Decode(icaotest.Unhex(t, "610C 8001AA 7F6103 800101 8001BB"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		in    Object
		tag   Tag
		value []byte
		found bool
	}{
		{"first of two equal tags", o, 0x80, []byte{0xAA}, true},
		{"multi-byte tag", o, 0x7F61, icaotest.Unhex(t, "800101"), true},
		{"grandchild is not a direct child", o, 0x0101, nil, false},
		{"absent", o, 0x5F1F, nil, false},
		{"primitive has no children", Object{Tag: 0x80, Value: []byte{0x80, 0x00}}, 0x80, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := tt.in.Find(tt.tag)
			if ok != tt.found || ok && !bytes.Equal(c.Value, tt.value) {
				t.Fatalf("Find(%s) = % X, %v; want % X, %v", tt.tag, c.Value, ok, tt.value, tt.found)
			}
		})
	}
}

func TestAppendLength(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "00"}, {127, "7F"}, {128, "8180"}, {255, "81FF"}, {256, "820100"}, {65535, "82FFFF"},
		{65536, "83010000"}, {16777215, "83FFFFFF"}, {16777216, "8401000000"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := AppendLength([]byte{0xEE}, tt.n)
			if want := append([]byte{0xEE}, icaotest.Unhex(t, tt.want)...); !bytes.Equal(got, want) {
				t.Fatalf("AppendLength(%d) = % X, want % X", tt.n, got, want)
			}
			l, k, err := ReadLength(got[1:])
			if err != nil || l != tt.n || k != len(got)-1 {
				t.Fatalf("ReadLength(AppendLength(%d)) = %d, %d, %v", tt.n, l, k, err)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	for _, n := range []int{0, 127, 128, 255, 256, 65535, 65536} {
		t.Run(hex.EncodeToString(AppendLength(nil, n)), func(t *testing.T) {
			v := bytes.Repeat([]byte{0x5A}, n)
			b := Encode(0x5F2E, v)
			tag, got, rest, err := Next(b)
			if err != nil || tag != 0x5F2E || !bytes.Equal(got, v) || len(rest) != 0 {
				t.Fatalf("Next(Encode(5F2E, %d bytes)) = %s, %d bytes, %d rest, %v", n, tag, len(got), len(rest), err)
			}
		})
	}
	t.Run("from children", func(t *testing.T) {
		o := Object{Tag: 0x7F61, Value: []byte("stale value is ignored"), Children: []Object{
			{Tag: 0x02, Value: []byte{0x01}},
			{Tag: 0x7F60, Children: []Object{{Tag: 0xA1, Children: []Object{{Tag: 0x80, Value: []byte{0x01, 0x01}}}}}},
		}}
		want := icaotest.Unhex(t, "7F61 0C 020101 7F60 06 A104 80020101")
		if got := o.Encode(); !bytes.Equal(got, want) {
			t.Fatalf("Encode = % X, want % X", got, want)
		}
	})
	t.Run("constructed without children from value", func(t *testing.T) {
		o := Object{Tag: 0x61, Value: icaotest.Unhex(t, "5F1F00")}
		if got, want := o.Encode(), icaotest.Unhex(t, "6103 5F1F00"); !bytes.Equal(got, want) {
			t.Fatalf("Encode = % X, want % X", got, want)
		}
	})
}

// dg13 is a DG13 in the shape of REFERENCE.md §5 with fields 1 (ID number) and 4 (sex "Nữ").
const dg13 = "6D2D 302B 020101 0606 28D316010008 311E" +
	"3011 020101 0C0C 303031303939303132333435" +
	"3009 020104 0C04 4EE1BBAF"

func TestDG13Shape(t *testing.T) {
	o, err := Decode(icaotest.Unhex(t, dg13))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	seq, ok := o.Find(0x30)
	if !ok || len(seq.Children) != 3 {
		t.Fatalf("6D/30 missing or wrong: %+v", seq)
	}
	if oid, _ := seq.Find(0x06); !bytes.Equal(oid.Value, icaotest.Unhex(t, "28D316010008")) {
		t.Errorf("OID = % X", oid.Value)
	}
	set, ok := seq.Find(0x31)
	if !ok || len(set.Children) != 2 {
		t.Fatalf("31 set missing or wrong: %+v", set)
	}
	for i, want := range []struct {
		num byte
		val string
	}{{1, "001099012345"}, {4, "Nữ"}} {
		f := set.Children[i]
		num, _ := f.Find(0x02)
		val, _ := f.Find(0x0C)
		if !bytes.Equal(num.Value, []byte{want.num}) || string(val.Value) != want.val {
			t.Errorf("field %d = %X %q, want %d %q", i, num.Value, val.Value, want.num, want.val)
		}
	}
	if !bytes.Equal(o.Encode(), icaotest.Unhex(t, dg13)) {
		t.Errorf("Encode does not reproduce DG13")
	}
}

// dg2 builds a DG2 in the ICAO 9303-10 §4.7.2 shape 75 { 7F61 { 02, 7F60 { A1, 5F2E } } }
// with a 300-byte biometric data block, so every outer length needs 82.
func dg2(t testing.TB) ([]byte, []byte) {
	img := bytes.Repeat([]byte{0xFF, 0xD8}, 150)
	head := "75 820148 7F61 820143 020101 7F60 82013B A108 80020101 87020101 5F2E 82012C"
	return append(icaotest.Unhex(t, head), img...), img
}

func TestDG2Shape(t *testing.T) {
	in, img := dg2(t)
	o, err := Decode(in)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	group, ok := o.Find(0x7F61)
	if !ok {
		t.Fatal("7F61 missing")
	}
	if n, _ := group.Find(0x02); !bytes.Equal(n.Value, []byte{1}) {
		t.Errorf("instance count = % X", n.Value)
	}
	tmpl, ok := group.Find(0x7F60)
	if !ok {
		t.Fatal("7F60 missing")
	}
	hdr, ok := tmpl.Find(0xA1)
	if !ok || len(hdr.Children) != 2 {
		t.Fatalf("A1 header = %+v", hdr)
	}
	data, ok := tmpl.Find(0x5F2E)
	if !ok || !bytes.Equal(data.Value, img) {
		t.Fatalf("5F2E has %d bytes, want %d", len(data.Value), len(img))
	}
	if !bytes.Equal(o.Encode(), in) {
		t.Errorf("Encode does not reproduce DG2")
	}
}

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileInputBounded checks that declared lengths never drive allocation: the parser
// only slices its input, so memory stays proportional to the bytes actually given.
func TestHostileInputBounded(t *testing.T) {
	siblings := bytes.Repeat(icaotest.Unhex(t, "0400"), 4096) // 8 KiB of empty objects at the deepest level
	tests := []struct {
		name  string
		in    []byte
		limit uint64
	}{
		{"declared 16 MiB, 3 bytes given", icaotest.Unhex(t, "04 8401000000 010203"), 4 << 10},
		{"declared 16 MiB constructed", icaotest.Unhex(t, "30 8401000000 3084010000000400"), 4 << 10},
		{"declared 4 GiB", icaotest.Unhex(t, "04 84FFFFFFFF 00"), 4 << 10},
		{"nested past the limit, lengths lie", bytes.Repeat(icaotest.Unhex(t, "30 8400FFFFFF"), 1000), 16 << 10},
		{"depth MaxDepth+1 honest", nest(MaxDepth+1, siblings), 16 << 10},
		{"depth MaxDepth with 4096 siblings", nest(MaxDepth, siblings), uint64(len(nest(MaxDepth, siblings))) * 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			n := allocated(func() { _, err = Parse(tt.in) })
			if n > tt.limit {
				t.Errorf("Parse of %d bytes allocated %d bytes, limit %d", len(tt.in), n, tt.limit)
			}
			t.Logf("Parse of %d bytes: %d bytes allocated, err %v", len(tt.in), n, err)
		})
	}
}

func BenchmarkParseDG2(b *testing.B) {
	in, _ := dg2(b)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDeepSiblings(b *testing.B) {
	in := nest(MaxDepth, bytes.Repeat([]byte{0x04, 0x00}, 4096))
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}
