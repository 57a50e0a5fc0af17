package apdu

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/smartcard/icaotest"
)

// ICAO 9303-11 appendix D.4: protected SELECT EF.COM and READ BINARY and their responses.
const (
	icaoSelect       = "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800"
	icaoReadBinary   = "0CB000000D9701048E08ED6705417E96BA5500"
	icaoSelectResp   = "990290008E08FA855A5D4C50A8ED9000"
	icaoReadBinResp  = "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"
	icaoSelectData   = "8709016375432908C044F68E08BF8B92D635FF24F8"
	icaoReadBinData  = "9701048E08ED6705417E96BA55"
	icaoReadRespData = "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED"
)

func TestCommandBytes(t *testing.T) {
	data255 := bytes.Repeat([]byte{0xAB}, 255)
	data256 := bytes.Repeat([]byte{0xCD}, 256)
	data65535 := bytes.Repeat([]byte{0xEF}, 65535)
	hdr := []byte{0x00, 0xB0, 0x01, 0x02}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		cmd  Command
		want []byte
	}{
		{"case 1", Command{INS: 0xB0, P1: 1, P2: 2}, hdr},
		{"case 1 extended flag has no length field", Command{INS: 0xB0, P1: 1, P2: 2, Extended: true}, hdr},
		{"case 2 short Le 1", Command{INS: 0xB0, P1: 1, P2: 2, Ne: 1}, cat(hdr, []byte{0x01})},
		{"case 2 short Le 255", Command{INS: 0xB0, P1: 1, P2: 2, Ne: 255}, cat(hdr, []byte{0xFF})},
		{"case 2 short Le 256 is 00", Command{INS: 0xB0, P1: 1, P2: 2, Ne: 256}, cat(hdr, []byte{0x00})},
		{"case 2 extended Le 257", Command{INS: 0xB0, P1: 1, P2: 2, Ne: 257}, cat(hdr, []byte{0x00, 0x01, 0x01})},
		{"case 2 extended Le 65535", Command{INS: 0xB0, P1: 1, P2: 2, Ne: 65535}, cat(hdr, []byte{0x00, 0xFF, 0xFF})},
		{"case 2 extended Le 65536 is 0000", Command{INS: 0xB0, P1: 1, P2: 2, Ne: 65536}, cat(hdr, []byte{0x00, 0x00, 0x00})},
		{"case 2 forced extended Le 4", Command{INS: 0xB0, P1: 1, P2: 2, Ne: 4, Extended: true}, cat(hdr, []byte{0x00, 0x00, 0x04})},
		{"case 3 short 1 byte", Command{INS: 0xB0, P1: 1, P2: 2, Data: []byte{0x42}}, cat(hdr, []byte{0x01, 0x42})},
		{"case 3 short 255 bytes", Command{INS: 0xB0, P1: 1, P2: 2, Data: data255}, cat(hdr, []byte{0xFF}, data255)},
		{"case 3 extended 256 bytes", Command{INS: 0xB0, P1: 1, P2: 2, Data: data256}, cat(hdr, []byte{0x00, 0x01, 0x00}, data256)},
		{"case 3 extended 65535 bytes", Command{INS: 0xB0, P1: 1, P2: 2, Data: data65535}, cat(hdr, []byte{0x00, 0xFF, 0xFF}, data65535)},
		{"case 3 forced extended", Command{INS: 0xB0, P1: 1, P2: 2, Data: []byte{0x42}, Extended: true}, cat(hdr, []byte{0x00, 0x00, 0x01, 0x42})},
		{"case 4 short", Command{INS: 0xB0, P1: 1, P2: 2, Data: []byte{0x42, 0x43}, Ne: 16}, cat(hdr, []byte{0x02, 0x42, 0x43, 0x10})},
		{"case 4 short Le 256 is 00", Command{INS: 0xB0, P1: 1, P2: 2, Data: data255, Ne: 256}, cat(hdr, []byte{0xFF}, data255, []byte{0x00})},
		{"case 4 extended by data, Le two bytes", Command{INS: 0xB0, P1: 1, P2: 2, Data: data256, Ne: 1}, cat(hdr, []byte{0x00, 0x01, 0x00}, data256, []byte{0x00, 0x01})},
		{"case 4 extended by Le", Command{INS: 0xB0, P1: 1, P2: 2, Data: []byte{0x42}, Ne: 257}, cat(hdr, []byte{0x00, 0x00, 0x01, 0x42, 0x01, 0x01})},
		{"case 4 extended Le 65536 is 0000", Command{INS: 0xB0, P1: 1, P2: 2, Data: []byte{0x42}, Ne: 65536}, cat(hdr, []byte{0x00, 0x00, 0x01, 0x42, 0x00, 0x00})},
		{"case 4 forced extended", Command{INS: 0xB0, P1: 1, P2: 2, Data: []byte{0x42}, Ne: 2, Extended: true}, cat(hdr, []byte{0x00, 0x00, 0x01, 0x42, 0x00, 0x02})},
		{"ICAO 9303-11 D.4 protected SELECT", Command{CLA: 0x0C, INS: 0xA4, P1: 0x02, P2: 0x0C, Data: icaotest.Unhex(t, icaoSelectData), Ne: 256}, icaotest.Unhex(t, icaoSelect)},
		{"ICAO 9303-11 D.4 protected READ BINARY", Command{CLA: 0x0C, INS: 0xB0, Data: icaotest.Unhex(t, icaoReadBinData), Ne: 256}, icaotest.Unhex(t, icaoReadBinary)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cmd.Bytes()
			if err != nil {
				t.Fatalf("Bytes: %v", err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("Bytes = % X\nwant    % X", got, tt.want)
			}
		})
	}
}

