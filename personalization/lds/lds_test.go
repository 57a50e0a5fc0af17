package lds_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/issuance/mrz"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/lds/ldstest"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// icaoTD1 is the TD1 specimen of ICAO 9303-5 appendix B, all check digits valid.
const icaoTD1 = "I<UTOD231458907<<<<<<<<<<<<<<<" + "7408122F1204159UTO<<<<<<<<<<<6" + "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"

func TestFiles(t *testing.T) {
	tests := []struct {
		dg  int
		fid uint16
		tag byte
	}{
		{1, 0x0101, 0x61}, {2, 0x0102, 0x75}, {3, 0x0103, 0x63}, {13, 0x010D, 0x6D},
		{14, 0x010E, 0x6E}, {15, 0x010F, 0x6F}, {16, 0x0110, 0x70},
	}
	for _, tc := range tests {
		t.Run(lds.Files()[2+tc.dg].Name, func(t *testing.T) {
			f, err := lds.DataGroupFile(tc.dg)
			if err != nil {
				t.Fatal(err)
			}
			if f.FID != tc.fid || f.Tag != tc.tag || int(f.SFI) != tc.dg {
				t.Errorf("DataGroupFile(%d) = %+v, want FID %04X tag %02X", tc.dg, f, tc.fid, tc.tag)
			}
			if n, err := lds.DataGroupByTag(tc.tag); err != nil || n != tc.dg {
				t.Errorf("DataGroupByTag(%02X) = %d, %v", tc.tag, n, err)
			}
			if n, err := lds.DataGroupByFID(tc.fid); err != nil || n != tc.dg {
				t.Errorf("DataGroupByFID(%04X) = %d, %v", tc.fid, n, err)
			}
		})
	}
	t.Run("out of range", func(t *testing.T) {
		if _, err := lds.DataGroupFile(17); !errors.Is(err, lds.ErrInvalid) {
			t.Errorf("DataGroupFile(17) err = %v, want ErrInvalid", err)
		}
		if _, err := lds.DataGroupByTag(0x77); err == nil {
			t.Error("DataGroupByTag(77) accepted the EF.SOD tag")
		}
		if _, err := lds.DataGroupByFID(lds.FIDCOM); err == nil {
			t.Error("DataGroupByFID(011E) accepted EF.COM")
		}
	})
}

func TestCOM(t *testing.T) {
	// EF.COM of ICAO 9303-10 §4.6.1 with DG1, DG2, DG3, DG13, DG14, DG15 (REFERENCE.md §5).
	issued := mustHex(t, "60185F0104303130375F36063034303030305C066175636D6E6F")
	t.Run("issued card", func(t *testing.T) {
		c, err := lds.ParseCOM(issued)
		if err != nil {
			t.Fatal(err)
		}
		dgs, err := c.DataGroups()
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{1, 2, 3, 13, 14, 15}; !reflect.DeepEqual(dgs, want) || c.LDSVersion != "0107" || c.UnicodeVersion != "040000" {
			t.Errorf("ParseCOM = %+v (data groups %v)", c, dgs)
		}
		again, err := c.Encode()
		if err != nil || !bytes.Equal(again, issued) {
			t.Errorf("re-encoded %X, %v", again, err)
		}
	})
	bad := []struct{ name, hex string }{
		{"wrong outer tag", "61185F0104303130375F36063034303030305C066175636D6E6F"},
		{"missing tag list", "60105F0104303130375F3606303430303030"},
		{"order swapped", "60185F36063034303030305F0104303130375C066175636D6E6F"},
		{"letters in version", "60185F01043031413F5F36063034303030305C066175636D6E6F"},
		{"SOD tag listed", "60135F0104303130375F36063034303030305C0177"},
		{"tag twice", "60145F0104303130375F36063034303030305C026161"},
		{"trailing byte", "60195F0104303130375F36063034303030305C066175636D6E6F00"},
		{"truncated", "60185F0104303130375F36063034303030305C0661"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := lds.ParseCOM(mustHex(t, tc.hex)); !errors.Is(err, lds.ErrMalformed) {
				t.Errorf("ParseCOM err = %v, want ErrMalformed", err)
			}
		})
	}
	t.Run("encode rejects non data group tag", func(t *testing.T) {
		if _, err := (lds.COM{LDSVersion: "0107", UnicodeVersion: "040000", Tags: []byte{0x77}}).Encode(); !errors.Is(err, lds.ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	})
}

