package render

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cccd-project/cccd/printqueue/layout"
)

// FuzzRender feeds outside bytes (the portrait JPEG, the name and the address)
// to Render: it must return an error or a PDF, never panic.
func FuzzRender(f *testing.F) {
	jpg := Sample(0).Portrait
	f.Add(jpg, "Nguyễn Thị Ngọc Ánh", "Hà Nội")
	f.Add(jpg[:len(jpg)/2], "Đặng Hữu Phước", longAddress)
	f.Add([]byte{0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0xff, 0xff, 0xff, 0xff}, "A", "B")
	d, err := layout.Lookup(layout.DefaultDesign)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, portrait []byte, name, address string) {
		c := Sample(1)
		c.Portrait, c.FullName, c.PlaceOfResidence = portrait, name, address
		var buf bytes.Buffer
		err := Render(&buf, d, c)
		if err == nil {
			if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
				t.Fatal("Render succeeded without a PDF")
			}
			return
		}
		if buf.Len() != 0 {
			t.Fatalf("%d bytes written despite %v", buf.Len(), err)
		}
		if !errors.Is(err, layout.ErrInvalidCard) && !errors.Is(err, ErrTextOverflow) && !errors.Is(err, ErrUnsupportedChar) {
			t.Fatalf("error %v matches none of the sentinels", err)
		}
	})
}
