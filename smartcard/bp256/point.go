package bp256

// point is a point in Jacobian coordinates (X:Y:Z) standing for the affine point
// (X/Z^2, Y/Z^3); Z = 0 is the point at infinity. Coordinates are in Montgomery form.
type point struct{ x, y, z fe }

// affinePoint is a finite point in affine coordinates (Montgomery form), as stored in the
// precomputed base-point table.
type affinePoint struct{ x, y fe }

// setInfinity sets p to the point at infinity (1:1:0).
func (p *point) setInfinity() {
	p.x, p.y, p.z = feOne, feOne, fe{}
}

// isInfinity returns 1 if p is the point at infinity and 0 otherwise, in constant time.
func (p *point) isInfinity() uint64 { return feIsZero(&p.z) }

// cmov sets p = q if cond == 1 and leaves p unchanged if cond == 0, in constant time.
func (p *point) cmov(q *point, cond uint64) {
	feCMov(&p.x, &q.x, cond)
	feCMov(&p.y, &q.y, cond)
	feCMov(&p.z, &q.z, cond)
}

// double sets q = 2p with "dbl-2007-bl" of the Explicit-Formulas Database for Jacobian
// coordinates and any A (brainpoolP256r1 has A != -3):
//
//	XX = X1^2, YY = Y1^2, YYYY = YY^2, ZZ = Z1^2
//	S = 2((X1+YY)^2 - XX - YYYY), M = 3XX + A·ZZ^2, T = M^2 - 2S
//	X3 = T, Y3 = M(S - T) - 8YYYY, Z3 = (Y1+Z1)^2 - YY - ZZ
//
// The point at infinity (Z1 = 0) doubles to Z3 = 0; there is no point of order 2 on the
// curve (its order is the odd prime n, cofactor 1). q may alias p.
func (q *point) double(p *point) {
	var xx, yy, yyyy, zz, s, m, t, tmp, y3, z3 fe
	feSqr(&xx, &p.x)
	feSqr(&yy, &p.y)
	feSqr(&yyyy, &yy)
	feSqr(&zz, &p.z)

	feAdd(&s, &p.x, &yy)
	feSqr(&s, &s)
	feSub(&s, &s, &xx)
	feSub(&s, &s, &yyyy)
	feAdd(&s, &s, &s)

	feSqr(&m, &zz)
	feMul(&m, &m, &feA)
	feAdd(&tmp, &xx, &xx)
	feAdd(&tmp, &tmp, &xx)
	feAdd(&m, &m, &tmp)

	feSqr(&t, &m)
	feSub(&t, &t, &s)
	feSub(&t, &t, &s)

	feAdd(&z3, &p.y, &p.z)
	feSqr(&z3, &z3)
	feSub(&z3, &z3, &yy)
	feSub(&z3, &z3, &zz)

	feSub(&y3, &s, &t)
	feMul(&y3, &y3, &m)
	feAdd(&yyyy, &yyyy, &yyyy)
	feAdd(&yyyy, &yyyy, &yyyy)
	feAdd(&yyyy, &yyyy, &yyyy)
	feSub(&y3, &y3, &yyyy)

	q.x, q.y, q.z = t, y3, z3
}

// addGeneric sets q = p1 + p2 with "add-2007-bl" of the Explicit-Formulas Database:
//
//	Z1Z1 = Z1^2, Z2Z2 = Z2^2, U1 = X1·Z2Z2, U2 = X2·Z1Z1
//	S1 = Y1·Z2·Z2Z2, S2 = Y2·Z1·Z1Z1, H = U2 - U1, I = (2H)^2, J = H·I
//	r = 2(S2 - S1), V = U1·I
//	X3 = r^2 - J - 2V, Y3 = r(V - X3) - 2·S1·J, Z3 = ((Z1+Z2)^2 - Z1Z1 - Z2Z2)·H
//
// The formulas are wrong when either input is the point at infinity or p1 == p2 (then
// H = r = 0); p1 == -p2 correctly gives Z3 = 0. It returns 1 in the p1 == p2 case
// (H = 0 and r = 0) and 0 otherwise, for add to fix up. q may alias p1 or p2.
func (q *point) addGeneric(p1, p2 *point) (sameX uint64) {
	var z1z1, z2z2, u1, u2, s1, s2, h, i, j, r, v, x3, y3, z3 fe
	feSqr(&z1z1, &p1.z)
	feSqr(&z2z2, &p2.z)
	feMul(&u1, &p1.x, &z2z2)
	feMul(&u2, &p2.x, &z1z1)
	feMul(&s1, &p1.y, &p2.z)
	feMul(&s1, &s1, &z2z2)
	feMul(&s2, &p2.y, &p1.z)
	feMul(&s2, &s2, &z1z1)
	feSub(&h, &u2, &u1)
	feAdd(&i, &h, &h)
	feSqr(&i, &i)
	feMul(&j, &h, &i)
	feSub(&r, &s2, &s1)
	feAdd(&r, &r, &r)
	feMul(&v, &u1, &i)

	feSqr(&x3, &r)
	feSub(&x3, &x3, &j)
	feSub(&x3, &x3, &v)
	feSub(&x3, &x3, &v)

	feSub(&y3, &v, &x3)
	feMul(&y3, &y3, &r)
	feMul(&s1, &s1, &j)
	feAdd(&s1, &s1, &s1)
	feSub(&y3, &y3, &s1)

	feAdd(&z3, &p1.z, &p2.z)
	feSqr(&z3, &z3)
	feSub(&z3, &z3, &z1z1)
	feSub(&z3, &z3, &z2z2)
	feMul(&z3, &z3, &h)

	sameX = feIsZero(&h) & feIsZero(&r)
	q.x, q.y, q.z = x3, y3, z3
	return sameX
}