func TestDG1(t *testing.T) {
	sample := ldstest.Sample().MRZ
	for _, mrz := range []string{icaoTD1, sample} {
		t.Run("round trip "+mrz[:14], func(t *testing.T) {
			b, err := lds.EncodeDG1(mrz)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte{0x61, 0x5D, 0x5F, 0x1F, 0x5A}) {
				t.Errorf("DG1 header % X, want 61 5D 5F 1F 5A", b[:5])
			}
			got, err := lds.ParseDG1(b)
			if err != nil || got.MRZ != mrz {
				t.Errorf("ParseDG1 = %q, %v", got.MRZ, err)
			}
		})
	}
	flip := func(s string, i int, c byte) string { b := []byte(s); b[i] = c; return string(b) }
	bad := []struct {
		name, mrz, field string
		is               error
	}{
		{"document number check", flip(sample, 14, '6'), "document number", mrz.ErrCheckDigit},
		{"birth date check", flip(sample, 36, '6'), "birth date", mrz.ErrCheckDigit},
		{"expiry check", flip(sample, 44, '5'), "expiry date", mrz.ErrCheckDigit},
		{"composite check", flip(sample, 59, '1'), "composite", mrz.ErrCheckDigit},
		{"12-digit id check", flip(sample, 29, '4'), "optional data", mrz.ErrCheckDigit},
		{"lower case", flip(sample, 62, 'g'), "line 3 position 3", mrz.ErrCharset},
		{"short", sample[:89], "89 characters", mrz.ErrLength},
		{"line breaks", sample[:30] + "\n" + sample[30:59], "", mrz.ErrCharset},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := lds.EncodeDG1(tc.mrz)
			if !errors.Is(err, lds.ErrInvalid) || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("EncodeDG1 err = %v, want ErrInvalid and %v naming %q", err, tc.is, tc.field)
			}
			raw := append([]byte{0x61, byte(len(tc.mrz) + 3), 0x5F, 0x1F, byte(len(tc.mrz))}, tc.mrz...)
			if _, err := lds.ParseDG1(raw); !errors.Is(err, lds.ErrMalformed) {
				t.Errorf("ParseDG1 err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestDG2(t *testing.T) {
	face := ldstest.Sample().Face
	b, err := lds.EncodeDG2(face)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("round trip", func(t *testing.T) {
		got, err := lds.ParseDG2(b)
		if err != nil {
			t.Fatal(err)
		}
		want := face
		want.Width, want.Height = 240, 320
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ParseDG2 = %+v\nwant %+v", got, want)
		}
	})
	t.Run("layout", func(t *testing.T) {
		// 75 82 LLLL 7F61 82 LLLL 02 01 01 7F60 82 LLLL A1 12 ... 5F2E 82 LLLL 'FAC\0' '010\0'
		head := mustHex(t, "A112800201018101028201008702010188020008")
		if !bytes.Contains(b, head) {
			t.Errorf("no biometric header template %X", head)
		}
		i := bytes.Index(b, []byte("FAC\x00010\x00"))
		if i < 0 || !bytes.Equal(b[i-5:i-3], []byte{0x5F, 0x2E}) {
			t.Fatalf("no 5F2E facial record")
		}
		rec := b[i:]
		if n := int(rec[8])<<24 | int(rec[9])<<16 | int(rec[10])<<8 | int(rec[11]); n != len(rec) {
			t.Errorf("record length field %d, record %d bytes", n, len(rec))
		}
		// Image information block after header (14) and facial information (20).
		if info := rec[34:46]; !bytes.Equal(info[:6], []byte{0x01, 0x00, 0x00, 0xF0, 0x01, 0x40}) {
			t.Errorf("image information % X, want full frontal JPEG 240x320", info)
		}
	})
	t.Run("size mismatch", func(t *testing.T) {
		f := face
		f.Width, f.Height = 100, 100
		if _, err := lds.EncodeDG2(f); !errors.Is(err, lds.ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	})
	t.Run("not a JPEG", func(t *testing.T) {
		f := face
		f.JPEG = []byte("GIF89a")
		if _, err := lds.EncodeDG2(f); !errors.Is(err, lds.ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	})
	rec := bytes.Index(b, []byte("FAC\x00"))
	corrupt := []struct {
		name string
		edit func(c []byte) []byte
	}{
		{"record length too big", func(c []byte) []byte { c[rec+11]++; return c }},
		{"facial data length too small", func(c []byte) []byte { c[rec+17]--; return c }},
		{"two images", func(c []byte) []byte { c[rec+13] = 2; return c }},
		{"version 020", func(c []byte) []byte { c[rec+5] = '2'; return c }},
		{"feature points beyond record", func(c []byte) []byte { c[rec+18], c[rec+19] = 0xFF, 0xFF; return c }},
		{"no JPEG marker", func(c []byte) []byte { c[rec+46] = 0; return c }},
		{"image data type 7", func(c []byte) []byte { c[rec+35] = 7; return c }},
		{"two templates", func(c []byte) []byte { c[bytes.Index(c, []byte{2, 1, 1})+2] = 2; return c }},
		{"format type 0007", func(c []byte) []byte { c[bytes.Index(c, []byte{0x88, 2, 0, 8})+3] = 7; return c }},
		{"truncated", func(c []byte) []byte { return c[:len(c)-1] }},
	}
	for _, tc := range corrupt {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := lds.ParseDG2(tc.edit(bytes.Clone(b))); !errors.Is(err, lds.ErrMalformed) {
				t.Errorf("ParseDG2 err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestDG13(t *testing.T) {
	sample := ldstest.Sample().DG13
	noSpouse := sample
	noSpouse.Spouse = ""
	withSpouse := sample
	withSpouse.Spouse = "Lê Thị Dung"
	noExpiry := sample
	noExpiry.ExpiryDate = lds.NoExpiry
	for name, d := range map[string]lds.DG13{"no spouse": noSpouse, "spouse": withSpouse, "no expiry": noExpiry} {
		t.Run("round trip "+name, func(t *testing.T) {
			b, err := d.Encode()
			if err != nil {
				t.Fatal(err)
			}
			got, err := lds.ParseDG13(b)
			if err != nil || got != d {
				t.Errorf("ParseDG13 = %+v, %v\nwant %+v", got, err, d)
			}
			if has := bytes.Contains(b, []byte{0x02, 0x01, 0x0E}); has != (d.Spouse != "") {
				t.Errorf("field 14 present = %v with spouse %q", has, d.Spouse)
			}
		})
	}
	t.Run("layout", func(t *testing.T) {
		b, _ := sample.Encode()
		if !bytes.HasPrefix(b[4:], mustHex(t, "308201C4 020101 060628D316010008 318201B5 3011 020101 0C0C")) {
			t.Errorf("DG13 starts % X", b[:32])
		}
	})
	t.Run("fields in any order", func(t *testing.T) {
		// Fields 2 and 1 swapped, minimal values, field 13 absent.
		fields := []string{"30060201020C014E", "30060201010C0131"}
		for n := 3; n <= 12; n++ {
			fields = append(fields, "300502010"+string("0123456789ABC"[n])+"0C00")
		}
		set := strings.Join(fields, "")
		inner := "020101060628D316010008" + "31" + hex.EncodeToString([]byte{byte(len(set) / 2)}) + set
		seq := "30" + hex.EncodeToString([]byte{byte(len(inner) / 2)}) + inner
		b := mustHex(t, "6D"+hex.EncodeToString([]byte{byte(len(seq) / 2)})+seq)
		got, err := lds.ParseDG13(b)
		if err != nil || got.IDNumber != "1" || got.FullName != "N" {
			t.Errorf("ParseDG13 = %+v, %v", got, err)
		}
	})
	good, _ := sample.Encode()
	replace := func(old, new string) func([]byte) []byte {
		return func(b []byte) []byte { return bytes.Replace(b, mustHex(t, old), mustHex(t, new), 1) }
	}
	bad := []struct {
		name, want string
		edit       func([]byte) []byte
	}{
		{"version 2", "version", replace("020101060628", "020102060628")},
		{"other charset OID", "character set", replace("28D316010008", "28D316010009")},
		{"field as PrintableString", "field 2", replace("0201020C10", "02010213 10")},
		{"field number 17", "field number", replace("0201020C10", "0201110C10")},
		{"field number twice", "field 2 appears twice", replace("0201030C0A", "0201020C0A")},
		{"invalid UTF-8", "field 2 is not valid UTF-8", replace("4E677579E1BB85", "4E677579FFBB85")},
		{"parents not a pair", "field 13", replace("302D02010D3028", "302D02010D3128")},
		{"field 1 missing", "field 1 missing", func(b []byte) []byte {
			i := bytes.Index(b, mustHex(t, "30110201010C0C"))
			c := append(bytes.Clone(b[:i]), b[i+19:]...)
			c[3] -= 19 // 6D 82 01 C8 -> shorter; lengths below fixed up too
			c[7] -= 19
			c[22] -= 19
			return c
		}},
		{"trailing byte", "trailing", func(b []byte) []byte { return append(bytes.Clone(b), 0) }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := lds.ParseDG13(tc.edit(bytes.Clone(good)))
			if !errors.Is(err, lds.ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseDG13 err = %v, want ErrMalformed naming %q", err, tc.want)
			}
		})
	}
	invalid := []struct {
		name, field string
		edit        func(*lds.DG13)
	}{
		{"short id", "field 1", func(d *lds.DG13) { d.IDNumber = "07920300123" }},
		{"no name", "field 2", func(d *lds.DG13) { d.FullName = "" }},
		{"birth date ISO", "field 3", func(d *lds.DG13) { d.DateOfBirth = "2003-04-15" }},
		{"birth date unreal", "field 3", func(d *lds.DG13) { d.DateOfBirth = "30/02/2003" }},
		{"sex M", "field 4", func(d *lds.DG13) { d.Sex = "M" }},
		{"decomposed name", "field 2", func(d *lds.DG13) { d.FullName = "Nguye\u0302\u0303n" }},
		{"bad UTF-8 mother", "mother", func(d *lds.DG13) { d.Mother = "\xff" }},
		{"expiry text", "field 12", func(d *lds.DG13) { d.ExpiryDate = "never" }},
	}
	for _, tc := range invalid {
		t.Run("encode "+tc.name, func(t *testing.T) {
			d := sample
			tc.edit(&d)
			_, err := d.Encode()
			if !errors.Is(err, lds.ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("Encode err = %v, want ErrInvalid naming %q", err, tc.field)
			}
		})
	}
}

func TestSecurityInfoFiles(t *testing.T) {
	// EF.CardAccess of ICAO 9303-11 appendix G.1.
	g1 := mustHex(t, "31143012060A04007F0007020204020202010202010D")
	t.Run("card access G.1", func(t *testing.T) {
		infos, err := lds.ParseCardAccess(g1)
		if err != nil {
			t.Fatal(err)
		}
		p := infos.PACE()
		if len(infos) != 1 || len(p) != 1 || !p[0].Protocol.Equal(securityinfo.OIDPACEECDHGMAES128) || p[0].ParameterID != 13 {
			t.Fatalf("ParseCardAccess = %+v", infos)
		}
		if b, err := lds.EncodeCardAccess(infos); err != nil || !bytes.Equal(b, g1) {
			t.Errorf("EncodeCardAccess = %X, %v", b, err)
		}
	})
	t.Run("dg14 sample card", func(t *testing.T) {
		card := ldstest.Sample()
		want, err := card.SecurityInfos()
		if err != nil {
			t.Fatal(err)
		}
		b, err := lds.EncodeDG14(want)
		if err != nil || b[0] != 0x6E {
			t.Fatalf("EncodeDG14 = %X, %v", b, err)
		}
		got, err := lds.ParseDG14(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 || len(got.PACE()) != 1 || len(got.ChipAuthentication()) != 1 ||
			len(got.ChipAuthenticationPublicKeys()) != 1 || got.ActiveAuthentication() == nil || got.TerminalAuthentication() == nil {
			t.Errorf("ParseDG14 = %+v", got)
		}
		_, x, _, err := got.ChipAuthenticationPublicKeys()[0].ECPublicKey()
		if err != nil || x.Cmp(card.CAKey.X) != 0 {
			t.Errorf("chip authentication key not kept: %v", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if _, err := lds.EncodeDG14(nil); !errors.Is(err, lds.ErrInvalid) {
			t.Errorf("EncodeDG14(nil) err = %v, want ErrInvalid", err)
		}
	})
	bad := []struct{ name, hex string }{
		{"sequence not set", "30143012060A04007F0007020204020202010202010D"},
		{"empty set", "3100"},
		{"no OID", "31053003020102"},
		{"PACE without version", "310E300C060A04007F00070202040202"},
		{"indefinite length", "3180"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := lds.ParseCardAccess(mustHex(t, tc.hex)); !errors.Is(err, lds.ErrMalformed) {
				t.Errorf("ParseCardAccess err = %v, want ErrMalformed", err)
			}
			dg14 := append([]byte{0x6E, byte(len(tc.hex) / 2)}, mustHex(t, tc.hex)...)
			if _, err := lds.ParseDG14(dg14); !errors.Is(err, lds.ErrMalformed) {
				t.Errorf("ParseDG14 err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestDG15(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, pub := range map[string]any{"P-256": &ec.PublicKey, "RSA-2048": &rk.PublicKey} {
		t.Run(name, func(t *testing.T) {
			b, err := lds.EncodeDG15(pub)
			if err != nil || b[0] != 0x6F {
				t.Fatalf("EncodeDG15 = %X, %v", b, err)
			}
			got, err := lds.ParseDG15(b)
			if err != nil {
				t.Fatal(err)
			}
			if eq, ok := got.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(pub) {
				t.Errorf("ParseDG15 returned a different key %T", got)
			}
		})
	}
	t.Run("ed25519 refused", func(t *testing.T) {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		if _, err := lds.EncodeDG15(pub); !errors.Is(err, lds.ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	})
	t.Run("garbage key", func(t *testing.T) {
		if _, err := lds.ParseDG15(mustHex(t, "6F0330010A")); !errors.Is(err, lds.ErrMalformed) {
			t.Errorf("err = %v, want ErrMalformed", err)
		}
	})
}
