package pace

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"

	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/sm"
)

// Step is the position of a Chip in the PACE protocol: the GENERAL AUTHENTICATE step it
// expects next.
type Step int

// Steps of the chip-side state machine.
const (
	StepIdle       Step = iota // no MSE:Set AT yet, or the last run was aborted
	StepNonce                  // MSE:Set AT accepted: expects step 1 (7C 00), answers the encrypted nonce
	StepMap                    // expects step 2 (81 mapping key)
	StepKeyAgree               // expects step 3 (83 ephemeral key)
	StepMutualAuth             // expects step 4 (85 token)
	StepDone                   // PACE completed; only MSE:Set AT starts a new run
)

// Chip is the chip side of PACE with ECDH generic mapping, for a virtual or test chip. It
// is a state machine driven by the MSE:Set AT and GENERAL AUTHENTICATE command data; see
// the package documentation for the exact contract. A Chip is not safe for concurrent use.
type Chip struct {
	protocol  []byte // OID content octets of info.Protocol
	info      securityinfo.PACEInfo
	st        suite
	curve     elliptic.Curve
	passwords map[PasswordKind][]byte

	step    Step
	kind    PasswordKind
	kpi     []byte
	nonce   []byte
	gx, gy  *big.Int // mapped generator
	skDH    []byte
	pkDH    []byte // PK_DH,IC
	pkDHIFD []byte // PK_DH,IFD
	ksEnc   []byte
	ksMAC   []byte
}

// NewChip returns a chip that runs the PACE protocol of info (an id-PACE-ECDH-GM-* OID with
// a standardized ParameterID) and knows the given passwords, keyed by kind. Each is stored
// the way a chip stores it, as f(pi) of ICAO 9303-11 §4.4.3.1 (see PasswordSecret): for
// MRZ the 20-byte SHA-1 of the MRZ information, for CAN, PIN and PUK the ASCII digits.
// The passwords are copied.
func NewChip(info securityinfo.PACEInfo, passwords map[PasswordKind][]byte) (*Chip, error) {
	st, err := suiteOf(info.Protocol)
	if err != nil {
		return nil, err
	}
	if !info.HasParameterID {
		return nil, fmt.Errorf("%w: explicit domain parameters", ErrUnsupported)
	}
	curve, err := Curve(info.ParameterID)
	if err != nil {
		return nil, err
	}
	oid, err := oidContent(info.Protocol)
	if err != nil {
		return nil, err
	}
	if len(passwords) == 0 {
		return nil, fmt.Errorf("pace: chip without passwords")
	}
	pw := make(map[PasswordKind][]byte, len(passwords))
	for k, v := range passwords {
		if len(v) == 0 {
			return nil, fmt.Errorf("pace: empty %s password", k)
		}
		pw[k] = bytes.Clone(v)
	}
	return &Chip{protocol: oid, info: info, st: st, curve: curve, passwords: pw}, nil
}

// Step returns the step the chip expects next.
func (c *Chip) Step() Step { return c.step }

// PasswordKind returns the kind of password of the current or last completed run (zero
// before the first MSE:Set AT).
func (c *Chip) PasswordKind() PasswordKind { return c.kind }

// EphemeralPublic returns the chip's ephemeral public key PK_DH,IC (uncompressed point) of
// the current or last completed run, nil before step 3.
func (c *Chip) EphemeralPublic() []byte { return bytes.Clone(c.pkDH) }

// Reset aborts any run in progress and forgets its secrets.
func (c *Chip) Reset() {
	for _, b := range [][]byte{c.kpi, c.nonce, c.skDH, c.ksEnc, c.ksMAC} {
		clear(b)
	}
	c.step, c.kpi, c.nonce, c.gx, c.gy, c.skDH, c.ksEnc, c.ksMAC = StepIdle, nil, nil, nil, nil, nil, nil, nil
}

