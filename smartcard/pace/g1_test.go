package pace

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/osanderson/brainpool"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/sm"
)

// ICAO Doc 9303 part 11, appendix G.1: PACE, ECDH generic mapping, AES-128, brainpoolP256r1,
// MRZ password T22000129 / 640812 / 101031. The private keys and intermediate values are
// the ones printed in the appendix (also reproduced by the public eMRTD test suites, e.g.
// gmrtd's pace_test.go).
var g1 = struct {
	mrzInfo, k, kpi, z, s                string
	skMapIFD, pkMapIFD, skMapIC, pkMapIC string
	hx, hy, gx, gy                       string
	skDHIFD, pkDHIFD, skDHIC, pkDHIC     string
	secret, ksEnc, ksMAC, tIFD, tIC      string
	tokenInputIFD, tokenInputIC          string
}{
	mrzInfo:  "T22000129364081251010318",
	k:        "7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD",
	kpi:      "89DED1B26624EC1E634C1989302849DD",
	z:        "95A3A016522EE98D01E76CB6B98B42C3",
	s:        "3F00C4D39D153F2B2A214A078D899B22",
	skMapIFD: "7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99",
	pkMapIFD: "04" + "7ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E" +
		"544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D",
	skMapIC: "498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560",
	pkMapIC: "04" + "824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57" +
		"30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54",
	hx:      "60332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5",
	hy:      "0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181",
	gx:      "8CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2",
	gy:      "8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522",
	skDHIFD: "A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595",
	pkDHIFD: "04" + "2DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C" +
		"3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462",
	skDHIC: "107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A",
	pkDHIC: "04" + "9E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB" +
		"7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094",
	secret: "28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925",
	ksEnc:  "F5F0E35C0D7161EE6724EE513A0D9A7F",
	ksMAC:  "FE251C7858B356B24514B3BD5F4297D1",
	tIFD:   "C2B0BD78D94BA866",
	tIC:    "3ABB9674BCE93C08",
	// Input of T_IFD: the public key data object of PK_DH,IC (and of T_IC: of PK_DH,IFD).
	tokenInputIFD: "7F494F060A04007F00070202040202864104" +
		"9E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB" +
		"7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094",
	tokenInputIC: "7F494F060A04007F00070202040202864104" +
		"2DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C" +
		"3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462",
}

// g1Transcript is the APDU exchange of appendix G.1. The MSE:Set AT carries tag 84 (ID 13),
// which Authenticate always sends; G.1 prints it without (0022C1A40F800A04007F00070202040202830101).
var g1Transcript = []struct{ cmd, resp string }{
	{"0022C1A412800A04007F0007020204020283010184010D", "9000"},
	{"10860000027C0000", "7C1280" + "10" + g1.z + "9000"},
	{"1086000045" + "7C438141" + g1.pkMapIFD + "00", "7C438241" + g1.pkMapIC + "9000"},
	{"1086000045" + "7C438341" + g1.pkDHIFD + "00", "7C438441" + g1.pkDHIC + "9000"},
	{"008600000C" + "7C0A8508" + g1.tIFD + "00", "7C0A8608" + g1.tIC + "9000"},
}

var g1Info = securityinfo.PACEInfo{Protocol: securityinfo.OIDPACEECDHGMAES128, Version: 2, ParameterID: securityinfo.ParamBrainpoolP256r1, HasParameterID: true}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(fmt.Sprintf("bad test hex %q: %v", s, err))
	}
	return b
}

func bigHex(s string) *big.Int { return new(big.Int).SetBytes(unhex(s)) }

func equalHex(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if !bytes.Equal(got, unhex(want)) {
		t.Errorf("%s = %X, want %s", what, got, want)
	}
}

