package e2e_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/pcsc"
	"github.com/cccd-project/cccd/smartcard/perso"
	"github.com/cccd-project/cccd/smartcard/sm"
	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vchip/vchiptest"
)

// persoAPDUs records the APDUs of a personalization in process. Over pcscd, with the
// same MaxLength, the station sends exactly the same sequence, so a fault can be aimed
// at one of its commands by number.
func persoAPDUs(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{t: vchip.Transport{Chip: vchip.New("VN-E2E-DRY", vchip.Options{})}}
	if _, err := vchiptest.Issue(context.Background(), link(rec), vchiptest.Profile{}); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	return rec
}

// TestTornPersonalization: the chip is torn out of the station's reader at a chosen
// command. Personalization must stop there with an error wrapping pcsc.ErrCardRemoved
// (not a nil response, not a hang), and the chip answers again once re-inserted.
func TestTornPersonalization(t *testing.T) {
	dry := persoAPDUs(t)
	tests := []struct {
		name       string
		at         func(apdu.Command, apdu.Response) bool
		wantLocked bool // the torn command itself completed inside the chip
	}{
		{"GENERATE KEY PAIR", func(c apdu.Command, _ apdu.Response) bool { return c.INS == 0x47 }, false},
		{"UPDATE BINARY of DG2", func(c apdu.Command, _ apdu.Response) bool { return c.INS == 0xD6 && len(c.Data) > 1000 }, false},
		{"read-back of DG2", func(c apdu.Command, r apdu.Response) bool { return c.INS == 0xB0 && len(r.Data) > 1000 }, false},
		{"LOCK", func(c apdu.Command, _ apdu.Response) bool { return c.INS == 0x44 }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := dry.index(tc.at)
			if n == 0 {
				t.Fatalf("the station sends no such command")
			}
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			defer cancel()
			chip := vchip.New("VN-E2E-TORN", vchip.Options{})
			station, remove := insert(t, slotStation, chip)
			chip.SetFaults(vchip.Faults{TearAfter: n})
			rec := &recorder{t: station}
			_, err := vchiptest.Issue(ctx, link(rec), vchiptest.Profile{})
			switch {
			case err == nil:
				t.Fatalf("personalization torn at APDU %d succeeded", n)
			case errors.Is(err, context.DeadlineExceeded):
				t.Fatalf("personalization torn at APDU %d hung: %v", n, err)
			case !errors.Is(err, pcsc.ErrCardRemoved):
				t.Fatalf("personalization torn at APDU %d: err = %v, want one wrapping pcsc.ErrCardRemoved", n, err)
			}
			t.Logf("torn at APDU %d: %v", n, err)
			if len(rec.cmds) != n {
				t.Errorf("the station sent %d APDUs, want it to stop at the torn one (%d)", len(rec.cmds), n)
			}
			if chip.Locked() != tc.wantLocked {
				t.Errorf("chip locked = %v after the tear, want %v", chip.Locked(), tc.wantLocked)
			}
			remove()

			// Re-inserted (powered up again), the torn chip answers: the station can read
			// its serial to record the spoiled card.
			again, _ := insert(t, slotCounter, chip)
			serial, err := perso.Serial(ctx, again)
			if err != nil || serial != chip.Serial() {
				t.Fatalf("serial of the re-inserted chip = %q, %v; want %q", serial, err, chip.Serial())
			}
		})
	}
}

// TestFaultDuringRead: at the counter, a protected answer corrupted on the way (one bit)
// must fail the read with a secure messaging error, and a card pulled out during the
// read with an error wrapping pcsc.ErrCardRemoved; both in the step that was running.
func TestFaultDuringRead(t *testing.T) {
	smErrs := []error{sm.ErrMAC, sm.ErrBadDO, sm.ErrMissingDO, sm.ErrPadding}
	tests := []struct {
		name   string
		creds  emrtd.Credentials
		opts   emrtd.Options
		faults func(n int) vchip.Faults
		want   []error // the error must wrap one of these
	}{
		{"corrupted answer under PACE (AES)", emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{},
			func(n int) vchip.Faults { return vchip.Faults{CorruptResponse: n} }, smErrs},
		{"corrupted answer under BAC (3DES)", mrzCreds, emrtd.Options{NoPACE: true},
			func(n int) vchip.Faults { return vchip.Faults{CorruptResponse: n} }, smErrs},
		{"card pulled out", emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{},
			func(n int) vchip.Faults { return vchip.Faults{TearAfter: n} }, []error{pcsc.ErrCardRemoved, emrtd.ErrCardRemoved}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chip, _ := issueInProcess(t, "VN-E2E-READ-"+string(rune('A'+i)))
			path := filepath.Join(t.TempDir(), "card.json")
			if err := chip.Save(path); err != nil {
				t.Fatal(err)
			}
			// Dry run on a copy of the chip: which APDU brings DG2's content.
			twin, err := vchip.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			dry := &recorder{t: vchip.Transport{Chip: twin}}
			if _, err := emrtd.Read(context.Background(), link(dry), tc.creds, tc.opts); err != nil {
				t.Fatalf("dry run: %v", err)
			}
			n := dry.index(func(c apdu.Command, r apdu.Response) bool {
				return c.CLA&0x0C == 0x0C && c.INS == 0xB0 && len(r.Data) > 10000
			})
			if n == 0 {
				t.Fatal("dry run: no protected READ BINARY brought DG2")
			}

			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			defer cancel()
			counter, _ := insert(t, slotCounter, chip)
			chip.SetFaults(tc.faults(n))
			doc, err := emrtd.Read(ctx, link(counter), tc.creds, tc.opts)
			if err == nil {
				t.Fatalf("read with a fault at APDU %d succeeded (DG2 %d bytes)", n, len(doc.DataGroups[2]))
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("read with a fault at APDU %d hung: %v", n, err)
			}
			if !wrapsAny(err, tc.want) {
				t.Fatalf("read with a fault at APDU %d: err = %v, want one wrapping one of %v", n, err, tc.want)
			}
			if tc.want[0] == pcsc.ErrCardRemoved && !errors.Is(err, emrtd.ErrCardRemoved) {
				t.Fatalf("a card pulled out over PC/SC is not reported as emrtd.ErrCardRemoved: %v", err)
			}
			var se *emrtd.StepError
			if !errors.As(err, &se) || se.Step != "read DG2" {
				t.Errorf("failed step: %v, want read DG2", err)
			}
			if doc == nil || doc.DataGroups[2] != nil {
				t.Errorf("a partial DG2 was returned")
			}
		})
	}
}

func wrapsAny(err error, targets []error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
