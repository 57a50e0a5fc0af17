package pace

import (
	"bytes"
	"context"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/sm"
)

// loopback is a minimal card around a Chip: it dispatches MSE:Set AT and GENERAL
// AUTHENTICATE, checks command chaining, and after PACE echoes the data of any protected
// command under the chip's session, so that a round trip proves both sessions agree.
type loopback struct {
	t       testing.TB
	chip    *Chip
	rnd     io.Reader
	session *sm.Session
	tamper  func(resp []byte) []byte // applied to the response data of step 4
}

func (l *loopback) Transmit(_ context.Context, cmd apdu.Command) (apdu.Response, error) {
	if l.session != nil {
		plain, err := l.session.UnprotectCommand(cmd)
		if err != nil {
			return apdu.Response{SW: apdu.SWSMDataIncorrect}, nil
		}
		return l.session.ProtectResponse(apdu.Response{Data: plain.Data, SW: apdu.SWOK})
	}
	switch {
	case cmd.CLA == 0x00 && cmd.INS == 0x22 && cmd.P1 == 0xC1 && cmd.P2 == 0xA4:
		return apdu.Response{SW: StatusWord(l.chip.SetAT(cmd.Data))}, nil
	case cmd.INS == 0x86 && cmd.P1 == 0 && cmd.P2 == 0:
		last := l.chip.Step() == StepMutualAuth
		if wantCLA := map[bool]byte{false: 0x10, true: 0x00}[last]; cmd.CLA != wantCLA {
			l.t.Errorf("GENERAL AUTHENTICATE at step %d with CLA %02X, want %02X", l.chip.Step(), cmd.CLA, wantCLA)
		}
		resp, done, err := l.chip.GeneralAuthenticate(cmd.Data, l.rnd)
		if err != nil {
			return apdu.Response{SW: StatusWord(err)}, nil
		}
		if last && l.tamper != nil {
			resp = l.tamper(resp)
		}
		l.session = done
		return apdu.Response{Data: resp, SW: apdu.SWOK}, nil
	}
	return apdu.Response{SW: apdu.SWINSNotSupported}, nil
}

// seeded returns a deterministic randomness source, so every run of a test is the same.
func seeded(seed uint64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	return rand.NewChaCha8(s)
}

// chipPasswords returns the chip-side form of an MRZ and a CAN password.
func chipPasswords(t testing.TB, mrz, can string) map[PasswordKind][]byte {
	t.Helper()
	m := map[PasswordKind][]byte{}
	for kind, v := range map[PasswordKind]string{MRZ: mrz, CAN: can} {
		k, err := PasswordSecret(Password{Kind: kind, Value: []byte(v)})
		if err != nil {
			t.Fatal(err)
		}
		m[kind] = k
	}
	return m
}

const (
	testMRZ = "T22000129364081251010318"
	testCAN = "123456"
)

func TestRoundTrip(t *testing.T) {
	protocols := []struct {
		name string
		oid  asn1.ObjectIdentifier
	}{
		{"3DES", securityinfo.OIDPACEECDHGM3DES},
		{"AES-128", securityinfo.OIDPACEECDHGMAES128},
		{"AES-192", securityinfo.OIDPACEECDHGMAES192},
		{"AES-256", securityinfo.OIDPACEECDHGMAES256},
	}
	params := []struct {
		name string
		id   int
	}{{"P-256", securityinfo.ParamP256}, {"brainpoolP256r1", securityinfo.ParamBrainpoolP256r1}}
	passwords := []Password{{Kind: MRZ, Value: []byte(testMRZ)}, {Kind: CAN, Value: []byte(testCAN)}}
	seed := uint64(0)
	for _, p := range params {
		for _, proto := range protocols {
			for _, pw := range passwords {
				seed++
				t.Run(fmt.Sprintf("%s/%s/%s", p.name, proto.name, pw.Kind), func(t *testing.T) {
					info := securityinfo.PACEInfo{Protocol: proto.oid, Version: 2, ParameterID: p.id, HasParameterID: true}
					chip, err := NewChip(info, chipPasswords(t, testMRZ, testCAN))
					if err != nil {
						t.Fatal(err)
					}
					card := &loopback{t: t, chip: chip, rnd: seeded(seed)}
					res, err := Authenticate(context.Background(), card, info, pw, seeded(seed+100))
					if err != nil {
						t.Fatalf("Authenticate: %v", err)
					}
					if chip.Step() != StepDone || chip.PasswordKind() != pw.Kind {
						t.Errorf("chip at step %d with %s, want StepDone with %s", chip.Step(), chip.PasswordKind(), pw.Kind)
					}
					if !bytes.Equal(res.ChipEphemeralPublic, chip.EphemeralPublic()) {
						t.Errorf("terminal saw chip key %X, chip has %X", res.ChipEphemeralPublic, chip.EphemeralPublic())
					}
					if want, _, _ := Suite(proto.oid); res.Session.Cipher() != want || res.Cipher != want {
						t.Errorf("session cipher %v, result %v, want %v", res.Session.Cipher(), res.Cipher, want)
					}
					msg := []byte("secure messaging works")
					out, err := apdu.Run(context.Background(), sm.NewChannel(card, res.Session),
						apdu.Command{CLA: 0x00, INS: 0xDA, Data: msg, Ne: apdu.MaxShortLe})
					if err != nil {
						t.Fatalf("protected round trip: %v", err)
					}
					if !bytes.Equal(out, msg) {
						t.Errorf("echo = %q, want %q", out, msg)
					}
				})
			}
		}
	}
}

