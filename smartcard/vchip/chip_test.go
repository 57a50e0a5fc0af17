package vchip

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"testing"
	"time"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/bac"
	"github.com/cccd-project/cccd/smartcard/icaotest"
	"github.com/cccd-project/cccd/smartcard/sm"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// testMRZInfo is the MRZ information of ICAO 9303-11 appendix D.
const testMRZInfo = "L898902C<369080619406236"

// cardAccess is the EF.CardAccess of ICAO 9303-11 appendix G.1 (PACE ECDH GM AES-128, parameter 13).
const cardAccess = "31143012060A04007F0007020204020202010202010D"

// tx sends cmd to the chip and returns the response (failing on transport errors).
func tx(t testing.TB, c *Chip, cmd apdu.Command) apdu.Response {
	t.Helper()
	r, err := Transport{Chip: c}.Transmit(context.Background(), cmd)
	if err != nil {
		t.Fatalf("INS %02X: %v", cmd.INS, err)
	}
	return r
}

func ok(t testing.TB, c *Chip, cmd apdu.Command) []byte {
	t.Helper()
	r := tx(t, c, cmd)
	if r.SW != apdu.SWOK {
		t.Fatalf("INS %02X P1P2 %02X%02X: SW %04X", cmd.INS, cmd.P1, cmd.P2, r.SW)
	}
	return r.Data
}

