// Package pcsctest gives tests the PC/SC reader slots of the local pcscd that
// scripts/pcscd.sh configures, and puts virtual cards into them. A missing pcscd or slot
// FAILS the test with the command that fixes it; it never skips.
//
// Slot allocation for the test suite (scripts/pcscd.sh start 16): 0-3 smartcard
// packages (0-1 pcsc, 2-3 vpcd), 4-6 personalization, 8-9 verifier, 10-11 benchmarks,
// 12-13 smartcard/e2e, 7, 14 and 15 the web console (issuance/console).
// A package must only use its own slots: pcscd and its readers are shared by all test
// binaries that `go test` runs in parallel.
package pcsctest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cccd-project/cccd/smartcard/pcsc"
	"github.com/cccd-project/cccd/smartcard/vpcd"
)

// settle bounds how long Reader waits for a card left by an earlier test to be noticed
// as gone (pcscd polls vpcd readers about every 400 ms).
const settle = 3 * time.Second

// fix is the command that provides the readers.
const fix = "run `sudo scripts/pcscd.sh start 16` first"

// Reader returns the PC/SC name of the vpcd reader slot and the address a virtual card
// attaches to (vpcd.Attach). It fails the test when pcscd does not run, the slot is not
// configured, or a card stays in the slot.
func Reader(t testing.TB, slot int) (readerName, vpcdAddr string) {
	t.Helper()
	if slot < 0 || slot >= vpcd.MaxSlots {
		t.Fatalf("pcsctest: slot %d out of range 0..%d", slot, vpcd.MaxSlots-1)
	}
	readerName = vpcd.ReaderName(slot)
	c, err := pcsc.Open()
	if err != nil {
		t.Fatalf("pcsctest: pcscd is not reachable (%v); %s", err, fix)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), settle)
	defer cancel()
	names, err := c.Readers(ctx)
	if err != nil {
		t.Fatalf("pcsctest: listing readers: %v; %s", err, fix)
	}
	if !slices.Contains(names, readerName) {
		t.Fatalf("pcsctest: pcscd has no reader %q for slot %d (readers: %q); %s", readerName, slot, names, fix)
	}
	if err := c.WaitForRemoval(ctx, readerName); err != nil {
		t.Fatalf("pcsctest: slot %d (%q) still holds a card after %v (another test or `cccd card emulate` uses it?): %v",
			slot, readerName, settle, err)
	}
	return readerName, vpcd.Addr(slot)
}

// Insert puts card into slot, waits until pcscd sees it and returns the reader name. The
// card is removed (Detach) when the test ends.
func Insert(t testing.TB, slot int, card vpcd.Card) string {
	t.Helper()
	reader, addr := Reader(t, slot)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := vpcd.Attach(context.Background(), addr, card)
	if err != nil {
		t.Fatalf("pcsctest: attach card to slot %d: %v", slot, err)
	}
	t.Cleanup(func() {
		if err := s.Detach(); err != nil {
			t.Errorf("pcsctest: detach slot %d: %v", slot, err)
		}
	})
	c, err := pcsc.Open()
	if err != nil {
		t.Fatalf("pcsctest: %v; %s", err, fix)
	}
	defer c.Close()
	if err := c.WaitForCard(ctx, reader); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("pcsctest: pcscd did not see the card in slot %d (%q): %v", slot, reader, err)
		}
		t.Fatalf("pcsctest: wait for card in slot %d: %v", slot, err)
	}
	return reader
}
