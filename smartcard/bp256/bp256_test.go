package bp256_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/osanderson/brainpool"

	"github.com/cccd-project/cccd/smartcard/bp256"
)

// fast is the curve under test; generic is the reference, github.com/osanderson/brainpool
// over crypto/elliptic's generic big.Int arithmetic.
var (
	fast    = bp256.P256r1()
	generic = brainpool.P256r1()
	params  = fast.Params()
)

func hexInt(t testing.TB, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 16)
	if !ok {
		t.Fatalf("bad hex %q", s)
	}
	return v
}

// TestRFC7027 checks the brainpoolP256r1 ECDH test vector of RFC 7027 Appendix A.1.
func TestRFC7027(t *testing.T) {
	dA := hexInt(t, "81DB1EE100150FF2EA338D708271BE38300CB54241D79950F77B063039804F1D")
	dB := hexInt(t, "55E40BC41E37E3E2AD25C3C6654511FFA8474A91A0032087593852D3E7D76BD3")
	xA := hexInt(t, "44106E913F92BC02A1705D9953A8414DB95E1AAA49E81D9E85F929A8E3100BE5")
	yA := hexInt(t, "8AB4846F11CACCB73CE49CBDD120F5A900A69FD32C272223F789EF10EB089BDC")
	xB := hexInt(t, "8D2D688C6CF93E1160AD04CC4429117DC2C41825E1E9FCA0ADDD34E6F1B39F7B")
	yB := hexInt(t, "990C57520812BE512641E47034832106BC7D3E8DD0E4C7F1136D7006547CEC6A")
	xZ := hexInt(t, "89AFC39D41D3B327814B80940B042590F96556EC91E6AE7939BCE31F3A18BF2B")
	yZ := hexInt(t, "49C27868F4ECA2179BFD7D59B1E3BF34C1DBDE61AE12931648F43E59632504DE")
	check := func(t *testing.T, what string, gx, gy, wx, wy *big.Int) {
		t.Helper()
		if gx.Cmp(wx) != 0 || gy.Cmp(wy) != 0 {
			t.Fatalf("%s = (%X, %X), want (%X, %X)", what, gx, gy, wx, wy)
		}
	}
	t.Run("qA = dA·G", func(t *testing.T) {
		x, y := fast.ScalarBaseMult(dA.Bytes())
		check(t, "qA", x, y, xA, yA)
		x, y = fast.ScalarMult(params.Gx, params.Gy, dA.Bytes())
		check(t, "ScalarMult(G, dA)", x, y, xA, yA)
	})
	t.Run("qB = dB·G", func(t *testing.T) {
		x, y := fast.ScalarBaseMult(dB.Bytes())
		check(t, "qB", x, y, xB, yB)
	})
	t.Run("Z = dA·qB", func(t *testing.T) {
		x, y := fast.ScalarMult(xB, yB, dA.Bytes())
		check(t, "dA·qB", x, y, xZ, yZ)
	})
	t.Run("Z = dB·qA", func(t *testing.T) {
		x, y := fast.ScalarMult(xA, yA, dB.Bytes())
		check(t, "dB·qA", x, y, xZ, yZ)
	})
	t.Run("points on curve", func(t *testing.T) {
		for _, p := range [][2]*big.Int{{xA, yA}, {xB, yB}, {xZ, yZ}} {
			if !fast.IsOnCurve(p[0], p[1]) {
				t.Fatalf("(%X, %X) not on curve", p[0], p[1])
			}
		}
	})
}

func TestParams(t *testing.T) {
	g := generic.Params()
	tests := []struct {
		name      string
		got, want *big.Int
	}{
		{"P", params.P, g.P},
		{"N", params.N, g.N},
		{"Gx", params.Gx, g.Gx},
		{"Gy", params.Gy, g.Gy},
		{"B", params.B, hexInt(t, "26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got.Cmp(tc.want) != 0 {
				t.Fatalf("%s = %X, want %X", tc.name, tc.got, tc.want)
			}
		})
	}
	if params.BitSize != 256 || params.Name != "brainpoolP256r1" {
		t.Fatalf("BitSize %d, Name %q", params.BitSize, params.Name)
	}
	if bp256.P256r1() != fast {
		t.Fatal("P256r1 returns different values")
	}
	if !fast.IsOnCurve(params.Gx, params.Gy) {
		t.Fatal("G not on curve")
	}
}

