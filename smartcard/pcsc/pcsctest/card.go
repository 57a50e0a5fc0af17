package pcsctest

import (
	"sync"

	"github.com/cccd-project/cccd/smartcard/apdu"
)

// Instructions FakeCard answers besides SELECT (A4) and READ BINARY (B0), in class 80.
const (
	InsEcho      byte = 0xEE // answer the data field back, 9000
	InsChain     byte = 0xE1 // answer the data field back in 61xx pieces of P1 bytes (GET RESPONSE C0)
	InsWrongLe   byte = 0xE6 // answer 6C10 unless Ne is 16, then 16 bytes 00..0F and 9000
	InsBlock     byte = 0xEB // signal Started, wait for Release, then answer 9000
	InsGetSerial byte = 0xE0 // answer the serial given to NewFakeCard
)

// FakeCard is a small virtual card for transport tests: it echoes, chains, asks for
// another Le, serves a file for READ BINARY, and can block inside Process.
type FakeCard struct {
	atr    []byte
	serial []byte
	file   []byte

	mu      sync.Mutex
	resets  int
	pending []byte // rest of an InsChain answer

	// Started receives once per InsBlock command when Process is inside it; Release lets
	// it answer.
	Started chan struct{}
	Release chan struct{}
}

// FakeATR is FakeCard's answer-to-reset: direct convention, T=1 offered (TD1=80, TD2=01),
// no historical bytes, check byte (ISO/IEC 7816-3 §8.2).
var FakeATR = []byte{0x3B, 0x80, 0x80, 0x01, 0x01}

// NewFakeCard returns a card whose READ BINARY serves file.
func NewFakeCard(serial string, file []byte) *FakeCard {
	return &FakeCard{
		atr: FakeATR, serial: []byte(serial), file: file,
		Started: make(chan struct{}, 1), Release: make(chan struct{}),
	}
}

// ATR implements vpcd.Card.
func (c *FakeCard) ATR() []byte { return c.atr }

// Reset implements vpcd.Card.
func (c *FakeCard) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resets++
	c.pending = nil
}

// Resets returns how many resets and power cycles the card saw.
func (c *FakeCard) Resets() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resets
}

// Process implements vpcd.Card.
func (c *FakeCard) Process(command []byte) []byte {
	cmd, err := apdu.ParseCommand(command)
	if err != nil {
		return sw(apdu.SWWrongLength)
	}
	switch {
	case cmd.INS == 0xA4:
		return sw(apdu.SWOK)
	case cmd.INS == 0xB0:
		return c.readBinary(cmd)
	case cmd.INS == 0xC0:
		return c.getResponse(cmd)
	case cmd.CLA != 0x80:
		return sw(apdu.SWCLANotSupported)
	case cmd.INS == InsEcho:
		return apdu.Response{Data: cmd.Data, SW: apdu.SWOK}.Bytes()
	case cmd.INS == InsGetSerial:
		return apdu.Response{Data: c.serial, SW: apdu.SWOK}.Bytes()
	case cmd.INS == InsChain:
		c.mu.Lock()
		c.pending = append([]byte(nil), cmd.Data...)
		c.mu.Unlock()
		return c.getResponse(apdu.Command{Ne: int(cmd.P1)})
	case cmd.INS == InsWrongLe:
		if cmd.Ne != 16 {
			return sw(0x6C10)
		}
		return apdu.Response{Data: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, SW: apdu.SWOK}.Bytes()
	case cmd.INS == InsBlock:
		c.Started <- struct{}{}
		<-c.Release
		return sw(apdu.SWOK)
	}
	return sw(apdu.SWINSNotSupported)
}

func (c *FakeCard) readBinary(cmd apdu.Command) []byte {
	off := int(cmd.P1)<<8 | int(cmd.P2)
	if off > len(c.file) {
		return sw(apdu.SWWrongP1P2)
	}
	end := min(off+cmd.Ne, len(c.file))
	status := apdu.SWOK
	if end-off < cmd.Ne {
		status = apdu.SWEndOfFile
	}
	return apdu.Response{Data: c.file[off:end], SW: status}.Bytes()
}

// getResponse hands out the next piece of a pending InsChain answer.
func (c *FakeCard) getResponse(cmd apdu.Command) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) == 0 {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	n := min(max(cmd.Ne, 1), len(c.pending))
	piece := c.pending[:n]
	c.pending = c.pending[n:]
	status := apdu.SWOK
	if len(c.pending) > 0 {
		status = 0x6100 | uint16(min(len(c.pending), 255))
	}
	return apdu.Response{Data: piece, SW: status}.Bytes()
}

func sw(code uint16) []byte { return []byte{byte(code >> 8), byte(code)} }
