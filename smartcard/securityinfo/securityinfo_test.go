package securityinfo

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"testing"

	"github.com/osanderson/brainpool"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/cccd-project/cccd/smartcard/bp256"
	"github.com/cccd-project/cccd/smartcard/icaotest"
	"github.com/cccd-project/cccd/smartcard/sm"
)

// cardAccessG1 is EF.CardAccess of the PACE worked example, ICAO 9303-11 appendix G.1.
const cardAccessG1 = "31143012060A04007F0007020204020202010202010D"

func TestCardAccessWorkedExample(t *testing.T) {
	infos, err := Parse(icaotest.Unhex(t, cardAccessG1))
	if err != nil {
		t.Fatal(err)
	}
	want := SecurityInfos{&PACEInfo{Protocol: OIDPACEECDHGMAES128, Version: 2, ParameterID: ParamBrainpoolP256r1, HasParameterID: true}}
	if !reflect.DeepEqual(infos, want) {
		t.Fatalf("Parse = %#v, want %#v", infos[0], want[0])
	}
	out, err := infos.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, icaotest.Unhex(t, cardAccessG1)) {
		t.Fatalf("Marshal = %X, want %s", out, cardAccessG1)
	}
}

func mustSPKI(t testing.TB, curve elliptic.Curve) ([]byte, *big.Int, *big.Int) {
	t.Helper()
	_, x, y, err := elliptic.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := MarshalECPublicKey(curve, x, y)
	if err != nil {
		t.Fatal(err)
	}
	return spki, x, y
}