// SetAT processes the data field of MSE:Set AT (00 22 C1 A4; ICAO 9303-11 §4.4.4.1) and
// starts a new run. The protocol must be the chip's, tag 84 (if present) must name the
// chip's parameter ID, and the referenced password must be known. On error the chip is
// reset (StepIdle) and the error wraps ErrMalformed, ErrUnsupported or ErrNoPassword.
func (c *Chip) SetAT(data []byte) error {
	c.Reset()
	s, err := parseSetAT(data)
	if err != nil {
		return err
	}
	if !bytes.Equal(s.protocol, c.protocol) {
		return fmt.Errorf("%w: mse:set at: protocol is not %s", ErrUnsupported, c.info.Protocol)
	}
	if s.parameterID >= 0 && s.parameterID != c.info.ParameterID {
		return fmt.Errorf("%w: mse:set at: domain parameter id %d, chip has %d", ErrUnsupported, s.parameterID, c.info.ParameterID)
	}
	v, ok := c.passwords[s.password]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoPassword, s.password)
	}
	kpi := sm.KDF(v, c.st.cipher, c.st.keyBits, sm.KDFPi)
	c.kpi, c.kind, c.step = kpi, s.password, StepNonce
	return nil
}

// stepOf tells which GENERAL AUTHENTICATE step command data belongs to, from the data
// object inside 7C.
func stepOf(data []byte) (Step, []byte, error) {
	children, err := parseDAD(data)
	if err != nil {
		return 0, nil, err
	}
	if len(children) == 0 {
		return StepNonce, nil, nil
	}
	if len(children) > 1 {
		return 0, nil, fmt.Errorf("%w: %d data objects in 7C, want 1", ErrMalformed, len(children))
	}
	switch children[0].Tag {
	case tagMapTerminal:
		return StepMap, children[0].Value, nil
	case tagKeyTerminal:
		return StepKeyAgree, children[0].Value, nil
	case tagTokenTerminal:
		return StepMutualAuth, children[0].Value, nil
	}
	return 0, nil, fmt.Errorf("%w: unexpected tag %s in 7C", ErrMalformed, children[0].Tag)
}

// GeneralAuthenticate processes the data field of one GENERAL AUTHENTICATE command (INS 86;
// ICAO 9303-11 §4.4.4.2) and returns the response data field (to be sent with 9000). rnd
// supplies the nonce and the chip's ephemeral private keys (crypto/rand.Reader when nil).
// After step 4 succeeds, done is the chip's secure messaging session (SSC zero) and the
// response carries the chip's token; done is nil for the other steps.
//
// Errors (the chip is then reset to StepIdle; map them with StatusWord):
// ErrSequence for a step other than the expected one, ErrMalformed for bad data,
// ErrAuthentication when the terminal's token does not verify (wrong password: 6300).
func (c *Chip) GeneralAuthenticate(data []byte, rnd io.Reader) (resp []byte, done *sm.Session, err error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	resp, done, err = c.generalAuthenticate(data, rnd)
	if err != nil {
		c.Reset()
	}
	return resp, done, err
}

func (c *Chip) generalAuthenticate(data []byte, rnd io.Reader) ([]byte, *sm.Session, error) {
	switch c.step {
	case StepIdle:
		return nil, nil, fmt.Errorf("%w: general authenticate without mse:set at", ErrSequence)
	case StepDone:
		return nil, nil, fmt.Errorf("%w: general authenticate after pace completed", ErrSequence)
	}
	got, v, err := stepOf(data)
	if err != nil {
		return nil, nil, err
	}
	if got != c.step {
		return nil, nil, fmt.Errorf("%w: got step %d, expected step %d", ErrSequence, got, c.step)
	}
	switch c.step {
	case StepNonce:
		return c.sendNonce(rnd)
	case StepMap:
		return c.mapGenerator(v, rnd)
	case StepKeyAgree:
		return c.agreeKey(v, rnd)
	default:
		return c.authenticate(v)
	}
}

