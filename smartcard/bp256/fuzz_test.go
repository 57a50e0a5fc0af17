package bp256_test

import (
	"math/big"
	"testing"
)

// FuzzScalarMult compares the fast curve with the generic one on fuzzed scalars and on
// points derived from a second fuzzed scalar: k·P, k·G and P + k·G.
func FuzzScalarMult(f *testing.F) {
	n := params.N
	seeds := [][2][]byte{
		{hexInt(f, "81DB1EE100150FF2EA338D708271BE38300CB54241D79950F77B063039804F1D").Bytes(),
			hexInt(f, "55E40BC41E37E3E2AD25C3C6654511FFA8474A91A0032087593852D3E7D76BD3").Bytes()}, // RFC 7027 A.1
		{{1}, {1}},
		{{}, {2}},
		{n.Bytes(), {7}},
		{new(big.Int).Sub(n, big.NewInt(1)).Bytes(), {7}},
		{append(make([]byte, 1), n.Bytes()...), {9}},
		{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
			0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, {3}},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, k, seed []byte) {
		if len(k) > 80 || len(seed) > 80 {
			return
		}
		px, py := generic.ScalarBaseMult(seed)
		x, y := fast.ScalarMult(px, py, k)
		wx, wy := generic.ScalarMult(px, py, k)
		if !samePoint(x, y, wx, wy) {
			t.Fatalf("ScalarMult(%X·G, %X) = (%X, %X), generic (%X, %X)", seed, k, x, y, wx, wy)
		}
		bx, by := fast.ScalarBaseMult(k)
		wbx, wby := generic.ScalarBaseMult(k)
		if !samePoint(bx, by, wbx, wby) {
			t.Fatalf("ScalarBaseMult(%X) = (%X, %X), generic (%X, %X)", k, bx, by, wbx, wby)
		}
		sx, sy := fast.Add(px, py, bx, by)
		wsx, wsy := generic.Add(px, py, wbx, wby)
		if !samePoint(sx, sy, wsx, wsy) {
			t.Fatalf("Add = (%X, %X), generic (%X, %X)", sx, sy, wsx, wsy)
		}
	})
}

// FuzzIsOnCurve checks point validation, the gate every point from outside passes, against
// the generic curve on fuzzed coordinates, and that valid points never make the arithmetic
// panic while invalid ones always do.
func FuzzIsOnCurve(f *testing.F) {
	f.Add(params.Gx.Bytes(), params.Gy.Bytes())
	f.Add(params.Gx.Bytes(), new(big.Int).Add(params.Gy, big.NewInt(1)).Bytes())
	f.Add(params.P.Bytes(), params.Gy.Bytes())
	f.Add([]byte{}, []byte{})
	f.Add(hexInt(f, "44106E913F92BC02A1705D9953A8414DB95E1AAA49E81D9E85F929A8E3100BE5").Bytes(),
		hexInt(f, "8AB4846F11CACCB73CE49CBDD120F5A900A69FD32C272223F789EF10EB089BDC").Bytes())
	f.Fuzz(func(t *testing.T, xb, yb []byte) {
		x, y := new(big.Int).SetBytes(xb), new(big.Int).SetBytes(yb)
		on := fast.IsOnCurve(x, y)
		inRange := x.Cmp(params.P) < 0 && y.Cmp(params.P) < 0
		if !inRange && on {
			t.Fatalf("IsOnCurve accepted coordinates >= p: %X, %X", x, y)
		}
		if inRange && on != generic.IsOnCurve(x, y) {
			t.Fatalf("IsOnCurve(%X, %X) = %v, generic differs", x, y, on)
		}
		infinity := x.Sign() == 0 && y.Sign() == 0
		panicked := func() (p bool) {
			defer func() { p = recover() != nil }()
			fast.Double(x, y)
			return false
		}()
		if panicked == (on || infinity) {
			t.Fatalf("Double(%X, %X) panicked = %v, on curve = %v", x, y, panicked, on)
		}
	})
}