// edgeScalars are scalars around 0, the window size and n, of several lengths.
func edgeScalars() map[string][]byte {
	n := params.N
	add := func(v int64) []byte { return new(big.Int).Add(n, big.NewInt(v)).Bytes() }
	pad := func(b []byte, size int) []byte { return append(make([]byte, size-len(b)), b...) }
	allF := bytes.Repeat([]byte{0xFF}, 32)
	nibbles := bytes.Repeat([]byte{0xF0}, 32)
	return map[string][]byte{
		"empty":                 {},
		"0":                     {0},
		"32 zero bytes":         make([]byte, 32),
		"1":                     {1},
		"1 in 32 bytes":         pad([]byte{1}, 32),
		"2":                     {2},
		"15":                    {15},
		"16":                    {16},
		"17":                    {17},
		"n-1":                   add(-1),
		"n-2":                   add(-2),
		"(n-1)/2":               new(big.Int).Rsh(n, 1).Bytes(),
		"n":                     n.Bytes(),
		"n+1":                   add(1),
		"n+15":                  add(15),
		"2^256-1 (> n)":         allF,
		"F0 nibbles":            nibbles,
		"2^255":                 new(big.Int).Lsh(big.NewInt(1), 255).Bytes(),
		"33 bytes 00||(n-1)":    pad(add(-1), 33),
		"33 bytes (n-1)||00":    append(add(-1), 0),
		"33 bytes all FF":       bytes.Repeat([]byte{0xFF}, 33),
		"64 bytes n·n+5":        new(big.Int).Add(new(big.Int).Mul(n, n), big.NewInt(5)).Bytes(),
		"2n":                    new(big.Int).Lsh(n, 1).Bytes(),
		"leading zeros 00..7F1": pad([]byte{0x7F, 0x01}, 32),
		// Unreduced, 22·2^252 - n makes the last table addition of ScalarBaseMult a
		// doubling (a·G + 11·2^252·G with a = 11·2^252 - n): it checks the reduction.
		"22·2^252 - n": new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(22), 252), n).Bytes(),
	}
}

func randomScalar(rng *rand.Rand) []byte {
	size := 32
	switch rng.IntN(8) {
	case 0:
		size = 1 + rng.IntN(31) // short
	case 1:
		size = 33 + rng.IntN(8) // long
	}
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	if rng.IntN(4) == 0 && size >= 4 {
		clear(b[:1+rng.IntN(3)]) // leading zero bytes
	}
	return b
}

func samePoint(x1, y1, x2, y2 *big.Int) bool { return x1.Cmp(x2) == 0 && y1.Cmp(y2) == 0 }

func TestScalarBaseMultMatchesGeneric(t *testing.T) {
	for name, k := range edgeScalars() {
		t.Run(name, func(t *testing.T) {
			x, y := fast.ScalarBaseMult(k)
			wx, wy := generic.ScalarBaseMult(k)
			if !samePoint(x, y, wx, wy) {
				t.Fatalf("ScalarBaseMult(%X) = (%X, %X), generic (%X, %X)", k, x, y, wx, wy)
			}
		})
	}
	t.Run("random", func(t *testing.T) {
		rng := rand.New(rand.NewChaCha8([32]byte{'s', 'b', 'm'}))
		for range iterations(1000) {
			k := randomScalar(rng)
			x, y := fast.ScalarBaseMult(k)
			wx, wy := generic.ScalarBaseMult(k)
			if !samePoint(x, y, wx, wy) {
				t.Fatalf("ScalarBaseMult(%X) = (%X, %X), generic (%X, %X)", k, x, y, wx, wy)
			}
		}
	})
}

// iterations returns n, or n/10 under -short.
func iterations(n int) int {
	if testing.Short() {
		return n / 10
	}
	return n
}

func TestScalarMultMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'s', 'm'}))
	px, py := generic.ScalarBaseMult(randomScalar(rng))
	points := map[string][2]*big.Int{
		"G":      {params.Gx, params.Gy},
		"random": {px, py},
	}
	for pname, p := range points {
		for name, k := range edgeScalars() {
			t.Run(pname+"/"+name, func(t *testing.T) {
				x, y := fast.ScalarMult(p[0], p[1], k)
				wx, wy := generic.ScalarMult(p[0], p[1], k)
				if !samePoint(x, y, wx, wy) {
					t.Fatalf("ScalarMult(%X) = (%X, %X), generic (%X, %X)", k, x, y, wx, wy)
				}
			})
		}
	}
	t.Run("random points and scalars", func(t *testing.T) {
		for range iterations(500) {
			px, py := generic.ScalarBaseMult(randomScalar(rng))
			k := randomScalar(rng)
			x, y := fast.ScalarMult(px, py, k)
			wx, wy := generic.ScalarMult(px, py, k)
			if !samePoint(x, y, wx, wy) {
				t.Fatalf("ScalarMult((%X, %X), %X) = (%X, %X), generic (%X, %X)", px, py, k, x, y, wx, wy)
			}
		}
	})
	t.Run("point at infinity", func(t *testing.T) {
		x, y := fast.ScalarMult(new(big.Int), new(big.Int), []byte{5})
		if x.Sign() != 0 || y.Sign() != 0 {
			t.Fatalf("5·O = (%X, %X), want (0, 0)", x, y)
		}
	})
}

