// Package bp256 implements the elliptic curve brainpoolP256r1 (RFC 5639 §3.4) as a fast
// crypto/elliptic.Curve, for PACE with the ECDH generic mapping (ICAO 9303-11 §4.4.3.3.1,
// standardized domain parameters 13, §9.5.1) and Chip Authentication (§6.2).
//
// The field arithmetic works on four 64-bit limbs with Montgomery multiplication; points
// are in Jacobian coordinates with the general-A doubling and addition formulas of the
// Explicit-Formulas Database. ScalarMult uses a fixed 4-bit window and ScalarBaseMult a
// precomputed table of the base point (built once, on first use); both scan whole tables
// and select with masks, so their running time does not depend on the scalar. The
// conversions between big.Int and limbs at the API boundary are not constant time, as in
// crypto/elliptic.
//
// Like the crypto/elliptic NIST curves, the methods panic when handed a point that is not on
// the curve (other than (0, 0), the point at infinity by convention): callers validate
// points from outside with IsOnCurve first.
package bp256

import (
	"crypto/elliptic"
	"math/big"
	"math/bits"
	"sync"
)

// Domain parameters of brainpoolP256r1, RFC 5639 §3.4.
const (
	hexP  = "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377"
	hexA  = "7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9"
	hexB  = "26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6"
	hexGx = "8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262"
	hexGy = "547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997"
	hexN  = "A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7"
)

// curve is brainpoolP256r1 behind the elliptic.Curve interface.
type curve struct {
	params *elliptic.CurveParams
	g      point     // the base point, Jacobian with Z = 1
	n      [4]uint64 // the group order, little-endian limbs
}

var theCurve = newCurve()

func newCurve() *curve {
	hex := func(s string) *big.Int {
		v, ok := new(big.Int).SetString(s, 16)
		if !ok {
			panic("bp256: bad constant " + s)
		}
		return v
	}
	params := &elliptic.CurveParams{
		P: hex(hexP), N: hex(hexN), B: hex(hexB), Gx: hex(hexGx), Gy: hex(hexGy),
		BitSize: 256, Name: "brainpoolP256r1",
	}
	initField(params.P, hex(hexA), params.B)
	c := &curve{params: params}
	c.g = point{feFromBigReduced(params.Gx), feFromBigReduced(params.Gy), feOne}
	c.n = limbsFromBig(params.N)
	return c
}

// P256r1 returns brainpoolP256r1 (RFC 5639 §3.4). Every call returns the same value. Its
// Params() carry the curve's P, N, B, Gx, Gy, BitSize 256 and Name "brainpoolP256r1"; note
// that the CurveParams methods themselves assume A = -3 and must not be called on them.
func P256r1() elliptic.Curve { return theCurve }

// Params returns the curve's domain parameters.
func (c *curve) Params() *elliptic.CurveParams { return c.params }

// fieldElement converts 0 <= v < p to Montgomery form; it reports false for nil, negative
// or too large values.
func (c *curve) fieldElement(v *big.Int) (fe, bool) {
	if v == nil || v.Sign() < 0 || v.Cmp(c.params.P) >= 0 {
		return fe{}, false
	}
	return feFromBigReduced(v), true
}

// IsOnCurve reports whether (x, y) is a point of the curve with 0 <= x, y < p. The point
// at infinity (0, 0) is not.
func (c *curve) IsOnCurve(x, y *big.Int) bool {
	fx, ok1 := c.fieldElement(x)
	fy, ok2 := c.fieldElement(y)
	return ok1 && ok2 && onCurve(&fx, &fy) == 1
}

// pointFromAffine converts affine coordinates to a Jacobian point; (0, 0) is the point
// at infinity. It reports false for anything else that is not on the curve.
func (c *curve) pointFromAffine(x, y *big.Int) (point, bool) {
	var p point
	if x != nil && y != nil && x.Sign() == 0 && y.Sign() == 0 {
		p.setInfinity()
		return p, true
	}
	fx, ok1 := c.fieldElement(x)
	fy, ok2 := c.fieldElement(y)
	if !ok1 || !ok2 || onCurve(&fx, &fy) != 1 {
		return p, false
	}
	return point{fx, fy, feOne}, true
}

