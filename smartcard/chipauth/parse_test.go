package chipauth

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/osanderson/brainpool"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/bp256"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/sm"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// A point on brainpoolP256r1 (PK_DH,IC of ICAO 9303-11 appendix G.1) used as sample data.
const samplePoint = "04" + "9E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB" +
	"7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094"

func TestParseSetKAT(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		point string
		keyID int
		fails bool
	}{
		{name: "point only", data: "9141" + samplePoint, point: samplePoint, keyID: -1},
		{name: "point and key id", data: "9141" + samplePoint + "840101", point: samplePoint, keyID: 1},
		{name: "two-byte key id first", data: "84020102" + "9141" + samplePoint, point: samplePoint, keyID: 0x102},
		{name: "missing point", data: "840101", fails: true},
		{name: "empty point", data: "9100", fails: true},
		{name: "repeated point", data: "9101AA9101AA", fails: true},
		{name: "unknown tag", data: "9101AA8001AA", fails: true},
		{name: "key id too long", data: "9101AA840501020304 05", fails: true},
		{name: "empty key id", data: "9101AA8400", fails: true},
		{name: "truncated", data: "9141" + samplePoint[:20], fails: true},
		{name: "empty", data: "", fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			point, id, err := ParseSetKAT(unhex(tt.data))
			if tt.fails {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil || !bytes.Equal(point, unhex(tt.point)) || id != tt.keyID {
				t.Fatalf("ParseSetKAT = %X, %d, %v; want %s, %d", point, id, err, tt.point, tt.keyID)
			}
		})
	}
}

func TestParseSetAT(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		oid   asn1.ObjectIdentifier
		keyID int
		fails bool
	}{
		{name: "AES-128", data: "800A04007F00070202030202", oid: securityinfo.OIDCAECDHAES128, keyID: -1},
		{name: "with key id", data: "800A04007F00070202030204840109", oid: securityinfo.OIDCAECDHAES256, keyID: 9},
		{name: "missing oid", data: "840101", fails: true},
		{name: "bad oid", data: "800280", fails: true},
		{name: "unknown tag", data: "800A04007F000702020302029101AA", fails: true},
		{name: "truncated", data: "800A04007F", fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oid, id, err := ParseSetAT(unhex(tt.data))
			if tt.fails {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil || !oid.Equal(tt.oid) || id != tt.keyID {
				t.Fatalf("ParseSetAT = %s, %d, %v; want %s, %d", oid, id, err, tt.oid, tt.keyID)
			}
			// The terminal's encoder produces the same bytes.
			enc, err := setATData(tt.oid, tt.keyID)
			if err != nil || !bytes.Equal(enc, unhex(tt.data)) {
				t.Errorf("setATData = %X, %v; want %s", enc, err, tt.data)
			}
		})
	}
}

func TestParseGeneralAuthenticate(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		fails bool
	}{
		{name: "point", data: "7C438041" + samplePoint},
		{name: "empty 7C", data: "7C00", fails: true},
		{name: "wrong outer tag", data: "7D438041" + samplePoint, fails: true},
		{name: "wrong inner tag", data: "7C438141" + samplePoint, fails: true},
		{name: "trailing", data: "7C438041" + samplePoint + "00", fails: true},
		{name: "empty", data: "", fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			point, err := ParseGeneralAuthenticate(unhex(tt.data))
			if tt.fails {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil || !bytes.Equal(point, unhex(samplePoint)) {
				t.Fatalf("ParseGeneralAuthenticate = %X, %v", point, err)
			}
			if enc := gaData(point); !bytes.Equal(enc, unhex(tt.data)) {
				t.Errorf("gaData = %X, want %s", enc, tt.data)
			}
		})
	}
}

