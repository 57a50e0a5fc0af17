package pcsc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ebfe/scard"

	"github.com/cccd-project/cccd/smartcard/apdu"
)

// MaxCommand is the longest command APDU Transmit sends: 65,535 bytes, the most the vpcd
// virtual reader carries (its 2-byte length prefix; a longer one makes the driver drop
// the card). pcsc-lite itself carries up to 65,548 (MAX_BUFFER_SIZE_EXTENDED), physical
// readers often far less. Extended length APDUs pass through pcscd and vpcd unchanged:
// with Le absent, up to 65,528 data bytes fit.
const MaxCommand = 0xFFFF

// maxChain bounds the GET RESPONSE rounds of one Transmit (64 KiB in 256-byte pieces),
// so a card that answers 61xx forever cannot hold the caller.
const maxChain = 257

// Card is a connection to the card in a reader, held in exclusive mode. It is safe for
// use by several goroutines; their commands are sent one at a time.
type Card struct {
	reader string

	mu   sync.Mutex
	sc   *scard.Context // private to this card (see the package comment)
	card *scard.Card
	atr  []byte
}

// unpoweredWait bounds how long Connect waits for pcscd to power a newly inserted card.
const unpoweredWait = 2 * time.Second

// Connect powers up the card in reader and opens it in exclusive mode with T=1 or T=0,
// whichever the card offers (ISO/IEC 7816-3 §6.3.1).
func (c *Context) Connect(ctx context.Context, reader string) (*Card, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pcsc: connect %q: %w", reader, err)
	}
	sc, err := establish()
	if err != nil {
		return nil, err
	}
	h, err := sc.Connect(reader, scard.ShareExclusive, scard.ProtocolAny)
	// A card that was just inserted (or whose last session powered it down) can be
	// reported unpowered until pcscd's next poll of the reader powers it up; such a card
	// is not an error yet. Try again briefly, bounded by ctx.
	for deadline := time.Now().Add(unpoweredWait); errors.Is(err, scard.ErrUnpoweredCard) && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			_ = sc.Release()
			return nil, fmt.Errorf("pcsc: connect %q: %w", reader, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		h, err = sc.Connect(reader, scard.ShareExclusive, scard.ProtocolAny)
	}
	if err != nil {
		_ = sc.Release() // the connect error is the one to report
		return nil, wrap("connect", reader, err)
	}
	card := &Card{reader: reader, sc: sc, card: h}
	if p := h.ActiveProtocol(); p != scard.ProtocolT0 && p != scard.ProtocolT1 {
		return nil, errors.Join(fmt.Errorf("pcsc: connect %q: unsupported protocol %d", reader, p), card.Close())
	}
	if err := card.readATR(); err != nil {
		return nil, errors.Join(err, card.Close())
	}
	return card, nil
}

func (c *Card) readATR() error {
	st, err := c.card.Status()
	if err != nil {
		return c.cardErr(context.Background(), "status", err)
	}
	c.atr = append([]byte(nil), st.Atr...)
	return nil
}

// Reader returns the name of the reader the card is in.
func (c *Card) Reader() string { return c.reader }

// ATR returns the card's answer-to-reset as read at Connect or the last Reset.
func (c *Card) ATR() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.atr...)
}

// Reset resets the card (warm reset) and reconnects to it, dropping all its volatile
// state such as an open secure messaging session.
func (c *Card) Reset(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pcsc: reset %q: %w", c.reader, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.card == nil {
		return fmt.Errorf("pcsc: reset %q: card closed", c.reader)
	}
	if err := c.card.Reconnect(scard.ShareExclusive, scard.ProtocolAny, scard.ResetCard); err != nil {
		return c.cardErr(ctx, "reset", err)
	}
	return c.readATR()
}

// Close powers the card down and disconnects from it. Closing a card that was already
// pulled out is not an error: there is nothing left to release but the handle.
func (c *Card) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.card == nil {
		return nil
	}
	var errs []error
	if err := c.card.Disconnect(scard.UnpowerCard); err != nil &&
		!errors.Is(err, scard.ErrRemovedCard) && !errors.Is(err, scard.ErrNoSmartcard) {
		errs = append(errs, wrap("disconnect", c.reader, err))
	}
	if err := c.sc.Release(); err != nil {
		errs = append(errs, wrap("release context", c.reader, err))
	}
	c.card, c.sc = nil, nil
	return errors.Join(errs...)
}

