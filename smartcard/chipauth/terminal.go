package chipauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/sm"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// Method selects the command that carries the terminal's ephemeral key (ICAO 9303-11 §6.2).
type Method int

// Methods.
const (
	// MethodAuto sends MSE:Set KAT for 3DES protocols and MSE:Set AT + GENERAL
	// AUTHENTICATE for AES protocols.
	MethodAuto Method = iota
	// MethodKAT always sends MSE:Set KAT (00 22 41 A6).
	MethodKAT
	// MethodGA always sends MSE:Set AT (00 22 41 A4) + GENERAL AUTHENTICATE (00 86 00 00).
	MethodGA
)

// Terminal runs Chip Authentication as the terminal. The zero value is ready to use.
type Terminal struct {
	Method Method
	// Rand supplies the ephemeral private key; crypto/rand.Reader when nil.
	Rand io.Reader
}

// Result is the outcome of the key agreement on the terminal side.
type Result struct {
	// Session is the new secure messaging session (SSC zero). Prefer Channel, which also
	// performs the clone check.
	Session *sm.Session
	Cipher  sm.Cipher
	KeyBits int
	// TerminalEphemeralPublic is the ephemeral public key sent to the chip (uncompressed).
	TerminalEphemeralPublic []byte
}

// Authenticate runs Chip Authentication with Terminal{Rand: rnd}; see Terminal.Authenticate.
func Authenticate(ctx context.Context, t apdu.Transmitter, info securityinfo.ChipAuthenticationInfo, key PublicKey, rnd io.Reader) (*Result, error) {
	return Terminal{Rand: rnd}.Authenticate(ctx, t, info, key)
}

// Authenticate sends an ephemeral public key on the curve of the chip's static key over t,
// which must be the secure messaging channel of BAC or PACE, and derives the new session
// (ICAO 9303-11 §6.2). info.Protocol selects the cipher (Suite), info.KeyID is sent in
// tag 84 when info.HasKeyID. key is the chip's Chip Authentication public key from DG14. The
// returned session is not yet proven: use Result.Channel for the next commands.
func (tm Terminal) Authenticate(ctx context.Context, t apdu.Transmitter, info securityinfo.ChipAuthenticationInfo, key PublicKey) (*Result, error) {
	c, bits, err := Suite(info.Protocol)
	if err != nil {
		return nil, err
	}
	if info.Version != 1 && info.Version != 2 {
		return nil, fmt.Errorf("%w: chip authentication version %d", ErrUnsupported, info.Version)
	}
	if err := validPublicKey(key); err != nil {
		return nil, err
	}
	rnd := tm.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	sk, err := randomScalar(key.Curve, rnd)
	if err != nil {
		return nil, err
	}
	defer clear(sk)
	ex, ey := key.Curve.ScalarBaseMult(sk)
	point := marshalPoint(key.Curve, ex, ey)

	method := tm.Method
	if method == MethodAuto {
		method = MethodGA
		if c == sm.TDES {
			method = MethodKAT
		}
	}
	if err := send(ctx, t, method, info, point); err != nil {
		return nil, err
	}
	secret, err := sharedSecret(key.Curve, sk, key.X, key.Y)
	if err != nil {
		return nil, err
	}
	s, err := newSession(c, bits, secret)
	if err != nil {
		return nil, err
	}
	return &Result{Session: s, Cipher: c, KeyBits: bits, TerminalEphemeralPublic: point}, nil
}