func TestCommandBytesErrors(t *testing.T) {
	tests := []struct {
		name string
		cmd  Command
	}{
		{"data 65536 bytes", Command{Data: make([]byte, 65536)}},
		{"Ne 65537", Command{Ne: 65537}},
		{"Ne negative", Command{Ne: -1}},
		{"data and Ne both too big", Command{Data: make([]byte, 70000), Ne: 70000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.cmd.Bytes()
			if err == nil {
				t.Fatalf("Bytes = % X, want error", b)
			}
			if !strings.HasPrefix(err.Error(), "apdu: ") {
				t.Errorf("error %q lacks the apdu: prefix", err)
			}
		})
	}
}

func TestParseCommand(t *testing.T) {
	data300 := bytes.Repeat([]byte{0x11}, 300)
	tests := []struct {
		name string
		in   string
		want Command
	}{
		{"case 1", "00A4040C", Command{INS: 0xA4, P1: 4, P2: 0x0C}},
		{"case 2 short", "00B0000004", Command{INS: 0xB0, Ne: 4}},
		{"case 2 short Le 00 is 256", "00B0000000", Command{INS: 0xB0, Ne: 256}},
		{"case 2 extended", "00B00000000102", Command{INS: 0xB0, Ne: 258, Extended: true}},
		{"case 2 extended Le 0000 is 65536", "00B00000000000", Command{INS: 0xB0, Ne: 65536, Extended: true}},
		{"case 3 short", "00A4020C02011E", Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{0x01, 0x1E}}},
		{"case 4 short", "00A4020C02011E10", Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{0x01, 0x1E}, Ne: 16}},
		{"case 4 short Le 00 is 256", "00A4020C02011E00", Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{0x01, 0x1E}, Ne: 256}},
		{"case 3 extended", "00A4020C000002011E", Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{0x01, 0x1E}, Extended: true}},
		{"case 4 extended", "00A4020C000002011E0100", Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{0x01, 0x1E}, Ne: 256, Extended: true}},
		{"case 4 extended Le 0000 is 65536", "00A4020C000002011E0000", Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{0x01, 0x1E}, Ne: 65536, Extended: true}},
		{"case 3 extended 300 bytes", "00DA0000" + "00012C" + hex.EncodeToString(data300), Command{INS: 0xDA, Data: data300, Extended: true}},
		{"ICAO 9303-11 D.4 protected SELECT", icaoSelect, Command{CLA: 0x0C, INS: 0xA4, P1: 2, P2: 0x0C, Data: icaotest.Unhex(t, icaoSelectData), Ne: 256}},
		{"ICAO 9303-11 D.4 protected READ BINARY", icaoReadBinary, Command{CLA: 0x0C, INS: 0xB0, Data: icaotest.Unhex(t, icaoReadBinData), Ne: 256}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommand(icaotest.Unhex(t, tt.in))
			if err != nil {
				t.Fatalf("ParseCommand: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseCommand = %+v\nwant           %+v", got, tt.want)
			}
		})
	}
}

func TestParseCommandMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"1 byte", "00"},
		{"3 bytes header", "00A404"},
		{"short Lc longer than body", "00A4020C03011E"},
		{"short Lc shorter than body by 2", "00A4020C01011E10"},
		{"short Lc 2 with 5 bytes", "00A4020C02011E1020"},
		{"extended marker only, 2 bytes", "00B000000001"},
		{"extended Lc 0 with data", "00A4020C00000001"},
		{"extended Lc 0 with Le", "00A4020C0000000100"},
		{"extended Lc 0 four bytes", "00A4020C00000000"},
		{"extended Lc longer than body", "00A4020C000003011E"},
		{"extended case 4 with 1 byte Le", "00A4020C000002011E01"},
		{"extended case 4 with 3 byte Le", "00A4020C000002011E010203"},
		{"truncated ICAO SELECT", icaoSelect[:len(icaoSelect)-4]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommand(icaotest.Unhex(t, tt.in))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseCommand = %+v, %v; want ErrMalformed", got, err)
			}
			if !reflect.DeepEqual(got, Command{}) {
				t.Errorf("ParseCommand returned %+v alongside an error, want zero Command", got)
			}
		})
	}
}

// normalized is what ParseCommand(c.Bytes()) must return for a Command c that encodes:
// Extended is recorded exactly when a length field was written in extended form, and an
// empty data field comes back nil.
func normalized(c Command) Command {
	n := c
	n.Extended = c.IsExtended() && (len(c.Data) > 0 || c.Ne > 0)
	if len(c.Data) == 0 {
		n.Data = nil
	}
	return n
}

func TestCommandRoundTrip(t *testing.T) {
	var cmds []Command
	for _, data := range [][]byte{nil, {}, {0x01}, bytes.Repeat([]byte{2}, 255), bytes.Repeat([]byte{3}, 256), bytes.Repeat([]byte{4}, 65535)} {
		for _, ne := range []int{0, 1, 255, 256, 257, 65535, 65536} {
			for _, ext := range []bool{false, true} {
				cmds = append(cmds, Command{CLA: 0x0C, INS: 0xB0, P1: 0x81, P2: 0x7F, Data: data, Ne: ne, Extended: ext})
			}
		}
	}
	for _, c := range cmds {
		name := fmt.Sprintf("data%d_ne%d_ext%v_nil%v", len(c.Data), c.Ne, c.Extended, c.Data == nil)
		t.Run(name, func(t *testing.T) {
			b, err := c.Bytes()
			if err != nil {
				t.Fatalf("Bytes: %v", err)
			}
			got, err := ParseCommand(b)
			if err != nil {
				t.Fatalf("ParseCommand(% X): %v", b[:min(len(b), 16)], err)
			}
			if want := normalized(c); !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip: got Extended=%v Ne=%d len(Data)=%d, want Extended=%v Ne=%d len(Data)=%d",
					got.Extended, got.Ne, len(got.Data), want.Extended, want.Ne, len(want.Data))
			}
			again, err := got.Bytes()
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("re-encoding the parsed command changed the bytes (err %v)", err)
			}
		})
	}
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Response
	}{
		{"SW only 9000", "9000", Response{Data: []byte{}, SW: SWOK}},
		{"SW only 6A82", "6A82", Response{Data: []byte{}, SW: SWFileNotFound}},
		{"ICAO D.4 SELECT response", icaoSelectResp, Response{Data: icaotest.Unhex(t, "990290008E08FA855A5D4C50A8ED"), SW: SWOK}},
		{"ICAO D.4 READ BINARY response", icaoReadBinResp, Response{Data: icaotest.Unhex(t, icaoReadRespData), SW: SWOK}},
		{"data with 6282", "0102036282", Response{Data: []byte{1, 2, 3}, SW: SWEndOfFile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := icaotest.Unhex(t, tt.in)
			got, err := ParseResponse(in)
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			if got.SW != tt.want.SW || !bytes.Equal(got.Data, tt.want.Data) {
				t.Fatalf("ParseResponse = {% X %04X}, want {% X %04X}", got.Data, got.SW, tt.want.Data, tt.want.SW)
			}
			if !bytes.Equal(got.Bytes(), in) {
				t.Fatalf("Bytes = % X, want % X", got.Bytes(), in)
			}
			if got.OK() != (tt.want.SW == SWOK) {
				t.Errorf("OK = %v for SW %04X", got.OK(), got.SW)
			}
			if len(in) > 2 {
				in[0] ^= 0xFF
				if got.Data[0] == in[0] {
					t.Errorf("Data aliases the input buffer")
				}
			}
		})
	}
	for _, bad := range []string{"", "90"} {
		t.Run("malformed "+bad, func(t *testing.T) {
			if r, err := ParseResponse(icaotest.Unhex(t, bad)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseResponse(%q) = %+v, %v; want ErrMalformed", bad, r, err)
			}
		})
	}
}