// sendNonce is step 1: choose s, answer z = E(K_pi, s) (ICAO 9303-11 §4.4.3.1).
func (c *Chip) sendNonce(rnd io.Reader) ([]byte, *sm.Session, error) {
	s := make([]byte, c.st.blockSize())
	if _, err := io.ReadFull(rnd, s); err != nil {
		return nil, nil, fmt.Errorf("pace: read randomness: %w", err)
	}
	z, err := encryptNonce(c.st.cipher, c.kpi, s)
	if err != nil {
		return nil, nil, err
	}
	c.nonce, c.step = s, StepMap
	return dad(tagEncryptedNonce, z), nil, nil
}

// mapGenerator is step 2: generic mapping G' = s*G + H (ICAO 9303-11 §4.4.3.3.1).
func (c *Chip) mapGenerator(pkMapIFD []byte, rnd io.Reader) ([]byte, *sm.Session, error) {
	px, py, err := unmarshalPoint(c.curve, pkMapIFD)
	if err != nil {
		return nil, nil, fmt.Errorf("pace: terminal mapping key: %w", err)
	}
	sk, err := randomScalar(c.curve, rnd)
	if err != nil {
		return nil, nil, err
	}
	defer clear(sk)
	hx, hy, err := mappingPoint(c.curve, sk, px, py)
	if err != nil {
		return nil, nil, err
	}
	if c.gx, c.gy, err = mapGenerator(c.curve, c.nonce, hx, hy); err != nil {
		return nil, nil, err
	}
	clear(c.nonce)
	mx, my := c.curve.ScalarBaseMult(sk)
	c.step = StepKeyAgree
	return dad(tagMapChip, marshalPoint(c.curve, mx, my)), nil, nil
}

// agreeKey is step 3: ephemeral key agreement on G' and session key derivation
// (ICAO 9303-11 §4.4.3, §9.7).
func (c *Chip) agreeKey(pkDHIFD []byte, rnd io.Reader) ([]byte, *sm.Session, error) {
	sk, err := randomScalar(c.curve, rnd)
	if err != nil {
		return nil, nil, err
	}
	x, y := c.curve.ScalarMult(c.gx, c.gy, sk)
	pk := marshalPoint(c.curve, x, y)
	secret, err := agree(c.curve, sk, pk, pkDHIFD)
	clear(sk)
	if err != nil {
		return nil, nil, fmt.Errorf("pace: terminal %w", err)
	}
	c.ksEnc, c.ksMAC = sessionKeys(c.st.cipher, c.st.keyBits, secret)
	clear(secret)
	c.pkDH, c.pkDHIFD, c.step = pk, bytes.Clone(pkDHIFD), StepMutualAuth
	return dad(tagKeyChip, pk), nil, nil
}

// authenticate is step 4: verify T_IFD over PK_DH,IC, answer T_IC over PK_DH,IFD
// (ICAO 9303-11 §4.4.3.4) and start secure messaging.
func (c *Chip) authenticate(tIFD []byte) ([]byte, *sm.Session, error) {
	want, err := authToken(c.st.cipher, c.ksMAC, c.info.Protocol, c.pkDH)
	if err != nil {
		return nil, nil, err
	}
	if !equalTokens(tIFD, want) {
		return nil, nil, fmt.Errorf("%w: terminal token does not verify", ErrAuthentication)
	}
	tIC, err := authToken(c.st.cipher, c.ksMAC, c.info.Protocol, c.pkDHIFD)
	if err != nil {
		return nil, nil, err
	}
	sess, err := newSession(c.st.cipher, c.ksEnc, c.ksMAC)
	if err != nil {
		return nil, nil, err
	}
	pk := c.pkDH
	c.Reset()
	c.pkDH, c.step = pk, StepDone
	return dad(tagTokenChip, tIC), sess, nil
}
