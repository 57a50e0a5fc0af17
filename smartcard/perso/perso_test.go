package perso_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"testing"
	"time"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/perso"
	"github.com/cccd-project/cccd/smartcard/tlv"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

func blank(t testing.TB, opts vchip.Options) (*vchip.Chip, vchip.Transport) {
	t.Helper()
	c := vchip.New("VN-0000-0042", opts)
	c.SetSleep(func(time.Duration) {})
	return c, vchip.Transport{Chip: c}
}

func random(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll reads an EF back in the clear (before lock) with short APDUs.
func readAll(t *testing.T, tr apdu.Transmitter, fid uint16, n int) []byte {
	t.Helper()
	ctx := context.Background()
	if fid != vchip.FIDCardAccess {
		if _, err := apdu.Run(ctx, tr, apdu.Command{INS: 0xA4, P1: 4, P2: 0x0C, Data: vchip.AID}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := apdu.Run(ctx, tr, apdu.Command{INS: 0xA4, P2: 0x0C, Data: []byte{byte(fid >> 8), byte(fid)}}); err != nil {
		t.Fatal(err)
	}
	var out []byte
	for len(out) < n {
		off := len(out)
		cmd := apdu.Command{INS: 0xB0, P1: byte(off >> 8), P2: byte(off), Ne: min(200, n-off)}
		if off > 0x7FFF {
			cmd = apdu.Command{INS: 0xB1, Data: []byte{0x54, 3, byte(off >> 16), byte(off >> 8), byte(off)}, Ne: min(200, n-off) + 4}
		}
		b, err := apdu.Run(ctx, tr, cmd)
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		if cmd.INS == 0xB1 {
			tag, v, _, err := tlv.Next(b)
			if err != nil || tag != 0x53 {
				t.Fatalf("B1 answer %X", b)
			}
			b = v
		}
		out = append(out, b...)
	}
	return out
}

func TestWriteFile(t *testing.T) {
	tests := []struct {
		name string
		opts vchip.Options
		fid  uint16
		size int
	}{
		{"EF.CardAccess", vchip.Options{}, vchip.FIDCardAccess, 22},
		{"DG1 short APDUs", vchip.Options{ShortOnly: true}, vchip.FIDDG1, 1000},
		{"DG2 extended", vchip.Options{}, vchip.FIDDG1 + 1, 20000},
		{"DG2 past offset 7FFF", vchip.Options{}, vchip.FIDDG1 + 1, 65535},
		{"DG2 past offset 7FFF short APDUs", vchip.Options{ShortOnly: true, Capacity: 70000}, vchip.FIDDG1 + 1, 40000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			_, tr := blank(t, tc.opts)
			data := random(t, tc.size)
			if err := perso.CreateFile(ctx, tr, tc.fid, len(data)); err != nil {
				t.Fatal(err)
			}
			if err := perso.WriteFile(ctx, tr, tc.fid, data); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, tr, tc.fid, tc.size); !bytes.Equal(got, data) {
				t.Error("file read back differs")
			}
		})
	}
}

// shortLink hides vchip.Transport's MaxLength, like a PC/SC transport.
type shortLink struct{ t apdu.Transmitter }

func (s shortLink) Transmit(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	if cmd.IsExtended() {
		return apdu.Response{}, errors.New("shortLink: extended APDU sent to a transport that did not offer it")
	}
	return s.t.Transmit(ctx, cmd)
}

func TestWriteFileLinkLength(t *testing.T) {
	ctx := context.Background()
	_, tr := blank(t, vchip.Options{})
	data := random(t, 5000)
	if err := perso.CreateFile(ctx, tr, vchip.FIDDG1, len(data)); err != nil {
		t.Fatal(err)
	}
	if err := perso.WriteFile(ctx, shortLink{tr}, vchip.FIDDG1, data); err != nil {
		t.Fatalf("without MaxLength: %v", err)
	}
	if err := perso.WriteFile(ctx, perso.WithMaxLength(tr, 65536), vchip.FIDDG1, data); err != nil {
		t.Fatalf("WithMaxLength: %v", err)
	}
}

func TestCreateFileErrors(t *testing.T) {
	ctx := context.Background()
	_, tr := blank(t, vchip.Options{Capacity: 1000})
	if err := perso.CreateFile(ctx, tr, vchip.FIDCOM, 10); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		fid  uint16
		size int
		sw   uint16
	}{
		{"exists", vchip.FIDCOM, 10, apdu.SWFileExists},
		{"no memory", vchip.FIDDG1, 2000, apdu.SWNotEnoughMemory},
		{"reserved FID", 0x3F00, 10, apdu.SWWrongData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := perso.CreateFile(ctx, tr, tc.fid, tc.size)
			if !errors.Is(err, apdu.StatusError{SW: tc.sw}) {
				t.Errorf("err %v, want SW %04X", err, tc.sw)
			}
		})
	}
	if err := perso.WriteFile(ctx, tr, vchip.FIDCOM, make([]byte, 11)); !errors.Is(err, apdu.StatusError{SW: apdu.SWNotEnoughMemory}) {
		t.Errorf("write past the end: %v, want 6A84", err)
	}
}