func createCmd(fid uint16, size int) apdu.Command {
	v := tlv.Encode(0x80, []byte{byte(size >> 8), byte(size)})
	v = append(v, tlv.Encode(0x83, []byte{byte(fid >> 8), byte(fid)})...)
	return apdu.Command{INS: insCreateFile, Data: tlv.Encode(0x62, v)}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// com lists DG1, DG2, DG3 (ICAO 9303-10 §4.6.1).
var com = tlv.Encode(0x60, append(tlv.Encode(0x5F01, []byte("0107")), tlv.Encode(0x5C, []byte{0x61, 0x75, 0x63})...))

// dg2 is a 40000-byte file so that offsets above 7FFF are exercised.
var dg2 = pattern(40000)

// personalized returns an unlocked chip with EF.CardAccess, EF.COM, DG1, DG2, DG3 and the
// access keys, and with a sleep that records delays.
func personalized(t testing.TB, opts Options) (*Chip, *[]time.Duration) {
	t.Helper()
	c := New("VN-TEST-0001", opts)
	var slept []time.Duration
	c.SetSleep(func(d time.Duration) { slept = append(slept, d) })
	files := []struct {
		fid  uint16
		data []byte
	}{
		{FIDCardAccess, icaotest.Unhex(t, cardAccess)},
		{FIDCOM, com},
		{FIDDG1, tlv.Encode(0x61, tlv.Encode(0x5F1F, []byte("IDVNM0012345678001234567890<<<8001014M3001017VNM<<<<<<<<<<<6NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<<")))},
		{FIDDG1 + 1, dg2},
		{FIDDG1 + 2, tlv.Encode(0x63, []byte{1, 2, 3})},
	}
	for _, f := range files {
		ok(t, c, createCmd(f.fid, len(f.data)))
		for off := 0; off < len(f.data); off += 30000 {
			end := min(off+30000, len(f.data))
			cmd := apdu.Command{INS: insUpdateBinary, P1: byte(off >> 8), P2: byte(off), Data: f.data[off:end]}
			if off > 0x7FFF {
				cmd = apdu.Command{INS: insUpdateBinaryOdd, Data: append(tlv.Encode(0x54, []byte{byte(off >> 8), byte(off)}), tlv.Encode(0x53, f.data[off:end])...)}
			}
			ok(t, c, cmd)
		}
	}
	key := sha1.Sum([]byte(testMRZInfo))
	ok(t, c, apdu.Command{CLA: 0x80, INS: insPutData, P2: TagMRZKey, Data: key[:]})
	ok(t, c, apdu.Command{CLA: 0x80, INS: insPutData, P2: TagCAN, Data: []byte("123456")})
	c.Reset()
	return c, &slept
}

func lockCmd() apdu.Command { return apdu.Command{INS: insActivateFile, Data: []byte{0x3F, 0x00}} }

// openBAC runs BAC as the terminal and returns a secure messaging channel.
func openBAC(t testing.TB, c *Chip, mrzInfo string) (*sm.Channel, error) {
	t.Helper()
	h := sha1.Sum([]byte(mrzInfo))
	tr := Transport{Chip: c}
	s, err := bac.Authenticate(context.Background(), tr, h[:16], rand.Reader)
	if err != nil {
		return nil, err
	}
	return sm.NewChannel(tr, s), nil
}

func TestSelect(t *testing.T) {
	selMF := apdu.Command{INS: insSelect, P2: 0x0C, Data: []byte{0x3F, 0x00}}
	tests := []struct {
		name  string
		opts  Options
		setup []apdu.Command
		cmd   apdu.Command
		want  uint16
	}{
		{"AID", Options{}, nil, apdu.Command{INS: insSelect, P1: 4, P2: 0x0C, Data: AID}, apdu.SWOK},
		{"unknown AID", Options{}, nil, apdu.Command{INS: insSelect, P1: 4, P2: 0x0C, Data: []byte{0xA0, 0, 0, 0, 0x99}}, apdu.SWFileNotFound},
		{"MF", Options{}, nil, selMF, apdu.SWOK},
		{"MF answers 6D00", Options{SelectMFUnsupported: true}, nil, selMF, apdu.SWINSNotSupported},
		{"CardAccess from MF", Options{}, nil, apdu.Command{INS: insSelect, P1: 2, P2: 0x0C, Data: []byte{0x01, 0x1C}}, apdu.SWOK},
		{"EF.COM from MF", Options{}, nil, apdu.Command{INS: insSelect, P1: 2, P2: 0x0C, Data: []byte{0x01, 0x1E}}, apdu.SWFileNotFound},
		{"EF.COM in application", Options{}, []apdu.Command{{INS: insSelect, P1: 4, P2: 0x0C, Data: AID}},
			apdu.Command{INS: insSelect, P1: 2, P2: 0x0C, Data: []byte{0x01, 0x1E}}, apdu.SWOK},
		{"CardAccess from application (parent)", Options{}, []apdu.Command{{INS: insSelect, P1: 4, P2: 0x0C, Data: AID}},
			apdu.Command{INS: insSelect, P1: 0, P2: 0x0C, Data: []byte{0x01, 0x1C}}, apdu.SWOK},
		{"bad FID length", Options{}, nil, apdu.Command{INS: insSelect, P1: 2, P2: 0x0C, Data: []byte{0x01}}, apdu.SWWrongLength},
		{"bad P1", Options{}, nil, apdu.Command{INS: insSelect, P1: 9, P2: 0x0C, Data: []byte{0x01, 0x1C}}, apdu.SWIncorrectP1P2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := personalized(t, tc.opts)
			c.Reset()
			for _, s := range tc.setup {
				ok(t, c, s)
			}
			if got := tx(t, c, tc.cmd).SW; got != tc.want {
				t.Errorf("SW %04X, want %04X", got, tc.want)
			}
		})
	}
	t.Run("FCP", func(t *testing.T) {
		c, _ := personalized(t, Options{})
		ok(t, c, apdu.Command{INS: insSelect, P1: 4, P2: 0x0C, Data: AID})
		fcpData := ok(t, c, apdu.Command{INS: insSelect, P1: 2, P2: 0x04, Data: []byte{0x01, 0x02}, Ne: 256})
		o, err := tlv.Decode(fcpData)
		if err != nil {
			t.Fatal(err)
		}
		size, _ := o.Find(0x80)
		if !bytes.Equal(size.Value, []byte{0x9C, 0x40}) {
			t.Errorf("FCP size %X, want 9C40", size.Value)
		}
	})
}

