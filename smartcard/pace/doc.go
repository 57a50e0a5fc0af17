// Package pace implements PACE (Password Authenticated Connection Establishment, ICAO
// 9303-11 §4.4) with ECDH Generic Mapping, on both the terminal side (Authenticate) and the
// chip side (Chip), in pure Go. It covers the protocols id-PACE-ECDH-GM-3DES and
// id-PACE-ECDH-GM-AES-CBC-CMAC-128/192/256 with the standardized elliptic curve domain
// parameters of ICAO 9303-11 §9.5.1 that Go can compute on: NIST P-224/256/384/521 and
// brainpoolP224r1..P512r1 (IDs 10-18; the Vietnamese card uses 13, brainpoolP256r1).
// Passwords are the MRZ (K = SHA-1 of the MRZ information) or the CAN. DH groups,
// Integrated Mapping and Chip Authentication Mapping are not implemented.
//
// # Terminal
//
//	res, err := pace.Authenticate(ctx, card, paceInfo, pace.Password{Kind: pace.CAN, Value: []byte("123456")}, nil)
//	if errors.Is(err, pace.ErrAuthentication) { /* wrong password */ }
//	ch := sm.NewChannel(card, res.Session)
//
// # Chip
//
// A Chip is a state machine the virtual chip feeds with command data fields; it does no I/O
// and does not look at CLA/INS/P1/P2, which the caller checks:
//
//	chip, err := pace.NewChip(paceInfo, map[pace.PasswordKind][]byte{
//		pace.MRZ: sha1MRZInformation, // f(pi), 20 bytes: see PasswordSecret
//		pace.CAN: []byte("123456"),
//	})
//
// paceInfo must carry a ParameterID (HasParameterID). The MRZ secret is SHA-1 of the MRZ
// information, the same 20 bytes a chip keeps for BAC (whose key seed is their first 16).
//
//	MSE:Set AT          00 22 C1 A4  data -> chip.SetAT(data) error
//	                    nil -> 9000, chip.Step() == StepNonce.
//	GENERAL AUTHENTICATE 10 86 00 00 (steps 1-3, command chaining) and 00 86 00 00 (step 4),
//	                    data -> resp, done, err := chip.GeneralAuthenticate(data, rnd)
//	                    err == nil: answer resp with 9000. After step 4 done != nil: it is
//	                    the chip's secure messaging session (SSC zero); the response to step 4
//	                    itself goes out in plain, every later command must be protected with done.
//	                    err != nil: answer pace.StatusWord(err) with no data; the chip is back
//	                    at StepIdle and the terminal must start again with MSE:Set AT.
//
// Steps and the data objects inside 7C (ICAO 9303-11 §4.4.4.2):
//
//	step 1  StepNonce       7C 00            -> 7C { 80 encrypted nonce }
//	step 2  StepMap         7C { 81 PK_Map,IFD } -> 7C { 82 PK_Map,IC }
//	step 3  StepKeyAgree    7C { 83 PK_DH,IFD }  -> 7C { 84 PK_DH,IC }
//	step 4  StepMutualAuth  7C { 85 T_IFD }      -> 7C { 86 T_IC }, done
//
// Errors and status words (StatusWord): ErrSequence (a step other than Step(), or GENERAL
// AUTHENTICATE before MSE:Set AT or after completion) 6985; ErrMalformed (bad TLV, point
// not on the curve, equal ephemeral keys) 6A80; ErrUnsupported (other protocol or
// parameter ID in MSE:Set AT) 6A80; ErrNoPassword (password reference the chip does not
// hold) 6A88; ErrAuthentication (T_IFD does not verify: wrong password) 6300. The chip
// does not count failed attempts: rate limiting belongs to the caller.
//
// rnd (crypto/rand.Reader when nil) is read in this order, which the tests use to replay
// ICAO 9303-11 appendix G.1: chip: nonce s (block size: 16 bytes AES, 8 bytes 3DES), then
// SK_Map,IC, then SK_DH,IC; terminal: SK_Map,IFD, then SK_DH,IFD. A private key is drawn
// by reading the byte length of the group order and rejecting values outside [1, n-1].
//
// # Security notes
//
// Curve arithmetic uses crypto/elliptic, because crypto/ecdh offers no point addition and
// the generic mapping needs G' = s*G + H. The NIST curves there are constant time, and so
// is brainpoolP256r1 (ID 13, smartcard/bp256, which securityinfo.StandardCurve returns);
// the other brainpool curves (github.com/osanderson/brainpool over elliptic.CurveParams)
// are not, which matters for a chip facing an attacker who can time it, much less for a
// terminal with ephemeral keys. Every point received is decoded with a length check and an
// on-curve check before any arithmetic (elliptic panics otherwise), and secrets are
// zeroed after use as far as big.Int allows.
package pace
