package vpcd_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/pcsc"
	"github.com/cccd-project/cccd/smartcard/pcsc/pcsctest"
	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vpcd"
)

// This package's pcscd slots (see pcsctest): 2 and 3 for tests, 11 for the benchmark.
const (
	slotA     = 2
	slotB     = 3
	slotBench = 11
)

// driver plays the vpcd driver side of the protocol on a listener of its own.
type driver struct {
	t    *testing.T
	ln   net.Listener
	conn net.Conn
}

func newDriver(t *testing.T) *driver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	return &driver{t: t, ln: ln}
}

func (d *driver) accept() {
	d.t.Helper()
	c, err := d.ln.Accept()
	if err != nil {
		d.t.Fatalf("accept: %v", err)
	}
	d.t.Cleanup(func() { c.Close() })
	d.conn = c
}

func (d *driver) send(payload []byte) {
	d.t.Helper()
	msg, err := vpcd.AppendMessage(nil, payload)
	if err != nil {
		d.t.Fatalf("AppendMessage: %v", err)
	}
	// Like the Debian vpcd driver: length and payload as two writes.
	if _, err := d.conn.Write(msg[:2]); err != nil {
		d.t.Fatalf("write: %v", err)
	}
	if _, err := d.conn.Write(msg[2:]); err != nil {
		d.t.Fatalf("write: %v", err)
	}
}

func (d *driver) recv() ([]byte, error) {
	return vpcd.ReadMessage(d.conn, nil)
}

func TestSlotProtocol(t *testing.T) {
	d := newDriver(t)
	fake := pcsctest.NewFakeCard("S1", []byte("file"))
	s, err := vpcd.Attach(context.Background(), d.ln.Addr().String(), fake)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	defer s.Detach()
	d.accept()

	exchanges := []struct {
		name string
		msg  []byte
		want []byte // nil: no answer expected
	}{
		{"power on", []byte{vpcd.CtrlOn}, nil},
		{"atr", []byte{vpcd.CtrlATR}, pcsctest.FakeATR},
		{"reset", []byte{vpcd.CtrlReset}, nil},
		{"read binary", []byte{0x00, 0xB0, 0x00, 0x00, 0x04}, []byte{'f', 'i', 'l', 'e', 0x90, 0x00}},
		{"echo", []byte{0x80, pcsctest.InsEcho, 0x00, 0x00, 0x02, 0xCA, 0xFE}, []byte{0xCA, 0xFE, 0x90, 0x00}},
	}
	for _, ex := range exchanges {
		t.Run(ex.name, func(t *testing.T) {
			d.send(ex.msg)
			if ex.want == nil {
				return
			}
			got, err := d.recv()
			if err != nil {
				t.Fatalf("recv: %v", err)
			}
			if !bytes.Equal(got, ex.want) {
				t.Errorf("answer % X, want % X", got, ex.want)
			}
		})
	}
	if fake.Resets() != 2 {
		t.Errorf("card saw %d resets, want 2 (power on, reset)", fake.Resets())
	}
}

func TestDetachDuringCommand(t *testing.T) {
	d := newDriver(t)
	fake := pcsctest.NewFakeCard("S2", nil)
	s, err := vpcd.Attach(context.Background(), d.ln.Addr().String(), fake)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	d.accept()
	d.send([]byte{0x80, pcsctest.InsBlock, 0x00, 0x00})
	<-fake.Started
	detached := make(chan error, 1)
	go func() { detached <- s.Detach() }()
	// The driver sees the card vanish while Process still runs...
	if _, err := d.recv(); !errors.Is(err, io.EOF) {
		t.Errorf("driver read after Detach: err = %v, want EOF", err)
	}
	// ...and Detach returns only once the card's Process has returned.
	close(fake.Release)
	if err := <-detached; err != nil {
		t.Fatalf("Detach: %v", err)
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err() after Detach = %v, want nil", err)
	}
	if err := s.Detach(); err != nil {
		t.Errorf("second Detach: %v", err)
	}
}

func TestDriverDropsCard(t *testing.T) {
	d := newDriver(t)
	s, err := vpcd.Attach(context.Background(), d.ln.Addr().String(), pcsctest.NewFakeCard("S3", nil))
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	d.accept()
	d.conn.Close() // pcscd stopped
	<-s.Done()
	if err := s.Err(); err == nil {
		t.Error("Err() = nil after the driver closed the connection, want the read error")
	}
}

func TestAttachNobodyListens(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := vpcd.Attach(ctx, addr, pcsctest.NewFakeCard("S4", nil)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Attach with nobody listening: err = %v, want DeadlineExceeded", err)
	}
}

