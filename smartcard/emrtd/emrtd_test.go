package emrtd_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vchip/vchiptest"
)

var mrzCreds = emrtd.Credentials{
	DocumentNumber: vchiptest.DocumentNumber,
	DateOfBirth:    vchiptest.DateOfBirth,
	DateOfExpiry:   vchiptest.DateOfExpiry,
}

// issue personalizes a fresh virtual chip and resets it as a reader would on insertion.
func issue(t testing.TB, opts vchip.Options, p vchiptest.Profile) (*vchip.Chip, *vchiptest.Card) {
	t.Helper()
	chip := vchip.New("VN-TEST-0001", opts)
	chip.SetSleep(func(time.Duration) {})
	card, err := vchiptest.Issue(context.Background(), vchip.Transport{Chip: chip}, p)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	chip.Reset()
	return chip, card
}

// checkDocument compares what was read with what was written.
func checkDocument(t *testing.T, doc *emrtd.Document, card *vchiptest.Card, wantCA, wantAA bool) {
	t.Helper()
	if !bytes.Equal(doc.COM, card.Files[vchip.FIDCOM]) || !bytes.Equal(doc.SOD, card.Files[vchip.FIDSOD]) {
		t.Errorf("EF.COM or EF.SOD differ from what was written")
	}
	if !bytes.Equal(doc.CardAccess, card.Files[vchip.FIDCardAccess]) {
		t.Errorf("EF.CardAccess %X, want %X", doc.CardAccess, card.Files[vchip.FIDCardAccess])
	}
	for _, n := range []int{1, 2, 13, 14, 15} {
		if want := card.DG(n); !bytes.Equal(doc.DataGroups[n], want) {
			t.Errorf("DG%d: read %d bytes, wrote %d", n, len(doc.DataGroups[n]), len(want))
		}
	}
	if doc.DataGroups[3] != nil || !slices.Equal(doc.Denied, []int{3}) {
		t.Errorf("DG3 read %X, denied %v; want DG3 denied", doc.DataGroups[3], doc.Denied)
	}
	if doc.ChipAuthenticated != wantCA || doc.ActiveAuthenticated != wantAA {
		t.Errorf("CA %v AA %v, want %v %v", doc.ChipAuthenticated, doc.ActiveAuthenticated, wantCA, wantAA)
	}
	if len(doc.Steps) == 0 {
		t.Error("no steps recorded")
	}
}

// plainLink hides vchip.Transport's MaxLength, like a PC/SC transport.
type plainLink struct{ apdu.Transmitter }

func TestRead(t *testing.T) {
	tests := []struct {
		name       string
		chip       vchip.Options
		profile    vchiptest.Profile
		creds      emrtd.Credentials
		opts       emrtd.Options
		wantAccess string
	}{
		{"PACE-CAN", vchip.Options{}, vchiptest.Profile{}, emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{}, emrtd.AccessPACECAN},
		{"PACE-MRZ", vchip.Options{}, vchiptest.Profile{}, mrzCreds, emrtd.Options{}, emrtd.AccessPACEMRZ},
		{"BAC (reader option)", vchip.Options{}, vchiptest.Profile{}, mrzCreds, emrtd.Options{NoPACE: true}, emrtd.AccessBAC},
		{"BAC (chip without EF.CardAccess)", vchip.Options{}, vchiptest.Profile{NoPACE: true}, mrzCreds, emrtd.Options{}, emrtd.AccessBAC},
		{"BAC after PACE fails for a protocol reason", vchip.Options{}, vchiptest.Profile{NoCAN: true},
			emrtd.Credentials{CAN: vchiptest.CAN, DocumentNumber: vchiptest.DocumentNumber, DateOfBirth: vchiptest.DateOfBirth, DateOfExpiry: vchiptest.DateOfExpiry},
			emrtd.Options{}, emrtd.AccessBAC},
		{"SELECT MF answers 6D00", vchip.Options{SelectMFUnsupported: true}, vchiptest.Profile{}, emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{}, emrtd.AccessPACECAN},
		{"short APDUs only", vchip.Options{ShortOnly: true}, vchiptest.Profile{}, emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{}, emrtd.AccessPACECAN},
		{"transport without MaxLength", vchip.Options{ShortOnly: true}, vchiptest.Profile{}, emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{}, emrtd.AccessPACECAN},
		{"small chunks", vchip.Options{}, vchiptest.Profile{}, mrzCreds, emrtd.Options{MaxChunk: 100, NoPACE: true}, emrtd.AccessBAC},
		{"DG2 beyond offset 7FFF", vchip.Options{}, vchiptest.Profile{DG2Size: 50000}, emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{MaxChunk: 30000}, emrtd.AccessPACECAN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chip, card := issue(t, tc.chip, tc.profile)
			var tr apdu.Transmitter = vchip.Transport{Chip: chip}
			if tc.name == "transport without MaxLength" {
				tr = plainLink{tr}
			}
			doc, err := emrtd.Read(context.Background(), tr, tc.creds, tc.opts)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if doc.Access != tc.wantAccess {
				t.Errorf("access %q, want %q", doc.Access, tc.wantAccess)
			}
			checkDocument(t, doc, card, true, true)
		})
	}
}