// send transmits the ephemeral key with the chosen method.
func send(ctx context.Context, t apdu.Transmitter, m Method, info securityinfo.ChipAuthenticationInfo, point []byte) error {
	if m == MethodKAT {
		cmd := apdu.Command{CLA: 0x00, INS: 0x22, P1: 0x41, P2: 0xA6, Data: setKATData(point, keyID(info))}
		if _, err := apdu.Run(ctx, t, cmd); err != nil {
			return fmt.Errorf("chipauth: mse:set kat: %w", err)
		}
		return nil
	}
	data, err := setATData(info.Protocol, keyID(info))
	if err != nil {
		return err
	}
	if _, err := apdu.Run(ctx, t, apdu.Command{CLA: 0x00, INS: 0x22, P1: 0x41, P2: 0xA4, Data: data}); err != nil {
		return fmt.Errorf("chipauth: mse:set at: %w", err)
	}
	resp, err := apdu.Run(ctx, t, apdu.Command{CLA: 0x00, INS: 0x86, P1: 0x00, P2: 0x00, Data: gaData(point), Ne: apdu.MaxShortLe})
	if err != nil {
		return fmt.Errorf("chipauth: general authenticate: %w", err)
	}
	return checkGAResponse(resp)
}

// keyID is the key reference to send in tag 84, or -1 for none.
func keyID(info securityinfo.ChipAuthenticationInfo) int {
	if !info.HasKeyID {
		return -1
	}
	return info.KeyID
}

// checkGAResponse accepts an empty response or empty dynamic authentication data (7C 00);
// a nonce or token (TR-03110 CA2) is unsupported.
func checkGAResponse(resp []byte) error {
	if len(resp) == 0 {
		return nil
	}
	tag, v, rest, err := tlv.Next(resp)
	if err != nil || tag != tagDAD || len(rest) != 0 {
		return fmt.Errorf("%w: general authenticate response %X", ErrMalformed, resp)
	}
	if len(v) != 0 {
		return fmt.Errorf("%w: general authenticate response with data objects (chip authentication 2 of TR-03110)", ErrUnsupported)
	}
	return nil
}

// Channel returns an apdu.Transmitter that protects commands with the new session and sends
// them over raw (the card itself, not the old secure messaging channel). Until its first
// exchange succeeds, a failure to agree on the keys is reported as ErrChipAuthentication.
func (r *Result) Channel(raw apdu.Transmitter) *Channel {
	rec := &recorder{t: raw}
	return &Channel{ch: sm.NewChannel(rec, r.Session), rec: rec}
}

// Channel is the secure messaging channel after Chip Authentication; see Result.Channel.
type Channel struct {
	mu       sync.Mutex
	ch       *sm.Channel
	rec      *recorder
	verified bool
}

// recorder notes whether the last raw response came without data, i.e. in plain: only a
// response with secure messaging objects whose MAC verifies proves the chip's keys.
type recorder struct {
	t     apdu.Transmitter
	plain bool
}

func (r *recorder) Transmit(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	resp, err := r.t.Transmit(ctx, cmd)
	r.plain = err == nil && len(resp.Data) == 0
	return resp, err
}

// Verified reports whether the chip has proved knowledge of its private key by answering
// correctly under the new session.
func (c *Channel) Verified() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.verified
}

// Transmit sends cmd under the new session. Until the first answer whose MAC verifies, a
// response whose MAC does not verify, or a plain 6987/6988 (the chip could not verify the
// command's MAC), is an error wrapping ErrChipAuthentication; other plain answers (e.g.
// 6A82) are passed on and do not count as proof.
func (c *Channel) Transmit(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, err := c.ch.Transmit(ctx, cmd)
	if c.verified {
		return r, err
	}
	switch {
	case errors.Is(err, sm.ErrMAC), errors.Is(err, sm.ErrBadDO), errors.Is(err, sm.ErrMissingDO), errors.Is(err, sm.ErrPadding):
		return apdu.Response{}, fmt.Errorf("%w: %w", ErrChipAuthentication, err)
	case err != nil:
		return r, err
	case c.rec.plain && (r.SW == apdu.SWSMDataMissing || r.SW == apdu.SWSMDataIncorrect):
		return apdu.Response{}, fmt.Errorf("%w: chip answered %04X to the first command under the new keys", ErrChipAuthentication, r.SW)
	}
	c.verified = !c.rec.plain
	return r, nil
}
