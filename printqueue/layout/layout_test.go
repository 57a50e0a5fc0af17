package layout

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validCard returns a card that passes Validate.
func validCard() Card {
	return Card{
		IDNumber: "001199012345", FullName: "Nguyễn Thị Ngọc Ánh", DateOfBirth: "29/02/2000",
		Sex: Female, Nationality: "Việt Nam", PlaceOfResidence: "Hà Nội", IssueDate: "15/07/2024",
		ExpiryDate: "28/02/2040", PreviousIDNumber: "012345678", IssuingAuthority: "BỘ CÔNG AN",
		Portrait: []byte{0xff, 0xd8, 0xff, 0xe0},
		MRZ: [3]string{
			"IDVNM1990123454001199012345<<6",
			"0002291F4002280VNM<<<<<<<<<<<4",
			"NGUYEN<<THI<NGOC<ANH<<<<<<<<<<",
		},
	}
}

func TestCardValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Card)
		wantErr string // "" = valid
	}{
		{"valid", func(*Card) {}, ""},
		{"no expiry", func(c *Card) { c.ExpiryDate = NoExpiry }, ""},
		{"no previous id", func(c *Card) { c.PreviousIDNumber = "" }, ""},
		{"12-digit previous id", func(c *Card) { c.PreviousIDNumber = "001099012345" }, ""},
		{"short id", func(c *Card) { c.IDNumber = "00119901234" }, "IDNumber"},
		{"letter in id", func(c *Card) { c.IDNumber = "00119901234A" }, "IDNumber"},
		{"bad previous id", func(c *Card) { c.PreviousIDNumber = "1234" }, "PreviousIDNumber"},
		{"iso date", func(c *Card) { c.DateOfBirth = "2000-02-29" }, "DateOfBirth"},
		{"31 April", func(c *Card) { c.IssueDate = "31/04/2024" }, "IssueDate"},
		{"29 Feb of a common year", func(c *Card) { c.DateOfBirth = "29/02/2001" }, "DateOfBirth"},
		{"29 Feb 1900", func(c *Card) { c.DateOfBirth = "29/02/1900" }, "DateOfBirth"},
		{"month 13", func(c *Card) { c.ExpiryDate = "01/13/2030" }, "ExpiryDate"},
		{"english sex", func(c *Card) { c.Sex = "F" }, "Sex"},
		{"empty name", func(c *Card) { c.FullName = "  " }, "FullName"},
		{"pipe in address", func(c *Card) { c.PlaceOfResidence = "Hà Nội|x" }, "PlaceOfResidence"},
		{"newline in name", func(c *Card) { c.FullName = "Nguyễn\nÁnh" }, "FullName"},
		{"invalid utf-8", func(c *Card) { c.PlaceOfOrigin = "\xff" }, "PlaceOfOrigin"},
		{"png portrait", func(c *Card) { c.Portrait = []byte("\x89PNG") }, "Portrait"},
		{"short mrz", func(c *Card) { c.MRZ[2] = "NGUYEN" }, "MRZ line 3"},
		{"lowercase mrz", func(c *Card) { c.MRZ[0] = strings.ToLower(c.MRZ[0]) }, "MRZ line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCard()
			tt.edit(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidCard) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want ErrInvalidCard naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestQRPayload(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Card)
		want string
	}{
		{"with previous id", func(*Card) {},
			"001199012345|012345678|Nguyễn Thị Ngọc Ánh|29022000|Nữ|Hà Nội|15072024"},
		{"without previous id", func(c *Card) {
			c.PreviousIDNumber, c.FullName, c.Sex = "", "Đặng Hữu Phước", Male
			c.PlaceOfResidence = "Số 1 ngõ 12, Phường Hàng Bạc, Quận Hoàn Kiếm, Thành phố Hà Nội"
		}, "001199012345||Đặng Hữu Phước|29022000|Nam|Số 1 ngõ 12, Phường Hàng Bạc, Quận Hoàn Kiếm, Thành phố Hà Nội|15072024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCard()
			tt.edit(&c)
			if got := QRPayload(c); got != tt.want {
				t.Errorf("QRPayload = %q, want %q", got, tt.want)
			}
			if n := strings.Count(QRPayload(c), "|"); n != 6 {
				t.Errorf("%d separators, want 6", n)
			}
		})
	}
}

