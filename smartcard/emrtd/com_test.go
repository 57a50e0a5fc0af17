package emrtd

import (
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"testing"

	"github.com/cccd-project/cccd/smartcard/apdu"
)

// comCCCD is EF.COM as on issued CCCD chips: LDS 1.7, Unicode 4.0.0, DG1 DG2 DG3 DG13
// DG14 DG15 (ICAO 9303-10 §4.6.1; REFERENCE §5).
const comCCCD = "60185F0104303130375F36063034303030305C06617563" + "6D6E6F"

func TestParseCOM(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []int
		wantErr bool
	}{
		{"CCCD", comCCCD, []int{1, 2, 3, 13, 14, 15}, false},
		{"tag list only", "60035C0161", []int{1}, false},
		{"no tag list", "60065F0104303130", nil, true},
		{"unknown tag", "60035C0171", nil, true},
		{"repeated DG", "60045C026161", nil, true},
		{"wrong outer tag", "61035C0161", nil, true},
		{"truncated", "60165F01", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tc.in)
			com, err := ParseCOM(b)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Errorf("err %v does not wrap ErrMalformed", err)
			}
			if !slices.Equal(com.DataGroups, tc.want) {
				t.Errorf("data groups %v, want %v", com.DataGroups, tc.want)
			}
			if tc.name == "CCCD" && (com.LDSVersion != "0107" || com.UnicodeVersion != "040000") {
				t.Errorf("versions %q %q", com.LDSVersion, com.UnicodeVersion)
			}
		})
	}
}

func FuzzParseCOM(f *testing.F) {
	for _, s := range []string{comCCCD, "60035C0161", "60045C026161"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		com, err := ParseCOM(b)
		if err == nil && len(com.DataGroups) > 16 {
			t.Fatalf("%d data groups", len(com.DataGroups))
		}
	})
}

// script answers every command with the next length-prefixed chunk of its input.
type script struct{ rest []byte }

func (s *script) Transmit(_ context.Context, _ apdu.Command) (apdu.Response, error) {
	if len(s.rest) < 2 {
		return apdu.Response{}, errors.New("script: end")
	}
	n := min(int(s.rest[0])<<8|int(s.rest[1]), len(s.rest)-2)
	out := s.rest[2 : 2+n]
	s.rest = s.rest[2+n:]
	r, err := apdu.ParseResponse(out)
	if err != nil {
		return apdu.Response{}, err
	}
	return r, nil
}

// FuzzRead runs the whole reader against a chip whose answers are the fuzz input:
// whatever the chip says, Read returns (a document or an error) without panicking.
func FuzzRead(f *testing.F) {
	frame := func(hexes ...string) []byte {
		var b []byte
		for _, h := range hexes {
			v, _ := hex.DecodeString(h)
			b = append(b, byte(len(v)>>8), byte(len(v)))
			b = append(b, v...)
		}
		return b
	}
	f.Add(frame("6D00", "6A82", "9000", "0102030405060708"+"9000"))
	f.Add(frame("9000", "31149000", "6A82"))
	f.Add(frame("9000", "6014"+"9000", "9000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, creds := range []Credentials{{CAN: "123456"}, {DocumentNumber: "T22000129", DateOfBirth: "640812", DateOfExpiry: "101031"}} {
			doc, err := Read(context.Background(), &script{rest: b}, creds, Options{})
			if err == nil && doc == nil {
				t.Fatal("nil document without error")
			}
		}
	})
}
