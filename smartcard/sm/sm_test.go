package sm

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"testing"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/icaotest"
)

func TestKDF(t *testing.T) {
	xor := func(a, b []byte) []byte {
		out := make([]byte, len(a))
		for i := range a {
			out[i] = a[i] ^ b[i]
		}
		return out
	}
	kseedSession := xor(icaotest.Unhex(t, icaotest.KIFD), icaotest.Unhex(t, icaotest.KIC))
	// PACE appendix G.1: K_pi from SHA-1 of the MRZ information, session keys from the
	// shared secret (x coordinate).
	mrz := sha1.Sum([]byte("T22000129364081251010318"))
	shared := icaotest.Unhex(t, "28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925")
	tests := []struct {
		name    string
		secret  []byte
		c       Cipher
		bits    int
		counter uint32
		want    string
	}{
		{"bac KEnc", icaotest.Unhex(t, icaotest.Seed), TDES, 112, KDFEnc, icaotest.KEnc},
		{"bac KMAC", icaotest.Unhex(t, icaotest.Seed), TDES, 112, KDFMAC, icaotest.KMAC},
		{"bac KSEnc", kseedSession, TDES, 112, KDFEnc, icaotest.KSEnc},
		{"bac KSMAC", kseedSession, TDES, 128, KDFMAC, icaotest.KSMAC},
		{"pace K_pi", mrz[:], AES, 128, KDFPi, "89DED1B26624EC1E634C1989302849DD"},
		{"pace KSEnc", shared, AES, 128, KDFEnc, "F5F0E35C0D7161EE6724EE513A0D9A7F"},
		{"pace KSMAC", shared, AES, 128, KDFMAC, "FE251C7858B356B24514B3BD5F4297D1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := KDF(tc.secret, tc.c, tc.bits, tc.counter)
			if want := icaotest.Unhex(t, tc.want); !bytes.Equal(got, want) {
				t.Fatalf("KDF = %X, want %X", got, want)
			}
		})
	}
	t.Run("aes256 length", func(t *testing.T) {
		if got := KDF(shared, AES, 256, KDFEnc); len(got) != 32 {
			t.Fatalf("AES-256 key of %d bytes", len(got))
		}
		if got := KDF(shared, AES, 192, KDFEnc); len(got) != 24 {
			t.Fatalf("AES-192 key of %d bytes", len(got))
		}
	})
	t.Run("undefined", func(t *testing.T) {
		if got := KDF(shared, AES, 100, KDFEnc); got != nil {
			t.Fatalf("KDF(AES, 100 bits) = %X, want nil", got)
		}
	})
}

