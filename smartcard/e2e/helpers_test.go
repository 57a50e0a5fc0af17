package e2e_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/pcsc"
	"github.com/cccd-project/cccd/smartcard/pcsc/pcsctest"
	"github.com/cccd-project/cccd/smartcard/perso"
	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vchip/vchiptest"
	"github.com/cccd-project/cccd/smartcard/vpcd"
)

// This package's slots of the shared pcscd (pcsctest's allocation).
const (
	slotStation = 12 // the personalization station's reader
	slotCounter = 13 // the counter's reader
)

// opTimeout bounds every personalization or read: a hang fails the test instead of
// holding it until the go test timeout.
const opTimeout = 60 * time.Second

var mrzCreds = emrtd.Credentials{
	DocumentNumber: vchiptest.DocumentNumber,
	DateOfBirth:    vchiptest.DateOfBirth,
	DateOfExpiry:   vchiptest.DateOfExpiry,
}

// link declares that t carries extended length APDUs end to end. pcsc.Card does not
// report a maximum length (PC/SC readers differ); pcscd and vpcd carry up to 64 KiB, and
// perso and emrtd size their chunks from MaxLength.
func link(t apdu.Transmitter) apdu.Transmitter { return perso.WithMaxLength(t, apdu.MaxExtendedLe) }

// insert puts chip into the vpcd reader slot of the shared pcscd, waits until pcscd sees
// it and connects to it (exclusive, as a station or counter does). remove closes the
// connection, takes the card out and waits until pcscd sees the slot empty; it also runs
// when the test ends. A missing pcscd fails the test (pcsctest.Reader).
func insert(t *testing.T, slot int, chip *vchip.Chip) (card *pcsc.Card, remove func()) {
	t.Helper()
	reader, addr := pcsctest.Reader(t, slot)
	s, err := vpcd.Attach(context.Background(), addr, chip)
	if err != nil {
		t.Fatalf("attach chip to slot %d: %v", slot, err)
	}
	pc, err := pcsc.Open()
	if err != nil {
		_ = s.Detach()
		t.Fatalf("pcscd: %v (start it: sudo scripts/pcscd.sh start 14)", err)
	}
	var once sync.Once
	remove = func() {
		once.Do(func() {
			if card != nil {
				if err := card.Close(); err != nil {
					t.Errorf("close card in slot %d: %v", slot, err)
				}
			}
			if err := s.Detach(); err != nil {
				t.Errorf("detach slot %d: %v", slot, err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := pc.WaitForRemoval(ctx, reader); err != nil {
				t.Errorf("slot %d stays occupied after detach: %v", slot, err)
			}
			if err := pc.Close(); err != nil {
				t.Errorf("pcscd: %v", err)
			}
		})
	}
	t.Cleanup(remove)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pc.WaitForCard(ctx, reader); err != nil {
		t.Fatalf("pcscd does not see the chip in slot %d (%q): %v", slot, reader, err)
	}
	if card, err = pc.Connect(ctx, reader); err != nil {
		t.Fatalf("connect to slot %d: %v", slot, err)
	}
	return card, remove
}

// recorder keeps the commands sent and the responses received.
type recorder struct {
	t    apdu.Transmitter
	cmds []apdu.Command
	rsps []apdu.Response
}

func (r *recorder) Transmit(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	r.cmds = append(r.cmds, cmd)
	rsp, err := r.t.Transmit(ctx, cmd)
	r.rsps = append(r.rsps, rsp)
	return rsp, err
}

// index returns the 1-based position of the first command matching f (Faults count
// APDUs from 1), 0 if none does.
func (r *recorder) index(f func(apdu.Command, apdu.Response) bool) int {
	for i, c := range r.cmds {
		if f(c, r.rsps[i]) {
			return i + 1
		}
	}
	return 0
}

// checkDocument compares what the counter read with what the station wrote: every file
// EF.COM lists byte for byte, DG3 denied (EAC-protected on CCCD chips), EF.CardAccess,
// EF.COM and EF.SOD, and both chip authentications.
func checkDocument(t *testing.T, doc *emrtd.Document, card *vchiptest.Card, wantAccess string) {
	t.Helper()
	if doc.Access != wantAccess {
		t.Errorf("access %q, want %q", doc.Access, wantAccess)
	}
	for _, f := range []struct {
		name string
		got  []byte
		fid  uint16
	}{{"EF.CardAccess", doc.CardAccess, vchip.FIDCardAccess}, {"EF.COM", doc.COM, vchip.FIDCOM}, {"EF.SOD", doc.SOD, vchip.FIDSOD}} {
		if want := card.Files[f.fid]; !bytes.Equal(f.got, want) {
			t.Errorf("%s: read %d bytes %X..., wrote %d bytes", f.name, len(f.got), head(f.got), len(want))
		}
	}
	com, err := emrtd.ParseCOM(doc.COM)
	if err != nil {
		t.Fatalf("EF.COM read back: %v", err)
	}
	if len(com.DataGroups) == 0 {
		t.Fatal("EF.COM lists no data group")
	}
	for _, n := range com.DataGroups {
		want := card.DG(n)
		if want == nil {
			t.Errorf("EF.COM lists DG%d, which the station did not write", n)
			continue
		}
		if n == 3 {
			if doc.DataGroups[3] != nil || !slices.Contains(doc.Denied, 3) {
				t.Errorf("DG3 read (%d bytes), denied %v; want it denied (6982)", len(doc.DataGroups[3]), doc.Denied)
			}
			continue
		}
		if got := doc.DataGroups[n]; !bytes.Equal(got, want) {
			t.Errorf("DG%d: read %d bytes, wrote %d (or the bytes differ)", n, len(got), len(want))
		}
	}
	if !slices.Equal(doc.Denied, []int{3}) {
		t.Errorf("denied %v, want [3]", doc.Denied)
	}
	if !doc.ChipAuthenticated || !doc.ActiveAuthenticated {
		t.Errorf("chip authentication %v, active authentication %v; want both", doc.ChipAuthenticated, doc.ActiveAuthenticated)
	}
}

func head(b []byte) []byte { return b[:min(len(b), 8)] }

// issueInProcess personalizes a fresh chip without a reader (for the read-side tests,
// whose subject is the counter) and resets it as an insertion would.
func issueInProcess(t *testing.T, serial string) (*vchip.Chip, *vchiptest.Card) {
	t.Helper()
	chip := vchip.New(serial, vchip.Options{})
	card, err := vchiptest.Issue(context.Background(), vchip.Transport{Chip: chip}, vchiptest.Profile{})
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	chip.Reset()
	return chip, card
}