func TestReadBinary(t *testing.T) {
	sel := apdu.Command{INS: insSelect, P1: 4, P2: 0x0C, Data: AID}
	selDG2 := apdu.Command{INS: insSelect, P1: 2, P2: 0x0C, Data: []byte{0x01, 0x02}}
	tests := []struct {
		name  string
		opts  Options
		setup []apdu.Command
		cmd   apdu.Command
		want  uint16
		data  []byte
	}{
		{"B0 offset", Options{}, []apdu.Command{sel, selDG2}, apdu.Command{INS: insReadBinary, P1: 0x01, P2: 0x00, Ne: 16}, apdu.SWOK, dg2[256:272]},
		{"B0 SFI", Options{}, []apdu.Command{sel}, apdu.Command{INS: insReadBinary, P1: 0x82, P2: 0x10, Ne: 4}, apdu.SWOK, dg2[16:20]},
		{"B0 SFI CardAccess from MF", Options{}, nil, apdu.Command{INS: insReadBinary, P1: 0x9C, Ne: 4}, apdu.SWOK, icaotest.Unhex(t, cardAccess)[:4]},
		{"B0 extended Le", Options{}, []apdu.Command{sel, selDG2}, apdu.Command{INS: insReadBinary, Ne: 32767}, apdu.SWOK, dg2[:32767]},
		{"B0 wildcard Le at end", Options{}, []apdu.Command{sel, selDG2}, apdu.Command{INS: insReadBinary, P1: 0x7F, P2: 0xFF, Ne: apdu.MaxExtendedLe}, apdu.SWOK, dg2[0x7FFF:]},
		{"B0 end of file", Options{}, []apdu.Command{sel}, apdu.Command{INS: insReadBinary, P1: 0x83, Ne: 10}, apdu.SWEndOfFile, tlv.Encode(0x63, []byte{1, 2, 3})},
		{"B1 offset DO", Options{}, []apdu.Command{sel, selDG2}, apdu.Command{INS: insReadBinaryOdd, Data: []byte{0x54, 0x02, 0x9C, 0x3C}, Ne: 8}, apdu.SWOK, tlv.Encode(0x53, dg2[39996:40000])},
		{"B1 by FID", Options{}, []apdu.Command{sel}, apdu.Command{INS: insReadBinaryOdd, P1: 0x01, P2: 0x02, Data: []byte{0x54, 0x02, 0x80, 0x00}, Ne: 14}, apdu.SWOK, tlv.Encode(0x53, dg2[0x8000:0x800A])},
		{"offset beyond file", Options{}, []apdu.Command{sel}, apdu.Command{INS: insReadBinary, P1: 0x83, P2: 0x20, Ne: 1}, apdu.SWWrongP1P2, nil},
		{"no current EF", Options{}, []apdu.Command{sel}, apdu.Command{INS: insReadBinary, Ne: 1}, apdu.SWCommandNotAllowed, nil},
		{"unknown SFI", Options{}, []apdu.Command{sel}, apdu.Command{INS: insReadBinary, P1: 0x8F, Ne: 1}, apdu.SWFileNotFound, nil},
		{"extended refused when short only", Options{ShortOnly: true}, []apdu.Command{sel, selDG2}, apdu.Command{INS: insReadBinary, Ne: 1000}, apdu.SWWrongLength, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := personalized(t, Options{})
			c.opts.ShortOnly = tc.opts.ShortOnly
			for _, s := range tc.setup {
				ok(t, c, s)
			}
			r := tx(t, c, tc.cmd)
			if r.SW != tc.want || !bytes.Equal(r.Data, tc.data) {
				t.Errorf("SW %04X data %d bytes, want %04X and %d bytes", r.SW, len(r.Data), tc.want, len(tc.data))
			}
		})
	}
}

