package chipauth

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/osanderson/brainpool"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/bp256"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/sm"
)

// seeded returns a deterministic randomness source, so every run of a test is the same.
func seeded(seed uint64) io.Reader {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return rand.NewChaCha8(s)
}

// caChip is a minimal chip behind secure messaging that implements the chip side of Chip
// Authentication with this package, and echoes the data of every other command.
type caChip struct {
	t       testing.TB
	priv    []byte
	curve   elliptic.Curve
	session *sm.Session
	setAT   asn1.ObjectIdentifier // protocol of the last MSE:Set AT
	plain   []apdu.Command        // every command as the chip saw it, unprotected
	clone   bool                  // cannot check MACs: answers with its own keys regardless
	sw      uint16                // when set, answer the MSE/GA commands with this status
	gaResp  []byte                // when set, the GENERAL AUTHENTICATE response data
}

func (c *caChip) Transmit(_ context.Context, cmd apdu.Command) (apdu.Response, error) {
	plain, err := c.session.UnprotectCommand(cmd)
	if err != nil {
		if !c.clone {
			return apdu.Response{SW: apdu.SWSMDataIncorrect}, nil
		}
		plain = apdu.Command{INS: cmd.INS}
	}
	c.plain = append(c.plain, plain)
	resp, next := c.handle(plain)
	out, err := c.session.ProtectResponse(resp)
	if err != nil {
		return apdu.Response{}, err
	}
	if next != nil {
		c.session = next
	}
	return out, nil
}

func (c *caChip) handle(cmd apdu.Command) (apdu.Response, *sm.Session) {
	agree := func(point []byte, protocol asn1.ObjectIdentifier) (apdu.Response, *sm.Session) {
		ciph, bits, err := Suite(protocol)
		if err != nil {
			return apdu.Response{SW: apdu.SWWrongData}, nil
		}
		s, err := Agree(c.priv, c.curve, point, ciph, bits)
		if err != nil {
			c.t.Errorf("Agree: %v", err)
			return apdu.Response{SW: apdu.SWWrongData}, nil
		}
		return apdu.Response{SW: apdu.SWOK}, s
	}
	switch {
	case c.sw != 0 && (cmd.INS == 0x22 || cmd.INS == 0x86):
		return apdu.Response{SW: c.sw}, nil
	case cmd.INS == 0x22 && cmd.P1 == 0x41 && cmd.P2 == 0xA6:
		point, _, err := ParseSetKAT(cmd.Data)
		if err != nil {
			return apdu.Response{SW: apdu.SWWrongData}, nil
		}
		// MSE:Set KAT names no protocol: the chip uses its ChipAuthenticationInfo (3DES here,
		// or what the test set with a previous MSE:Set AT).
		protocol := securityinfo.OIDCAECDH3DES
		if c.setAT != nil {
			protocol = c.setAT
		}
		return agree(point, protocol)
	case cmd.INS == 0x22 && cmd.P1 == 0x41 && cmd.P2 == 0xA4:
		protocol, _, err := ParseSetAT(cmd.Data)
		if err != nil {
			return apdu.Response{SW: apdu.SWWrongData}, nil
		}
		c.setAT = protocol
		return apdu.Response{SW: apdu.SWOK}, nil
	case cmd.INS == 0x86:
		point, err := ParseGeneralAuthenticate(cmd.Data)
		if err != nil || c.setAT == nil {
			return apdu.Response{SW: apdu.SWConditionsNotSatisfied}, nil
		}
		r, s := agree(point, c.setAT)
		if c.gaResp != nil {
			r.Data = c.gaResp
		} else if s != nil {
			r.Data = GeneralAuthenticateResponse()
		}
		return r, s
	}
	return apdu.Response{Data: cmd.Data, SW: apdu.SWOK}, nil
}

// pair is a terminal and a chip that share a secure messaging session, as after PACE.
type pair struct {
	chip     *caChip
	terminal *sm.Channel
	key      PublicKey
}

