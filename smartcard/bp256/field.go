package bp256

import (
	"encoding/binary"
	"math/big"
	"math/bits"
)

// fe is an element of GF(p), p the brainpoolP256r1 prime (RFC 5639 §3.4), in Montgomery
// form x·R mod p with R = 2^256, as four 64-bit limbs, least significant first. Every
// function below keeps elements fully reduced (< p), so each value has one representation
// and feIsZero is exact.
type fe [4]uint64

// Field constants, derived once from the RFC 5639 prime so that there is a single source;
// initField also checks the constant limbs p0..p3 and pNeg that feMul uses against them.
var (
	feP     fe        // p itself (plain, not Montgomery)
	pInv    uint64    // -p^-1 mod 2^64, the Montgomery reduction factor
	feRR    fe        // R^2 mod p (plain): multiplying by it enters Montgomery form
	feOne   fe        // 1 in Montgomery form (R mod p)
	feA     fe        // curve coefficient A in Montgomery form
	feB     fe        // curve coefficient B in Montgomery form
	pMinus2 [4]uint64 // the Fermat inversion exponent p-2 (plain)
)

func initField(p, a, b *big.Int) {
	feP = limbsFromBig(p)
	// Newton iteration for p_0^-1 mod 2^64: x = p_0 is right to 3 bits for odd p_0, and
	// each step doubles the number of correct bits (3, 6, 12, 24, 48, 96).
	low := feP[0]
	inv := low
	for range 5 {
		inv *= 2 - low*inv
	}
	pInv = -inv
	if feP != (fe{p0, p1, p2, p3}) || pInv != pNeg {
		panic("bp256: field constants disagree with the RFC 5639 prime")
	}
	r := new(big.Int).Lsh(big.NewInt(1), 256)
	feRR = limbsFromBig(new(big.Int).Mod(new(big.Int).Mul(r, r), p))
	feOne = limbsFromBig(new(big.Int).Mod(r, p))
	feA = feFromBigReduced(a)
	feB = feFromBigReduced(b)
	pMinus2 = limbsFromBig(new(big.Int).Sub(p, big.NewInt(2)))
}

// limbsFromBig returns the little-endian limbs of 0 <= v < 2^256.
func limbsFromBig(v *big.Int) fe {
	var buf [32]byte
	v.FillBytes(buf[:])
	return limbsFromBytes(&buf)
}

// limbsFromBytes reads a 32-byte big-endian integer into little-endian limbs.
func limbsFromBytes(b *[32]byte) fe {
	var l fe
	for i := range l {
		l[i] = binary.BigEndian.Uint64(b[24-8*i:])
	}
	return l
}

// bytesFromLimbs writes little-endian limbs as a 32-byte big-endian integer.
func bytesFromLimbs(l *fe) [32]byte {
	var b [32]byte
	for i := range l {
		binary.BigEndian.PutUint64(b[24-8*i:], l[i])
	}
	return b
}

// feFromBigReduced converts 0 <= v < p into Montgomery form.
func feFromBigReduced(v *big.Int) fe {
	l := limbsFromBig(v)
	var z fe
	feMul(&z, &l, &feRR)
	return z
}

// toBig leaves Montgomery form and returns x as a big.Int.
func (x *fe) toBig() *big.Int {
	var plain fe
	feMul(&plain, x, &fe{1})
	b := bytesFromLimbs(&plain)
	return new(big.Int).SetBytes(b[:])
}

// mac returns a*b + c + d as a 128-bit value (it cannot overflow: (2^64-1)^2 + 2(2^64-1) = 2^128-1).
func mac(a, b, c, d uint64) (hi, lo uint64) {
	hi, lo = bits.Mul64(a, b)
	var carry uint64
	lo, carry = bits.Add64(lo, c, 0)
	hi += carry
	lo, carry = bits.Add64(lo, d, 0)
	hi += carry
	return hi, lo
}

// The limbs of p and -p^-1 mod 2^64 as constants, so that the hot loops use immediate
// operands; TestFieldConstants checks them against the RFC 5639 prime.
const (
	p0   = 0x2013481D1F6E5377
	p1   = 0x6E3BF623D5262028
	p2   = 0x3E660A909D838D72
	p3   = 0xA9FB57DBA1EEA9BC
	pNeg = 0xC6A75590CEFD89B9
)

