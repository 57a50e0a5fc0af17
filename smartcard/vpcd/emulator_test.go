package vpcd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cccd-project/cccd/smartcard/pcsc/pcsctest"
	"github.com/cccd-project/cccd/smartcard/vpcd"
)

// chipStore keeps fake chips in files holding their serial.
type chipStore struct {
	mu    sync.Mutex
	n     int
	saves map[string]int
}

func (s *chipStore) newBlank(dir string) (vpcd.Card, string, error) {
	s.mu.Lock()
	s.n++
	serial := fmt.Sprintf("BLANK%04d", s.n)
	s.mu.Unlock()
	return pcsctest.NewFakeCard(serial, nil), filepath.Join(dir, serial+".chip"), nil
}

func (s *chipStore) save(card vpcd.Card, path string) error {
	serial := card.Process([]byte{0x80, pcsctest.InsGetSerial, 0x00, 0x00, 0x00})
	s.mu.Lock()
	if s.saves == nil {
		s.saves = map[string]int{}
	}
	s.saves[path]++
	s.mu.Unlock()
	return os.WriteFile(path, serial[:len(serial)-2], 0o600)
}

func (s *chipStore) load(path string) (vpcd.Card, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return pcsctest.NewFakeCard(string(b), nil), nil
}

func (s *chipStore) saved(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves[path]
}

// startEmulator runs an Emulator with two slots wired to fake drivers.
func startEmulator(t *testing.T) (dir string, drivers []*driver, store *chipStore, stop func() error) {
	t.Helper()
	dir = t.TempDir()
	drivers = []*driver{newDriver(t), newDriver(t)}
	store = &chipStore{}
	e := &vpcd.Emulator{
		Slots: 2, Dir: dir,
		Load: store.load, NewBlank: store.newBlank, Save: store.save,
		Addr: func(slot int) string { return drivers[slot].ln.Addr().String() },
		Log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Serve(ctx) }()
	// Wait until the control socket answers.
	for {
		if _, err := vpcd.Control(ctx, dir, vpcd.Request{Op: "list"}); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Serve: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { stop() })
	return dir, drivers, store, stop
}

func control(t *testing.T, dir string, req vpcd.Request) ([]vpcd.SlotInfo, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return vpcd.Control(ctx, dir, req)
}

func TestEmulator(t *testing.T) {
	dir, drivers, store, stop := startEmulator(t)

	// A blank chip goes into slot 0 and is saved at once.
	infos, err := control(t, dir, vpcd.Request{Op: "insert", Slot: 0, Blank: true})
	if err != nil {
		t.Fatalf("insert blank: %v", err)
	}
	chip := infos[0].Chip
	if filepath.Dir(chip) != filepath.Join(dir, "chips") || infos[0].Reader != vpcd.ReaderName(0) {
		t.Fatalf("insert blank = %+v, want a chip in %s/chips in reader %q", infos[0], dir, vpcd.ReaderName(0))
	}
	if b, err := os.ReadFile(chip); err != nil || string(b) != "BLANK0001" {
		t.Fatalf("blank chip file = %q, %v; want BLANK0001", b, err)
	}
	drivers[0].accept()
	drivers[0].send([]byte{vpcd.CtrlATR})
	if atr, err := drivers[0].recv(); err != nil || string(atr) != string(pcsctest.FakeATR) {
		t.Fatalf("ATR from slot 0 = % X, %v", atr, err)
	}

	list, err := control(t, dir, vpcd.Request{Op: "list"})
	if err != nil || len(list) != 2 || list[0].Chip != chip || list[1].Chip != "" || list[1].Port != vpcd.Port(1) {
		t.Fatalf("list = %+v, %v; want slot 0 holding %s, slot 1 empty", list, err, chip)
	}

	refused := []struct {
		name string
		req  vpcd.Request
		want string
	}{
		{"same chip in two readers", vpcd.Request{Op: "insert", Slot: 1, File: chip}, "is in slot 0"},
		{"occupied slot", vpcd.Request{Op: "insert", Slot: 0, Blank: true}, "already holds"},
		{"file and blank", vpcd.Request{Op: "insert", Slot: 1, File: chip, Blank: true}, "exactly one"},
		{"slot out of range", vpcd.Request{Op: "insert", Slot: 2, Blank: true}, "out of range"},
		{"remove empty slot", vpcd.Request{Op: "remove", Slot: 1}, "is empty"},
		{"missing file", vpcd.Request{Op: "insert", Slot: 1, File: filepath.Join(dir, "nope.chip")}, "no such file"},
		{"unknown op", vpcd.Request{Op: "eject"}, "unknown op"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := control(t, dir, tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%+v: err = %v, want one containing %q", tt.req, err, tt.want)
			}
		})
	}

	// Remove saves the chip and pulls it out of the reader...
	if _, err := control(t, dir, vpcd.Request{Op: "remove", Slot: 0}); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if n := store.saved(chip); n != 2 {
		t.Errorf("chip saved %d times, want 2 (created, removed)", n)
	}
	if _, err := drivers[0].recv(); !errors.Is(err, io.EOF) {
		t.Errorf("slot 0 driver after remove: err = %v, want EOF", err)
	}
	// ...so the same card can go into another reader.
	if _, err := control(t, dir, vpcd.Request{Op: "insert", Slot: 1, File: chip}); err != nil {
		t.Fatalf("insert in slot 1: %v", err)
	}
	drivers[1].accept()
	drivers[1].send([]byte{0x80, pcsctest.InsGetSerial, 0x00, 0x00, 0x00})
	if rsp, err := drivers[1].recv(); err != nil || string(rsp) != "BLANK0001\x90\x00" {
		t.Fatalf("serial from slot 1 = %q, %v; want BLANK0001 9000", rsp, err)
	}

	// Stopping the daemon saves the chips still inserted and removes the socket.
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if n := store.saved(chip); n != 3 {
		t.Errorf("chip saved %d times, want 3 (created, removed, daemon stopped)", n)
	}
	if _, err := os.Stat(filepath.Join(dir, vpcd.SocketName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("control socket after stop: %v, want it gone", err)
	}
}

func TestEmulatorValidate(t *testing.T) {
	ok := func(string) (vpcd.Card, error) { return nil, nil }
	blank := func(string) (vpcd.Card, string, error) { return nil, "", nil }
	save := func(vpcd.Card, string) error { return nil }
	tests := []struct {
		name string
		e    *vpcd.Emulator
	}{
		{"no slots", &vpcd.Emulator{Dir: "d", Load: ok, NewBlank: blank, Save: save}},
		{"too many slots", &vpcd.Emulator{Slots: vpcd.MaxSlots + 1, Dir: "d", Load: ok, NewBlank: blank, Save: save}},
		{"no dir", &vpcd.Emulator{Slots: 1, Load: ok, NewBlank: blank, Save: save}},
		{"no loader", &vpcd.Emulator{Slots: 1, Dir: "d", NewBlank: blank, Save: save}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.e.Validate(); err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
		})
	}
}

func TestControlWithoutEmulator(t *testing.T) {
	_, err := control(t, t.TempDir(), vpcd.Request{Op: "list"})
	if err == nil || !strings.Contains(err.Error(), "cccd card emulate") {
		t.Fatalf("Control without a daemon: err = %v, want a hint to start one", err)
	}
}