// TestThroughPCSCD inserts, uses, removes and re-inserts cards in a real pcscd reader.
func TestThroughPCSCD(t *testing.T) {
	reader, addr := pcsctest.Reader(t, slotA)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pcsc.Open()
	if err != nil {
		t.Fatalf("pcsc.Open: %v", err)
	}
	defer c.Close()
	for _, serial := range []string{"FIRST", "SECOND"} {
		t.Run(serial, func(t *testing.T) {
			s, err := vpcd.Attach(ctx, addr, pcsctest.NewFakeCard(serial, nil))
			if err != nil {
				t.Fatalf("Attach: %v", err)
			}
			if err := c.WaitForCard(ctx, reader); err != nil {
				t.Fatalf("WaitForCard: %v", err)
			}
			card, err := c.Connect(ctx, reader)
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			rsp, err := card.Transmit(ctx, apdu.Command{CLA: 0x80, INS: pcsctest.InsGetSerial, Ne: 256})
			if err != nil || string(rsp.Data) != serial {
				t.Errorf("serial = %q, %v; want %q", rsp.Data, err, serial)
			}
			if err := s.Detach(); err != nil {
				t.Fatalf("Detach: %v", err)
			}
			if err := c.WaitForRemoval(ctx, reader); err != nil {
				t.Fatalf("WaitForRemoval: %v", err)
			}
			if err := card.Close(); err != nil {
				t.Errorf("Close after removal: %v", err)
			}
		})
	}
}

// BenchmarkQuickAck compares the APDU round trip through pcscd with and without
// TCP_QUICKACK on the card's socket (see the LATENCY TRAP in TOOLCHAIN.md).
func BenchmarkQuickAck(b *testing.B) {
	for _, on := range []bool{true, false} {
		name := map[bool]string{true: "on", false: "off"}[on]
		b.Run(name, func(b *testing.B) {
			restore := vpcd.SetQuickAck(on)
			defer restore()
			reader := pcsctest.Insert(b, slotBench, pcsctest.NewFakeCard("B", nil))
			c, err := pcsc.Open()
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			card, err := c.Connect(context.Background(), reader)
			if err != nil {
				b.Fatal(err)
			}
			defer card.Close()
			cmd := apdu.Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: []byte{0xA0, 0, 0, 2, 0x47, 0x10, 0x01}}
			for b.Loop() {
				if _, err := card.Transmit(context.Background(), cmd); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// silentCard answers nothing, as a chip torn by fault injection does.
type silentCard struct{ *pcsctest.FakeCard }

func (*silentCard) Process([]byte) []byte { return nil }

func TestSilentCardIsRemoved(t *testing.T) {
	d := newDriver(t)
	s, err := vpcd.Attach(context.Background(), d.ln.Addr().String(), &silentCard{pcsctest.NewFakeCard("S5", nil)})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	d.accept()
	d.send([]byte{0x00, 0xA4, 0x00, 0x00})
	if _, err := d.recv(); !errors.Is(err, io.EOF) {
		t.Errorf("driver read after a silent answer: err = %v, want EOF (card gone)", err)
	}
	<-s.Done()
	if err := s.Err(); !errors.Is(err, vpcd.ErrSilent) {
		t.Errorf("Err() = %v, want ErrSilent", err)
	}
}

// The virtual CCCD chip is the Card this package serves in production.
var _ vpcd.Card = (*vchip.Chip)(nil)

// TestVChipThroughPCSCD reads the serial of a real virtual chip through pcscd, and checks
// that a chip torn by fault injection leaves the reader.
func TestVChipThroughPCSCD(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	chip := vchip.New("VCTEST0001", vchip.Options{})
	reader := pcsctest.Insert(t, slotB, chip)
	c, err := pcsc.Open()
	if err != nil {
		t.Fatalf("pcsc.Open: %v", err)
	}
	defer c.Close()
	card, err := c.Connect(ctx, reader)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer card.Close()
	if !bytes.Equal(card.ATR(), chip.ATR()) {
		t.Errorf("ATR through pcscd % X, chip's % X", card.ATR(), chip.ATR())
	}
	serial, err := apdu.Run(ctx, card, apdu.Command{CLA: 0x80, INS: 0xCA, P1: 0x00, P2: 0xC0, Ne: 256})
	if err != nil || string(serial) != "VCTEST0001" {
		t.Fatalf("GET DATA serial = %q, %v; want VCTEST0001", serial, err)
	}
	chip.SetFaults(vchip.Faults{TearAfter: 1})
	_, err = card.Transmit(ctx, apdu.Command{CLA: 0x80, INS: 0xCA, P1: 0x00, P2: 0xC0, Ne: 256})
	if !errors.Is(err, pcsc.ErrCardRemoved) {
		t.Fatalf("Transmit to a torn chip: err = %v, want ErrCardRemoved", err)
	}
}
