package e2e_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/perso"
	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vchip/vchiptest"
)

// TestPersonalizeLockAndRead: a blank chip is personalized and locked through pcscd at
// the station's reader, carried to the counter's reader (Save, Load) and read back
// through pcscd with each access method; every file EF.COM lists must come back as
// written, with Chip and Active Authentication.
func TestPersonalizeLockAndRead(t *testing.T) {
	tests := []struct {
		name       string
		chip       vchip.Options
		creds      emrtd.Credentials
		opts       emrtd.Options
		wantAccess string
	}{
		{"PACE-CAN", vchip.Options{}, emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{}, emrtd.AccessPACECAN},
		{"PACE-MRZ", vchip.Options{}, mrzCreds, emrtd.Options{}, emrtd.AccessPACEMRZ},
		{"BAC", vchip.Options{}, mrzCreds, emrtd.Options{NoPACE: true}, emrtd.AccessBAC},
		{"PACE-CAN, SELECT MF answers 6D00", vchip.Options{SelectMFUnsupported: true},
			emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{}, emrtd.AccessPACECAN},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			defer cancel()

			// Station: personalize the blank chip through pcscd, then lock it.
			chip := vchip.New("VN-E2E-"+string(rune('A'+i)), tc.chip)
			station, remove := insert(t, slotStation, chip)
			rec := &recorder{t: station}
			issued, err := vchiptest.Issue(ctx, link(rec), vchiptest.Profile{})
			if err != nil {
				t.Fatalf("personalize through pcscd: %v", err)
			}
			dg2 := len(issued.DG(2))
			if !slices.ContainsFunc(rec.cmds, func(c apdu.Command) bool { return c.INS == 0xD6 && len(c.Data) == dg2 && c.IsExtended() }) {
				t.Errorf("DG2 (%d bytes) was not written in one extended UPDATE BINARY", dg2)
			}
			if !chip.Locked() {
				t.Fatal("chip not locked after personalization")
			}
			if err := perso.CreateFile(ctx, station, 0x0104, 16); !errors.Is(err, perso.ErrLocked) {
				t.Fatalf("CREATE FILE on the locked chip through pcscd: err = %v, want ErrLocked", err)
			}
			remove()

			// The card moves to the counter: same EEPROM, another reader.
			path := filepath.Join(t.TempDir(), "card.json")
			if err := chip.Save(path); err != nil {
				t.Fatal(err)
			}
			moved, err := vchip.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			counter, _ := insert(t, slotCounter, moved)
			if tc.chip.SelectMFUnsupported {
				_, err := apdu.Run(ctx, counter, apdu.Command{INS: 0xA4, P2: 0x0C, Data: []byte{0x3F, 0x00}})
				if !errors.Is(err, apdu.StatusError{SW: apdu.SWINSNotSupported}) {
					t.Fatalf("SELECT MF through pcscd: err = %v, want 6D00", err)
				}
			}
			doc, err := emrtd.Read(ctx, link(counter), tc.creds, tc.opts)
			if err != nil {
				t.Fatalf("read through pcscd: %v", err)
			}
			checkDocument(t, doc, issued, tc.wantAccess)
		})
	}
}