func TestPersonalizationRefusedAfterLock(t *testing.T) {
	c, _ := personalized(t, Options{})
	ok(t, c, lockCmd())
	cmds := map[string]apdu.Command{
		"create file":   createCmd(0x0105, 10),
		"update binary": {INS: insUpdateBinary, P1: 0x81, Data: []byte{1}},
		"put MRZ key":   {CLA: 0x80, INS: insPutData, P2: TagMRZKey, Data: make([]byte, 20)},
		"put CAN":       {CLA: 0x80, INS: insPutData, P2: TagCAN, Data: []byte("654321")},
		"generate AA":   {INS: insGenerateKeyPair, P1: 0x80, Data: []byte{0x84, 1, KeyRefAA}, Ne: 256},
		"generate CA":   {INS: insGenerateKeyPair, P1: 0x80, Data: []byte{0x84, 1, KeyRefCA}, Ne: 256},
		"lock again":    lockCmd(),
	}
	for name, cmd := range cmds {
		t.Run(name, func(t *testing.T) {
			if got := tx(t, c, cmd).SW; got != apdu.SWConditionsNotSatisfied {
				t.Errorf("SW %04X, want 6985", got)
			}
		})
	}
	t.Run("serial still readable", func(t *testing.T) {
		if got := ok(t, c, apdu.Command{CLA: 0x80, INS: insGetData, P2: TagSerial, Ne: 256}); string(got) != "VN-TEST-0001" {
			t.Errorf("serial %q", got)
		}
	})
	t.Run("lock needs the MRZ key", func(t *testing.T) {
		b := New("X", Options{})
		if got := tx(t, b, lockCmd()).SW; got != apdu.SWConditionsNotSatisfied {
			t.Errorf("SW %04X, want 6985", got)
		}
	})
}

func TestAccessControl(t *testing.T) {
	ctx := context.Background()
	c, _ := personalized(t, Options{})
	ok(t, c, lockCmd())
	ok(t, c, apdu.Command{INS: insSelect, P1: 4, P2: 0x0C, Data: AID})
	if got := tx(t, c, apdu.Command{INS: insReadBinary, P1: 0x9E, Ne: 4}).SW; got != apdu.SWSecurityNotSatisfied {
		t.Fatalf("plain EF.COM read: SW %04X, want 6982", got)
	}
	if got := ok(t, c, apdu.Command{INS: insReadBinary, P1: 0x9C, Ne: 4}); !bytes.Equal(got, icaotest.Unhex(t, cardAccess)[:4]) {
		t.Fatalf("EF.CardAccess in the clear: %X", got)
	}
	ch, err := openBAC(t, c, testMRZInfo)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("EF.COM under BAC", func(t *testing.T) {
		got, err := apdu.Run(ctx, ch, apdu.Command{INS: insReadBinary, P1: 0x9E, Ne: 256})
		if err != nil || !bytes.Equal(got, com) {
			t.Fatalf("got %X, %v", got, err)
		}
	})
	t.Run("DG2 extended under BAC", func(t *testing.T) {
		got, err := apdu.Run(ctx, ch, apdu.Command{INS: insReadBinary, P1: 0x82, Ne: 30000})
		if err != nil || !bytes.Equal(got, dg2[:30000]) {
			t.Fatalf("got %d bytes, %v", len(got), err)
		}
	})
	t.Run("DG3 needs EAC", func(t *testing.T) {
		r, err := ch.Transmit(ctx, apdu.Command{INS: insReadBinary, P1: 0x83, Ne: 4})
		if err != nil || r.SW != apdu.SWSecurityNotSatisfied {
			t.Fatalf("SW %04X, %v; want 6982", r.SW, err)
		}
	})
	t.Run("plain command ends the session", func(t *testing.T) {
		ch, err := openBAC(t, c, testMRZInfo)
		if err != nil {
			t.Fatal(err)
		}
		ok(t, c, apdu.Command{INS: insSelect, P1: 4, P2: 0x0C, Data: AID})
		if r, _ := ch.Transmit(ctx, apdu.Command{INS: insReadBinary, P1: 0x9E, Ne: 4}); r.SW != 0x6882 {
			t.Errorf("SW %04X after the session ended, want 6882", r.SW)
		}
	})
}

