package bac

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/sm"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// ICAO 9303-11 appendix D worked example.
const (
	dSeed     = "239AB9CB282DAF66231DC5A4DF6BFBAE"
	dKEnc     = "AB94FDECF2674FDFB9B391F85D7F76F2"
	dKMAC     = "7962D9ECE03D1ACD4C76089DCE131543"
	dRndIC    = "4608F91988702212"
	dRndIFD   = "781723860C06C226"
	dKIFD     = "0B795240CB7049B01C19B33E32804F0B"
	dKIC      = "0B4F80323EB3191CB04970CB4052790B"
	dExtAuth  = "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A7"
	dResponse = "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449"
	dSSC      = "887022120C06C226"
	dSelect   = "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800"
	dSelResp  = "990290008E08FA855A5D4C50A8ED9000"
)

func TestKeySeed(t *testing.T) {
	tests := []struct {
		name, doc, birth, expiry string
		info, seed               string
	}{
		{"appendix D", "L898902C<", "690806", "940623", "L898902C<369080619406236", dSeed},
		{"short number padded", "L898902C", "690806", "940623", "L898902C<369080619406236", dSeed},
		{"PACE appendix G", "T22000129", "640812", "101031", "T22000129364081251010318", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, err := MRZInformation(tc.doc, tc.birth, tc.expiry)
			if err != nil {
				t.Fatal(err)
			}
			if info != tc.info {
				t.Fatalf("MRZInformation = %q, want %q", info, tc.info)
			}
			seed, err := KeySeed(tc.doc, tc.birth, tc.expiry)
			if err != nil {
				t.Fatal(err)
			}
			if tc.seed != "" && !bytes.Equal(seed, unhex(t, tc.seed)) {
				t.Fatalf("KeySeed = %X, want %s", seed, tc.seed)
			}
		})
	}
	bad := []struct{ name, doc, birth, expiry string }{
		{"empty number", "", "690806", "940623"},
		{"lower case", "l898902c", "690806", "940623"},
		{"short birth", "L898902C", "69086", "940623"},
		{"letter in expiry", "L898902C", "690806", "94O623"},
	}
	for _, tc := range bad {
		t.Run("reject "+tc.name, func(t *testing.T) {
			if _, err := KeySeed(tc.doc, tc.birth, tc.expiry); err == nil {
				t.Fatal("KeySeed accepted bad input")
			}
		})
	}
}

func TestKeys(t *testing.T) {
	kEnc, kMAC := Keys(unhex(t, dSeed))
	if !bytes.Equal(kEnc, unhex(t, dKEnc)) {
		t.Errorf("KEnc = %X, want %s", kEnc, dKEnc)
	}
	if !bytes.Equal(kMAC, unhex(t, dKMAC)) {
		t.Errorf("KMAC = %X, want %s", kMAC, dKMAC)
	}
}

// script is a Transmitter that expects exact command bytes and plays back responses.
type script struct {
	t     *testing.T
	steps []struct{ cmd, resp string }
}

func (s *script) Transmit(_ context.Context, cmd apdu.Command) (apdu.Response, error) {
	s.t.Helper()
	if len(s.steps) == 0 {
		return apdu.Response{}, errors.New("script: no more steps")
	}
	st := s.steps[0]
	s.steps = s.steps[1:]
	b, err := cmd.Bytes()
	if err != nil {
		return apdu.Response{}, err
	}
	if want := unhex(s.t, st.cmd); !bytes.Equal(b, want) {
		s.t.Fatalf("command\n got %X\nwant %X", b, want)
	}
	return apdu.ParseResponse(unhex(s.t, st.resp))
}