func TestRoundTrip(t *testing.T) {
	bpKey, _, _ := mustSPKI(t, brainpool.P256r1())
	p256Key, _, _ := mustSPKI(t, elliptic.P256())
	// PACEDomainParameterInfo-shaped: id-PACE-ECDH-GM with an AlgorithmIdentifier-like SEQUENCE.
	unknown := icaotest.Unhex(t, "3010060904007F000702020402300302010D")
	tests := []struct {
		name  string
		infos SecurityInfos
	}{
		{"vietnamese card access", SecurityInfos{
			&PACEInfo{Protocol: OIDPACEECDHGMAES128, Version: 2, ParameterID: ParamBrainpoolP256r1, HasParameterID: true},
			&ChipAuthenticationInfo{Protocol: OIDCAECDHAES128, Version: 1},
			&TerminalAuthenticationInfo{Version: 1},
		}},
		{"dg14 brainpool", SecurityInfos{
			&ChipAuthenticationInfo{Protocol: OIDCAECDHAES128, Version: 1, KeyID: 1, HasKeyID: true},
			&ChipAuthenticationPublicKeyInfo{Protocol: OIDPKECDH, PublicKey: bpKey, KeyID: 1, HasKeyID: true},
			&PACEInfo{Protocol: OIDPACEECDHGMAES256, Version: 2, ParameterID: ParamP256, HasParameterID: true},
			&ActiveAuthenticationInfo{Version: 1, SignatureAlgorithm: OIDECDSAPlainSHA256},
			&TerminalAuthenticationInfo{Version: 1, EFCVCA: icaotest.Unhex(t, "30040402011C")},
		}},
		{"p256 key without keyId, 3des", SecurityInfos{
			&ChipAuthenticationInfo{Protocol: OIDCAECDH3DES, Version: 1},
			&ChipAuthenticationPublicKeyInfo{Protocol: OIDPKECDH, PublicKey: p256Key},
			&PACEInfo{Protocol: OIDPACEECDHGM3DES, Version: 2},
		}},
		{"unknown kept raw", SecurityInfos{
			&UnknownInfo{Protocol: OIDPACEECDHGM, Raw: unknown},
			&PACEInfo{Protocol: OIDPACEECDHGMAES192, Version: 2, ParameterID: ParamBrainpoolP256r1, HasParameterID: true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der, err := tc.infos.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.infos) {
				t.Fatalf("parsed %d infos, want %d", len(got), len(tc.infos))
			}
			for _, want := range tc.infos {
				found := false
				for _, g := range got {
					found = found || reflect.DeepEqual(g, want)
				}
				if !found {
					t.Errorf("%#v missing after round trip", want)
				}
			}
			again, err := got.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, der) {
				t.Fatalf("second Marshal differs:\n%X\n%X", again, der)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	bpKey, x, y := mustSPKI(t, brainpool.P256r1())
	infos := SecurityInfos{
		&PACEInfo{Protocol: OIDPACEECDHGMAES128, Version: 2, ParameterID: ParamBrainpoolP256r1, HasParameterID: true},
		&ChipAuthenticationInfo{Protocol: OIDCAECDHAES128, Version: 1},
		&ChipAuthenticationPublicKeyInfo{Protocol: OIDPKECDH, PublicKey: bpKey},
		&ActiveAuthenticationInfo{Version: 1, SignatureAlgorithm: OIDECDSAPlainSHA256},
		&TerminalAuthenticationInfo{Version: 1},
	}
	if n := len(infos.PACE()); n != 1 {
		t.Errorf("PACE() has %d infos", n)
	}
	if n := len(infos.ChipAuthentication()); n != 1 {
		t.Errorf("ChipAuthentication() has %d infos", n)
	}
	if infos.ActiveAuthentication() == nil || infos.TerminalAuthentication() == nil {
		t.Error("ActiveAuthentication or TerminalAuthentication missing")
	}
	pk := infos.ChipAuthenticationPublicKeys()
	if len(pk) != 1 {
		t.Fatalf("ChipAuthenticationPublicKeys() has %d infos", len(pk))
	}
	curve, gx, gy, err := pk[0].ECPublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if curve != bp256.P256r1() || gx.Cmp(x) != 0 || gy.Cmp(y) != 0 {
		t.Fatal("ECPublicKey does not return the encoded key")
	}
	if (SecurityInfos{}).ActiveAuthentication() != nil {
		t.Error("ActiveAuthentication of an empty set is not nil")
	}
}

func TestMarshalECPublicKeyMatchesX509(t *testing.T) {
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		t.Run(curve.Params().Name, func(t *testing.T) {
			k, err := ecdsa.GenerateKey(curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			want, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			x, y := pubXY(t, &k.PublicKey)
			got, err := MarshalECPublicKey(curve, x, y)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("MarshalECPublicKey\n got %X\nwant %X", got, want)
			}
		})
	}
}

func pubXY(t testing.TB, k *ecdsa.PublicKey) (*big.Int, *big.Int) {
	t.Helper()
	b, err := k.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	n := (len(b) - 1) / 2
	return new(big.Int).SetBytes(b[1 : 1+n]), new(big.Int).SetBytes(b[1+n:])
}

// explicitSPKI builds a SubjectPublicKeyInfo with explicit ECParameters (as German and many
// other chips write DG14), using algorithm alg.
func explicitSPKI(t testing.TB, curve elliptic.Curve, a []byte, x, y *big.Int, alg asn1.ObjectIdentifier) []byte {
	t.Helper()
	p := curve.Params()
	n := (p.BitSize + 7) / 8
	fill := func(v *big.Int) []byte { return v.FillBytes(make([]byte, n)) }
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(alg)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(OIDPrimeField)
					b.AddASN1BigInt(p.P)
				})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1OctetString(a)
					b.AddASN1OctetString(make([]byte, n)) // b is not checked
				})
				b.AddASN1OctetString(append(append([]byte{4}, fill(p.Gx)...), fill(p.Gy)...))
				b.AddASN1BigInt(p.N)
				b.AddASN1Int64(1)
			})
		})
		b.AddASN1BitString(append(append([]byte{4}, fill(x)...), fill(y)...))
	})
	out, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseECPublicKey(t *testing.T) {
	bp := bp256.P256r1()
	bpA := icaotest.Unhex(t, "7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9")
	_, x, y, err := elliptic.GenerateKey(bp, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	named, err := MarshalECPublicKey(bp, x, y)
	if err != nil {
		t.Fatal(err)
	}
	offCurve := append([]byte(nil), named...)
	offCurve[len(offCurve)-1] ^= 1
	tests := []struct {
		name    string
		spki    []byte
		wantErr bool
	}{
		{"named brainpoolP256r1", named, false},
		{"explicit id-ecPublicKey", explicitSPKI(t, bp, bpA, x, y, OIDECPublicKey), false},
		{"explicit id-PK-ECDH", explicitSPKI(t, bp, bpA, x, y, OIDPKECDH), false},
		{"point off curve", offCurve, true},
		{"truncated", named[:len(named)-3], true},
		{"rsa algorithm", icaotest.Unhex(t, "300D06092A864886F70D0101010500"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, gx, gy, err := ParseECPublicKey(tc.spki)
			if tc.wantErr {
				if err == nil {
					t.Fatal("ParseECPublicKey accepted bad input")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c != bp || gx.Cmp(x) != 0 || gy.Cmp(y) != 0 {
				t.Fatalf("got curve %s and another point", c.Params().Name)
			}
		})
	}
	t.Run("named curve OID bytes", func(t *testing.T) {
		// AlgorithmIdentifier { id-ecPublicKey, brainpoolP256r1 }
		want := icaotest.Unhex(t, "301406072A8648CE3D020106092B2403030208010107")
		if !bytes.Contains(named, want) {
			t.Fatalf("SPKI %X lacks AlgorithmIdentifier %X", named, want)
		}
	})
	t.Run("unknown curve", func(t *testing.T) {
		if _, err := MarshalECPublicKey(brainpool.P256t1(), x, y); err == nil {
			t.Fatal("MarshalECPublicKey accepted brainpoolP256t1")
		}
	})
}

func TestStandardCurve(t *testing.T) {
	tests := []struct {
		id   int
		want elliptic.Curve
		oid  asn1.ObjectIdentifier
	}{
		{ParamP256, elliptic.P256(), OIDCurveP256},
		{ParamBrainpoolP256r1, bp256.P256r1(), OIDCurveBrainpoolP256},
		{ParamP384, elliptic.P384(), OIDCurveP384},
		{ParamBrainpoolP512r1, brainpool.P512r1(), OIDCurveBrainpoolP512},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.id), func(t *testing.T) {
			c, err := StandardCurve(tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if c != tc.want {
				t.Fatalf("StandardCurve(%d) = %s", tc.id, c.Params().Name)
			}
			id, err := StandardParamID(c)
			if err != nil || id != tc.id {
				t.Fatalf("StandardParamID = %d, %v", id, err)
			}
			oid, err := CurveOID(c)
			if err != nil || !oid.Equal(tc.oid) {
				t.Fatalf("CurveOID = %s, %v", oid, err)
			}
		})
	}
	t.Run("generic brainpoolP256r1 recognised by its parameters", func(t *testing.T) {
		id, err := StandardParamID(brainpool.P256r1())
		if err != nil || id != ParamBrainpoolP256r1 {
			t.Fatalf("StandardParamID(generic) = %d, %v", id, err)
		}
		oid, err := CurveOID(brainpool.P256r1())
		if err != nil || !oid.Equal(OIDCurveBrainpoolP256) {
			t.Fatalf("CurveOID(generic) = %s, %v", oid, err)
		}
	})
	if _, err := StandardCurve(2); err == nil {
		t.Fatal("StandardCurve(2) (MODP group) did not fail")
	}
}

func TestProtocolCipher(t *testing.T) {
	tests := []struct {
		oid  asn1.ObjectIdentifier
		c    sm.Cipher
		bits int
	}{
		{OIDPACEECDHGMAES128, sm.AES, 128},
		{OIDPACEECDHGMAES192, sm.AES, 192},
		{OIDPACEECDHGMAES256, sm.AES, 256},
		{OIDPACEECDHGM3DES, sm.TDES, 112},
		{OIDCAECDHAES128, sm.AES, 128},
		{OIDCAECDH3DES, sm.TDES, 112},
		{OIDPACEECDHCAMAES128, sm.AES, 128},
	}
	for _, tc := range tests {
		t.Run(tc.oid.String(), func(t *testing.T) {
			c, bits, err := ProtocolCipher(tc.oid)
			if err != nil || c != tc.c || bits != tc.bits {
				t.Fatalf("ProtocolCipher = %v %d %v, want %v %d", c, bits, err, tc.c, tc.bits)
			}
		})
	}
	for _, bad := range []asn1.ObjectIdentifier{OIDPACEECDHGM, OIDAA, {0, 4, 0, 127, 0, 7, 2, 2, 4, 2, 9}} {
		if _, _, err := ProtocolCipher(bad); err == nil {
			t.Errorf("ProtocolCipher(%s) did not fail", bad)
		}
	}
}

func TestSignatureHash(t *testing.T) {
	if h, err := SignatureHash(OIDECDSAPlainSHA256); err != nil || h.String() != "SHA-256" {
		t.Fatalf("SignatureHash(ecdsa-plain-SHA256) = %v, %v", h, err)
	}
	if _, err := SignatureHash(OIDAA); err == nil {
		t.Fatal("SignatureHash(id-AA) did not fail")
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ name, der string }{
		{"empty", ""},
		{"sequence not set", "30143012060A04007F0007020204020202010202010D"},
		{"trailing", cardAccessG1 + "00"},
		{"truncated", cardAccessG1[:len(cardAccessG1)-2]},
		{"element not sequence", "3103020101"},
		{"pace without version", "310E300C060A04007F00070202040202"},
		{"pace version not integer", "3111300F060A04007F000702020402020C0132"},
		{"pace trailing", "31173015060A04007F0007020204020202010202010D020100"},
		{"aa without algorithm", "310D300B0606678108010105020101"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der, err := hex.DecodeString(tc.der)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(der); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse = %v, want ErrMalformed", err)
			}
		})
	}
}