// add sets q = p1 + p2 for any two points (complete): the generic formulas, with the
// doubling, p1 = O and p2 = O cases chosen by constant-time selection rather than by
// branches. q may alias p1 or p2.
func (q *point) add(p1, p2 *point) {
	var sum, dbl point
	same := sum.addGeneric(p1, p2)
	dbl.double(p1)
	inf1, inf2 := p1.isInfinity(), p2.isInfinity()
	sum.cmov(&dbl, same&(1^inf1)&(1^inf2))
	sum.cmov(p2, inf1)
	sum.cmov(p1, inf2)
	*q = sum
}

// addAffine sets q = p1 + p2 for a finite affine p2 with "madd-2007-bl" (Z2 = 1):
//
//	Z1Z1 = Z1^2, U2 = X2·Z1Z1, S2 = Y2·Z1·Z1Z1, H = U2 - X1, HH = H^2, I = 4HH, J = H·I
//	r = 2(S2 - Y1), V = X1·I
//	X3 = r^2 - J - 2V, Y3 = r(V - X3) - 2·Y1·J, Z3 = (Z1+H)^2 - Z1Z1 - HH
//
// p1 = O is handled by selection (the sum is then p2). The caller guarantees p1 != ±p2
// whenever p1 is finite (see scalarBaseMult). q may alias p1.
func (q *point) addAffine(p1 *point, p2 *affinePoint) {
	var z1z1, u2, s2, h, hh, i, j, r, v, x3, y3, z3, t fe
	feSqr(&z1z1, &p1.z)
	feMul(&u2, &p2.x, &z1z1)
	feMul(&s2, &p2.y, &p1.z)
	feMul(&s2, &s2, &z1z1)
	feSub(&h, &u2, &p1.x)
	feSqr(&hh, &h)
	feAdd(&i, &hh, &hh)
	feAdd(&i, &i, &i)
	feMul(&j, &h, &i)
	feSub(&r, &s2, &p1.y)
	feAdd(&r, &r, &r)
	feMul(&v, &p1.x, &i)

	feSqr(&x3, &r)
	feSub(&x3, &x3, &j)
	feSub(&x3, &x3, &v)
	feSub(&x3, &x3, &v)

	feSub(&y3, &v, &x3)
	feMul(&y3, &y3, &r)
	feMul(&t, &p1.y, &j)
	feAdd(&t, &t, &t)
	feSub(&y3, &y3, &t)

	feAdd(&z3, &p1.z, &h)
	feSqr(&z3, &z3)
	feSub(&z3, &z3, &z1z1)
	feSub(&z3, &z3, &hh)

	inf1 := p1.isInfinity()
	sum := point{x3, y3, z3}
	lifted := point{p2.x, p2.y, feOne}
	sum.cmov(&lifted, inf1)
	*q = sum
}

// toAffine returns the affine coordinates (Montgomery form) of p; the point at infinity
// gives (0, 0), since the inverse of Z = 0 computes as 0.
func (p *point) toAffine() (x, y fe) {
	var zinv, zinv2 fe
	feInv(&zinv, &p.z)
	feSqr(&zinv2, &zinv)
	feMul(&x, &p.x, &zinv2)
	feMul(&zinv2, &zinv2, &zinv)
	feMul(&y, &p.y, &zinv2)
	return x, y
}

// onCurve returns 1 if the affine point (x, y) satisfies y^2 = x^3 + A·x + B (RFC 5639
// §3.4) and 0 otherwise.
func onCurve(x, y *fe) uint64 {
	var lhs, rhs, t fe
	feSqr(&lhs, y)
	feSqr(&rhs, x)
	feMul(&rhs, &rhs, x)
	feMul(&t, &feA, x)
	feAdd(&rhs, &rhs, &t)
	feAdd(&rhs, &rhs, &feB)
	return feEqual(&lhs, &rhs)
}