// TestBaseTableMatchesWindow checks the precomputed base-point table against the
// windowed ScalarMult on G for many scalars (both fast, so it can run thousands).
func TestBaseTableMatchesWindow(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'t', 'b', 'l'}))
	for range iterations(5000) {
		k := randomScalar(rng)
		x, y := fast.ScalarBaseMult(k)
		wx, wy := fast.ScalarMult(params.Gx, params.Gy, k)
		if !samePoint(x, y, wx, wy) {
			t.Fatalf("ScalarBaseMult(%X) = (%X, %X), ScalarMult(G) (%X, %X)", k, x, y, wx, wy)
		}
	}
}

func TestAddDouble(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'a', 'd', 'd'}))
	px, py := generic.ScalarBaseMult(randomScalar(rng))
	qx, qy := generic.ScalarBaseMult(randomScalar(rng))
	negY := new(big.Int).Sub(params.P, py)
	zero := new(big.Int)
	tests := []struct {
		name           string
		x1, y1, x2, y2 *big.Int
	}{
		{"P+Q", px, py, qx, qy},
		{"Q+P", qx, qy, px, py},
		{"P+P", px, py, px, py},
		{"G+G", params.Gx, params.Gy, params.Gx, params.Gy},
		{"P+(-P)", px, py, px, negY},
		{"P+O", px, py, zero, zero},
		{"O+P", zero, zero, px, py},
		{"O+O", zero, zero, zero, zero},
		{"P+G", px, py, params.Gx, params.Gy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, y := fast.Add(tc.x1, tc.y1, tc.x2, tc.y2)
			wx, wy := generic.Add(tc.x1, tc.y1, tc.x2, tc.y2)
			if !samePoint(x, y, wx, wy) {
				t.Fatalf("Add = (%X, %X), generic (%X, %X)", x, y, wx, wy)
			}
		})
	}
	t.Run("P+(-P) is (0, 0)", func(t *testing.T) {
		if x, y := fast.Add(px, py, px, negY); x.Sign() != 0 || y.Sign() != 0 {
			t.Fatalf("P+(-P) = (%X, %X)", x, y)
		}
	})
	t.Run("Double", func(t *testing.T) {
		for _, p := range [][2]*big.Int{{px, py}, {params.Gx, params.Gy}, {qx, qy}} {
			x, y := fast.Double(p[0], p[1])
			wx, wy := generic.Double(p[0], p[1])
			ax, ay := fast.Add(p[0], p[1], p[0], p[1])
			if !samePoint(x, y, wx, wy) || !samePoint(x, y, ax, ay) {
				t.Fatalf("Double = (%X, %X), generic (%X, %X), Add (%X, %X)", x, y, wx, wy, ax, ay)
			}
		}
		if x, y := fast.Double(zero, zero); x.Sign() != 0 || y.Sign() != 0 {
			t.Fatalf("2·O = (%X, %X)", x, y)
		}
	})
	t.Run("random sums", func(t *testing.T) {
		for range iterations(300) {
			ax, ay := generic.ScalarBaseMult(randomScalar(rng))
			bx, by := generic.ScalarBaseMult(randomScalar(rng))
			x, y := fast.Add(ax, ay, bx, by)
			wx, wy := generic.Add(ax, ay, bx, by)
			if !samePoint(x, y, wx, wy) {
				t.Fatalf("Add((%X, %X), (%X, %X)) = (%X, %X), generic (%X, %X)", ax, ay, bx, by, x, y, wx, wy)
			}
		}
	})
	t.Run("k·G + (n-k)·G", func(t *testing.T) {
		// The PACE mapping G' = s·G + H meets this case when H = -s·G.
		k := big.NewInt(123456789)
		ax, ay := fast.ScalarBaseMult(k.Bytes())
		bx, by := fast.ScalarBaseMult(new(big.Int).Sub(params.N, k).Bytes())
		if x, y := fast.Add(ax, ay, bx, by); x.Sign() != 0 || y.Sign() != 0 {
			t.Fatalf("sum = (%X, %X), want (0, 0)", x, y)
		}
	})
}

