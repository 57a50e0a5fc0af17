package vpcd_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cccd-project/cccd/smartcard/vpcd"
)

// TestEmulatorFeeder: a chip the reader powers off is replaced by a blank one only when
// Finished says it is done; the finished chip is saved into out/.
func TestEmulatorFeeder(t *testing.T) {
	dir := t.TempDir()
	d := newDriver(t)
	store := &chipStore{}
	var finished atomic.Bool
	e := &vpcd.Emulator{
		Slots: 1, Dir: dir,
		Load: store.load, NewBlank: store.newBlank, Save: store.save,
		Addr:     func(int) string { return d.ln.Addr().String() },
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Finished: func(vpcd.Card) bool { return finished.Load() },
	}
	if err := os.MkdirAll(filepath.Join(dir, "chips"), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.Insert(ctx, 0, "", true); err != nil {
		t.Fatal(err)
	}
	d.accept()

	// A blank chip powered off (e.g. pcscd's idle power-down) stays in its slot.
	d.send([]byte{vpcd.CtrlOff})
	d.send([]byte{vpcd.CtrlATR})
	if _, err := d.recv(); err != nil {
		t.Fatalf("chip left the slot after a power-off while not finished: %v", err)
	}
	if got := e.List()[0].Chip; !strings.HasSuffix(got, "BLANK0001.chip") {
		t.Fatalf("slot holds %q", got)
	}

	// Once finished, a power-off takes it out and a new blank comes in.
	finished.Store(true)
	d.send([]byte{vpcd.CtrlOff})
	d.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := d.recv(); err == nil {
		t.Fatal("finished chip still answers")
	}
	d.accept() // the new blank chip connects
	deadline := time.Now().Add(5 * time.Second)
	for !strings.HasSuffix(e.List()[0].Chip, "BLANK0002.chip") {
		if time.Now().After(deadline) {
			t.Fatalf("slot holds %q, want the new blank BLANK0002", e.List()[0].Chip)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "BLANK0001.chip")); err != nil {
		t.Fatalf("finished chip not in out/: %v", err)
	}
	// Taken out before the test's connections close: a slot whose reader goes away
	// saves its chip, which would race with the removal of the test's directory.
	if _, err := e.Remove(0); err != nil {
		t.Fatal(err)
	}
}