func TestAgreeErrors(t *testing.T) {
	bp := brainpool.P256r1()
	n := bp.Params().N.Bytes()
	tests := []struct {
		name  string
		priv  []byte
		curve elliptic.Curve
		point string
		c     sm.Cipher
		bits  int
		want  error
	}{
		{"zero key", []byte{0}, bp, samplePoint, sm.AES, 128, nil},
		{"key equal to order", n, bp, samplePoint, sm.AES, 128, nil},
		{"point on another curve", []byte{7}, elliptic.P256(), samplePoint, sm.AES, 128, ErrMalformed},
		{"point off the curve", []byte{7}, bp, samplePoint[:len(samplePoint)-2] + "95", sm.AES, 128, ErrMalformed},
		{"compressed point", []byte{7}, bp, "02" + samplePoint[2:66], sm.AES, 128, ErrMalformed},
		{"AES-512", []byte{7}, bp, samplePoint, sm.AES, 512, ErrUnsupported},
		{"no curve", []byte{7}, nil, samplePoint, sm.AES, 128, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Agree(tt.priv, tt.curve, unhex(tt.point), tt.c, tt.bits)
			if err == nil || s != nil {
				t.Fatalf("Agree = %v, %v; want an error", s, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestBothSidesAgree checks that Agree (chip) and Authenticate (terminal) derive the same
// keys by comparing how both sessions protect the same command.
func TestBothSidesAgree(t *testing.T) {
	for _, c := range curves {
		t.Run(c.name, func(t *testing.T) {
			pr := newPair(t, c.curve, 70)
			info := securityinfo.ChipAuthenticationInfo{Protocol: securityinfo.OIDCAECDHAES256, Version: 1}
			res, err := Authenticate(context.Background(), pr.terminal, info, pr.key, seeded(71))
			if err != nil {
				t.Fatal(err)
			}
			chipSession, err := Agree(pr.chip.priv, c.curve, res.TerminalEphemeralPublic, sm.AES, 256)
			if err != nil {
				t.Fatal(err)
			}
			cmd := apdu.Command{INS: 0xB0, Ne: 0x20}
			a, err := res.Session.ProtectCommand(cmd)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := chipSession.UnprotectCommand(a); err != nil {
				t.Fatalf("chip cannot unprotect the terminal's command: %v", err)
			}
		})
	}
}

// RFC 7027 appendix A.1: ECDH on brainpoolP256r1 with known keys. Here dA is the chip's
// static Chip Authentication key and dB the terminal's ephemeral key.
var rfc7027 = struct{ dA, qA, dB, qB, z string }{
	dA: "81DB1EE100150FF2EA338D708271BE38300CB54241D79950F77B063039804F1D",
	qA: "04" + "44106E913F92BC02A1705D9953A8414DB95E1AAA49E81D9E85F929A8E3100BE5" +
		"8AB4846F11CACCB73CE49CBDD120F5A900A69FD32C272223F789EF10EB089BDC",
	dB: "55E40BC41E37E3E2AD25C3C6654511FFA8474A91A0032087593852D3E7D76BD3",
	qB: "04" + "8D2D688C6CF93E1160AD04CC4429117DC2C41825E1E9FCA0ADDD34E6F1B39F7B" +
		"990C57520812BE512641E47034832106BC7D3E8DD0E4C7F1136D7006547CEC6A",
	z: "89AFC39D41D3B327814B80940B042590F96556EC91E6AE7939BCE31F3A18BF2B",
}

func TestRFC7027KnownAnswer(t *testing.T) {
	c := brainpool.P256r1()
	want, err := sm.NewSession(sm.AES, sm.KDF(unhex(rfc7027.z), sm.AES, 128, sm.KDFEnc),
		sm.KDF(unhex(rfc7027.z), sm.AES, 128, sm.KDFMAC), make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	cmd := apdu.Command{INS: 0xB0, P1: 0x81, Ne: 4}
	wantCmd, err := want.ProtectCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	sameAsZ := func(t *testing.T, s *sm.Session) {
		t.Helper()
		got, err := s.ProtectCommand(cmd)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := got.Bytes()
		b, _ := wantCmd.Bytes()
		if !bytes.Equal(a, b) {
			t.Errorf("session protects READ BINARY as %X, keys from Z give %X", a, b)
		}
	}
	t.Run("chip Agree", func(t *testing.T) {
		s, err := Agree(unhex(rfc7027.dA), c, unhex(rfc7027.qB), sm.AES, 128)
		if err != nil {
			t.Fatal(err)
		}
		sameAsZ(t, s)
	})
	t.Run("terminal Authenticate", func(t *testing.T) {
		x, y, err := unmarshalPoint(c, unhex(rfc7027.qA))
		if err != nil {
			t.Fatal(err)
		}
		pr := newPair(t, c, 90)
		pr.chip.priv = unhex(rfc7027.dA)
		info := securityinfo.ChipAuthenticationInfo{Protocol: securityinfo.OIDCAECDHAES128, Version: 1}
		res, err := Authenticate(context.Background(), pr.terminal, info, PublicKey{Curve: c, X: x, Y: y}, bytes.NewReader(unhex(rfc7027.dB)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(res.TerminalEphemeralPublic, unhex(rfc7027.qB)) {
			t.Errorf("ephemeral key = %X, want %s", res.TerminalEphemeralPublic, rfc7027.qB)
		}
		point, err := ParseGeneralAuthenticate(pr.chip.plain[1].Data)
		if err != nil || !bytes.Equal(point, unhex(rfc7027.qB)) {
			t.Errorf("GENERAL AUTHENTICATE carried %X, %v; want %s", point, err, rfc7027.qB)
		}
		sameAsZ(t, res.Session)
	})
}

func TestPublicKeyFromInfo(t *testing.T) {
	c := bp256.P256r1()
	x, y, err := unmarshalPoint(c, unhex(rfc7027.qA))
	if err != nil {
		t.Fatal(err)
	}
	spki, err := securityinfo.MarshalECPublicKey(c, x, y)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("valid", func(t *testing.T) {
		k, err := PublicKeyFromInfo(&securityinfo.ChipAuthenticationPublicKeyInfo{Protocol: securityinfo.OIDPKECDH, PublicKey: spki})
		if err != nil {
			t.Fatal(err)
		}
		if k.X.Cmp(x) != 0 || k.Y.Cmp(y) != 0 || k.Curve.Params().Name != c.Params().Name {
			t.Errorf("PublicKeyFromInfo = %v, want the RFC 7027 key", k)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		_, err := PublicKeyFromInfo(&securityinfo.ChipAuthenticationPublicKeyInfo{PublicKey: []byte{0x30, 0x00}})
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error = %v, want ErrMalformed", err)
		}
	})
	t.Run("nil", func(t *testing.T) {
		if _, err := PublicKeyFromInfo(nil); !errors.Is(err, ErrMalformed) {
			t.Fatalf("error = %v, want ErrMalformed", err)
		}
	})
}