func TestReadFailures(t *testing.T) {
	t.Run("wrong CAN slows the chip down", func(t *testing.T) {
		chip, _ := issue(t, vchip.Options{}, vchiptest.Profile{})
		var slept []time.Duration
		chip.SetSleep(func(d time.Duration) { slept = append(slept, d) })
		for range 3 {
			_, err := emrtd.Read(context.Background(), vchip.Transport{Chip: chip}, emrtd.Credentials{CAN: "000000"}, emrtd.Options{})
			var se *emrtd.StepError
			if !errors.Is(err, emrtd.ErrAccessDenied) || !errors.As(err, &se) || se.Step != "PACE" {
				t.Fatalf("err %v, want ErrAccessDenied at step PACE", err)
			}
			chip.Reset()
		}
		want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}
		if !slices.Equal(slept, want) {
			t.Errorf("delays %v, want %v", slept, want)
		}
		if _, err := emrtd.Read(context.Background(), vchip.Transport{Chip: chip}, emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{}); err != nil {
			t.Fatalf("right CAN after failures: %v", err)
		}
		if chip.Failures() != 0 {
			t.Errorf("failures %d after success, want 0", chip.Failures())
		}
	})
	t.Run("wrong MRZ with BAC", func(t *testing.T) {
		chip, _ := issue(t, vchip.Options{}, vchiptest.Profile{NoPACE: true})
		creds := mrzCreds
		creds.DateOfBirth = "640813"
		_, err := emrtd.Read(context.Background(), vchip.Transport{Chip: chip}, creds, emrtd.Options{})
		if !errors.Is(err, emrtd.ErrAccessDenied) {
			t.Fatalf("err %v, want ErrAccessDenied", err)
		}
	})
	t.Run("CAN only on a BAC chip", func(t *testing.T) {
		chip, _ := issue(t, vchip.Options{}, vchiptest.Profile{NoPACE: true})
		_, err := emrtd.Read(context.Background(), vchip.Transport{Chip: chip}, emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{})
		if !errors.Is(err, emrtd.ErrNoCredentials) {
			t.Fatalf("err %v, want ErrNoCredentials", err)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		chip, _ := issue(t, vchip.Options{}, vchiptest.Profile{})
		if _, err := emrtd.Read(context.Background(), vchip.Transport{Chip: chip}, emrtd.Credentials{}, emrtd.Options{}); !errors.Is(err, emrtd.ErrNoCredentials) {
			t.Fatalf("err %v, want ErrNoCredentials", err)
		}
	})
	t.Run("card removed mid-read", func(t *testing.T) {
		chip, _ := issue(t, vchip.Options{}, vchiptest.Profile{})
		chip.SetFaults(vchip.Faults{TearAfter: 12})
		_, err := emrtd.Read(context.Background(), vchip.Transport{Chip: chip}, emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{})
		if !errors.Is(err, emrtd.ErrCardRemoved) || !errors.Is(err, vchip.ErrRemoved) {
			t.Fatalf("err %v, want ErrCardRemoved", err)
		}
	})
	t.Run("corrupted response", func(t *testing.T) {
		chip, _ := issue(t, vchip.Options{}, vchiptest.Profile{})
		chip.SetFaults(vchip.Faults{CorruptResponse: 12})
		if _, err := emrtd.Read(context.Background(), vchip.Transport{Chip: chip}, emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{}); err == nil {
			t.Fatal("read succeeded through a corrupted response")
		}
	})
}

func TestClones(t *testing.T) {
	tests := []struct {
		name    string
		profile vchiptest.Profile
		clone   bool
		want    error
		wantCA  bool
	}{
		{"AA key differs from DG15", vchiptest.Profile{SwapAAKey: true}, false, emrtd.ErrActiveAuthentication, true},
		{"copy of a chip without DG14", vchiptest.Profile{NoDG14: true}, true, emrtd.ErrActiveAuthentication, false},
		{"copy of a chip with DG14", vchiptest.Profile{}, true, emrtd.ErrChipAuthentication, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chip, card := issue(t, vchip.Options{}, tc.profile)
			if tc.clone {
				chip = vchip.New("FAKE", vchip.Options{})
				if err := vchiptest.Clone(context.Background(), vchip.Transport{Chip: chip}, card); err != nil {
					t.Fatalf("clone: %v", err)
				}
				chip.Reset()
			}
			doc, err := emrtd.Read(context.Background(), vchip.Transport{Chip: chip}, emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if doc.ActiveAuthenticated || doc.ChipAuthenticated != tc.wantCA {
				t.Errorf("CA %v AA %v, want CA %v and no AA", doc.ChipAuthenticated, doc.ActiveAuthenticated, tc.wantCA)
			}
		})
	}
}

// TestReadAfterSaveLoad reads a card that went through a file: keys and lock survive.
func TestReadAfterSaveLoad(t *testing.T) {
	chip, card := issue(t, vchip.Options{}, vchiptest.Profile{})
	path := filepath.Join(t.TempDir(), "card.json")
	if err := chip.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := vchip.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Locked() || loaded.Serial() != chip.Serial() {
		t.Fatalf("loaded chip: locked %v serial %q", loaded.Locked(), loaded.Serial())
	}
	doc, err := emrtd.Read(context.Background(), vchip.Transport{Chip: loaded}, emrtd.Credentials{CAN: vchiptest.CAN}, emrtd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkDocument(t, doc, card, true, true)
	if r, err := (vchip.Transport{Chip: loaded}).Transmit(context.Background(), apdu.Command{INS: 0xE0, Data: []byte{0x62, 0x00}}); err != nil || r.SW != apdu.SWConditionsNotSatisfied {
		t.Errorf("CREATE FILE on the loaded chip: SW %04X, %v; want 6985", r.SW, err)
	}
}