func mustCmd(t testing.TB, s string) apdu.Command {
	t.Helper()
	c, err := apdu.ParseCommand(icaotest.Unhex(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustResp(t testing.TB, s string) apdu.Response {
	t.Helper()
	r, err := apdu.ParseResponse(icaotest.Unhex(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func bacSession(t testing.TB) *Session {
	t.Helper()
	s, err := NewSession(TDES, icaotest.Unhex(t, icaotest.KSEnc), icaotest.Unhex(t, icaotest.KSMAC), icaotest.Unhex(t, icaotest.SSC))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// appendixD holds the secure messaging exchanges of ICAO 9303-11 appendix D.4, in order.
var appendixD = []struct {
	name                string
	plainCmd, protCmd   string
	plainResp, protResp string
}{
	{"select EF.COM", "00A4020C02011E", "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800",
		"9000", "990290008E08FA855A5D4C50A8ED9000"},
	{"read binary 4", "00B0000004", "0CB000000D9701048E08ED6705417E96BA5500",
		"60145F019000", "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"},
}

// TestAppendixDTerminal builds the protected APDUs of appendix D byte-exactly and opens the
// chip's responses.
func TestAppendixDTerminal(t *testing.T) {
	s := bacSession(t)
	for _, st := range appendixD {
		t.Run(st.name, func(t *testing.T) {
			pc, err := s.ProtectCommand(mustCmd(t, st.plainCmd))
			if err != nil {
				t.Fatal(err)
			}
			b, err := pc.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if want := icaotest.Unhex(t, st.protCmd); !bytes.Equal(b, want) {
				t.Fatalf("protected command\n got %X\nwant %X", b, want)
			}
			r, err := s.UnprotectResponse(mustResp(t, st.protResp))
			if err != nil {
				t.Fatal(err)
			}
			if want := icaotest.Unhex(t, st.plainResp); !bytes.Equal(r.Bytes(), want) {
				t.Fatalf("plain response %X, want %X", r.Bytes(), want)
			}
		})
	}
}

// TestAppendixDChip opens the protected commands of appendix D and produces the
// byte-exact protected responses.
func TestAppendixDChip(t *testing.T) {
	s := bacSession(t)
	for _, st := range appendixD {
		t.Run(st.name, func(t *testing.T) {
			c, err := s.UnprotectCommand(mustCmd(t, st.protCmd))
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if want := icaotest.Unhex(t, st.plainCmd); !bytes.Equal(b, want) {
				t.Fatalf("plain command %X, want %X", b, want)
			}
			r, err := s.ProtectResponse(mustResp(t, st.plainResp))
			if err != nil {
				t.Fatal(err)
			}
			if want := icaotest.Unhex(t, st.protResp); !bytes.Equal(r.Bytes(), want) {
				t.Fatalf("protected response\n got %X\nwant %X", r.Bytes(), want)
			}
		})
	}
}

func TestRetailMAC(t *testing.T) {
	// ICAO 9303-11 appendix D.3: MAC over E.IFD with KMAC.
	eifd := icaotest.Unhex(t, "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2")
	got, err := RetailMAC(icaotest.Unhex(t, icaotest.KMAC), eifd)
	if err != nil {
		t.Fatal(err)
	}
	if want := icaotest.Unhex(t, "5F1448EEA8AD90A7"); !bytes.Equal(got, want) {
		t.Fatalf("RetailMAC = %X, want %X", got, want)
	}
}

func TestPad(t *testing.T) {
	tests := []struct {
		name, in, want string
		bs             int
	}{
		{"empty 8", "", "8000000000000000", 8},
		{"header 8", "0CA4020C", "0CA4020C80000000", 8},
		{"full block gets a block", "0102030405060708", "01020304050607088000000000000000", 8},
		{"header 16", "0CB00000", "0CB00000800000000000000000000000", 16},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Pad(icaotest.Unhex(t, tc.in), tc.bs)
			if want := icaotest.Unhex(t, tc.want); !bytes.Equal(p, want) {
				t.Fatalf("Pad = %X, want %X", p, want)
			}
			u, err := Unpad(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(u, icaotest.Unhex(t, tc.in)) {
				t.Fatalf("Unpad = %X, want %s", u, tc.in)
			}
		})
	}
	t.Run("no marker", func(t *testing.T) {
		if _, err := Unpad([]byte{1, 0, 0}); !errors.Is(err, ErrPadding) {
			t.Fatalf("Unpad = %v, want ErrPadding", err)
		}
	})
}

// pairFor returns a terminal and a chip session with equal keys and SSC.
func pairFor(t testing.TB, c Cipher, keyBits int) (term, chip *Session) {
	t.Helper()
	secret := []byte("shared secret of a test run")
	enc := KDF(secret, c, keyBits, KDFEnc)
	mac := KDF(secret, c, keyBits, KDFMAC)
	ssc := make([]byte, c.BlockSize())
	ssc[len(ssc)-1] = 0xFE // crosses a byte boundary while counting
	var err error
	if term, err = NewSession(c, enc, mac, ssc); err != nil {
		t.Fatal(err)
	}
	if chip, err = NewSession(c, enc, mac, ssc); err != nil {
		t.Fatal(err)
	}
	return term, chip
}

// chipLoop is a minimal in-test chip: it unprotects each command, answers it with answer
// and protects the response, like the virtual chip does.
type chipLoop struct {
	s      *Session
	answer func(apdu.Command) apdu.Response
	seen   []apdu.Command
	wire   []apdu.Command
}

func (c *chipLoop) Transmit(_ context.Context, cmd apdu.Command) (apdu.Response, error) {
	// Send it through the wire encoding to catch short/extended mistakes.
	b, err := cmd.Bytes()
	if err != nil {
		return apdu.Response{}, err
	}
	if cmd, err = apdu.ParseCommand(b); err != nil {
		return apdu.Response{}, err
	}
	c.wire = append(c.wire, cmd)
	plain, err := c.s.UnprotectCommand(cmd)
	if err != nil {
		return apdu.Response{SW: apdu.SWSMDataIncorrect}, nil
	}
	c.seen = append(c.seen, plain)
	return c.s.ProtectResponse(c.answer(plain))
}

func TestRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{0xA5, 0x5A, 0x01}, 20000) // 60000 bytes
	tests := []struct {
		name string
		cmd  apdu.Command
		resp apdu.Response
		ext  bool // protected command must be extended
	}{
		{"case 1", apdu.Command{INS: 0x84}, apdu.Response{SW: apdu.SWOK}, false},
		{"select", apdu.Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{1, 0x1E}}, apdu.Response{SW: apdu.SWOK}, false},
		{"read 0xDF", apdu.Command{INS: 0xB0, Ne: 0xDF}, apdu.Response{Data: big[:0xDF], SW: apdu.SWOK}, false},
		{"read 256", apdu.Command{INS: 0xB0, Ne: 256}, apdu.Response{Data: big[:256], SW: apdu.SWOK}, false},
		{"odd ins", apdu.Command{INS: 0xB1, Data: []byte{0x54, 0x02, 0x01, 0x00}, Ne: 0x20}, apdu.Response{Data: big[:0x24], SW: apdu.SWOK}, false},
		{"extended read 65536", apdu.Command{INS: 0xB0, Ne: apdu.MaxExtendedLe, Extended: true}, apdu.Response{Data: big[:60000], SW: apdu.SWOK}, true},
		{"extended read 1000", apdu.Command{INS: 0xB0, P1: 0x01, Ne: 1000}, apdu.Response{Data: big[:1000], SW: apdu.SWOK}, true},
		{"long data", apdu.Command{INS: 0xD6, Data: big[:4000]}, apdu.Response{SW: apdu.SWOK}, true},
		{"file not found", apdu.Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{1, 0x0F}}, apdu.Response{SW: apdu.SWFileNotFound}, false},
		{"end of file with data", apdu.Command{INS: 0xB0, Ne: 16}, apdu.Response{Data: big[:5], SW: apdu.SWEndOfFile}, false},
		{"security not satisfied", apdu.Command{INS: 0xB0, P1: 0x83, Ne: 16}, apdu.Response{SW: apdu.SWSecurityNotSatisfied}, false},
	}
	ciphers := []struct {
		name string
		c    Cipher
		bits int
	}{{"3des", TDES, 112}, {"aes128", AES, 128}, {"aes192", AES, 192}, {"aes256", AES, 256}}
	for _, ci := range ciphers {
		t.Run(ci.name, func(t *testing.T) {
			term, chipS := pairFor(t, ci.c, ci.bits)
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					chip := &chipLoop{s: chipS, answer: func(apdu.Command) apdu.Response { return tc.resp }}
					ch := NewChannel(chip, term)
					got, err := ch.Transmit(context.Background(), tc.cmd)
					if err != nil {
						t.Fatal(err)
					}
					if len(chip.seen) != 1 {
						t.Fatalf("chip rejected the protected command")
					}
					wantCmd, _ := tc.cmd.Bytes()
					gotCmd, _ := chip.seen[0].Bytes()
					if !bytes.Equal(gotCmd, wantCmd) {
						t.Fatalf("chip saw %X, want %X", gotCmd, wantCmd)
					}
					if w := chip.wire[0]; w.CLA != 0x0C || w.IsExtended() != tc.ext {
						t.Fatalf("wire CLA %02X extended %v, want 0C extended %v", w.CLA, w.IsExtended(), tc.ext)
					}
					if got.SW != tc.resp.SW || !bytes.Equal(got.Data, tc.resp.Data) {
						t.Fatalf("response SW %04X %d bytes, want SW %04X %d bytes", got.SW, len(got.Data), tc.resp.SW, len(tc.resp.Data))
					}
					if !bytes.Equal(term.SSC(), chipS.SSC()) {
						t.Fatalf("SSC diverged: terminal %X chip %X", term.SSC(), chipS.SSC())
					}
				})
			}
		})
	}
}