func TestIsOnCurve(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'o', 'n'}))
	px, py := generic.ScalarBaseMult(randomScalar(rng))
	one := big.NewInt(1)
	tests := []struct {
		name string
		x, y *big.Int
		want bool
	}{
		{"G", params.Gx, params.Gy, true},
		{"random point", px, py, true},
		{"-P", px, new(big.Int).Sub(params.P, py), true},
		{"y+1", px, new(big.Int).Add(py, one), false},
		{"x+1", new(big.Int).Add(px, one), py, false},
		{"(0, 0)", new(big.Int), new(big.Int), false},
		{"x = 0, y = 1", new(big.Int), one, false},
		{"x+p", new(big.Int).Add(px, params.P), py, false},
		{"y+p", px, new(big.Int).Add(py, params.P), false},
		{"negative x", new(big.Int).Neg(px), py, false},
		{"negative y", px, new(big.Int).Neg(py), false},
		{"x = p", params.P, py, false},
		{"huge", new(big.Int).Lsh(one, 600), py, false},
		{"nil", nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fast.IsOnCurve(tc.x, tc.y); got != tc.want {
				t.Fatalf("IsOnCurve = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("random coordinates agree with generic", func(t *testing.T) {
		for range iterations(2000) {
			x := new(big.Int).Mod(new(big.Int).SetBytes(randomScalar(rng)), params.P)
			y := new(big.Int).Mod(new(big.Int).SetBytes(randomScalar(rng)), params.P)
			if fast.IsOnCurve(x, y) != generic.IsOnCurve(x, y) {
				t.Fatalf("IsOnCurve(%X, %X) differs from generic", x, y)
			}
		}
	})
}

// TestInvalidPointsPanic checks that, like crypto/elliptic's NIST curves, the arithmetic
// refuses points off the curve instead of returning garbage.
func TestInvalidPointsPanic(t *testing.T) {
	bad := new(big.Int).Add(params.Gy, big.NewInt(1))
	calls := map[string]func(){
		"ScalarMult": func() { fast.ScalarMult(params.Gx, bad, []byte{3}) },
		"Add first":  func() { fast.Add(params.Gx, bad, params.Gx, params.Gy) },
		"Add second": func() { fast.Add(params.Gx, params.Gy, params.Gx, bad) },
		"Double":     func() { fast.Double(params.Gx, bad) },
		"x >= p":     func() { fast.ScalarMult(new(big.Int).Add(params.Gx, params.P), params.Gy, []byte{3}) },
		"negative":   func() { fast.Double(new(big.Int).Neg(params.Gx), params.Gy) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Fatal("no panic for an invalid point")
				} else if s := fmt.Sprint(r); !bytes.Contains([]byte(s), []byte("invalid point")) {
					t.Fatalf("panic %q", s)
				}
			}()
			call()
		})
	}
}

func TestGenerateKey(t *testing.T) {
	priv, x, y, err := elliptic.GenerateKey(fast, rand.NewChaCha8([32]byte{'g'}))
	if err != nil {
		t.Fatal(err)
	}
	wx, wy := generic.ScalarBaseMult(priv)
	if !samePoint(x, y, wx, wy) || !fast.IsOnCurve(x, y) {
		t.Fatal("GenerateKey public key differs from generic d·G")
	}
}

