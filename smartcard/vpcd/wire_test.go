package vpcd_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/cccd-project/cccd/smartcard/vpcd"
)

// Messages as the vpcd driver sends them (virtualsmartcard/src/vpcd/vpcd.c): the presence
// poll / ATR request, power on, power off, reset, and a SELECT eMRTD command APDU.
var driverMessages = [][]byte{
	{0x00, 0x01, 0x04},
	{0x00, 0x01, 0x01},
	{0x00, 0x01, 0x00},
	{0x00, 0x01, 0x02},
	{0x00, 0x0C, 0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01},
}

func TestReadMessage(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    []byte
		wantErr error
	}{
		{"atr request", []byte{0x00, 0x01, 0x04}, []byte{0x04}, nil},
		{"apdu", driverMessages[4], driverMessages[4][2:], nil},
		{"trailing bytes stay", []byte{0x00, 0x01, 0x02, 0x00, 0x01}, []byte{0x02}, nil},
		{"end of stream", nil, nil, io.EOF},
		{"empty message", []byte{0x00, 0x00}, nil, vpcd.ErrFrame},
		{"truncated prefix", []byte{0x00}, nil, vpcd.ErrFrame},
		{"truncated payload", []byte{0x00, 0x05, 0x00, 0xA4}, nil, vpcd.ErrFrame},
		{"no payload", []byte{0x01, 0x00}, nil, vpcd.ErrFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := vpcd.ReadMessage(bytes.NewReader(tt.in), nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReadMessage(% X) err = %v, want %v", tt.in, err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("ReadMessage(% X) = % X, want % X", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendMessage(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    []byte
		wantErr bool
	}{
		{"status word", []byte{0x90, 0x00}, []byte{0x00, 0x02, 0x90, 0x00}, false},
		{"largest", make([]byte, vpcd.MaxMessage), append([]byte{0xFF, 0xFF}, make([]byte, vpcd.MaxMessage)...), false},
		{"empty", nil, nil, true},
		{"too long", make([]byte, vpcd.MaxMessage+1), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := vpcd.AppendMessage(nil, tt.payload)
			if (err != nil) != tt.wantErr {
				t.Fatalf("AppendMessage err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !bytes.Equal(got, tt.want) {
				t.Errorf("AppendMessage = % .8X (%d bytes), want %d bytes", got, len(got), len(tt.want))
			}
		})
	}
}

// answerCard is a minimal Card whose Process answers what it was told to.
type answerCard struct {
	atr    []byte
	rsp    []byte
	resets int
}

func (c *answerCard) ATR() []byte               { return c.atr }
func (c *answerCard) Reset()                    { c.resets++ }
func (c *answerCard) Process(cmd []byte) []byte { return c.rsp }

func TestAnswer(t *testing.T) {
	atr := []byte{0x3B, 0x80, 0x80, 0x01, 0x01}
	tests := []struct {
		name       string
		rsp        []byte
		msg        []byte
		want       []byte
		wantReply  bool
		wantResets int
	}{
		{"atr", nil, []byte{vpcd.CtrlATR}, atr, true, 0},
		{"power on", nil, []byte{vpcd.CtrlOn}, nil, false, 1},
		{"power off", nil, []byte{vpcd.CtrlOff}, nil, false, 1},
		{"reset", nil, []byte{vpcd.CtrlReset}, nil, false, 1},
		{"unknown control", nil, []byte{0x7F}, nil, false, 0},
		{"apdu", []byte{0x01, 0x90, 0x00}, []byte{0x00, 0xB0, 0x00, 0x00, 0x01}, []byte{0x01, 0x90, 0x00}, true, 0},
		{"card answers nothing", nil, []byte{0x00, 0xB0, 0x00, 0x00}, nil, true, 0},
		{"card answers one byte", []byte{0x90}, []byte{0x00, 0xB0, 0x00, 0x00}, []byte{0x6F, 0x00}, true, 0},
		{"answer too long", make([]byte, vpcd.MaxMessage+1), []byte{0x00, 0xB0, 0x00, 0x00}, []byte{0x67, 0x00}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := &answerCard{atr: atr, rsp: tt.rsp}
			got, reply := vpcd.Answer(card, tt.msg)
			if reply != tt.wantReply || !bytes.Equal(got, tt.want) {
				t.Errorf("Answer(% X) = % X, %v; want % X, %v", tt.msg, got, reply, tt.want, tt.wantReply)
			}
			if card.resets != tt.wantResets {
				t.Errorf("card saw %d resets, want %d", card.resets, tt.wantResets)
			}
		})
	}
}

// FuzzReadMessage checks that the framing parser never panics, never returns more than
// the stream holds, and that what it accepts encodes back to the bytes it consumed.
func FuzzReadMessage(f *testing.F) {
	for _, m := range driverMessages {
		f.Add(m)
	}
	f.Add(bytes.Join(driverMessages, nil))
	f.Add([]byte{0x00, 0x00})
	f.Add([]byte{0xFF, 0xFF, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		consumed := 0
		for {
			msg, err := vpcd.ReadMessage(r, nil)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, vpcd.ErrFrame) {
					t.Fatalf("ReadMessage: unexpected error %v", err)
				}
				return
			}
			enc, err := vpcd.AppendMessage(nil, msg)
			if err != nil {
				t.Fatalf("AppendMessage of an accepted message: %v", err)
			}
			if !bytes.Equal(enc, in[consumed:consumed+len(enc)]) {
				t.Fatalf("re-encoded % X, stream had % X", enc, in[consumed:consumed+len(enc)])
			}
			consumed += len(enc)
		}
	})
}