// Transmit sends cmd and returns the card's final response. It follows 61xx with GET
// RESPONSE and collects the pieces, and answers 6Cxx by sending cmd again with Le=xx
// (ISO/IEC 7816-4 §5.3.4, §5.6). ctx is checked before every exchange with the card; an
// exchange in progress cannot be interrupted by PC/SC. A card pulled out of the reader
// gives an error wrapping ErrCardRemoved.
func (c *Card) Transmit(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	raw, err := cmd.Bytes()
	if err != nil {
		return apdu.Response{}, fmt.Errorf("pcsc: transmit on %q: %w", c.reader, err)
	}
	if len(raw) > MaxCommand {
		return apdu.Response{}, fmt.Errorf("%w: transmit on %q: %d bytes, at most %d", ErrTooLong, c.reader, len(raw), MaxCommand)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.card == nil {
		return apdu.Response{}, fmt.Errorf("pcsc: transmit on %q: card closed", c.reader)
	}

	rsp, err := c.exchange(ctx, raw)
	if err != nil {
		return apdu.Response{}, err
	}
	if rsp.SW>>8 == 0x6C { // wrong Le; SW2 is the right one (00 = 256)
		again := cmd
		again.Ne = int(rsp.SW & 0xFF)
		if again.Ne == 0 {
			again.Ne = apdu.MaxShortLe
		}
		if raw, err = again.Bytes(); err != nil {
			return apdu.Response{}, fmt.Errorf("pcsc: transmit on %q: %w", c.reader, err)
		}
		if rsp, err = c.exchange(ctx, raw); err != nil {
			return apdu.Response{}, err
		}
	}
	data := rsp.Data
	for i := 0; rsp.SW>>8 == 0x61; i++ { // more data available; SW2 bytes (00 = 256 or more)
		if i == maxChain {
			return apdu.Response{}, fmt.Errorf("pcsc: transmit on %q: card still answers 61xx after %d GET RESPONSE", c.reader, maxChain)
		}
		ne := int(rsp.SW & 0xFF)
		if ne == 0 {
			ne = apdu.MaxShortLe
		}
		raw, _ = apdu.Command{CLA: getResponseCLA(cmd.CLA), INS: 0xC0, Ne: ne}.Bytes() // cannot fail: Ne <= 256
		if rsp, err = c.exchange(ctx, raw); err != nil {
			return apdu.Response{}, err
		}
		data = append(data, rsp.Data...)
	}
	rsp.Data = data
	return rsp, nil
}

// getResponseCLA keeps the logical channel of the command and drops its chaining and
// secure messaging bits (ISO/IEC 7816-4 §5.4.1).
func getResponseCLA(cla byte) byte {
	if cla&0x40 != 0 { // further interindustry class: channel in bits 1-4
		return cla & 0x4F
	}
	return cla & 0x03
}

// exchange sends one raw command APDU and parses the raw response.
func (c *Card) exchange(ctx context.Context, raw []byte) (apdu.Response, error) {
	if err := ctx.Err(); err != nil {
		return apdu.Response{}, fmt.Errorf("pcsc: transmit on %q: %w", c.reader, err)
	}
	out, err := c.card.Transmit(raw)
	if err != nil {
		return apdu.Response{}, c.cardErr(ctx, "transmit", err)
	}
	if len(out) == 0 {
		// The vpcd driver reports a card connection closed mid-command as success with
		// no bytes at all; no card answers without a status word.
		return apdu.Response{}, c.cardErr(ctx, "transmit", errEmptyResponse)
	}
	rsp, err := apdu.ParseResponse(out)
	if err != nil {
		return apdu.Response{}, fmt.Errorf("pcsc: transmit on %q: %w", c.reader, err)
	}
	return rsp, nil
}

var errEmptyResponse = errors.New("empty response")

// settleTime bounds how long cardErr waits for pcscd to notice that a card whose
// exchange failed has left the reader (vpcd readers are polled about every 400 ms).
const settleTime = 2 * time.Second

// cardErr maps an error of an operation on the connected card. Besides the PC/SC codes
// that say so, a failed exchange on a reader that turns out to be empty also means the
// card was pulled out: the vpcd driver reports a card connection closed mid-command as
// SCARD_E_NOT_TRANSACTED or as an empty response, and pcscd only marks the reader empty
// at its next poll, so cardErr waits up to settleTime (or ctx) for that.
func (c *Card) cardErr(ctx context.Context, op string, err error) error {
	if errors.Is(err, scard.ErrRemovedCard) || errors.Is(err, scard.ErrNoSmartcard) || c.removed(ctx) {
		return fmt.Errorf("%w: %s on %q: %w", ErrCardRemoved, op, c.reader, err)
	}
	return wrap(op, c.reader, err)
}

// removed reports whether the reader becomes empty within settleTime.
func (c *Card) removed(ctx context.Context) bool {
	deadline := time.Now().Add(settleTime)
	states := []scard.ReaderState{{Reader: c.reader, CurrentState: scard.StateUnaware}}
	for ctx.Err() == nil && time.Now().Before(deadline) {
		err := c.sc.GetStatusChange(states, pollInterval)
		if errors.Is(err, scard.ErrTimeout) {
			continue
		}
		if err != nil {
			return false
		}
		ev := states[0].EventState
		if ev&(scard.StateEmpty|scard.StateUnknown|scard.StateUnavailable) != 0 {
			return true
		}
		states[0].CurrentState = ev &^ scard.StateChanged
	}
	return false
}
