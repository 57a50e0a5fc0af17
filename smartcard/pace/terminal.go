package pace

import (
	"context"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/sm"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// Result is the outcome of a successful PACE run on the terminal side.
type Result struct {
	// Session is the new secure messaging session (SSC zero); wrap the card's transmitter
	// with sm.NewChannel(t, Session) for every following command.
	Session *sm.Session
	// Cipher and KeyBits are the session's cipher and key length.
	Cipher  sm.Cipher
	KeyBits int
	// Curve is the curve of the domain parameters.
	Curve elliptic.Curve
	// ChipEphemeralPublic is the chip's ephemeral key PK_DH,IC as an uncompressed point
	// (04 || X || Y). Its x-coordinate is ID_PICC for Terminal Authentication
	// (BSI TR-03110), and it binds PACE to a later Chip Authentication.
	ChipEphemeralPublic []byte
	// TerminalEphemeralPublic is the terminal's ephemeral key PK_DH,IFD.
	TerminalEphemeralPublic []byte
}

// Authenticate runs PACE with ECDH generic mapping as the terminal (ICAO 9303-11 §4.4):
// MSE:Set AT, then the four GENERAL AUTHENTICATE steps (encrypted nonce, mapping, key
// agreement, mutual authentication), and returns the secure messaging session.
//
// info selects the protocol (only id-PACE-ECDH-GM-*) and the standardized domain parameter
// ID, which is sent in tag 84 of MSE:Set AT (ICAO 9303-11 §4.4.4.1 allows it always and
// requires it when the chip offers several parameter sets); a PACEInfo without
// parameterId (explicit domain parameters) is ErrUnsupported. rnd supplies the ephemeral private
// keys (crypto/rand.Reader when nil).
//
// A wrong password makes the chip reject the terminal's token with 6300: Authenticate then
// returns an error wrapping ErrAuthentication (and apdu.StatusError). A chip token that does
// not verify also wraps ErrAuthentication.
func Authenticate(ctx context.Context, t apdu.Transmitter, info securityinfo.PACEInfo, pw Password, rnd io.Reader) (*Result, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	st, err := suiteOf(info.Protocol)
	if err != nil {
		return nil, err
	}
	if !info.HasParameterID {
		return nil, fmt.Errorf("%w: explicit domain parameters (PACEInfo without parameterId)", ErrUnsupported)
	}
	curve, err := Curve(info.ParameterID)
	if err != nil {
		return nil, err
	}
	oid, err := oidContent(info.Protocol)
	if err != nil {
		return nil, err
	}
	kpi, err := PasswordKey(pw, st.cipher, st.keyBits)
	if err != nil {
		return nil, err
	}
	defer clear(kpi)

	// MSE:Set AT (ICAO 9303-11 §4.4.4.1).
	mse := setAT{protocol: oid, password: pw.Kind, parameterID: info.ParameterID}
	if _, err := apdu.Run(ctx, t, apdu.Command{CLA: 0x00, INS: 0x22, P1: 0xC1, P2: 0xA4, Data: mse.encode()}); err != nil {
		return nil, fmt.Errorf("pace: mse:set at: %w", err)
	}

	// Step 1: encrypted nonce.
	z, err := generalAuthenticate(ctx, t, 1, dad(0, nil), tagEncryptedNonce)
	if err != nil {
		return nil, err
	}
	s, err := decryptNonce(st.cipher, kpi, z)
	if err != nil {
		return nil, fmt.Errorf("pace: step 1: %w", err)
	}
	defer clear(s)

	// Step 2: generic mapping.
	skMap, err := randomScalar(curve, rnd)
	if err != nil {
		return nil, err
	}
	defer clear(skMap)
	mx, my := curve.ScalarBaseMult(skMap)
	pkMap := marshalPoint(curve, mx, my)
	pkMapIC, err := generalAuthenticate(ctx, t, 2, dad(tagMapTerminal, pkMap), tagMapChip)
	if err != nil {
		return nil, err
	}
	gx, gy, err := terminalMapping(curve, s, skMap, pkMapIC)
	if err != nil {
		return nil, fmt.Errorf("pace: step 2: %w", err)
	}

	// Step 3: key agreement on the mapped generator.
	skDH, err := randomScalar(curve, rnd)
	if err != nil {
		return nil, err
	}
	defer clear(skDH)
	dx, dy := curve.ScalarMult(gx, gy, skDH)
	pkDH := marshalPoint(curve, dx, dy)
	pkDHIC, err := generalAuthenticate(ctx, t, 3, dad(tagKeyTerminal, pkDH), tagKeyChip)
	if err != nil {
		return nil, err
	}
	secret, err := agree(curve, skDH, pkDH, pkDHIC)
	if err != nil {
		return nil, fmt.Errorf("pace: step 3: %w", err)
	}
	ksEnc, ksMAC := sessionKeys(st.cipher, st.keyBits, secret)
	clear(secret)
	defer clear(ksEnc)
	defer clear(ksMAC)

	// Step 4: mutual authentication.
	tIFD, err := authToken(st.cipher, ksMAC, info.Protocol, pkDHIC)
	if err != nil {
		return nil, err
	}
	tIC, err := generalAuthenticate(ctx, t, 4, dad(tagTokenTerminal, tIFD), tagTokenChip)
	if err != nil {
		return nil, err
	}
	want, err := authToken(st.cipher, ksMAC, info.Protocol, pkDH)
	if err != nil {
		return nil, err
	}
	if !equalTokens(tIC, want) {
		return nil, fmt.Errorf("%w: the chip's authentication token does not verify", ErrAuthentication)
	}
	sess, err := newSession(st.cipher, ksEnc, ksMAC)
	if err != nil {
		return nil, err
	}
	return &Result{
		Session:                 sess,
		Cipher:                  st.cipher,
		KeyBits:                 st.keyBits,
		Curve:                   curve,
		ChipEphemeralPublic:     pkDHIC,
		TerminalEphemeralPublic: pkDH,
	}, nil
}

// generalAuthenticate sends one step of GENERAL AUTHENTICATE (10 86 00 00 for the chained
// steps 1-3, 00 86 00 00 for step 4; ICAO 9303-11 §4.4.4.2) and returns the value of the
// expected data object of the response. A 6300 answer to step 4 is ErrAuthentication.
func generalAuthenticate(ctx context.Context, t apdu.Transmitter, step int, data []byte, want tlv.Tag) ([]byte, error) {
	cla := byte(0x10)
	if step == 4 {
		cla = 0x00
	}
	resp, err := apdu.Run(ctx, t, apdu.Command{CLA: cla, INS: 0x86, P1: 0x00, P2: 0x00, Data: data, Ne: apdu.MaxShortLe})
	if err != nil {
		var se apdu.StatusError
		if step == 4 && errors.As(err, &se) && se.SW == swAuthenticationFailed {
			return nil, fmt.Errorf("%w: chip rejected the terminal's token (wrong password?): %w", ErrAuthentication, err)
		}
		return nil, fmt.Errorf("pace: general authenticate step %d: %w", step, err)
	}
	v, err := findDAD(resp, want)
	if err != nil {
		return nil, fmt.Errorf("pace: general authenticate step %d response: %w", step, err)
	}
	return v, nil
}

// terminalMapping computes the mapped generator on the terminal side from the nonce s, the
// terminal's mapping key and the chip's mapping public key (ICAO 9303-11 §4.4.3.3.1).
func terminalMapping(c elliptic.Curve, s, skMap, pkMapIC []byte) (gx, gy *big.Int, err error) {
	px, py, err := unmarshalPoint(c, pkMapIC)
	if err != nil {
		return nil, nil, fmt.Errorf("chip mapping key: %w", err)
	}
	hx, hy, err := mappingPoint(c, skMap, px, py)
	if err != nil {
		return nil, nil, err
	}
	return mapGenerator(c, s, hx, hy)
}

// agree checks the other party's ephemeral key (on the curve and different from our own,
// ICAO 9303-11 §4.4.3) and returns the shared secret K.
func agree(c elliptic.Curve, sk, own, other []byte) ([]byte, error) {
	px, py, err := unmarshalPoint(c, other)
	if err != nil {
		return nil, fmt.Errorf("ephemeral key: %w", err)
	}
	if equalTokens(own, other) {
		return nil, fmt.Errorf("%w: both ephemeral public keys are equal", ErrMalformed)
	}
	return sharedSecret(c, sk, px, py)
}
