package prep_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/mrz"
	"github.com/cccd-project/cccd/issuance/portrait"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/prep"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func portraitJPEG(t testing.TB, seed int64) []byte {
	t.Helper()
	b, err := portrait.Generate(seed)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func application(t testing.TB, id, name string, sex issuance.Sex, birth string) issuance.Application {
	return issuance.Application{
		Person: issuance.Person{
			IDNumber: id, FullName: name, DateOfBirth: issuance.MustParseDate(birth), Sex: sex,
			Nationality: issuance.Nationality, Ethnicity: "Kinh", Religion: "Không",
			PlaceOfOrigin: "Xã Tân Hội, Huyện Đan Phượng, Hà Nội", PlaceOfResidence: "Số 12 Phố Huế, Phường Hàng Bài, Quận Hoàn Kiếm, Hà Nội",
			Father: "Nguyễn Văn Bình", Mother: "Trần Thị Lan",
		},
		Portrait: portraitJPEG(t, 7), Reason: issuance.ReasonFirstIssue, IntakeOffice: "001-HK01",
		Delivery: issuance.Delivery{Method: issuance.DeliveryOffice, Office: "001-HK01"},
	}
}

func TestPrepare(t *testing.T) {
	cases := []struct {
		name                string
		id, full            string
		sex                 issuance.Sex
		birth, issue        string
		docNo, can          string
		expiryMRZ, expiryDG string
		line1, line3, sexDG string
	}{
		// Check digits worked by hand (7-3-1): 203001234 -> 45 -> 5; 001203001234 -> 46 -> 6; renewal at 25 (2028).
		{"adult", "001203001234", "Nguyễn Văn Đức", issuance.SexMale, "2003-04-15", "2024-07-01",
			"203001234", "001234", "280415", "15/04/2028", "IDVNM2030012345001203001234<<6", "NGUYEN<<VAN<DUC", "Nam"},
		{"child expires at 14", "079312000777", "Lê Thị Hoa", issuance.SexFemale, "2015-02-28", "2024-07-01",
			"312000777", "000777", "290228", "28/02/2029", "IDVNM3120007773079312000777<<3", "LE<<THI<HOA", "Nữ"},
		{"no expiry after 58", "038158000001", "Phạm Thị Thu", issuance.SexFemale, "1958-01-01", "2024-07-01",
			"158000001", "000001", mrz.NoExpiry, lds.NoExpiry, "IDVNM1580000011038158000001<<8", "PHAM<<THI<THU", "Nữ"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := application(t, tc.id, tc.full, tc.sex, tc.birth)
			c, err := prep.Prepare(app, issuance.MustParseDate(tc.issue), "CHIP0001")
			if err != nil {
				t.Fatal(err)
			}
			if c.DocumentNumber != tc.docNo || c.MRZ.OptionalData1 != tc.id || c.CAN != tc.can {
				t.Errorf("doc %s opt %s can %s", c.DocumentNumber, c.MRZ.OptionalData1, c.CAN)
			}
			if c.ExpiryYYMMDD != tc.expiryMRZ || c.DG13.ExpiryDate != tc.expiryDG || c.Printed.ExpiryDate != tc.expiryDG {
				t.Errorf("expiry mrz %s dg13 %s face %s", c.ExpiryYYMMDD, c.DG13.ExpiryDate, c.Printed.ExpiryDate)
			}
			if c.NoExpiry != (tc.expiryMRZ == mrz.NoExpiry) {
				t.Errorf("NoExpiry %v", c.NoExpiry)
			}
			if c.MRZLines[0] != tc.line1 || c.MRZLines[2] != (tc.line3 + strings.Repeat("<", 30))[:30] {
				t.Errorf("mrz\n%s\n%s\n%s", c.MRZLines[0], c.MRZLines[1], c.MRZLines[2])
			}
			if c.DG13.Sex != tc.sexDG || c.DG13.CardSerial != "CHIP0001" || c.DG13.Nationality != "Việt Nam" {
				t.Errorf("dg13 %+v", c.DG13)
			}
			// Every encoded file parses back to what was prepared.
			dg1, err := lds.ParseDG1(c.DG1)
			if err != nil || dg1.MRZ != c.MRZText() {
				t.Errorf("dg1 %q %v", dg1.MRZ, err)
			}
			dg13, err := lds.ParseDG13(c.DG13Raw)
			if err != nil || dg13 != c.DG13 {
				t.Errorf("dg13 round trip %+v %v", dg13, err)
			}
			face, err := lds.ParseDG2(c.DG2)
			if err != nil || !bytes.Equal(face.JPEG, app.Portrait) || face.Width == 0 {
				t.Errorf("dg2 %v", err)
			}
			com, err := lds.ParseCOM(c.COM)
			if err != nil || !bytes.Equal(com.Tags, []byte{0x61, 0x75, 0x6D, 0x6E, 0x6F}) {
				t.Errorf("ef.com %x %v", com.Tags, err)
			}
			// The MRZ information opens BAC/PACE: document number, birth, expiry with check digits.
			if len(c.BACSeedInfo) != 24 || c.BACSeedInfo[:9] != tc.docNo || c.BACSeedInfo[10:16] != c.BirthYYMMDD {
				t.Errorf("seed info %q", c.BACSeedInfo)
			}
		})
	}
}