func TestWrongPassword(t *testing.T) {
	tests := []struct {
		name string
		pw   Password
	}{
		{"wrong CAN", Password{Kind: CAN, Value: []byte("654321")}},
		{"wrong MRZ", Password{Kind: MRZ, Value: []byte("T22000129364081251010319")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := securityinfo.PACEInfo{Protocol: securityinfo.OIDPACEECDHGMAES128, Version: 2, ParameterID: securityinfo.ParamBrainpoolP256r1, HasParameterID: true}
			chip, err := NewChip(info, chipPasswords(t, testMRZ, testCAN))
			if err != nil {
				t.Fatal(err)
			}
			card := &loopback{t: t, chip: chip, rnd: seeded(1)}
			_, err = Authenticate(context.Background(), card, info, tt.pw, seeded(2))
			if !errors.Is(err, ErrAuthentication) {
				t.Fatalf("Authenticate error = %v, want ErrAuthentication", err)
			}
			if !errors.Is(err, apdu.StatusError{SW: 0x6300}) {
				t.Errorf("error %v does not carry the chip's 6300", err)
			}
			if chip.Step() != StepIdle {
				t.Errorf("chip at step %d after a failed run, want StepIdle", chip.Step())
			}
		})
	}
}

func TestChipTokenMismatch(t *testing.T) {
	info := securityinfo.PACEInfo{Protocol: securityinfo.OIDPACEECDHGMAES128, Version: 2, ParameterID: securityinfo.ParamP256, HasParameterID: true}
	chip, err := NewChip(info, chipPasswords(t, testMRZ, testCAN))
	if err != nil {
		t.Fatal(err)
	}
	card := &loopback{t: t, chip: chip, rnd: seeded(3), tamper: func(r []byte) []byte {
		r = bytes.Clone(r)
		r[len(r)-1] ^= 1
		return r
	}}
	_, err = Authenticate(context.Background(), card, info, Password{Kind: CAN, Value: []byte(testCAN)}, seeded(4))
	if !errors.Is(err, ErrAuthentication) {
		t.Fatalf("Authenticate error = %v, want ErrAuthentication", err)
	}
}

// g1Chip returns a chip with the G.1 password and randomness, and the G.1 command data.
func g1Chip(t testing.TB) (*Chip, io.Reader, [][]byte) {
	t.Helper()
	chip, err := NewChip(g1Info, map[PasswordKind][]byte{MRZ: unhex(g1.k)})
	if err != nil {
		t.Fatal(err)
	}
	var data [][]byte
	for _, step := range g1Transcript {
		cmd, err := apdu.ParseCommand(unhex(step.cmd))
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, cmd.Data)
	}
	return chip, io.MultiReader(reader(g1.s, g1.skMapIC, g1.skDHIC), seeded(9)), data
}

func TestOutOfOrder(t *testing.T) {
	// Commands by index into the G.1 transcript: 0 = MSE:Set AT, 1-4 = GA steps 1-4.
	tests := []struct {
		name     string
		sequence []int // the last command must fail with ErrSequence
	}{
		{"GA before MSE:Set AT", []int{1}},
		{"step 2 first", []int{0, 2}},
		{"step 1 twice", []int{0, 1, 1}},
		{"step 3 skipped", []int{0, 1, 2, 4}},
		{"step 2 again after step 3", []int{0, 1, 2, 3, 2}},
		{"GA after completion", []int{0, 1, 2, 3, 4, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chip, rnd, data := g1Chip(t)
			var err error
			for i, n := range tt.sequence {
				if n == 0 {
					err = chip.SetAT(data[0])
				} else {
					_, _, err = chip.GeneralAuthenticate(data[n], rnd)
				}
				if i < len(tt.sequence)-1 && err != nil {
					t.Fatalf("command %d (%d): %v", i, n, err)
				}
			}
			if !errors.Is(err, ErrSequence) {
				t.Fatalf("error = %v, want ErrSequence", err)
			}
			if sw := StatusWord(err); sw != 0x6985 {
				t.Errorf("StatusWord = %04X, want 6985", sw)
			}
			if chip.Step() != StepIdle {
				t.Errorf("chip at step %d, want StepIdle", chip.Step())
			}
			// A fresh MSE:Set AT starts over and the protocol completes.
			runG1(t, chip, data)
			if chip.Step() != StepDone {
				t.Errorf("Step() = %d after a full run, want StepDone", chip.Step())
			}
		})
	}
}

