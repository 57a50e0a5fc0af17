package pcsctest

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cccd-project/cccd/smartcard/pcsc"
	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vpcd"
)

// Feeder plays the card feeder of one reader slot: a blank virtual chip in the slot;
// when the station reports the card done (Done), it takes the chip out, saves it for
// inspection, waits until pcscd saw the slot empty and inserts a new blank chip.
type Feeder struct {
	T       testing.TB
	PC      *pcsc.Context
	Reader  string        // pcscd's name of the slot's reader
	Addr    string        // the vpcd slot's address (Reader's second result)
	Dir     string        // finished chips are saved here as SERIAL.card
	Prefix  string        // serials are Prefix0001, Prefix0002, ...
	Removal time.Duration // how long pcscd may take to see a chip gone (default 15 s)
	Faults  vchip.Faults  // for the next chip only

	mu   sync.Mutex
	n    int
	chip *vchip.Chip
	slot *vpcd.Slot
	wg   sync.WaitGroup
}

// Insert puts the next blank chip into the slot.
func (f *Feeder) Insert(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	f.chip = vchip.New(fmt.Sprintf("%s%04d", f.Prefix, f.n), vchip.Options{})
	f.chip.SetSleep(func(time.Duration) {})
	f.chip.SetFaults(f.Faults)
	f.Faults = vchip.Faults{}
	var err error
	if f.slot, err = vpcd.Attach(ctx, f.Addr, f.chip); err != nil {
		f.T.Errorf("pcsctest: attach %s: %v", f.Reader, err)
	}
}

// Done takes the finished chip out, saves it and feeds the next one once pcscd saw the
// slot empty.
func (f *Feeder) Done(ctx context.Context) {
	f.mu.Lock()
	chip, slot := f.chip, f.slot
	f.mu.Unlock()
	slot.Detach()
	if err := chip.Save(filepath.Join(f.Dir, chip.Serial()+".card")); err != nil {
		f.T.Errorf("pcsctest: save %s: %v", chip.Serial(), err)
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		timeout := f.Removal
		if timeout <= 0 {
			timeout = 15 * time.Second
		}
		if err := WaitEmpty(ctx, f.PC, f.Reader, timeout); err != nil {
			if ctx.Err() == nil {
				f.T.Errorf("pcsctest: removal on %s: %v", f.Reader, err)
			}
			return
		}
		f.Insert(ctx)
	}()
}

// Stop waits for a pending feed and takes the last chip out.
func (f *Feeder) Stop() {
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.slot != nil {
		f.slot.Detach()
	}
}

// WaitEmpty waits up to timeout until pcscd saw reader empty. pcscd polls a vpcd slot
// about every 400 ms: a card put in before would look like the old one still there.
// pcscd may answer "unknown reader" for a moment while a vpcd slot reconnects, so it
// asks again until the deadline.
func WaitEmpty(ctx context.Context, pc *pcsc.Context, reader string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		err := pc.WaitForRemoval(wctx, reader)
		cancel()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