func TestTornWrite(t *testing.T) {
	ctx := context.Background()
	chip, tr := blank(t, vchip.Options{})
	data := random(t, 20000)
	if err := perso.CreateFile(ctx, tr, vchip.FIDDG1+1, len(data)); err != nil {
		t.Fatal(err)
	}
	chip.SetFaults(vchip.Faults{TearAfter: 3}) // SELECT AID, SELECT EF, then the UPDATE BINARY
	err := perso.WriteFile(ctx, tr, vchip.FIDDG1+1, data)
	if !errors.Is(err, vchip.ErrRemoved) {
		t.Fatalf("torn write: %v, want ErrRemoved", err)
	}
	chip.Reset()
	got := readAll(t, tr, vchip.FIDDG1+1, len(data))
	if bytes.Equal(got, data) || !bytes.Equal(got[:1000], data[:1000]) {
		t.Error("torn file should hold the first part of the data only")
	}
	// The station rewrites the whole file after re-insertion.
	if err := perso.WriteFile(ctx, tr, vchip.FIDDG1+1, data); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptedWriteDetected(t *testing.T) {
	ctx := context.Background()
	chip, tr := blank(t, vchip.Options{})
	if err := perso.CreateFile(ctx, tr, vchip.FIDDG1, 300); err != nil {
		t.Fatal(err)
	}
	chip.SetFaults(vchip.Faults{CorruptResponse: 4}) // the read-back answer
	err := perso.WriteFile(ctx, tr, vchip.FIDDG1, random(t, 300))
	if !errors.Is(err, perso.ErrVerify) {
		t.Fatalf("err %v, want ErrVerify", err)
	}
}

func TestKeysSerialLock(t *testing.T) {
	ctx := context.Background()
	chip, tr := blank(t, vchip.Options{})
	serial, err := perso.Serial(ctx, tr)
	if err != nil || serial != "VN-0000-0042" {
		t.Fatalf("serial %q, %v", serial, err)
	}
	if err := perso.Lock(ctx, tr); !errors.Is(err, perso.ErrLocked) {
		t.Fatalf("lock without MRZ key: %v, want refusal (6985)", err)
	}
	aa, err := perso.GenerateAAKey(ctx, tr)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := perso.GenerateCAKey(ctx, tr)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(aa, ca) {
		t.Fatal("AA and CA keys are the same")
	}
	key := sha1.Sum([]byte("T22000129364081251010318"))
	bad := []struct {
		name string
		key  []byte
		can  string
	}{
		{"short MRZ key", key[:16], "123456"},
		{"CAN with letters", key[:], "12345A"},
		{"CAN too long", key[:], "1234567"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if err := perso.SetAccessKeys(ctx, tr, tc.key, tc.can); err == nil {
				t.Error("accepted")
			}
		})
	}
	if err := perso.SetAccessKeys(ctx, tr, key[:], "123456"); err != nil {
		t.Fatal(err)
	}
	if err := perso.CreateFile(ctx, tr, vchip.FIDCardAccess, 1); err != nil {
		t.Fatal(err)
	}
	if err := perso.Lock(ctx, tr); err != nil {
		t.Fatal(err)
	}
	if !chip.Locked() {
		t.Fatal("chip not locked")
	}
	after := map[string]func() error{
		"CreateFile":    func() error { return perso.CreateFile(ctx, tr, vchip.FIDDG1, 10) },
		"WriteFile":     func() error { return perso.WriteFile(ctx, tr, vchip.FIDCardAccess, []byte{1}) },
		"SetAccessKeys": func() error { return perso.SetAccessKeys(ctx, tr, key[:], "654321") },
		"GenerateAAKey": func() error { _, err := perso.GenerateAAKey(ctx, tr); return err },
		"GenerateCAKey": func() error { _, err := perso.GenerateCAKey(ctx, tr); return err },
		"Lock":          func() error { return perso.Lock(ctx, tr) },
	}
	for name, f := range after {
		t.Run(name+" after lock", func(t *testing.T) {
			err := f()
			if !errors.Is(err, perso.ErrLocked) || !errors.Is(err, apdu.StatusError{SW: apdu.SWConditionsNotSatisfied}) {
				t.Errorf("err %v, want ErrLocked (6985)", err)
			}
		})
	}
	if s, err := perso.Serial(ctx, tr); err != nil || s != serial {
		t.Errorf("serial after lock %q, %v", s, err)
	}
}