// runG1 runs the whole G.1 exchange on c with fresh G.1 randomness.
func runG1(t *testing.T, c *Chip, data [][]byte) {
	t.Helper()
	rnd := reader(g1.s, g1.skMapIC, g1.skDHIC)
	if err := c.SetAT(data[0]); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(data); i++ {
		if _, _, err := c.GeneralAuthenticate(data[i], rnd); err != nil {
			t.Fatalf("restart step %d: %v", i, err)
		}
	}
}

func TestChipRestartsAfterError(t *testing.T) {
	chip, rnd, data := g1Chip(t)
	if _, _, err := chip.GeneralAuthenticate(data[2], rnd); !errors.Is(err, ErrSequence) {
		t.Fatalf("error = %v, want ErrSequence", err)
	}
	runG1(t, chip, data)
	if chip.Step() != StepDone {
		t.Errorf("Step() = %d after a full run, want StepDone", chip.Step())
	}
}

func TestSetATErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want error
		sw   uint16
	}{
		{"other protocol", "800A04007F00070202040204830101", ErrUnsupported, 0x6A80},
		{"other parameter id", "800A04007F0007020204020283010184010C", ErrUnsupported, 0x6A80},
		{"unknown password", "800A04007F00070202040202830102", ErrNoPassword, 0x6A88},
		{"password reference missing", "800A04007F00070202040202", ErrMalformed, 0x6A80},
		{"protocol missing", "830101", ErrMalformed, 0x6A80},
		{"repeated tag", "800A04007F0007020204020283010183010101", ErrMalformed, 0x6A80},
		{"unknown tag", "800A04007F0007020204020283010191010D", ErrMalformed, 0x6A80},
		{"truncated", "800A04007F", ErrMalformed, 0x6A80},
		{"empty", "", ErrMalformed, 0x6A80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chip, _, _ := g1Chip(t)
			err := chip.SetAT(unhex(tt.data))
			if !errors.Is(err, tt.want) {
				t.Fatalf("SetAT error = %v, want %v", err, tt.want)
			}
			if sw := StatusWord(err); sw != tt.sw {
				t.Errorf("StatusWord = %04X, want %04X", sw, tt.sw)
			}
			if chip.Step() != StepIdle {
				t.Errorf("chip at step %d, want StepIdle", chip.Step())
			}
		})
	}
}

func TestGeneralAuthenticateMalformed(t *testing.T) {
	notOnCurve := "7C438141" + "04" + "7ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E" +
		"544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922E"
	tests := []struct {
		name string
		at   int // how many G.1 commands to run first
		data string
	}{
		{"not 7C", 1, "7D00"},
		{"bad length", 1, "7C05"},
		{"two objects", 2, "7C04810100820100"},
		{"unknown tag", 2, "7C03990100"},
		{"point not on curve", 2, notOnCurve},
		{"compressed point", 2, "7C238121027ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E"},
		{"trailing bytes", 1, "7C0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chip, rnd, data := g1Chip(t)
			if err := chip.SetAT(data[0]); err != nil {
				t.Fatal(err)
			}
			for i := 1; i < tt.at; i++ {
				if _, _, err := chip.GeneralAuthenticate(data[i], rnd); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := chip.GeneralAuthenticate(unhex(tt.data), rnd)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error = %v, want ErrMalformed", err)
			}
			if sw := StatusWord(err); sw != 0x6A80 {
				t.Errorf("StatusWord = %04X, want 6A80", sw)
			}
		})
	}
}

func TestAgreeRejectsEqualKeys(t *testing.T) {
	chip, _, _ := g1Chip(t)
	_, err := agree(chip.curve, unhex(g1.skDHIC), unhex(g1.pkDHIC), unhex(g1.pkDHIC))
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("error = %v, want ErrMalformed", err)
	}
}

