// Package vpcd puts virtual chips behind pcscd: it speaks the virtual-card side of the
// vsmartcard vpcd protocol, so that a Card implemented in Go appears in a PC/SC reader
// slot ("CCCD vpcd 00-01 00 00", ...) exactly like a physical card, and it runs the
// card emulator daemon (Emulator) behind `cccd card emulate|insert|remove|list`.
//
// The vpcd driver inside pcscd listens on 127.0.0.1 port 35963+slot (see Port and
// scripts/pcscd.sh); a virtual card connects to it as a TCP client. Inserting a card is
// connecting, removing it is closing the connection.
//
// Wire format (vsmartcard virtualsmartcard/src/vpcd/vpcd.c): every message in both
// directions is a 2-byte big-endian length followed by that many payload bytes. From the
// reader, a 1-byte payload is a control code (CtrlOff, CtrlOn, CtrlReset, CtrlATR);
// anything longer is a command APDU that the card answers with data||SW1SW2. Only
// CtrlATR and APDUs get an answer.
package vpcd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Control codes sent by the vpcd driver as 1-byte messages.
const (
	CtrlOff   byte = 0x00 // power the card down; no answer
	CtrlOn    byte = 0x01 // power the card up; no answer
	CtrlReset byte = 0x02 // warm reset; no answer
	CtrlATR   byte = 0x04 // answer with the ATR (also the driver's presence poll)
)

// ErrSilent is why a Slot dropped its card when the card answered a command or the ATR
// request with nothing: to the reader, a card that says nothing has been pulled out.
var ErrSilent = errors.New("vpcd: card answered nothing")

// MaxMessage is the largest payload the 2-byte length prefix can carry.
const MaxMessage = 0xFFFF

// ErrFrame is wrapped by every error ReadMessage returns for bytes that are not a
// well-formed vpcd message stream.
var ErrFrame = errors.New("vpcd: bad message frame")

// ReadMessage reads one length-prefixed message from r into buf (grown when needed) and
// returns the payload. A zero-length message is an error: the driver never sends one, and
// it treats one from the card as the card being gone. io.EOF is returned as is when r ends
// cleanly between messages.
func ReadMessage(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: truncated length prefix", ErrFrame)
		}
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrFrame)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: message of %d bytes truncated", ErrFrame, n)
		}
		return nil, err
	}
	return buf, nil
}

// AppendMessage appends payload with its 2-byte big-endian length prefix to dst, so that
// the whole message can be written with one write.
func AppendMessage(dst, payload []byte) ([]byte, error) {
	if len(payload) == 0 || len(payload) > MaxMessage {
		return dst, fmt.Errorf("vpcd: message payload of %d bytes, want 1..%d", len(payload), MaxMessage)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(payload)))
	return append(dst, payload...), nil
}

// Answer is what the card side does with one message from the reader: it returns the
// payload to send back and whether there is one (power and reset controls get no answer).
// An empty answer (a torn chip that "returns nothing", or an empty ATR) is returned as
// is: it cannot be sent, so the serving Slot drops the connection and the reader sees the
// card removed (ErrSilent). Other faulty Process results do not break the link: one byte
// becomes 6F00, more than a message can carry becomes 6700.
func Answer(card Card, msg []byte) ([]byte, bool) {
	if len(msg) == 1 {
		switch msg[0] {
		case CtrlOff, CtrlOn, CtrlReset:
			card.Reset() // ISO/IEC 7816-3 §6.2: a cold or warm reset drops all volatile state
			if po, ok := card.(PowerObserver); ok && msg[0] == CtrlOff {
				po.PoweredOff()
			}
			return nil, false
		case CtrlATR:
			return card.ATR(), true
		default:
			return nil, false // unknown control codes are ignored, like the reference vicc
		}
	}
	rsp := card.Process(msg)
	switch {
	case len(rsp) == 0:
		return nil, true
	case len(rsp) == 1:
		return []byte{0x6F, 0x00}, true // ISO/IEC 7816-4 §5.6: no precise diagnosis
	case len(rsp) > MaxMessage:
		return []byte{0x67, 0x00}, true // wrong length: the answer cannot be carried
	}
	return rsp, true
}

// PowerObserver is implemented by a Card that wants to know when its reader cuts its
// power (the end of a reader's session with the card). PoweredOff must not block.
type PowerObserver interface {
	PoweredOff()
}