// feMul sets z = x·y·R^-1 mod p: Montgomery multiplication, coarsely integrated operand
// scanning (CIOS), unrolled. With x, y < p the running value stays below 2p < 2^257, kept
// in five limbs (t4 is 0 or 1 between rounds); one constant-time conditional subtraction
// of p at the end brings it below p. z may alias x or y.
func feMul(z, x, y *fe) {
	x0, x1, x2, x3 := x[0], x[1], x[2], x[3]
	var t0, t1, t2, t3, t4, t5, c, m uint64

	// Round 0: t += x·y[0], then t = (t + m·p) / 2^64.
	yi := y[0]
	c, t0 = bits.Mul64(x0, yi)
	c, t1 = mac(x1, yi, c, 0)
	c, t2 = mac(x2, yi, c, 0)
	t4, t3 = mac(x3, yi, c, 0)
	m = t0 * pNeg
	c, _ = mac(m, p0, t0, 0) // the low word is zero by the choice of m
	c, t0 = mac(m, p1, t1, c)
	c, t1 = mac(m, p2, t2, c)
	c, t2 = mac(m, p3, t3, c)
	t3, t4 = bits.Add64(t4, c, 0)

	// Round 1: t += x·y[1], then t = (t + m·p) / 2^64.
	yi = y[1]
	c, t0 = mac(x0, yi, t0, 0)
	c, t1 = mac(x1, yi, t1, c)
	c, t2 = mac(x2, yi, t2, c)
	c, t3 = mac(x3, yi, t3, c)
	t4, t5 = bits.Add64(t4, c, 0)
	m = t0 * pNeg
	c, _ = mac(m, p0, t0, 0) // the low word is zero by the choice of m
	c, t0 = mac(m, p1, t1, c)
	c, t1 = mac(m, p2, t2, c)
	c, t2 = mac(m, p3, t3, c)
	t3, c = bits.Add64(t4, c, 0)
	t4 = t5 + c

	// Round 2: t += x·y[2], then t = (t + m·p) / 2^64.
	yi = y[2]
	c, t0 = mac(x0, yi, t0, 0)
	c, t1 = mac(x1, yi, t1, c)
	c, t2 = mac(x2, yi, t2, c)
	c, t3 = mac(x3, yi, t3, c)
	t4, t5 = bits.Add64(t4, c, 0)
	m = t0 * pNeg
	c, _ = mac(m, p0, t0, 0) // the low word is zero by the choice of m
	c, t0 = mac(m, p1, t1, c)
	c, t1 = mac(m, p2, t2, c)
	c, t2 = mac(m, p3, t3, c)
	t3, c = bits.Add64(t4, c, 0)
	t4 = t5 + c

	// Round 3: t += x·y[3], then t = (t + m·p) / 2^64.
	yi = y[3]
	c, t0 = mac(x0, yi, t0, 0)
	c, t1 = mac(x1, yi, t1, c)
	c, t2 = mac(x2, yi, t2, c)
	c, t3 = mac(x3, yi, t3, c)
	t4, t5 = bits.Add64(t4, c, 0)
	m = t0 * pNeg
	c, _ = mac(m, p0, t0, 0) // the low word is zero by the choice of m
	c, t0 = mac(m, p1, t1, c)
	c, t1 = mac(m, p2, t2, c)
	c, t2 = mac(m, p3, t3, c)
	t3, c = bits.Add64(t4, c, 0)
	t4 = t5 + c

	feReduceOnce(z, t0, t1, t2, t3, t4)
}

// feReduceOnce sets z = t - p if t >= p, else t, for t = t4·2^256 + t3..t0 < 2p, without
// branching on t.
func feReduceOnce(z *fe, t0, t1, t2, t3, t4 uint64) {
	r0, b := bits.Sub64(t0, p0, 0)
	r1, b := bits.Sub64(t1, p1, b)
	r2, b := bits.Sub64(t2, p2, b)
	r3, b := bits.Sub64(t3, p3, b)
	_, b = bits.Sub64(t4, 0, b)
	keep := -b // all ones when t < p
	z[0] = t0&keep | r0&^keep
	z[1] = t1&keep | r1&^keep
	z[2] = t2&keep | r2&^keep
	z[3] = t3&keep | r3&^keep
}

// feSqr sets z = x^2 (Montgomery).
func feSqr(z, x *fe) { feMul(z, x, x) }

// feAdd sets z = x + y mod p.
func feAdd(z, x, y *fe) {
	s0, c := bits.Add64(x[0], y[0], 0)
	s1, c := bits.Add64(x[1], y[1], c)
	s2, c := bits.Add64(x[2], y[2], c)
	s3, c := bits.Add64(x[3], y[3], c)
	feReduceOnce(z, s0, s1, s2, s3, c)
}

// feSub sets z = x - y mod p.
func feSub(z, x, y *fe) {
	d0, b := bits.Sub64(x[0], y[0], 0)
	d1, b := bits.Sub64(x[1], y[1], b)
	d2, b := bits.Sub64(x[2], y[2], b)
	d3, b := bits.Sub64(x[3], y[3], b)
	mask := -b // add p back after a borrow
	var c uint64
	z[0], c = bits.Add64(d0, p0&mask, 0)
	z[1], c = bits.Add64(d1, p1&mask, c)
	z[2], c = bits.Add64(d2, p2&mask, c)
	z[3], _ = bits.Add64(d3, p3&mask, c)
}

// feInv sets z = x^-1 = x^(p-2) mod p (Fermat), with a fixed 4-bit window over the public
// exponent; x = 0 gives z = 0.
func feInv(z, x *fe) {
	var tbl [16]fe
	tbl[0] = feOne
	tbl[1] = *x
	for i := 2; i < 16; i++ {
		feMul(&tbl[i], &tbl[i-1], x)
	}
	r := feOne
	for i := 63; i >= 0; i-- {
		for range 4 {
			feSqr(&r, &r)
		}
		if d := (pMinus2[i/16] >> (4 * (i % 16))) & 0xF; d != 0 { // the exponent is public
			feMul(&r, &r, &tbl[d])
		}
	}
	*z = r
}

// feIsZero returns 1 if x == 0 and 0 otherwise, in constant time.
func feIsZero(x *fe) uint64 {
	v := x[0] | x[1] | x[2] | x[3]
	return 1 ^ ((v | -v) >> 63)
}

// feEqual returns 1 if x == y and 0 otherwise, in constant time.
func feEqual(x, y *fe) uint64 {
	v := (x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])
	return 1 ^ ((v | -v) >> 63)
}

// feCMov sets z = a if cond == 1 and leaves z unchanged if cond == 0, in constant time.
func feCMov(z, a *fe, cond uint64) {
	mask := -cond
	z[0] = z[0]&^mask | a[0]&mask
	z[1] = z[1]&^mask | a[1]&mask
	z[2] = z[2]&^mask | a[2]&mask
	z[3] = z[3]&^mask | a[3]&mask
}

// ctEq returns 1 if a == b and 0 otherwise, in constant time.
func ctEq(a, b uint64) uint64 {
	v := a ^ b
	return 1 ^ ((v | -v) >> 63)
}