func TestAuthenticateUnsupported(t *testing.T) {
	tests := []struct {
		name string
		info securityinfo.PACEInfo
		pw   Password
	}{
		{"DH generic mapping", securityinfo.PACEInfo{Protocol: asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 1, 2}, ParameterID: 0, HasParameterID: true}, Password{Kind: CAN, Value: []byte(testCAN)}},
		{"integrated mapping", securityinfo.PACEInfo{Protocol: asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 4, 2}, ParameterID: 13, HasParameterID: true}, Password{Kind: CAN, Value: []byte(testCAN)}},
		{"explicit parameters", securityinfo.PACEInfo{Protocol: securityinfo.OIDPACEECDHGMAES128}, Password{Kind: CAN, Value: []byte(testCAN)}},
		{"MODP group", securityinfo.PACEInfo{Protocol: securityinfo.OIDPACEECDHGMAES128, ParameterID: 2, HasParameterID: true}, Password{Kind: CAN, Value: []byte(testCAN)}},
		{"password kind", securityinfo.PACEInfo{Protocol: securityinfo.OIDPACEECDHGMAES128, ParameterID: 13, HasParameterID: true}, Password{Kind: 9, Value: []byte(testCAN)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := &scripted{t: t}
			_, err := Authenticate(context.Background(), card, tt.info, tt.pw, seeded(1))
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error = %v, want ErrUnsupported", err)
			}
			if card.n != 0 {
				t.Errorf("%d commands sent before the error", card.n)
			}
		})
	}
}

func TestMRZInformation(t *testing.T) {
	tests := []struct {
		name, doc, birth, expiry, want string
		fails                          bool
	}{
		{name: "ICAO appendix D (padded)", doc: "L898902C", birth: "690806", expiry: "940623", want: "L898902C<369080619406236"},
		{name: "ICAO appendix G", doc: "T22000129", birth: "640812", expiry: "101031", want: g1.mrzInfo},
		{name: "too long", doc: "0012345678901", birth: "640812", expiry: "101031", fails: true},
		{name: "lower case", doc: "t22000129", birth: "640812", expiry: "101031", fails: true},
		{name: "short date", doc: "T22000129", birth: "6408", expiry: "101031", fails: true},
		{name: "empty", birth: "640812", expiry: "101031", fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MRZInformation(tt.doc, tt.birth, tt.expiry)
			if tt.fails {
				if err == nil {
					t.Fatalf("MRZInformation = %s, want an error", got)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("MRZInformation = %s, %v, want %s", got, err, tt.want)
			}
		})
	}
}

func TestPasswordString(t *testing.T) {
	pw := Password{Kind: CAN, Value: []byte("123456")}
	if s := fmt.Sprintf("%v %+v %s %#v", pw, pw, pw, pw); bytes.Contains([]byte(s), []byte("123456")) {
		t.Errorf("formatted password leaks the value: %s", s)
	}
}

func TestSetATWithoutParameterID(t *testing.T) {
	chip, _, _ := g1Chip(t)
	// MSE:Set AT exactly as appendix G.1 prints it, without tag 84.
	if err := chip.SetAT(unhex("800A04007F00070202040202830101")); err != nil {
		t.Fatalf("SetAT: %v", err)
	}
	if chip.Step() != StepNonce || chip.PasswordKind() != MRZ {
		t.Errorf("chip at step %d with %s, want StepNonce with MRZ", chip.Step(), chip.PasswordKind())
	}
}

// TestOtherCurves runs PACE once on every other standardized curve this package offers.
func TestOtherCurves(t *testing.T) {
	for _, id := range []int{
		securityinfo.ParamP224, securityinfo.ParamBrainpoolP224r1, securityinfo.ParamBrainpoolP320r1,
		securityinfo.ParamP384, securityinfo.ParamBrainpoolP384r1, securityinfo.ParamBrainpoolP512r1,
		securityinfo.ParamP521,
	} {
		curve, err := Curve(id)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("parameter %d", id), func(t *testing.T) {
			info := securityinfo.PACEInfo{Protocol: securityinfo.OIDPACEECDHGMAES256, Version: 2, ParameterID: id, HasParameterID: true}
			chip, err := NewChip(info, chipPasswords(t, testMRZ, testCAN))
			if err != nil {
				t.Fatal(err)
			}
			card := &loopback{t: t, chip: chip, rnd: seeded(uint64(id))}
			res, err := Authenticate(context.Background(), card, info, Password{Kind: CAN, Value: []byte(testCAN)}, seeded(uint64(id)+50))
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if want := 1 + 2*fieldSize(curve); len(res.ChipEphemeralPublic) != want {
				t.Errorf("chip key of %d bytes, want %d", len(res.ChipEphemeralPublic), want)
			}
			if chip.Step() != StepDone {
				t.Errorf("chip at step %d, want StepDone", chip.Step())
			}
		})
	}
}