// affineBig returns the affine coordinates of p as big.Ints, (0, 0) for infinity.
func affineBig(p *point) (*big.Int, *big.Int) {
	x, y := p.toAffine()
	return x.toBig(), y.toBig()
}

// Add returns the sum of two points; (0, 0) stands for the point at infinity on both
// sides. It panics if either point is neither on the curve nor (0, 0).
func (c *curve) Add(x1, y1, x2, y2 *big.Int) (*big.Int, *big.Int) {
	p1, ok1 := c.pointFromAffine(x1, y1)
	p2, ok2 := c.pointFromAffine(x2, y2)
	if !ok1 || !ok2 {
		panic("bp256: Add was called on an invalid point")
	}
	p1.add(&p1, &p2)
	return affineBig(&p1)
}

// Double returns 2·(x, y). It panics if the point is neither on the curve nor (0, 0).
func (c *curve) Double(x, y *big.Int) (*big.Int, *big.Int) {
	p, ok := c.pointFromAffine(x, y)
	if !ok {
		panic("bp256: Double was called on an invalid point")
	}
	p.double(&p)
	return affineBig(&p)
}

// ScalarMult returns k·(x, y) for a big-endian scalar k of any length (reduced mod n
// first). It panics if the point is neither on the curve nor (0, 0).
func (c *curve) ScalarMult(x, y *big.Int, k []byte) (*big.Int, *big.Int) {
	p, ok := c.pointFromAffine(x, y)
	if !ok {
		panic("bp256: ScalarMult was called on an invalid point")
	}
	s := c.reduceScalar(k)
	var r point
	r.scalarMult(&p, &s)
	return affineBig(&r)
}

// ScalarBaseMult returns k·G for a big-endian scalar k of any length (reduced mod n first).
func (c *curve) ScalarBaseMult(k []byte) (*big.Int, *big.Int) {
	s := c.reduceScalar(k)
	var r point
	r.scalarBaseMult(&s)
	return affineBig(&r)
}

// reduceScalar returns k mod n as little-endian limbs. Up to 32 bytes (every scalar this
// project uses) it is one constant-time conditional subtraction, since k < 2^256 < 2n;
// longer inputs go through big.Int, as crypto/elliptic does for them.
func (c *curve) reduceScalar(k []byte) [4]uint64 {
	var buf [32]byte
	if len(k) > 32 {
		v := new(big.Int).SetBytes(k)
		v.Mod(v, c.params.N)
		v.FillBytes(buf[:])
		return limbsFromBytes(&buf)
	}
	copy(buf[32-len(k):], k)
	s := limbsFromBytes(&buf)
	r0, b := bits.Sub64(s[0], c.n[0], 0)
	r1, b := bits.Sub64(s[1], c.n[1], b)
	r2, b := bits.Sub64(s[2], c.n[2], b)
	r3, b := bits.Sub64(s[3], c.n[3], b)
	keep := -b // all ones when s < n
	return [4]uint64{s[0]&keep | r0&^keep, s[1]&keep | r1&^keep, s[2]&keep | r2&^keep, s[3]&keep | r3&^keep}
}

// nibble returns the i-th 4-bit window of the scalar, counting from the least significant.
func nibble(k *[4]uint64, i int) uint64 {
	return (k[i/16] >> (4 * (i % 16))) & 0xF
}

