package sm

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cccd-project/cccd/smartcard/apdu"
)

// ErrClosed is returned by Channel.Transmit once the channel has seen a secure messaging
// failure: terminal and chip counters can no longer be trusted to agree, so ICAO 9303-11
// §9.8 requires a new access control run (BAC, PACE) before more protected commands.
var ErrClosed = errors.New("sm: channel closed after a secure messaging failure")

// Channel is an apdu.Transmitter that runs every command through a secure messaging
// session: it protects the command, sends it on the underlying transmitter and unprotects
// the response. Calls are serialised because each one advances the SSC. The channel closes
// itself (later calls return ErrClosed) after a response that does not verify, a transport
// error, or a plain 6987/6988 (the chip has dropped its session keys).
type Channel struct {
	mu     sync.Mutex
	t      apdu.Transmitter
	s      *Session
	closed error // why the channel closed, nil while open
}

// NewChannel returns a Channel sending over t with session s.
func NewChannel(t apdu.Transmitter, s *Session) *Channel { return &Channel{t: t, s: s} }

// Session returns the channel's session.
func (c *Channel) Session() *Session { return c.s }

// Err returns nil while the channel is open, or an error wrapping ErrClosed and the cause.
func (c *Channel) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Transmit protects cmd, sends it and returns the unprotected response. A status word other
// than 9000 comes back in the Response (as with any Transmitter); a failed MAC or malformed
// secure messaging object is an error wrapping ErrMAC, ErrBadDO, ErrMissingDO or ErrPadding.
func (c *Channel) Transmit(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed != nil {
		return apdu.Response{}, c.closed
	}
	pc, err := c.s.ProtectCommand(cmd)
	if err != nil {
		return apdu.Response{}, err // nothing sent, counters unchanged
	}
	r, err := c.t.Transmit(ctx, pc)
	if err != nil {
		c.closed = fmt.Errorf("%w: %w", ErrClosed, err)
		return apdu.Response{}, err
	}
	pr, err := c.s.UnprotectResponse(r)
	if err != nil {
		err = fmt.Errorf("sm: response to INS %02X: %w", cmd.INS, err)
		c.closed = fmt.Errorf("%w: %w", ErrClosed, err)
		return apdu.Response{}, err
	}
	if len(r.Data) == 0 && (r.SW == apdu.SWSMDataMissing || r.SW == apdu.SWSMDataIncorrect) {
		c.closed = fmt.Errorf("%w: chip answered %04X in plain", ErrClosed, r.SW)
	}
	return pr, nil
}