func TestSecureMessagingErrors(t *testing.T) {
	c, _ := personalized(t, Options{})
	ok(t, c, lockCmd())
	ok(t, c, apdu.Command{INS: insSelect, P1: 4, P2: 0x0C, Data: AID})
	if _, err := openBAC(t, c, testMRZInfo); err != nil {
		t.Fatal(err)
	}
	// A protected READ BINARY with a forged MAC: 6988 in plain, and the session is gone.
	forged := apdu.Command{CLA: 0x0C, INS: insReadBinary, P1: 0x9E, Data: icaotest.Unhex(t, "9701048E080102030405060708"), Ne: 256}
	if r := tx(t, c, forged); r.SW != apdu.SWSMDataIncorrect || len(r.Data) != 0 {
		t.Fatalf("forged MAC: SW %04X data %X, want plain 6988", r.SW, r.Data)
	}
	if r := tx(t, c, forged); r.SW != 0x6882 {
		t.Fatalf("after the session ended: SW %04X, want 6882", r.SW)
	}
	missing := apdu.Command{CLA: 0x0C, INS: insReadBinary, P1: 0x9E, Data: icaotest.Unhex(t, "970104"), Ne: 256}
	if _, err := openBAC(t, c, testMRZInfo); err != nil {
		t.Fatal(err)
	}
	if r := tx(t, c, missing); r.SW != apdu.SWSMDataMissing {
		t.Fatalf("missing MAC: SW %04X, want 6987", r.SW)
	}
}

