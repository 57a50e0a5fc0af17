package bp256

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

var bigP = P256r1().Params().P

// mont converts 0 <= v < p to a field element through math/big only, independent of
// feFromBigReduced.
func mont(v *big.Int) fe {
	r := new(big.Int).Lsh(big.NewInt(1), 256)
	return limbsFromBig(new(big.Int).Mod(new(big.Int).Mul(v, r), bigP))
}

// fieldValues returns the edge values 0, 1, 2, p-2, p-1, (p-1)/2, 2^255 mod p, 2^256 mod p
// and n random values below p.
func fieldValues(rng *rand.Rand, n int) []*big.Int {
	pm1 := new(big.Int).Sub(bigP, big.NewInt(1))
	vals := []*big.Int{
		big.NewInt(0), big.NewInt(1), big.NewInt(2),
		new(big.Int).Sub(bigP, big.NewInt(2)), pm1,
		new(big.Int).Rsh(pm1, 1),
		new(big.Int).Mod(new(big.Int).Lsh(big.NewInt(1), 255), bigP),
		new(big.Int).Mod(new(big.Int).Lsh(big.NewInt(1), 256), bigP),
		new(big.Int).Sub(bigP, new(big.Int).Lsh(big.NewInt(1), 128)),
	}
	for range n {
		var b [32]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		vals = append(vals, new(big.Int).Mod(new(big.Int).SetBytes(b[:]), bigP))
	}
	return vals
}

func TestFieldConstants(t *testing.T) {
	r := new(big.Int).Lsh(big.NewInt(1), 256)
	tests := []struct {
		name string
		got  fe
		want *big.Int
	}{
		{"p", feP, bigP},
		{"R^2 mod p", feRR, new(big.Int).Mod(new(big.Int).Mul(r, r), bigP)},
		{"one", feOne, new(big.Int).Mod(r, bigP)},
		{"A", feA, new(big.Int).Mod(new(big.Int).Mul(fromHex(t, hexA), r), bigP)},
		{"B", feB, new(big.Int).Mod(new(big.Int).Mul(fromHex(t, hexB), r), bigP)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != limbsFromBig(tc.want) {
				t.Fatalf("got %x, want %x", tc.got, tc.want)
			}
		})
	}
	t.Run("p limbs", func(t *testing.T) {
		if (fe{p0, p1, p2, p3}) != limbsFromBig(bigP) {
			t.Fatalf("p limbs %x, want %x", fe{p0, p1, p2, p3}, bigP)
		}
	})
	t.Run("pInv", func(t *testing.T) {
		if feP[0]*pInv != ^uint64(0) || pInv != pNeg {
			t.Fatalf("p0·pInv = %#x, want -1 mod 2^64; pNeg %#x, pInv %#x", feP[0]*pInv, uint64(pNeg), pInv)
		}
	})
}

func fromHex(t testing.TB, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 16)
	if !ok {
		t.Fatalf("bad hex %q", s)
	}
	return v
}

func TestFieldArithmetic(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'f', 'e'}))
	vals := fieldValues(rng, 60)
	mod := func(v *big.Int) *big.Int { return v.Mod(v, bigP) }
	ops := []struct {
		name string
		fast func(z, x, y *fe)
		ref  func(x, y *big.Int) *big.Int
	}{
		{"mul", feMul, func(x, y *big.Int) *big.Int { return mod(new(big.Int).Mul(x, y)) }},
		{"add", feAdd, func(x, y *big.Int) *big.Int { return mod(new(big.Int).Add(x, y)) }},
		{"sub", feSub, func(x, y *big.Int) *big.Int { return mod(new(big.Int).Sub(x, y)) }},
		{"sqr", func(z, x, _ *fe) { feSqr(z, x) }, func(x, _ *big.Int) *big.Int { return mod(new(big.Int).Mul(x, x)) }},
		{"inv", func(z, x, _ *fe) { feInv(z, x) }, func(x, _ *big.Int) *big.Int {
			if x.Sign() == 0 {
				return new(big.Int)
			}
			return new(big.Int).ModInverse(x, bigP)
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			for _, x := range vals {
				for _, y := range vals {
					fx, fy := mont(x), mont(y)
					want := mont(op.ref(x, y))
					var z fe
					op.fast(&z, &fx, &fy)
					if z != want {
						t.Fatalf("%s(%x, %x) = %x, want %x", op.name, x, y, z.toBig(), op.ref(x, y))
					}
					op.fast(&fx, &fx, &fy) // z aliasing x
					if fx != want {
						t.Fatalf("%s(%x, %x) with z = x differs", op.name, x, y)
					}
				}
			}
		})
	}
}

func TestFieldConversions(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'c', 'v'}))
	for _, v := range fieldValues(rng, 200) {
		f := feFromBigReduced(v)
		if f != mont(v) {
			t.Fatalf("feFromBigReduced(%x) = %x, want %x", v, f, mont(v))
		}
		if got := f.toBig(); got.Cmp(v) != 0 {
			t.Fatalf("toBig(feFromBigReduced(%x)) = %x", v, got)
		}
		isZero := feIsZero(&f) == 1
		if isZero != (v.Sign() == 0) {
			t.Fatalf("feIsZero(%x) = %v", v, isZero)
		}
	}
}

func TestConstantTimeHelpers(t *testing.T) {
	tests := []struct {
		name string
		a, b uint64
		want uint64
	}{
		{"zero", 0, 0, 1},
		{"equal", 15, 15, 1},
		{"differ low", 14, 15, 0},
		{"differ high", 1 << 63, 0, 0},
		{"max", ^uint64(0), ^uint64(0), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ctEq(tc.a, tc.b); got != tc.want {
				t.Fatalf("ctEq(%#x, %#x) = %d", tc.a, tc.b, got)
			}
			x, y := fe{tc.a, 1, 2, 3}, fe{tc.b, 1, 2, 3}
			if got := feEqual(&x, &y); got != tc.want {
				t.Fatalf("feEqual = %d", got)
			}
			z := fe{9, 9, 9, 9}
			feCMov(&z, &x, tc.want)
			if (z == x) != (tc.want == 1) || (tc.want == 0 && z != (fe{9, 9, 9, 9})) {
				t.Fatalf("feCMov(cond %d) = %x", tc.want, z)
			}
		})
	}
}