// scalarMult sets r = k·p for k < n with a fixed 4-bit window: a 16-entry table
// (0·p .. 15·p), 64 windows from the top, four doublings and one complete addition of the
// entry each, the entry read by scanning the whole table.
func (r *point) scalarMult(p *point, k *[4]uint64) {
	var tbl [16]point
	tbl[0].setInfinity()
	tbl[1] = *p
	tbl[2].double(p)
	for i := 3; i < 16; i++ {
		tbl[i].add(&tbl[i-1], p)
	}
	var acc, sel point
	acc.setInfinity()
	for i := 63; i >= 0; i-- {
		if i != 63 { // the loop index is public
			acc.double(&acc)
			acc.double(&acc)
			acc.double(&acc)
			acc.double(&acc)
		}
		d := nibble(k, i)
		for j := range tbl {
			sel.cmov(&tbl[j], ctEq(uint64(j), d))
		}
		acc.add(&acc, &sel)
	}
	*r = acc
}

// baseTable holds, for each 4-bit window i of the scalar, the affine points
// d·16^i·G for d = 1..15 (64 × 15 points, 60 KiB).
type baseTable [64][15]affinePoint

var (
	baseOnce sync.Once
	baseTbl  *baseTable
)

// base returns the base-point table, computing it on first use.
func (c *curve) base() *baseTable {
	baseOnce.Do(func() { baseTbl = c.computeBase() })
	return baseTbl
}

// computeBase builds the base-point table in Jacobian coordinates and converts it to affine
// with Montgomery's trick (one field inversion for all 960 points instead of one each).
// No entry is the point at infinity: d·16^i < 2^256 < 2n is even, and n is odd, so
// d·16^i is not a multiple of n. The table holds public values only.
func (c *curve) computeBase() *baseTable {
	jac := new([64][15]point)
	g := c.g
	for i := range jac {
		row := &jac[i]
		row[0] = g
		row[1].double(&g)
		for j := 2; j < 15; j++ {
			row[j].add(&row[j-1], &g)
		}
		for range 4 {
			g.double(&g)
		}
	}
	pts := make([]*point, 0, 64*15)
	for i := range jac {
		for j := range jac[i] {
			pts = append(pts, &jac[i][j])
		}
	}
	// prefix[k] = z_0·z_1·…·z_k
	prefix := make([]fe, len(pts))
	acc := feOne
	for k, p := range pts {
		feMul(&acc, &acc, &p.z)
		prefix[k] = acc
	}
	var inv fe // (z_0·…·z_k)^-1 as k runs down
	feInv(&inv, &acc)
	t := new(baseTable)
	for k := len(pts) - 1; k >= 0; k-- {
		p := pts[k]
		zinv := inv
		if k > 0 {
			feMul(&zinv, &inv, &prefix[k-1])
		}
		feMul(&inv, &inv, &p.z)
		var z2, z3 fe
		feSqr(&z2, &zinv)
		feMul(&z3, &z2, &zinv)
		e := &t[k/15][k%15]
		feMul(&e.x, &p.x, &z2)
		feMul(&e.y, &p.y, &z3)
	}
	return t
}

// scalarBaseMult sets r = k·G for k < n: r = Σ d_i·16^i·G over the 64 windows d_i, one
// mixed addition of a table entry per window, selected by scanning the whole row.
//
// The incomplete mixed addition is safe here: before window i the accumulator is a·G with
// 0 <= a < 16^i, and the entry is b·G with b = d_i·16^i. If d_i = 0 nothing is added
// (selection); if a = 0 the sum is the entry (selection). Otherwise a < b and
// 0 < a + b <= k < n, so a·G != ±b·G and the formulas hold.
func (r *point) scalarBaseMult(k *[4]uint64) {
	tbl := theCurve.base()
	var acc, sum point
	var sel affinePoint
	acc.setInfinity()
	for i := range tbl {
		d := nibble(k, i)
		for j := range tbl[i] {
			cond := ctEq(uint64(j+1), d)
			feCMov(&sel.x, &tbl[i][j].x, cond)
			feCMov(&sel.y, &tbl[i][j].y, cond)
		}
		sum.addAffine(&acc, &sel)
		acc.cmov(&sum, 1^ctEq(d, 0))
	}
	*r = acc
}