// TestAppendixDTerminal replays appendix D against the terminal: the EXTERNAL AUTHENTICATE
// bytes must match, and the session must produce the appendix's protected SELECT.
func TestAppendixDTerminal(t *testing.T) {
	tr := &script{t: t, steps: []struct{ cmd, resp string }{
		{"0084000008", dRndIC + "9000"},
		{"0082000028" + dExtAuth + "28", dResponse + "9000"},
	}}
	rnd := bytes.NewReader(unhex(t, dRndIFD+dKIFD))
	s, err := Authenticate(context.Background(), tr, unhex(t, dSeed), rnd)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.SSC(); !bytes.Equal(got, unhex(t, dSSC)) {
		t.Fatalf("SSC = %X, want %s", got, dSSC)
	}
	tr.steps = append(tr.steps, struct{ cmd, resp string }{dSelect, dSelResp})
	r, err := sm.NewChannel(tr, s).Transmit(context.Background(), apdu.Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{0x01, 0x1E}})
	if err != nil {
		t.Fatal(err)
	}
	if r.SW != apdu.SWOK {
		t.Fatalf("SELECT SW %04X", r.SW)
	}
}

// TestAppendixDChip runs the chip side of appendix D with the spec's RND.IC and K.IC.
func TestAppendixDChip(t *testing.T) {
	c, err := NewChip(unhex(t, dSeed))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.GetChallenge(bytes.NewReader(unhex(t, dRndIC)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ch, unhex(t, dRndIC)) {
		t.Fatalf("challenge %X", ch)
	}
	resp, s, err := c.ExternalAuthenticate(unhex(t, dExtAuth), bytes.NewReader(unhex(t, dKIC)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp, unhex(t, dResponse)) {
		t.Fatalf("response\n got %X\nwant %s", resp, dResponse)
	}
	if !bytes.Equal(s.SSC(), unhex(t, dSSC)) {
		t.Fatalf("SSC = %X, want %s", s.SSC(), dSSC)
	}
	cmd, err := apdu.ParseCommand(unhex(t, dSelect))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UnprotectCommand(cmd); err != nil {
		t.Fatal(err)
	}
	pr, err := s.ProtectResponse(apdu.Response{SW: apdu.SWOK})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pr.Bytes(), unhex(t, dSelResp)) {
		t.Fatalf("protected response %X, want %s", pr.Bytes(), dSelResp)
	}
}

// card is a tiny in-test chip: BAC commands go to a Chip, later commands through its SM
// session, and it answers 6300 to a failed EXTERNAL AUTHENTICATE like the virtual chip.
type card struct {
	chip *Chip
	s    *sm.Session
	file []byte
}

func (c *card) Transmit(_ context.Context, cmd apdu.Command) (apdu.Response, error) {
	if c.s != nil {
		plain, err := c.s.UnprotectCommand(cmd)
		if err != nil {
			c.s = nil
			return apdu.Response{SW: apdu.SWSMDataIncorrect}, nil
		}
		r := apdu.Response{SW: apdu.SWINSNotSupported}
		if plain.INS == 0xB0 {
			r = apdu.Response{Data: c.file[:min(plain.Ne, len(c.file))], SW: apdu.SWOK}
		}
		return c.s.ProtectResponse(r)
	}
	switch cmd.INS {
	case 0x84:
		ch, err := c.chip.GetChallenge(rand.Reader)
		if err != nil {
			return apdu.Response{}, err
		}
		return apdu.Response{Data: ch, SW: apdu.SWOK}, nil
	case 0x82:
		resp, s, err := c.chip.ExternalAuthenticate(cmd.Data, rand.Reader)
		switch {
		case errors.Is(err, ErrAuthentication):
			return apdu.Response{SW: 0x6300}, nil
		case errors.Is(err, ErrNoChallenge):
			return apdu.Response{SW: apdu.SWConditionsNotSatisfied}, nil
		case err != nil:
			return apdu.Response{}, err
		}
		c.s = s
		return apdu.Response{Data: resp, SW: apdu.SWOK}, nil
	}
	return apdu.Response{SW: apdu.SWSecurityNotSatisfied}, nil
}

func TestTerminalVsChip(t *testing.T) {
	seed, err := KeySeed("123456789", "900101", "300101")
	if err != nil {
		t.Fatal(err)
	}
	otherSeed, err := KeySeed("123456780", "900101", "300101")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		termSeed []byte
		wantErr  error
	}{
		{"matching MRZ", seed, nil},
		{"wrong MRZ", otherSeed, ErrRejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chip, err := NewChip(seed)
			if err != nil {
				t.Fatal(err)
			}
			c := &card{chip: chip, file: []byte("EF.COM contents")}
			s, err := Authenticate(context.Background(), c, tc.termSeed, rand.Reader)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Authenticate = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, apdu.StatusError{SW: 0x6300}) {
					t.Fatalf("error %v does not carry SW 6300", err)
				}
				return
			}
			data, err := apdu.Run(context.Background(), sm.NewChannel(c, s), apdu.Command{INS: 0xB0, Ne: 6})
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != "EF.COM" {
				t.Fatalf("read %q over SM, want %q", data, "EF.COM")
			}
		})
	}
}