func TestSlowDown(t *testing.T) {
	c, slept := personalized(t, Options{})
	ok(t, c, lockCmd())
	for range 3 {
		if _, err := openBAC(t, c, "L898902C<369080619406237"); !errors.Is(err, bac.ErrRejected) {
			t.Fatalf("wrong key: %v, want bac.ErrRejected", err)
		}
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}
	if !equalDurations(*slept, want) {
		t.Fatalf("delays %v, want %v", *slept, want)
	}
	if c.Failures() != 3 {
		t.Fatalf("failures %d, want 3", c.Failures())
	}
	if _, err := openBAC(t, c, testMRZInfo); err != nil {
		t.Fatal(err)
	}
	if c.Failures() != 0 {
		t.Errorf("failures %d after success, want 0", c.Failures())
	}
	t.Run("capped", func(t *testing.T) {
		*slept = nil
		for range 10 {
			openBAC(t, c, "L898902C<369080619406237")
		}
		if last := (*slept)[len(*slept)-1]; last != MaxFailureDelay {
			t.Errorf("last delay %v, want %v", last, MaxFailureDelay)
		}
	})
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFaults(t *testing.T) {
	t.Run("tear leaves a partial write", func(t *testing.T) {
		c := New("T", Options{})
		ok(t, c, createCmd(0x0101, 100))
		c.SetFaults(Faults{TearAfter: 1})
		_, err := Transport{Chip: c}.Transmit(context.Background(), apdu.Command{INS: insUpdateBinary, Data: bytes.Repeat([]byte{0xAA}, 100)})
		if !errors.Is(err, ErrRemoved) {
			t.Fatalf("err %v, want ErrRemoved", err)
		}
		if out := c.Process([]byte{0, 0xA4, 4, 0x0C, 7, 0xA0, 0, 0, 2, 0x47, 0x10, 1}); out != nil {
			t.Fatalf("torn card answered %X", out)
		}
		c.Reset()
		ok(t, c, apdu.Command{INS: insSelect, P1: 4, P2: 0x0C, Data: AID})
		got := ok(t, c, apdu.Command{INS: insReadBinary, P1: 0x81, Ne: 100})
		if !bytes.Equal(got[:50], bytes.Repeat([]byte{0xAA}, 50)) || !bytes.Equal(got[50:], make([]byte, 50)) {
			t.Errorf("file after tear: %X, want 50 bytes AA then zeros", got)
		}
	})
	t.Run("corrupt response", func(t *testing.T) {
		c := New("T", Options{})
		c.SetFaults(Faults{CorruptResponse: 2})
		ok(t, c, apdu.Command{INS: insSelect, P1: 4, P2: 0x0C, Data: AID})
		if r := tx(t, c, apdu.Command{INS: insSelect, P1: 4, P2: 0x0C, Data: AID}); r.SW != 0x9100 {
			t.Errorf("SW %04X, want the corrupted 9100", r.SW)
		}
	})
	t.Run("slow write", func(t *testing.T) {
		c := New("T", Options{})
		var slept []time.Duration
		c.SetSleep(func(d time.Duration) { slept = append(slept, d) })
		c.SetFaults(Faults{SlowWrite: 30 * time.Millisecond})
		ok(t, c, createCmd(0x0101, 10))
		ok(t, c, apdu.Command{INS: insUpdateBinary, Data: []byte{1, 2, 3}})
		if !equalDurations(slept, []time.Duration{30 * time.Millisecond, 30 * time.Millisecond}) {
			t.Errorf("delays %v", slept)
		}
	})
}

func TestGenerateKeyPair(t *testing.T) {
	c := New("K", Options{})
	aa1 := ok(t, c, apdu.Command{INS: insGenerateKeyPair, P1: 0x80, Data: []byte{0x84, 1, KeyRefAA}, Ne: 256})
	pub, err := x509.ParsePKIXPublicKey(aa1)
	if err != nil {
		t.Fatal(err)
	}
	if k, isEC := pub.(*ecdsa.PublicKey); !isEC || k.Curve != elliptic.P256() || !k.Equal(&c.aaKey.PublicKey) {
		t.Fatalf("AA public key %T does not match the chip's key", pub)
	}
	aa2 := ok(t, c, apdu.Command{INS: insGenerateKeyPair, P1: 0x80, Data: []byte{0x84, 1, KeyRefAA}, Ne: 256})
	if bytes.Equal(aa1, aa2) {
		t.Error("second generation returned the same key")
	}
	tests := []struct {
		name  string
		data  []byte
		curve asn1.ObjectIdentifier
	}{
		{"CA default brainpoolP256r1", []byte{0x84, 1, KeyRefCA}, oidBrainpoolP256r1},
		{"CA P-256", append([]byte{0x84, 1, KeyRefCA}, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07), oidP256},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spki := ok(t, c, apdu.Command{INS: insGenerateKeyPair, P1: 0x80, Data: tc.data, Ne: 256})
			var info struct {
				Alg struct{ OID, Curve asn1.ObjectIdentifier }
				Key asn1.BitString
			}
			if _, err := asn1.Unmarshal(spki, &info); err != nil {
				t.Fatal(err)
			}
			curve, _ := curveOf(tc.curve)
			x, y := elliptic.Unmarshal(curve, info.Key.Bytes) //nolint:staticcheck // the curve may be Brainpool
			if !info.Alg.Curve.Equal(tc.curve) || x == nil || !bytes.Equal(info.Key.Bytes, c.caKey.public()) || !curve.IsOnCurve(x, y) {
				t.Errorf("CA key: curve %v point %X", info.Alg.Curve, info.Key.Bytes)
			}
		})
	}
	if got := tx(t, c, apdu.Command{INS: insGenerateKeyPair, P1: 0x80, Data: []byte{0x84, 1, 9}, Ne: 256}).SW; got != apdu.SWRefDataNotFound {
		t.Errorf("unknown key reference: SW %04X", got)
	}
}