func ExampleQRPayload() {
	c := Card{
		IDNumber: "079203000123", PreviousIDNumber: "", FullName: "Đặng Hữu Phước",
		DateOfBirth: "05/09/2003", Sex: Male, PlaceOfResidence: "Quận 1, TP Hồ Chí Minh", IssueDate: "15/07/2024",
	}
	fmt.Println(QRPayload(c))
	// Output: 079203000123||Đặng Hữu Phước|05092003|Nam|Quận 1, TP Hồ Chí Minh|15072024
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name                 string
		qrFace               string // which face carries the QR code (REFERENCE.md §3)
		fields               []string
		fingerprintBoxes     int
		hasMRZBack, portrait bool
	}{
		{"can-cuoc-2024", "back", []string{"IDNumber", "FullName", "DateOfBirth", "Sex", "Nationality",
			"PlaceOfResidence", "PlaceOfBirth", "IssueDate", "ExpiryDate", "IssuingAuthority"}, 0, true, true},
		{"cccd-2021", "front", []string{"IDNumber", "FullName", "DateOfBirth", "Sex", "Nationality",
			"PlaceOfOrigin", "PlaceOfResidence", "ExpiryDate", "IdentifyingFeatures", "IssueDate"}, 2, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Lookup(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if d.Width != CardWidth || d.Height != CardHeight {
				t.Errorf("size %gx%g, want CR80", d.Width, d.Height)
			}
			count := map[string]int{}
			fields := map[string]bool{}
			for face, f := range map[string]Face{"front": d.Front, "back": d.Back} {
				for _, e := range f.Elements {
					count[face+":"+string(e.Kind)]++
					fields[e.Field] = e.Kind == KindField
					if e.Kind == KindBox && e.Dash {
						count["fingerprint"]++
					}
				}
			}
			if count[tt.qrFace+":qr"] != 1 || count["front:qr"]+count["back:qr"] != 1 {
				t.Errorf("want exactly one QR code, on the %s: %v", tt.qrFace, count)
			}
			if (count["back:mrz"] == 1) != tt.hasMRZBack || (count["front:portrait"] == 1) != tt.portrait {
				t.Errorf("MRZ/portrait placement wrong: %v", count)
			}
			if count["fingerprint"] != tt.fingerprintBoxes {
				t.Errorf("%d fingerprint boxes, want %d", count["fingerprint"], tt.fingerprintBoxes)
			}
			for _, f := range tt.fields {
				if !fields[f] {
					t.Errorf("field %s is not printed", f)
				}
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		if _, err := Lookup("cmnd-1999"); !errors.Is(err, ErrUnknownDesign) {
			t.Errorf("Lookup(cmnd-1999) = %v, want ErrUnknownDesign", err)
		}
	})
	t.Run("names", func(t *testing.T) {
		if got := strings.Join(Names(), ","); got != "can-cuoc-2024,cccd-2021" {
			t.Errorf("Names() = %s", got)
		}
	})
	t.Run("copies", func(t *testing.T) {
		a, _ := Lookup(DefaultDesign)
		a.Front.Elements[0].X = 99
		b, _ := Lookup(DefaultDesign)
		if b.Front.Elements[0].X == 99 {
			t.Error("Lookup shares element slices between callers")
		}
	})
}

func TestParseDesignErrors(t *testing.T) {
	el := func(s string) string {
		return `{"name":"t","width":85.6,"height":53.98,"front":{"background":"#ffffff","elements":[` + s + `]},"back":{"elements":[]}}`
	}
	tests := []struct {
		name, json, want string
	}{
		{"not json", `{`, "unexpected EOF"},
		{"unknown key", `{"name":"t","colour":"#000000"}`, "unknown field"},
		{"trailing data", `{"name":"t","width":85.6,"height":53.98} {}`, "trailing data"},
		{"no name", `{"width":85.6,"height":53.98}`, "name is empty"},
		{"zero size", `{"name":"t","width":0,"height":53.98}`, "out of range"},
		{"unknown kind", el(`{"kind":"hologram","x":1,"y":1,"w":5,"h":5}`), `unknown kind "hologram"`},
		{"unknown field", el(`{"kind":"field","x":1,"y":1,"w":5,"h":5,"size":6,"field":"Religion"}`), `unknown field "Religion"`},
		{"off the card", el(`{"kind":"text","x":80,"y":1,"w":10,"size":6,"text":"x"}`), "leaves the"},
		{"tiny text", el(`{"kind":"text","x":1,"y":1,"w":10,"size":1,"text":"x"}`), "size 1 pt"},
		{"min above size", el(`{"kind":"field","x":1,"y":1,"w":10,"h":3,"size":6,"minSize":7,"field":"Sex"}`), "minSize"},
		{"bad colour", el(`{"kind":"box","x":1,"y":1,"w":10,"h":3,"color":"red"}`), "want #rrggbb"},
		{"bad align", el(`{"kind":"text","x":1,"y":1,"w":10,"size":6,"align":"J","text":"x"}`), "unknown align"},
		{"bad font", el(`{"kind":"text","x":1,"y":1,"w":10,"size":6,"font":"arial","text":"x"}`), "unknown font"},
		{"field without height", el(`{"kind":"field","x":1,"y":1,"w":10,"size":6,"field":"Sex"}`), "needs a height"},
		{"qr without width", el(`{"kind":"qr","x":1,"y":1}`), "positive w"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDesign([]byte(tt.json))
			if !errors.Is(err, ErrInvalidDesign) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseDesign = %v, want ErrInvalidDesign containing %q", err, tt.want)
			}
		})
	}
}

func FuzzParseDesign(f *testing.F) {
	files, _ := filepath.Glob("designs/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"name":"t","width":85.6,"height":53.98,"front":{"elements":[{"kind":"qr","x":1,"y":1,"w":1e308}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDesign(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidDesign) {
				t.Fatalf("error %v does not match ErrInvalidDesign", err)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("parsed design fails Validate: %v", err)
		}
	})
}