func newPair(t testing.TB, curve elliptic.Curve, seed uint64) pair {
	t.Helper()
	rnd := seeded(seed)
	priv, err := randomScalar(curve, rnd)
	if err != nil {
		t.Fatal(err)
	}
	x, y := curve.ScalarBaseMult(priv)
	enc, mac := make([]byte, 16), make([]byte, 16)
	io.ReadFull(rnd, enc)
	io.ReadFull(rnd, mac)
	chipSession, err := sm.NewSession(sm.AES, enc, mac, make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	termSession, err := sm.NewSession(sm.AES, enc, mac, make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	chip := &caChip{t: t, priv: priv, curve: curve, session: chipSession}
	return pair{chip: chip, terminal: sm.NewChannel(chip, termSession), key: PublicKey{Curve: curve, X: x, Y: y}}
}

var curves = []struct {
	name  string
	curve elliptic.Curve
}{{"P-256", elliptic.P256()}, {"brainpoolP256r1", bp256.P256r1()}, {"brainpoolP256r1 generic", brainpool.P256r1()}}

func TestRoundTrip(t *testing.T) {
	protocols := []struct {
		name string
		oid  asn1.ObjectIdentifier
	}{
		{"3DES", securityinfo.OIDCAECDH3DES},
		{"AES-128", securityinfo.OIDCAECDHAES128},
		{"AES-192", securityinfo.OIDCAECDHAES192},
		{"AES-256", securityinfo.OIDCAECDHAES256},
	}
	methods := []struct {
		name   string
		method Method
	}{{"auto", MethodAuto}, {"KAT", MethodKAT}, {"GA", MethodGA}}
	seed := uint64(0)
	for _, c := range curves {
		for _, p := range protocols {
			for _, m := range methods {
				seed++
				t.Run(fmt.Sprintf("%s/%s/%s", c.name, p.name, m.name), func(t *testing.T) {
					pr := newPair(t, c.curve, seed)
					if m.method == MethodKAT {
						pr.chip.setAT = p.oid // the chip's ChipAuthenticationInfo
					}
					info := securityinfo.ChipAuthenticationInfo{Protocol: p.oid, Version: 1, KeyID: 7, HasKeyID: m.method != MethodGA}
					tm := Terminal{Method: m.method, Rand: seeded(seed + 1000)}
					res, err := tm.Authenticate(context.Background(), pr.terminal, info, pr.key)
					if err != nil {
						t.Fatalf("Authenticate: %v", err)
					}
					checkCommands(t, pr.chip.plain, m.method, p.oid, info)
					ch := res.Channel(pr.chip)
					msg := []byte("read DG1 under the new keys")
					out, err := apdu.Run(context.Background(), ch, apdu.Command{INS: 0xDA, Data: msg, Ne: apdu.MaxShortLe})
					if err != nil {
						t.Fatalf("first command under the new session: %v", err)
					}
					if !bytes.Equal(out, msg) {
						t.Errorf("echo = %q, want %q", out, msg)
					}
					if !ch.Verified() {
						t.Error("Verified() = false after a good answer")
					}
					if res.Session.Cipher() != res.Cipher {
						t.Errorf("session cipher %v, result %v", res.Session.Cipher(), res.Cipher)
					}
				})
			}
		}
	}
}

// checkCommands asserts the plain commands the chip received for a method.
func checkCommands(t *testing.T, got []apdu.Command, m Method, protocol asn1.ObjectIdentifier, info securityinfo.ChipAuthenticationInfo) {
	t.Helper()
	if m == MethodAuto {
		m = MethodGA
		if c, _, _ := Suite(protocol); c == sm.TDES {
			m = MethodKAT
		}
	}
	want := map[Method][][2]byte{MethodKAT: {{0x22, 0xA6}}, MethodGA: {{0x22, 0xA4}, {0x86, 0x00}}}[m]
	if len(got) != len(want) {
		t.Fatalf("chip received %d commands, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].CLA != 0 || got[i].INS != w[0] || got[i].P2 != w[1] {
			t.Errorf("command %d = %02X %02X %02X %02X, want INS %02X P2 %02X", i, got[i].CLA, got[i].INS, got[i].P1, got[i].P2, w[0], w[1])
		}
	}
	switch m {
	case MethodKAT:
		_, id, err := ParseSetKAT(got[0].Data)
		if err != nil || id != keyID(info) {
			t.Errorf("MSE:Set KAT key id %d, %v; want %d", id, err, keyID(info))
		}
	case MethodGA:
		oid, id, err := ParseSetAT(got[0].Data)
		if err != nil || !oid.Equal(protocol) || id != keyID(info) {
			t.Errorf("MSE:Set AT = %s, key id %d, %v; want %s, %d", oid, id, err, protocol, keyID(info))
		}
	}
}

func TestCloneDetected(t *testing.T) {
	tests := []struct {
		name  string
		clone bool // false: answers 6988 in plain; true: answers under its own wrong keys
	}{{"chip rejects the MAC", false}, {"chip answers with wrong keys", true}}
	for _, c := range curves {
		for _, tt := range tests {
			t.Run(c.name+"/"+tt.name, func(t *testing.T) {
				pr := newPair(t, c.curve, 40)
				other := newPair(t, c.curve, 41)
				pr.chip.priv = other.chip.priv // the chip does not hold the key DG14 names
				info := securityinfo.ChipAuthenticationInfo{Protocol: securityinfo.OIDCAECDHAES128, Version: 1}
				res, err := Authenticate(context.Background(), pr.terminal, info, pr.key, seeded(42))
				if err != nil {
					t.Fatalf("Authenticate: %v (the key agreement itself cannot tell a clone)", err)
				}
				pr.chip.clone = tt.clone
				ch := res.Channel(pr.chip)
				_, err = ch.Transmit(context.Background(), apdu.Command{INS: 0xB0, Ne: 4})
				if !errors.Is(err, ErrChipAuthentication) {
					t.Fatalf("first command error = %v, want ErrChipAuthentication", err)
				}
				if ch.Verified() {
					t.Error("Verified() = true for a clone")
				}
			})
		}
	}
}

// plainCard answers every command with a bare status word, as a chip does in plain.
type plainCard uint16

func (p plainCard) Transmit(context.Context, apdu.Command) (apdu.Response, error) {
	return apdu.Response{SW: uint16(p)}, nil
}

func TestPlainAnswerIsNoProof(t *testing.T) {
	pr := newPair(t, elliptic.P256(), 50)
	info := securityinfo.ChipAuthenticationInfo{Protocol: securityinfo.OIDCAECDHAES128, Version: 1}
	res, err := Authenticate(context.Background(), pr.terminal, info, pr.key, seeded(51))
	if err != nil {
		t.Fatal(err)
	}
	ch := res.Channel(plainCard(apdu.SWFileNotFound))
	r, err := ch.Transmit(context.Background(), apdu.Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{0x01, 0x0E}})
	if err != nil || r.SW != apdu.SWFileNotFound {
		t.Fatalf("Transmit = %04X, %v; want 6A82", r.SW, err)
	}
	if ch.Verified() {
		t.Error("Verified() = true after a plain status word")
	}
	ch = res.Channel(plainCard(apdu.SWSMDataIncorrect))
	if _, err := ch.Transmit(context.Background(), apdu.Command{INS: 0xB0, Ne: 4}); !errors.Is(err, ErrChipAuthentication) {
		t.Fatalf("plain 6988 error = %v, want ErrChipAuthentication", err)
	}
}

func TestAuthenticateErrors(t *testing.T) {
	aes := securityinfo.OIDCAECDHAES128
	tests := []struct {
		name    string
		info    securityinfo.ChipAuthenticationInfo
		badKey  bool
		sw      uint16
		gaResp  []byte
		want    error
		noSends bool
	}{
		{name: "DH protocol", info: securityinfo.ChipAuthenticationInfo{Protocol: securityinfo.OIDCADHAES128, Version: 1}, want: ErrUnsupported, noSends: true},
		{name: "PACE oid", info: securityinfo.ChipAuthenticationInfo{Protocol: securityinfo.OIDPACEECDHGMAES128, Version: 1}, want: ErrUnsupported, noSends: true},
		{name: "version 3", info: securityinfo.ChipAuthenticationInfo{Protocol: aes, Version: 3}, want: ErrUnsupported, noSends: true},
		{name: "key not on curve", info: securityinfo.ChipAuthenticationInfo{Protocol: aes, Version: 1}, badKey: true, want: ErrMalformed, noSends: true},
		{name: "chip refuses", info: securityinfo.ChipAuthenticationInfo{Protocol: aes, Version: 1}, sw: apdu.SWWrongData, want: apdu.StatusError{SW: apdu.SWWrongData}},
		{name: "CA2 nonce and token", info: securityinfo.ChipAuthenticationInfo{Protocol: aes, Version: 2}, gaResp: []byte{0x7C, 0x06, 0x81, 0x01, 0xAA, 0x82, 0x01, 0xBB}, want: ErrUnsupported},
		{name: "garbage response", info: securityinfo.ChipAuthenticationInfo{Protocol: aes, Version: 1}, gaResp: []byte{0x7C, 0x05}, want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := newPair(t, brainpool.P256r1(), 60)
			pr.chip.sw, pr.chip.gaResp = tt.sw, tt.gaResp
			key := pr.key
			if tt.badKey {
				key.Y = new(big.Int).Add(key.Y, big.NewInt(1))
			}
			_, err := Authenticate(context.Background(), pr.terminal, tt.info, key, seeded(61))
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if tt.noSends && len(pr.chip.plain) != 0 {
				t.Errorf("%d commands sent before the error", len(pr.chip.plain))
			}
		})
	}
}