func ExampleSecurityInfos_Marshal() {
	cardAccess := SecurityInfos{&PACEInfo{
		Protocol:       OIDPACEECDHGMAES128,
		Version:        2,
		ParameterID:    ParamBrainpoolP256r1,
		HasParameterID: true,
	}}
	der, err := cardAccess.Marshal()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%X\n", der)
	// Output: 31143012060A04007F0007020204020202010202010D
}

func FuzzParse(f *testing.F) {
	f.Add(icaotest.Unhex(f, cardAccessG1))
	infos := SecurityInfos{
		&PACEInfo{Protocol: OIDPACEECDHGMAES128, Version: 2, ParameterID: ParamBrainpoolP256r1, HasParameterID: true},
		&ChipAuthenticationInfo{Protocol: OIDCAECDHAES128, Version: 1, KeyID: 1, HasKeyID: true},
		&ActiveAuthenticationInfo{Version: 1, SignatureAlgorithm: OIDECDSAPlainSHA256},
		&TerminalAuthenticationInfo{Version: 1},
	}
	if spki, _, _ := mustSPKI(f, brainpool.P256r1()); spki != nil {
		infos = append(infos, &ChipAuthenticationPublicKeyInfo{Protocol: OIDPKECDH, PublicKey: spki})
	}
	der, err := infos.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	for _, dg := range realDG14 {
		f.Add(icaotest.Unhex(f, dg.hex)[4:]) // without the 6E 82 xx xx wrapper
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Parse(b)
		if err != nil {
			return
		}
		out, err := got.Marshal()
		if err != nil {
			t.Fatalf("parsed infos do not marshal: %v", err)
		}
		again, err := Parse(out)
		if err != nil || len(again) != len(got) {
			t.Fatalf("re-parse of marshalled infos: %d infos, %v", len(again), err)
		}
		for _, pk := range got.ChipAuthenticationPublicKeys() {
			_, _, _, _ = pk.ECPublicKey()
		}
	})
}

func FuzzParseECPublicKey(f *testing.F) {
	spki, x, y := mustSPKI(f, brainpool.P256r1())
	f.Add(spki)
	f.Add(explicitSPKI(f, brainpool.P256r1(), icaotest.Unhex(f, "7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9"), x, y, OIDPKECDH))
	p256, _, _ := mustSPKI(f, elliptic.P256())
	f.Add(p256)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, x, y, err := ParseECPublicKey(b)
		if err == nil && !c.IsOnCurve(x, y) {
			t.Fatal("accepted a point off the curve")
		}
	})
}