// TestG1Steps checks every intermediate value of appendix G.1, on the terminal (IFD) side
// and on the chip (IC) side where the two compute it differently.
func TestG1Steps(t *testing.T) {
	c := brainpool.P256r1()
	gx, gy := bigHex(g1.gx), bigHex(g1.gy)
	point := func(t *testing.T, s string) (*big.Int, *big.Int) {
		t.Helper()
		x, y, err := unmarshalPoint(c, unhex(s))
		if err != nil {
			t.Fatalf("decode %s: %v", s, err)
		}
		return x, y
	}
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"MRZ information", func(t *testing.T) {
			got, err := MRZInformation("T22000129", "640812", "101031")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != g1.mrzInfo {
				t.Errorf("MRZInformation = %s, want %s", got, g1.mrzInfo)
			}
		}},
		{"K = f(pi)", func(t *testing.T) {
			k, err := PasswordSecret(Password{Kind: MRZ, Value: []byte(g1.mrzInfo)})
			if err != nil {
				t.Fatal(err)
			}
			equalHex(t, "K", k, g1.k)
		}},
		{"K_pi", func(t *testing.T) {
			kpi, err := PasswordKey(Password{Kind: MRZ, Value: []byte(g1.mrzInfo)}, sm.AES, 128)
			if err != nil {
				t.Fatal(err)
			}
			equalHex(t, "K_pi", kpi, g1.kpi)
		}},
		{"IC encrypts nonce", func(t *testing.T) {
			z, err := encryptNonce(sm.AES, unhex(g1.kpi), unhex(g1.s))
			if err != nil {
				t.Fatal(err)
			}
			equalHex(t, "z", z, g1.z)
		}},
		{"IFD decrypts nonce", func(t *testing.T) {
			s, err := decryptNonce(sm.AES, unhex(g1.kpi), unhex(g1.z))
			if err != nil {
				t.Fatal(err)
			}
			equalHex(t, "s", s, g1.s)
		}},
		{"mapping public keys", func(t *testing.T) {
			x, y := c.ScalarBaseMult(unhex(g1.skMapIFD))
			equalHex(t, "PK_Map,IFD", marshalPoint(c, x, y), g1.pkMapIFD)
			x, y = c.ScalarBaseMult(unhex(g1.skMapIC))
			equalHex(t, "PK_Map,IC", marshalPoint(c, x, y), g1.pkMapIC)
		}},
		{"H on IFD side", func(t *testing.T) {
			px, py := point(t, g1.pkMapIC)
			hx, hy, err := mappingPoint(c, unhex(g1.skMapIFD), px, py)
			if err != nil {
				t.Fatal(err)
			}
			equalHex(t, "H", marshalPoint(c, hx, hy), "04"+g1.hx+g1.hy)
		}},
		{"H on IC side", func(t *testing.T) {
			px, py := point(t, g1.pkMapIFD)
			hx, hy, err := mappingPoint(c, unhex(g1.skMapIC), px, py)
			if err != nil {
				t.Fatal(err)
			}
			equalHex(t, "H", marshalPoint(c, hx, hy), "04"+g1.hx+g1.hy)
		}},
		{"mapped generator", func(t *testing.T) {
			x, y, err := mapGenerator(c, unhex(g1.s), bigHex(g1.hx), bigHex(g1.hy))
			if err != nil {
				t.Fatal(err)
			}
			equalHex(t, "G'", marshalPoint(c, x, y), "04"+g1.gx+g1.gy)
		}},
		{"IFD mapping end to end", func(t *testing.T) {
			x, y, err := terminalMapping(c, unhex(g1.s), unhex(g1.skMapIFD), unhex(g1.pkMapIC))
			if err != nil {
				t.Fatal(err)
			}
			equalHex(t, "G'", marshalPoint(c, x, y), "04"+g1.gx+g1.gy)
		}},
		{"ephemeral public keys", func(t *testing.T) {
			x, y := c.ScalarMult(gx, gy, unhex(g1.skDHIFD))
			equalHex(t, "PK_DH,IFD", marshalPoint(c, x, y), g1.pkDHIFD)
			x, y = c.ScalarMult(gx, gy, unhex(g1.skDHIC))
			equalHex(t, "PK_DH,IC", marshalPoint(c, x, y), g1.pkDHIC)
		}},
		{"shared secret on IFD side", func(t *testing.T) {
			k, err := agree(c, unhex(g1.skDHIFD), unhex(g1.pkDHIFD), unhex(g1.pkDHIC))
			if err != nil {
				t.Fatal(err)
			}
			equalHex(t, "K", k, g1.secret)
		}},
		{"shared secret on IC side", func(t *testing.T) {
			k, err := agree(c, unhex(g1.skDHIC), unhex(g1.pkDHIC), unhex(g1.pkDHIFD))
			if err != nil {
				t.Fatal(err)
			}
			equalHex(t, "K", k, g1.secret)
		}},
		{"session keys", func(t *testing.T) {
			enc, mac := sessionKeys(sm.AES, 128, unhex(g1.secret))
			equalHex(t, "KSEnc", enc, g1.ksEnc)
			equalHex(t, "KSMAC", mac, g1.ksMAC)
		}},
		{"token inputs", func(t *testing.T) {
			in, err := publicKeyObject(securityinfo.OIDPACEECDHGMAES128, unhex(g1.pkDHIC))
			if err != nil {
				t.Fatal(err)
			}
			equalHex(t, "T_IFD input", in, g1.tokenInputIFD)
			in, err = publicKeyObject(securityinfo.OIDPACEECDHGMAES128, unhex(g1.pkDHIFD))
			if err != nil {
				t.Fatal(err)
			}
			equalHex(t, "T_IC input", in, g1.tokenInputIC)
		}},
		{"T_IFD", func(t *testing.T) {
			tok, err := authToken(sm.AES, unhex(g1.ksMAC), securityinfo.OIDPACEECDHGMAES128, unhex(g1.pkDHIC))
			if err != nil {
				t.Fatal(err)
			}
			equalHex(t, "T_IFD", tok, g1.tIFD)
		}},
		{"T_IC", func(t *testing.T) {
			tok, err := authToken(sm.AES, unhex(g1.ksMAC), securityinfo.OIDPACEECDHGMAES128, unhex(g1.pkDHIFD))
			if err != nil {
				t.Fatal(err)
			}
			equalHex(t, "T_IC", tok, g1.tIC)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

// scripted is a card that expects an exact sequence of command APDUs and plays back the
// recorded responses.
type scripted struct {
	t     *testing.T
	steps []struct{ cmd, resp string }
	n     int
}

func (s *scripted) Transmit(_ context.Context, cmd apdu.Command) (apdu.Response, error) {
	s.t.Helper()
	b, err := cmd.Bytes()
	if err != nil {
		return apdu.Response{}, err
	}
	if s.n >= len(s.steps) {
		return apdu.Response{}, fmt.Errorf("unexpected command %X after the script", b)
	}
	step := s.steps[s.n]
	s.n++
	if !bytes.Equal(b, unhex(step.cmd)) {
		s.t.Errorf("command %d = %X\n want %s", s.n, b, step.cmd)
		return apdu.Response{SW: apdu.SWWrongData}, nil
	}
	return apdu.ParseResponse(unhex(step.resp))
}

// reader replays fixed bytes as "randomness" and fails when they run out.
func reader(parts ...string) *bytes.Reader { return bytes.NewReader(unhex(strings.Join(parts, ""))) }

// sameSession checks that s protects a command exactly like a fresh session with the G.1
// keys and SSC zero would.
func sameSession(t *testing.T, s *sm.Session) {
	t.Helper()
	want, err := sm.NewSession(sm.AES, unhex(g1.ksEnc), unhex(g1.ksMAC), make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	cmd := apdu.Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: 0x0C, Data: unhex("A0000002471001")}
	a, err := s.ProtectCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	b, err := want.ProtectCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	ab, _ := a.Bytes()
	bb, _ := b.Bytes()
	if !bytes.Equal(ab, bb) {
		t.Errorf("session protects SELECT as %X, the G.1 keys give %X", ab, bb)
	}
}

func TestG1Terminal(t *testing.T) {
	card := &scripted{t: t, steps: g1Transcript}
	pw := Password{Kind: MRZ, Value: []byte(g1.mrzInfo)}
	res, err := Authenticate(context.Background(), card, g1Info, pw, reader(g1.skMapIFD, g1.skDHIFD))
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if card.n != len(g1Transcript) {
		t.Errorf("sent %d commands, G.1 has %d", card.n, len(g1Transcript))
	}
	equalHex(t, "ChipEphemeralPublic", res.ChipEphemeralPublic, g1.pkDHIC)
	equalHex(t, "TerminalEphemeralPublic", res.TerminalEphemeralPublic, g1.pkDHIFD)
	if res.Cipher != sm.AES || res.KeyBits != 128 {
		t.Errorf("suite = %v/%d, want AES/128", res.Cipher, res.KeyBits)
	}
	sameSession(t, res.Session)
}

func TestG1Chip(t *testing.T) {
	chip, err := NewChip(g1Info, map[PasswordKind][]byte{MRZ: unhex(g1.k)})
	if err != nil {
		t.Fatal(err)
	}
	rnd := reader(g1.s, g1.skMapIC, g1.skDHIC)
	for i, step := range g1Transcript {
		cmd, err := apdu.ParseCommand(unhex(step.cmd))
		if err != nil {
			t.Fatal(err)
		}
		var resp []byte
		var done *sm.Session
		switch cmd.INS {
		case 0x22:
			err = chip.SetAT(cmd.Data)
		case 0x86:
			resp, done, err = chip.GeneralAuthenticate(cmd.Data, rnd)
		}
		if err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
		got := apdu.Response{Data: resp, SW: apdu.SWOK}.Bytes()
		if !bytes.Equal(got, unhex(step.resp)) {
			t.Errorf("response %d = %X\n want %s", i, got, step.resp)
		}
		if (done != nil) != (i == len(g1Transcript)-1) {
			t.Errorf("command %d: session returned = %v", i, done != nil)
		}
		if done != nil {
			sameSession(t, done)
		}
	}
	if chip.Step() != StepDone {
		t.Errorf("Step() = %d, want StepDone", chip.Step())
	}
	equalHex(t, "EphemeralPublic", chip.EphemeralPublic(), g1.pkDHIC)
	if rnd.Len() != 0 {
		t.Errorf("%d random bytes unused", rnd.Len())
	}
}
