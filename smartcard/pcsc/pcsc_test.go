package pcsc_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/pcsc"
	"github.com/cccd-project/cccd/smartcard/pcsc/pcsctest"
	"github.com/cccd-project/cccd/smartcard/vpcd"
)

// This package's slots (see pcsctest): 0 for exchanges, 1 for insertion and removal,
// 10 for the benchmark (shared with other benchmarks: run one at a time).
const (
	slotExchange = 0
	slotRemoval  = 1
	slotBench    = 10
)

func open(t testing.TB) *pcsc.Context {
	t.Helper()
	c, err := pcsc.Open()
	if err != nil {
		t.Fatalf("pcsc.Open: %v (run `sudo scripts/pcscd.sh start 14`)", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Context.Close: %v", err)
		}
	})
	return c
}

func connect(t testing.TB, c *pcsc.Context, reader string) *pcsc.Card {
	t.Helper()
	card, err := c.Connect(context.Background(), reader)
	if err != nil {
		t.Fatalf("Connect(%q): %v", reader, err)
	}
	t.Cleanup(func() {
		if err := card.Close(); err != nil {
			t.Errorf("Card.Close: %v", err)
		}
	})
	return card
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func TestReaders(t *testing.T) {
	pcsctest.Reader(t, slotExchange)
	c := open(t)
	names, err := c.Readers(context.Background())
	if err != nil {
		t.Fatalf("Readers: %v", err)
	}
	for _, slot := range []int{slotExchange, slotRemoval} {
		if !slices.Contains(names, vpcd.ReaderName(slot)) {
			t.Errorf("Readers() = %q, missing slot %d %q", names, slot, vpcd.ReaderName(slot))
		}
	}
}

func TestTransmit(t *testing.T) {
	file := pattern(3000)
	fake := pcsctest.NewFakeCard("SERIAL-0001", file)
	reader := pcsctest.Insert(t, slotExchange, fake)
	c := open(t)
	card := connect(t, c, reader)
	if got := card.ATR(); !bytes.Equal(got, pcsctest.FakeATR) {
		t.Errorf("ATR() = % X, want % X", got, pcsctest.FakeATR)
	}

	tests := []struct {
		name     string
		cmd      apdu.Command
		wantData []byte
		wantSW   uint16
	}{
		{"select", apdu.Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: []byte{0xA0, 0, 0, 2, 0x47, 0x10, 0x01}}, nil, apdu.SWOK},
		{"echo short 255", apdu.Command{CLA: 0x80, INS: pcsctest.InsEcho, Data: pattern(255), Ne: 256}, pattern(255), apdu.SWOK},
		{"echo extended 256", apdu.Command{CLA: 0x80, INS: pcsctest.InsEcho, Data: pattern(256), Ne: 65536}, pattern(256), apdu.SWOK},
		{"echo extended 4096", apdu.Command{CLA: 0x80, INS: pcsctest.InsEcho, Data: pattern(4096), Ne: 65536}, pattern(4096), apdu.SWOK},
		{"echo extended 65000", apdu.Command{CLA: 0x80, INS: pcsctest.InsEcho, Data: pattern(65000), Ne: 65536}, pattern(65000), apdu.SWOK},
		{"echo extended largest", apdu.Command{CLA: 0x80, INS: pcsctest.InsEcho, Data: pattern(65528)}, pattern(65528), apdu.SWOK},
		{"read binary short", apdu.Command{INS: 0xB0, P1: 0x01, P2: 0x00, Ne: 200}, file[256:456], apdu.SWOK},
		{"read binary extended", apdu.Command{INS: 0xB0, Ne: 2900, Extended: true}, file[:2900], apdu.SWOK},
		{"read binary past end", apdu.Command{INS: 0xB0, P1: 0x0B, P2: 0x00, Ne: 256}, file[2816:], apdu.SWEndOfFile},
		{"get response chain", apdu.Command{CLA: 0x80, INS: pcsctest.InsChain, P1: 100, Data: pattern(1000), Ne: 256}, pattern(1000), apdu.SWOK},
		{"wrong Le resent", apdu.Command{CLA: 0x80, INS: pcsctest.InsWrongLe, Ne: 256}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, apdu.SWOK},
		{"status word passed up", apdu.Command{CLA: 0x80, INS: 0x42}, nil, apdu.SWINSNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rsp, err := card.Transmit(context.Background(), tt.cmd)
			if err != nil {
				t.Fatalf("Transmit: %v", err)
			}
			if rsp.SW != tt.wantSW {
				t.Errorf("SW = %04X, want %04X", rsp.SW, tt.wantSW)
			}
			if !bytes.Equal(rsp.Data, tt.wantData) {
				t.Errorf("data = %d bytes % .16X..., want %d bytes", len(rsp.Data), rsp.Data, len(tt.wantData))
			}
		})
	}

	t.Run("too long", func(t *testing.T) {
		_, err := card.Transmit(context.Background(), apdu.Command{CLA: 0x80, INS: pcsctest.InsEcho, Data: pattern(65529)})
		if !errors.Is(err, pcsc.ErrTooLong) {
			t.Fatalf("Transmit of 65,536 bytes: err = %v, want ErrTooLong", err)
		}
		// The card is still there: the command was refused before it reached the reader.
		if _, err := card.Transmit(context.Background(), apdu.Command{INS: 0xA4}); err != nil {
			t.Fatalf("Transmit after refused command: %v", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := card.Transmit(ctx, apdu.Command{INS: 0xA4}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Transmit with cancelled ctx: err = %v, want context.Canceled", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		before := fake.Resets()
		if err := card.Reset(context.Background()); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		if fake.Resets() <= before {
			t.Errorf("card saw %d resets after Reset, want more than %d", fake.Resets(), before)
		}
		rsp, err := card.Transmit(context.Background(), apdu.Command{CLA: 0x80, INS: pcsctest.InsGetSerial, Ne: 256})
		if err != nil || string(rsp.Data) != "SERIAL-0001" {
			t.Fatalf("Transmit after Reset = %q, %v; want the serial", rsp.Data, err)
		}
	})
}

func TestRemoval(t *testing.T) {
	reader, addr := pcsctest.Reader(t, slotRemoval)
	c := open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	t.Run("wait for card cancelled", func(t *testing.T) {
		wctx, wcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer wcancel()
		if err := c.WaitForCard(wctx, reader); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitForCard on an empty reader: err = %v, want DeadlineExceeded", err)
		}
	})

	t.Run("detach between commands", func(t *testing.T) {
		slot, err := vpcd.Attach(ctx, addr, pcsctest.NewFakeCard("A", nil))
		if err != nil {
			t.Fatalf("Attach: %v", err)
		}
		if err := c.WaitForCard(ctx, reader); err != nil {
			t.Fatalf("WaitForCard: %v", err)
		}
		card := connect(t, c, reader)
		if _, err := card.Transmit(ctx, apdu.Command{INS: 0xA4}); err != nil {
			t.Fatalf("Transmit: %v", err)
		}
		if err := slot.Detach(); err != nil {
			t.Fatalf("Detach: %v", err)
		}
		_, err = card.Transmit(ctx, apdu.Command{INS: 0xA4})
		if !errors.Is(err, pcsc.ErrCardRemoved) {
			t.Fatalf("Transmit after Detach: err = %v, want ErrCardRemoved", err)
		}
		if err := c.WaitForRemoval(ctx, reader); err != nil {
			t.Fatalf("WaitForRemoval: %v", err)
		}
	})

	t.Run("detach during a command", func(t *testing.T) {
		fake := pcsctest.NewFakeCard("B", nil)
		slot, err := vpcd.Attach(ctx, addr, fake)
		if err != nil {
			t.Fatalf("Attach: %v", err)
		}
		if err := c.WaitForCard(ctx, reader); err != nil {
			t.Fatalf("WaitForCard: %v", err)
		}
		card := connect(t, c, reader)
		// A long exchange: many commands, the card pulled out inside one of them.
		for i := range 50 {
			if _, err := card.Transmit(ctx, apdu.Command{CLA: 0x80, INS: pcsctest.InsEcho, Data: pattern(200 + i)}); err != nil {
				t.Fatalf("Transmit %d: %v", i, err)
			}
		}
		errc := make(chan error, 1)
		go func() {
			_, err := card.Transmit(ctx, apdu.Command{CLA: 0x80, INS: pcsctest.InsBlock})
			errc <- err
		}()
		<-fake.Started
		detached := make(chan error, 1)
		go func() { detached <- slot.Detach() }()
		// The reader sees the connection close while the card is still inside Process.
		err = <-errc
		close(fake.Release)
		if !errors.Is(err, pcsc.ErrCardRemoved) {
			t.Errorf("Transmit interrupted by Detach: err = %v, want ErrCardRemoved", err)
		}
		if err := <-detached; err != nil {
			t.Fatalf("Detach: %v", err)
		}
		if err := c.WaitForRemoval(ctx, reader); err != nil {
			t.Fatalf("WaitForRemoval: %v", err)
		}
	})

	t.Run("connect to empty reader", func(t *testing.T) {
		_, err := c.Connect(ctx, reader)
		if !errors.Is(err, pcsc.ErrNoCard) {
			t.Fatalf("Connect to empty reader: err = %v, want ErrNoCard", err)
		}
	})
	t.Run("unknown reader", func(t *testing.T) {
		err := c.WaitForCard(ctx, "no such reader 99 99")
		if !errors.Is(err, pcsc.ErrUnknownReader) {
			t.Fatalf("WaitForCard on unknown reader: err = %v, want ErrUnknownReader", err)
		}
	})
}

func TestMeasureRoundTrip(t *testing.T) {
	reader := pcsctest.Insert(t, slotExchange, pcsctest.NewFakeCard("M", nil))
	d, err := pcsc.MeasureRoundTrip(context.Background(), reader, 20)
	if err != nil {
		t.Fatalf("MeasureRoundTrip: %v", err)
	}
	if d <= 0 {
		t.Fatalf("MeasureRoundTrip = %v, want a positive duration", d)
	}
	if _, err := pcsc.MeasureRoundTrip(context.Background(), reader, 0); err == nil {
		t.Fatal("MeasureRoundTrip(n=0) succeeded, want an error")
	}
}

// BenchmarkRoundTrip measures one short APDU through pcscd, the vpcd driver and a
// virtual card (with TCP_QUICKACK, as vpcd.Attach always sets it).
func BenchmarkRoundTrip(b *testing.B) {
	reader := pcsctest.Insert(b, slotBench, pcsctest.NewFakeCard("B", nil))
	c := open(b)
	card := connect(b, c, reader)
	cmd := apdu.Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: []byte{0xA0, 0, 0, 2, 0x47, 0x10, 0x01}}
	ctx := context.Background()
	for b.Loop() {
		if _, err := card.Transmit(ctx, cmd); err != nil {
			b.Fatal(err)
		}
	}
}