func TestResponseErr(t *testing.T) {
	tests := []struct {
		name string
		sw   uint16
	}{
		{"9000", SWOK},
		{"6982", SWSecurityNotSatisfied},
		{"6A82", SWFileNotFound},
		{"63C2", 0x63C2},
		{"6D00", SWINSNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Response{SW: tt.sw}.Err()
			if tt.sw == SWOK {
				if err != nil {
					t.Fatalf("Err = %v, want nil", err)
				}
				return
			}
			var se StatusError
			if !errors.As(err, &se) || se.SW != tt.sw {
				t.Fatalf("Err = %#v, want StatusError{%04X}", err, tt.sw)
			}
		})
	}
}

func TestStatusError(t *testing.T) {
	tests := []struct {
		name string
		sw   uint16
		text string
	}{
		{"known 6982", SWSecurityNotSatisfied, "card status 6982: security status not satisfied"},
		{"known 6A82", SWFileNotFound, "card status 6A82: file not found"},
		{"known 6D00", SWINSNotSupported, "card status 6D00: instruction not supported"},
		{"verification 63C0", 0x63C0, "card status 63C0: verification failed, 0 tries left"},
		{"verification 63C3", 0x63C3, "card status 63C3: verification failed, 3 tries left"},
		{"unknown 6C10", 0x6C10, "card status 6C10"},
		{"unknown 6B01", 0x6B01, "card status 6B01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := error(StatusError{SW: tt.sw})
			if err.Error() != tt.text {
				t.Errorf("Error() = %q, want %q", err.Error(), tt.text)
			}
			for _, e := range []error{err, fmt.Errorf("bac: read DG1: %w", err), errors.Join(errors.New("other"), err)} {
				if !errors.Is(e, StatusError{SW: tt.sw}) {
					t.Errorf("errors.Is(%v, StatusError{%04X}) = false", e, tt.sw)
				}
				if errors.Is(e, StatusError{SW: tt.sw ^ 0x0001}) {
					t.Errorf("errors.Is(%v, StatusError{%04X}) = true for another SW", e, tt.sw^1)
				}
				if errors.Is(e, ErrMalformed) {
					t.Errorf("errors.Is(%v, ErrMalformed) = true", e)
				}
			}
		})
	}
}

// fakeCard is a Transmitter that records each command and answers from a table.
type fakeCard struct {
	got  []Command
	resp Response
	err  error
}

func (f *fakeCard) Transmit(ctx context.Context, cmd Command) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	f.got = append(f.got, cmd)
	return f.resp, f.err
}

func TestRun(t *testing.T) {
	removed := errors.New("pcsc: card removed")
	cmd := Command{INS: 0xB0, Ne: 4}
	tests := []struct {
		name     string
		card     fakeCard
		wantData []byte
		wantErr  error
	}{
		{"9000 gives data", fakeCard{resp: Response{Data: []byte{0x60, 0x14, 0x5F, 0x01}, SW: SWOK}}, []byte{0x60, 0x14, 0x5F, 0x01}, nil},
		{"6282 gives data and StatusError", fakeCard{resp: Response{Data: []byte{0x60}, SW: SWEndOfFile}}, []byte{0x60}, StatusError{SW: SWEndOfFile}},
		{"6982 is StatusError", fakeCard{resp: Response{SW: SWSecurityNotSatisfied}}, nil, StatusError{SW: SWSecurityNotSatisfied}},
		{"transport error passes through", fakeCard{err: removed}, nil, removed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := tt.card
			data, err := Run(context.Background(), &card, cmd)
			if !bytes.Equal(data, tt.wantData) {
				t.Errorf("data = % X, want % X", data, tt.wantData)
			}
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if len(card.got) != 1 || !reflect.DeepEqual(card.got[0], cmd) {
				t.Errorf("card saw %+v, want exactly %+v", card.got, cmd)
			}
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		card := &fakeCard{resp: Response{SW: SWOK}}
		if _, err := Run(ctx, card, cmd); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}
