package bp256

import (
	"math/big"
	"testing"
)

// TestBaseTable checks every entry of the precomputed table: d·16^i·G, computed here with
// the windowed scalar multiplication, and on the curve.
func TestBaseTable(t *testing.T) {
	tbl := theCurve.base()
	for i := range tbl {
		for j := range tbl[i] {
			e := &tbl[i][j]
			if onCurve(&e.x, &e.y) != 1 {
				t.Fatalf("entry [%d][%d] is not on the curve", i, j)
			}
			k := new(big.Int).Lsh(big.NewInt(int64(j+1)), uint(4*i))
			k.Mod(k, theCurve.params.N)
			var buf [32]byte
			s := limbsFromBytes((*[32]byte)(k.FillBytes(buf[:])))
			var p point
			p.scalarMult(&theCurve.g, (*[4]uint64)(&s))
			x, y := p.toAffine()
			if x != e.x || y != e.y {
				t.Fatalf("entry [%d][%d] is not %d·16^%d·G", i, j, j+1, i)
			}
		}
	}
}

// TestAddCases checks the complete addition on its special cases in Jacobian form, with
// inputs whose Z is not 1 (so that equal points have different coordinates).
func TestAddCases(t *testing.T) {
	g := theCurve.g
	var g2, g3, g2scaled, inf, neg point
	g2.double(&g)
	g3.add(&g2, &g)
	// g2scaled is 2G with Z multiplied by λ (X by λ^2, Y by λ^3).
	lambda := feFromBigReduced(big.NewInt(987654321))
	var l2, l3 fe
	feSqr(&l2, &lambda)
	feMul(&l3, &l2, &lambda)
	feMul(&g2scaled.x, &g2.x, &l2)
	feMul(&g2scaled.y, &g2.y, &l3)
	feMul(&g2scaled.z, &g2.z, &lambda)
	inf.setInfinity()
	neg = g2scaled
	feSub(&neg.y, &fe{}, &neg.y)
	var g4 point
	g4.double(&g2)
	tests := []struct {
		name   string
		p1, p2 *point
		want   *point // nil: the point at infinity
	}{
		{"G + 2G", &g, &g2, &g3},
		{"2G + 2G (other Z)", &g2, &g2scaled, &g4},
		{"2G + (-2G)", &g2, &neg, nil},
		{"O + 2G", &inf, &g2scaled, &g2},
		{"2G + O", &g2scaled, &inf, &g2},
		{"O + O", &inf, &inf, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r point
			r.add(tc.p1, tc.p2)
			if tc.want == nil {
				if r.isInfinity() != 1 {
					t.Fatal("sum is not the point at infinity")
				}
				return
			}
			x, y := r.toAffine()
			wx, wy := tc.want.toAffine()
			if r.isInfinity() == 1 || x != wx || y != wy {
				t.Fatalf("sum = (%x, %x), want (%x, %x)", x.toBig(), y.toBig(), wx.toBig(), wy.toBig())
			}
		})
	}
	t.Run("double O", func(t *testing.T) {
		var r point
		r.double(&inf)
		if r.isInfinity() != 1 {
			t.Fatal("2·O is not the point at infinity")
		}
	})
	t.Run("affine add from O", func(t *testing.T) {
		gx, gy := g2.toAffine()
		var r point
		r.addAffine(&inf, &affinePoint{gx, gy})
		if x, y := r.toAffine(); x != gx || y != gy {
			t.Fatal("O + 2G (mixed) is not 2G")
		}
		r.addAffine(&g, &affinePoint{gx, gy})
		wx, wy := g3.toAffine()
		if x, y := r.toAffine(); x != wx || y != wy {
			t.Fatal("G + 2G (mixed) is not 3G")
		}
	})
}