func TestTamper(t *testing.T) {
	flip := func(b []byte, i int) []byte {
		b = append([]byte(nil), b...)
		b[i] ^= 0x01
		return b
	}
	t.Run("response MAC", func(t *testing.T) {
		s := bacSession(t)
		if _, err := s.ProtectCommand(mustCmd(t, "00A4020C02011E")); err != nil {
			t.Fatal(err)
		}
		r := mustResp(t, "990290008E08FA855A5D4C50A8ED9000")
		r.Data = flip(r.Data, len(r.Data)-1)
		if _, err := s.UnprotectResponse(r); !errors.Is(err, ErrMAC) {
			t.Fatalf("UnprotectResponse = %v, want ErrMAC", err)
		}
	})
	t.Run("response status", func(t *testing.T) {
		s := bacSession(t)
		if _, err := s.ProtectCommand(mustCmd(t, "00A4020C02011E")); err != nil {
			t.Fatal(err)
		}
		r := mustResp(t, "990290008E08FA855A5D4C50A8ED9000")
		r.Data = flip(r.Data, 2) // 9000 -> 9100 inside DO'99'
		if _, err := s.UnprotectResponse(r); !errors.Is(err, ErrMAC) {
			t.Fatalf("UnprotectResponse = %v, want ErrMAC", err)
		}
	})
	t.Run("response replayed", func(t *testing.T) {
		s := bacSession(t)
		if _, err := s.ProtectCommand(mustCmd(t, "00A4020C02011E")); err != nil {
			t.Fatal(err)
		}
		r := mustResp(t, "990290008E08FA855A5D4C50A8ED9000")
		if _, err := s.UnprotectResponse(r); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UnprotectResponse(r); !errors.Is(err, ErrMAC) {
			t.Fatalf("replayed response = %v, want ErrMAC", err)
		}
	})
	t.Run("command data", func(t *testing.T) {
		s := bacSession(t)
		c := mustCmd(t, "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")
		c.Data = flip(c.Data, 4)
		if _, err := s.UnprotectCommand(c); !errors.Is(err, ErrMAC) {
			t.Fatalf("UnprotectCommand = %v, want ErrMAC", err)
		}
	})
	t.Run("command header", func(t *testing.T) {
		s := bacSession(t)
		c := mustCmd(t, "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")
		c.P1 = 0x04
		if _, err := s.UnprotectCommand(c); !errors.Is(err, ErrMAC) {
			t.Fatalf("UnprotectCommand = %v, want ErrMAC", err)
		}
	})
	t.Run("aes response MAC", func(t *testing.T) {
		term, chip := pairFor(t, AES, 128)
		pc, err := term.ProtectCommand(apdu.Command{INS: 0xB0, Ne: 4})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := chip.UnprotectCommand(pc); err != nil {
			t.Fatal(err)
		}
		r, err := chip.ProtectResponse(apdu.Response{Data: []byte{1, 2, 3, 4}, SW: apdu.SWOK})
		if err != nil {
			t.Fatal(err)
		}
		r.Data = flip(r.Data, 5)
		if _, err := term.UnprotectResponse(r); !errors.Is(err, ErrMAC) {
			t.Fatalf("UnprotectResponse = %v, want ErrMAC", err)
		}
	})
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name string
		resp string
		want error
	}{
		{"9000 without objects", "9000", ErrMissingDO},
		{"no MAC", "990290009000", ErrMissingDO},
		{"truncated", "99029000", ErrBadDO},
		{"junk after MAC", "8E08FA855A5D4C50A8ED00009000", ErrBadDO},
		{"unknown tag", "5301008E08FA855A5D4C50A8ED9000", ErrBadDO},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := bacSession(t)
			if _, err := s.UnprotectResponse(mustResp(t, tc.resp)); !errors.Is(err, tc.want) {
				t.Fatalf("UnprotectResponse = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("plain error status passes", func(t *testing.T) {
		s := bacSession(t)
		r, err := s.UnprotectResponse(apdu.Response{SW: apdu.SWSMDataIncorrect})
		if err != nil || r.SW != apdu.SWSMDataIncorrect {
			t.Fatalf("UnprotectResponse = %v, %v; want SW 6988", r, err)
		}
	})
	t.Run("plain command", func(t *testing.T) {
		s := bacSession(t)
		if _, err := s.UnprotectCommand(mustCmd(t, "00A4020C02011E")); !errors.Is(err, ErrNotProtected) {
			t.Fatalf("UnprotectCommand = %v, want ErrNotProtected", err)
		}
	})
	t.Run("protected twice", func(t *testing.T) {
		s := bacSession(t)
		if _, err := s.ProtectCommand(apdu.Command{CLA: 0x0C, INS: 0xB0}); !errors.Is(err, ErrProtected) {
			t.Fatalf("ProtectCommand = %v, want ErrProtected", err)
		}
	})
	t.Run("bad session parameters", func(t *testing.T) {
		if _, err := NewSession(AES, make([]byte, 16), make([]byte, 16), make([]byte, 8)); err == nil {
			t.Fatal("NewSession accepted an 8-byte SSC for AES")
		}
		if _, err := NewSession(TDES, make([]byte, 10), make([]byte, 16), make([]byte, 8)); err == nil {
			t.Fatal("NewSession accepted a 10-byte 3DES key")
		}
		if _, err := NewSession(Cipher(9), make([]byte, 16), make([]byte, 16), make([]byte, 8)); err == nil {
			t.Fatal("NewSession accepted an unknown cipher")
		}
	})
}

// BenchmarkReadBinary measures one protected READ BINARY exchange (terminal protect, chip
// unprotect, chip protect, terminal unprotect) per cipher and response size.
func BenchmarkReadBinary(b *testing.B) {
	for _, ci := range []struct {
		name string
		c    Cipher
		bits int
	}{{"3DES", TDES, 112}, {"AES-128", AES, 128}, {"AES-256", AES, 256}} {
		for _, n := range []int{0xDF, 0xFF00} {
			b.Run(fmt.Sprintf("%s/%d", ci.name, n), func(b *testing.B) {
				term, chip := pairFor(b, ci.c, ci.bits)
				data := make([]byte, n)
				b.SetBytes(int64(n))
				for b.Loop() {
					pc, err := term.ProtectCommand(apdu.Command{INS: 0xB0, Ne: n})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := chip.UnprotectCommand(pc); err != nil {
						b.Fatal(err)
					}
					r, err := chip.ProtectResponse(apdu.Response{Data: data, SW: apdu.SWOK})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := term.UnprotectResponse(r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