// TestICAOG1Mapping runs the elliptic-curve steps of ICAO 9303-11 Appendix G.1 (PACE,
// ECDH generic mapping, brainpoolP256r1) on the fast curve: mapping keys, the shared
// point H, the mapped generator G' = s·G + H (§4.4.3.3.1), the ephemeral keys on G' and
// the shared secret.
func TestICAOG1Mapping(t *testing.T) {
	h := func(s string) *big.Int { return hexInt(t, s) }
	s := h("3F00C4D39D153F2B2A214A078D899B22")
	skMapIFD := h("7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99")
	skMapIC := h("498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560")
	skDHIFD := h("A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595")
	skDHIC := h("107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A")
	want := map[string][2]*big.Int{
		"PK_Map,IFD": {h("7ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E"), h("544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D")},
		"PK_Map,IC":  {h("824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57"), h("30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54")},
		"H":          {h("60332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5"), h("0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181")},
		"G'":         {h("8CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2"), h("8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522")},
		"PK_DH,IFD":  {h("2DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C"), h("3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462")},
		"PK_DH,IC":   {h("9E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB"), h("7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094")},
	}
	secret := h("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925")

	got := map[string][2]*big.Int{}
	pt := func(x, y *big.Int) [2]*big.Int { return [2]*big.Int{x, y} }
	got["PK_Map,IFD"] = pt(fast.ScalarBaseMult(skMapIFD.Bytes()))
	got["PK_Map,IC"] = pt(fast.ScalarBaseMult(skMapIC.Bytes()))
	hIFD := pt(fast.ScalarMult(want["PK_Map,IC"][0], want["PK_Map,IC"][1], skMapIFD.Bytes()))
	hIC := pt(fast.ScalarMult(want["PK_Map,IFD"][0], want["PK_Map,IFD"][1], skMapIC.Bytes()))
	got["H"] = hIFD
	sx, sy := fast.ScalarBaseMult(s.Bytes())
	got["G'"] = pt(fast.Add(sx, sy, hIFD[0], hIFD[1]))
	g := want["G'"]
	got["PK_DH,IFD"] = pt(fast.ScalarMult(g[0], g[1], skDHIFD.Bytes()))
	got["PK_DH,IC"] = pt(fast.ScalarMult(g[0], g[1], skDHIC.Bytes()))
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			if !samePoint(got[name][0], got[name][1], w[0], w[1]) {
				t.Fatalf("%s = (%X, %X), want (%X, %X)", name, got[name][0], got[name][1], w[0], w[1])
			}
		})
	}
	t.Run("H on the chip side", func(t *testing.T) {
		if !samePoint(hIC[0], hIC[1], hIFD[0], hIFD[1]) {
			t.Fatalf("chip H = (%X, %X)", hIC[0], hIC[1])
		}
	})
	t.Run("shared secret", func(t *testing.T) {
		x1, _ := fast.ScalarMult(want["PK_DH,IC"][0], want["PK_DH,IC"][1], skDHIFD.Bytes())
		x2, _ := fast.ScalarMult(want["PK_DH,IFD"][0], want["PK_DH,IFD"][1], skDHIC.Bytes())
		if x1.Cmp(secret) != 0 || x2.Cmp(secret) != 0 {
			t.Fatalf("K = %X / %X, want %X", x1, x2, secret)
		}
	})
}

// TestECDSA checks crypto/ecdsa's generic code path over the fast curve (used for
// brainpool Active Authentication keys) against the generic curve, both ways.
func TestECDSA(t *testing.T) {
	rnd := rand.NewChaCha8([32]byte{'e', 'c'})
	digest := make([]byte, 32)
	_, _ = rnd.Read(digest)
	keys := map[string]elliptic.Curve{"fast": fast, "generic": generic}
	other := map[string]elliptic.Curve{"fast": generic, "generic": fast}
	for name, c := range keys {
		t.Run("signed on "+name, func(t *testing.T) {
			key, err := ecdsa.GenerateKey(c, rnd)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := ecdsa.SignASN1(rnd, key, digest)
			if err != nil {
				t.Fatal(err)
			}
			pub := ecdsa.PublicKey{Curve: other[name], X: key.X, Y: key.Y}
			if !ecdsa.VerifyASN1(&key.PublicKey, digest, sig) || !ecdsa.VerifyASN1(&pub, digest, sig) {
				t.Fatal("signature does not verify on both curves")
			}
			bad := bytes.Clone(digest)
			bad[0] ^= 1
			if ecdsa.VerifyASN1(&key.PublicKey, bad, sig) || ecdsa.VerifyASN1(&pub, bad, sig) {
				t.Fatal("signature verifies over another digest")
			}
		})
	}
}

// TestConcurrentUse runs the scalar multiplications from several goroutines at once (the
// base-point table may be built by any of them); run it with -race.
func TestConcurrentUse(t *testing.T) {
	k := []byte{0x42, 0x17, 0x99}
	wx, wy := generic.ScalarBaseMult(k)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			x, y := fast.ScalarBaseMult(k)
			mx, my := fast.ScalarMult(params.Gx, params.Gy, k)
			if !samePoint(x, y, wx, wy) || !samePoint(mx, my, wx, wy) {
				errs <- fmt.Errorf("k·G = (%X, %X) / (%X, %X), want (%X, %X)", x, y, mx, my, wx, wy)
				return
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