func TestChipRejects(t *testing.T) {
	seed := unhex(t, dSeed)
	t.Run("no challenge", func(t *testing.T) {
		c, err := NewChip(seed)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ExternalAuthenticate(unhex(t, dExtAuth), rand.Reader); !errors.Is(err, ErrNoChallenge) {
			t.Fatalf("ExternalAuthenticate = %v, want ErrNoChallenge", err)
		}
	})
	t.Run("replay after success", func(t *testing.T) {
		c, err := NewChip(seed)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetChallenge(bytes.NewReader(unhex(t, dRndIC))); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ExternalAuthenticate(unhex(t, dExtAuth), rand.Reader); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetChallenge(rand.Reader); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ExternalAuthenticate(unhex(t, dExtAuth), rand.Reader); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("replayed cryptogram = %v, want ErrAuthentication", err)
		}
	})
	for i, n := range []int{0, 39, 41} {
		t.Run(fmt.Sprintf("length %d", n), func(t *testing.T) {
			c, err := NewChip(seed)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.GetChallenge(rand.Reader); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.ExternalAuthenticate(make([]byte, n), rand.Reader); !errors.Is(err, ErrAuthentication) {
				t.Fatalf("case %d: ExternalAuthenticate = %v, want ErrAuthentication", i, err)
			}
		})
	}
	t.Run("bad seed", func(t *testing.T) {
		if _, err := NewChip(make([]byte, 15)); err == nil {
			t.Fatal("NewChip accepted a 15-byte seed")
		}
	})
}

func TestTerminalRejectsBadChip(t *testing.T) {
	bad := unhex(t, dResponse)
	bad[0] ^= 1
	tr := &script{t: t, steps: []struct{ cmd, resp string }{
		{"0084000008", dRndIC + "9000"},
		{"0082000028" + dExtAuth + "28", hex.EncodeToString(bad) + "9000"},
	}}
	_, err := Authenticate(context.Background(), tr, unhex(t, dSeed), bytes.NewReader(unhex(t, dRndIFD+dKIFD)))
	if !errors.Is(err, ErrChipCryptogram) {
		t.Fatalf("Authenticate = %v, want ErrChipCryptogram", err)
	}
}

// FuzzExternalAuthenticate feeds arbitrary EXTERNAL AUTHENTICATE data to the chip.
func FuzzExternalAuthenticate(f *testing.F) {
	f.Add(unhex(f, dExtAuth))
	f.Add(make([]byte, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := NewChip(unhex(t, dSeed))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetChallenge(bytes.NewReader(unhex(t, dRndIC))); err != nil {
			t.Fatal(err)
		}
		resp, s, err := c.ExternalAuthenticate(data, bytes.NewReader(unhex(t, dKIC)))
		if err == nil && (len(resp) != 40 || s == nil) {
			t.Fatalf("accepted with response of %d bytes, session %v", len(resp), s)
		}
	})
}

// BenchmarkAuthenticate measures a full BAC run, terminal and chip in process.
func BenchmarkAuthenticate(b *testing.B) {
	seed, err := KeySeed("123456789", "900101", "300101")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		chip, err := NewChip(seed)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Authenticate(context.Background(), &card{chip: chip}, seed, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}
