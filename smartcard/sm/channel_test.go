package sm

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/cccd-project/cccd/smartcard/apdu"
)

// faultyCard answers through a chip session and then applies a fault to the answer.
type faultyCard struct {
	chip  *Session
	fault func(apdu.Response) (apdu.Response, error)
}

func (f *faultyCard) Transmit(_ context.Context, cmd apdu.Command) (apdu.Response, error) {
	if _, err := f.chip.UnprotectCommand(cmd); err != nil {
		return apdu.Response{SW: apdu.SWSMDataIncorrect}, nil
	}
	r, err := f.chip.ProtectResponse(apdu.Response{Data: []byte{1, 2, 3, 4}, SW: apdu.SWOK})
	if err != nil || f.fault == nil {
		return r, err
	}
	return f.fault(r)
}

func TestChannelCloses(t *testing.T) {
	tests := []struct {
		name      string
		fault     func(apdu.Response) (apdu.Response, error)
		wantErr   error // of the first Transmit
		wantSW    uint16
		wantClose bool
	}{
		{"good answer stays open", nil, nil, apdu.SWOK, false},
		{"plain 6A82 stays open", func(apdu.Response) (apdu.Response, error) {
			return apdu.Response{SW: apdu.SWFileNotFound}, nil
		}, nil, apdu.SWFileNotFound, false},
		{"tampered MAC closes", func(r apdu.Response) (apdu.Response, error) {
			r.Data = append([]byte(nil), r.Data...)
			r.Data[len(r.Data)-1] ^= 1
			return r, nil
		}, ErrMAC, 0, true},
		{"plain 6988 closes", func(apdu.Response) (apdu.Response, error) {
			return apdu.Response{SW: apdu.SWSMDataIncorrect}, nil
		}, nil, apdu.SWSMDataIncorrect, true},
		{"transport error closes", func(apdu.Response) (apdu.Response, error) {
			return apdu.Response{}, errors.New("card removed")
		}, nil, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			term, chip := pairFor(t, AES, 128)
			ch := NewChannel(&faultyCard{chip: chip, fault: tc.fault}, term)
			r, err := ch.Transmit(context.Background(), apdu.Command{INS: 0xB0, Ne: 4})
			switch {
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("Transmit = %v, want %v", err, tc.wantErr)
			case tc.wantErr == nil && tc.wantSW != 0 && (err != nil || r.SW != tc.wantSW):
				t.Fatalf("Transmit = %04X, %v; want %04X", r.SW, err, tc.wantSW)
			}
			_, err = ch.Transmit(context.Background(), apdu.Command{INS: 0xB0, Ne: 4})
			if closed := errors.Is(err, ErrClosed); closed != tc.wantClose {
				t.Fatalf("second Transmit = %v; closed %v, want %v", err, closed, tc.wantClose)
			}
			if (ch.Err() != nil) != tc.wantClose {
				t.Fatalf("Err() = %v", ch.Err())
			}
		})
	}
}

func TestProtectFailureKeepsCounter(t *testing.T) {
	term, _ := pairFor(t, AES, 128)
	before := term.SSC()
	if _, err := term.ProtectCommand(apdu.Command{INS: 0xD6, Data: make([]byte, apdu.MaxExtendedData)}); err == nil {
		t.Fatal("ProtectCommand accepted data that cannot fit a protected APDU")
	}
	if !bytes.Equal(term.SSC(), before) {
		t.Fatalf("SSC moved from %X to %X on a failed ProtectCommand", before, term.SSC())
	}
}
