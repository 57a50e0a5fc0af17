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
	"github.com/cccd-project/cccd/smartcard/icaotest"
	"github.com/cccd-project/cccd/smartcard/sm"
)

func TestKeySeed(t *testing.T) {
	tests := []struct {
		name, doc, birth, expiry string
		info, seed               string
	}{
		{"appendix D", "L898902C<", "690806", "940623", "L898902C<369080619406236", icaotest.Seed},
		{"short number padded", "L898902C", "690806", "940623", "L898902C<369080619406236", icaotest.Seed},
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
			if tc.seed != "" && !bytes.Equal(seed, icaotest.Unhex(t, tc.seed)) {
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
	kEnc, kMAC := Keys(icaotest.Unhex(t, icaotest.Seed))
	if !bytes.Equal(kEnc, icaotest.Unhex(t, icaotest.KEnc)) {
		t.Errorf("KEnc = %X, want %s", kEnc, icaotest.KEnc)
	}
	if !bytes.Equal(kMAC, icaotest.Unhex(t, icaotest.KMAC)) {
		t.Errorf("KMAC = %X, want %s", kMAC, icaotest.KMAC)
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
	if want := icaotest.Unhex(s.t, st.cmd); !bytes.Equal(b, want) {
		s.t.Fatalf("command\n got %X\nwant %X", b, want)
	}
	return apdu.ParseResponse(icaotest.Unhex(s.t, st.resp))
}

// TestAppendixDTerminal replays appendix D against the terminal: the EXTERNAL AUTHENTICATE
// bytes must match, and the session must produce the appendix's protected SELECT.
func TestAppendixDTerminal(t *testing.T) {
	tr := &script{t: t, steps: []struct{ cmd, resp string }{
		{"0084000008", icaotest.RndIC + "9000"},
		{"0082000028" + icaotest.ExtAuth + "28", icaotest.Response + "9000"},
	}}
	rnd := bytes.NewReader(icaotest.Unhex(t, icaotest.RndIFD+icaotest.KIFD))
	s, err := Authenticate(context.Background(), tr, icaotest.Unhex(t, icaotest.Seed), rnd)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.SSC(); !bytes.Equal(got, icaotest.Unhex(t, icaotest.SSC)) {
		t.Fatalf("SSC = %X, want %s", got, icaotest.SSC)
	}
	tr.steps = append(tr.steps, struct{ cmd, resp string }{icaotest.Select, icaotest.SelResp})
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
	c, err := NewChip(icaotest.Unhex(t, icaotest.Seed))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.GetChallenge(bytes.NewReader(icaotest.Unhex(t, icaotest.RndIC)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ch, icaotest.Unhex(t, icaotest.RndIC)) {
		t.Fatalf("challenge %X", ch)
	}
	resp, s, err := c.ExternalAuthenticate(icaotest.Unhex(t, icaotest.ExtAuth), bytes.NewReader(icaotest.Unhex(t, icaotest.KIC)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp, icaotest.Unhex(t, icaotest.Response)) {
		t.Fatalf("response\n got %X\nwant %s", resp, icaotest.Response)
	}
	if !bytes.Equal(s.SSC(), icaotest.Unhex(t, icaotest.SSC)) {
		t.Fatalf("SSC = %X, want %s", s.SSC(), icaotest.SSC)
	}
	cmd, err := apdu.ParseCommand(icaotest.Unhex(t, icaotest.Select))
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
	if !bytes.Equal(pr.Bytes(), icaotest.Unhex(t, icaotest.SelResp)) {
		t.Fatalf("protected response %X, want %s", pr.Bytes(), icaotest.SelResp)
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
	seed := icaotest.Unhex(t, icaotest.Seed)
	t.Run("no challenge", func(t *testing.T) {
		c, err := NewChip(seed)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ExternalAuthenticate(icaotest.Unhex(t, icaotest.ExtAuth), rand.Reader); !errors.Is(err, ErrNoChallenge) {
			t.Fatalf("ExternalAuthenticate = %v, want ErrNoChallenge", err)
		}
	})
	t.Run("replay after success", func(t *testing.T) {
		c, err := NewChip(seed)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetChallenge(bytes.NewReader(icaotest.Unhex(t, icaotest.RndIC))); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ExternalAuthenticate(icaotest.Unhex(t, icaotest.ExtAuth), rand.Reader); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetChallenge(rand.Reader); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ExternalAuthenticate(icaotest.Unhex(t, icaotest.ExtAuth), rand.Reader); !errors.Is(err, ErrAuthentication) {
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
	bad := icaotest.Unhex(t, icaotest.Response)
	bad[0] ^= 1
	tr := &script{t: t, steps: []struct{ cmd, resp string }{
		{"0084000008", icaotest.RndIC + "9000"},
		{"0082000028" + icaotest.ExtAuth + "28", hex.EncodeToString(bad) + "9000"},
	}}
	_, err := Authenticate(context.Background(), tr, icaotest.Unhex(t, icaotest.Seed), bytes.NewReader(icaotest.Unhex(t, icaotest.RndIFD+icaotest.KIFD)))
	if !errors.Is(err, ErrChipCryptogram) {
		t.Fatalf("Authenticate = %v, want ErrChipCryptogram", err)
	}
}

// FuzzExternalAuthenticate feeds arbitrary EXTERNAL AUTHENTICATE data to the chip.
func FuzzExternalAuthenticate(f *testing.F) {
	f.Add(icaotest.Unhex(f, icaotest.ExtAuth))
	f.Add(make([]byte, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := NewChip(icaotest.Unhex(t, icaotest.Seed))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetChallenge(bytes.NewReader(icaotest.Unhex(t, icaotest.RndIC))); err != nil {
			t.Fatal(err)
		}
		resp, s, err := c.ExternalAuthenticate(data, bytes.NewReader(icaotest.Unhex(t, icaotest.KIC)))
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