func TestPrepareRejects(t *testing.T) {
	good := application(t, "001203001234", "Nguyễn Văn Đức", issuance.SexMale, "2003-04-15")
	cases := []struct {
		name   string
		mutate func(*issuance.Application)
		issue  string
		serial string
	}{
		{"short id", func(a *issuance.Application) { a.IDNumber = "12345" }, "2024-07-01", "S"},
		{"letters in id", func(a *issuance.Application) { a.IDNumber = "00120300123A" }, "2024-07-01", "S"},
		{"no birth", func(a *issuance.Application) { a.DateOfBirth = issuance.Date{} }, "2024-07-01", "S"},
		{"issued before birth", func(*issuance.Application) {}, "2001-01-01", "S"},
		{"bad sex", func(a *issuance.Application) { a.Sex = "X" }, "2024-07-01", "S"},
		{"no serial", func(*issuance.Application) {}, "2024-07-01", ""},
		{"no portrait", func(a *issuance.Application) { a.Portrait = nil }, "2024-07-01", "S"},
		{"portrait not jpeg", func(a *issuance.Application) { a.Portrait = []byte("GIF89a") }, "2024-07-01", "S"},
		{"empty name", func(a *issuance.Application) { a.FullName = "" }, "2024-07-01", "S"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := good
			tc.mutate(&app)
			_, err := prep.Prepare(app, issuance.MustParseDate(tc.issue), tc.serial)
			if !errors.Is(err, prep.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

// golden is the stable, reviewable form of a prepared card.
type golden struct {
	MRZ         [3]string    `json:"mrz"`
	BACSeedInfo string       `json:"bac_seed_info"`
	CAN         string       `json:"can"`
	DG13        lds.DG13     `json:"dg13"`
	Printed     prep.Printed `json:"printed"`
	COM         string       `json:"ef_com"`
	DG1         string       `json:"dg1"`
	DG13Raw     string       `json:"dg13_raw"`
	DG2SHA256   string       `json:"dg2_sha256"`
	DG2Size     int          `json:"dg2_size"`
	Width       int          `json:"portrait_width"`
	Height      int          `json:"portrait_height"`
}

func TestGolden(t *testing.T) {
	app := application(t, "001203001234", "Nguyễn Văn Đức", issuance.SexMale, "2003-04-15")
	c, err := prep.Prepare(app, issuance.MustParseDate("2024-07-01"), "VN24A0000001")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c.DG2)
	g := golden{MRZ: c.MRZLines, BACSeedInfo: c.BACSeedInfo, CAN: c.CAN, DG13: c.DG13, Printed: c.Printed,
		COM: hex.EncodeToString(c.COM), DG1: hex.EncodeToString(c.DG1), DG13Raw: hex.EncodeToString(c.DG13Raw),
		DG2SHA256: hex.EncodeToString(sum[:]), DG2Size: len(c.DG2), Width: c.Face.Width, Height: c.Face.Height}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(g); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", "card.json.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("prepared card differs from %s (go test -update if intended):\n%s", path, got)
	}
}

// FuzzPrepare feeds arbitrary application fields: Prepare must either fail with
// ErrInvalid or return a card whose DG1 and DG13 parse back.
func FuzzPrepare(f *testing.F) {
	f.Add("001203001234", "Nguyễn Văn Đức", "M", "2003-04-15", "2024-07-01", "S1")
	f.Add("038158000001", "Phạm Thị Thu", "F", "1958-01-01", "2024-07-01", "S2")
	f.Add("0", "", "X", "2000-01-01", "1999-01-01", "")
	jpeg := portraitJPEG(f, 1)
	f.Fuzz(func(t *testing.T, id, name, sex, birth, issue, serial string) {
		b, err1 := issuance.ParseDate(birth)
		i, err2 := issuance.ParseDate(issue)
		if err1 != nil || err2 != nil {
			return
		}
		app := issuance.Application{Person: issuance.Person{IDNumber: id, FullName: name, Sex: issuance.Sex(sex), DateOfBirth: b}, Portrait: jpeg}
		c, err := prep.Prepare(app, i, serial)
		if err != nil {
			if !errors.Is(err, prep.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if _, err := lds.ParseDG1(c.DG1); err != nil {
			t.Fatal(err)
		}
		if _, err := lds.ParseDG13(c.DG13Raw); err != nil {
			t.Fatal(err)
		}
	})
}
