package vchip

import (
	"crypto/sha1"
	"testing"
	"time"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/icaotest"
)

// fuzzChip returns a small chip, locked or not, with files and access keys.
func fuzzChip(t testing.TB, locked bool) *Chip {
	c := New("FUZZ", Options{Capacity: 4096})
	c.SetSleep(func(time.Duration) {})
	key := sha1.Sum([]byte(testMRZInfo))
	for _, raw := range [][]byte{
		createCmdBytes(t, FIDCardAccess, 22),
		append([]byte{0x00, 0xD6, 0x00, 0x00, 0x16}, icaotest.Unhex(t, cardAccess)...),
		createCmdBytes(t, FIDCOM, 12),
		append([]byte{0x00, 0xD6, 0x00, 0x00, 0x0C}, icaotest.Unhex(t, "600A5F0104303130375C0161")...),
		createCmdBytes(t, FIDDG1, 100),
		createCmdBytes(t, FIDDG1+2, 10),
		append([]byte{0x80, 0xDA, 0x00, TagMRZKey, 20}, key[:]...),
		{0x80, 0xDA, 0x00, TagCAN, 6, '1', '2', '3', '4', '5', '6'},
	} {
		if out := c.Process(raw); len(out) != 2 || out[0] != 0x90 {
			t.Fatalf("setup %X: %X", raw, out)
		}
	}
	if locked {
		if out := c.Process([]byte{0x00, 0x44, 0x00, 0x00}); len(out) != 2 || out[0] != 0x90 {
			t.Fatalf("lock: %X", out)
		}
	}
	c.Reset()
	return c
}

func createCmdBytes(t testing.TB, fid uint16, size int) []byte {
	b, err := createCmd(fid, size).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzProcess sends a sequence of APDUs (each prefixed by its length byte) to a blank
// and to a locked chip: the chip must never panic or hang, and every answer must be a
// status word, possibly with data.
func FuzzProcess(f *testing.F) {
	seeds := []string{
		"00A4040C07A0000002471001", // SELECT AID
		"00A4000C023F00",           // SELECT MF
		"00B09C0004",               // READ BINARY SFI 1C
		"00B0820000000004",         // extended Le
		"00B1000004540280000008",   // odd READ BINARY
		"0084000008",               // GET CHALLENGE
		"0082000028" + "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF0011223344556677" + "28",
		"0022C1A40F800A04007F00070202040202830102", // MSE:Set AT PACE CAN
		"10860000027C0000", // GA step 1
		"0022C1A40F800A04007F00070202040202830101",
		"0CB0840004970104" + "8E080102030405060708" + "00",
		"00E000000A620880020010830201FF", // CREATE FILE
		"00D7000006540280005301AA",       // odd UPDATE BINARY
		"0047800003840101",               // GENERATE AA
		"0047800003840102",               // GENERATE CA
		"0022 41A6 0591 03 040102",
		"0088000008 0102030405060708 00",
		"80CA00C000",
		"0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800", // ICAO 9303-11 appendix D.4
		"0CB000000D9701048E08ED6705417E96BA5500",                 // ICAO 9303-11 appendix D.4
		"0044000000",
	}
	for _, s := range seeds {
		b := icaotest.Unhex(f, stripSpaces(s))
		f.Add(append([]byte{byte(len(b))}, b...))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, locked := range []bool{false, true} {
			c := fuzzChip(t, locked)
			rest := data
			for i := 0; i < 32 && len(rest) > 0; i++ {
				n := int(rest[0])
				rest = rest[1:]
				n = min(n, len(rest))
				out := c.Process(rest[:n])
				rest = rest[n:]
				if out == nil {
					continue
				}
				if _, err := apdu.ParseResponse(out); err != nil {
					t.Fatalf("answer %X: %v", out, err)
				}
			}
		}
	})
}

func stripSpaces(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			out = append(out, s[i])
		}
	}
	return string(out)
}
