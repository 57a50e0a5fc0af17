package issuance

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"
)

var today = MustParseDate("2026-11-22")

// testJPEG returns a w x h JPEG with some structure, for the portrait rules.
func testJPEG(t testing.TB, w, h, quality int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 3), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withSOFSize returns a copy of a baseline JPEG whose SOF0 header claims width x height pixels
// (ITU-T T.81 §B.2.2: FF C0, length, precision, height, width).
func withSOFSize(t testing.TB, jpg []byte, width, height int) []byte {
	t.Helper()
	out := bytes.Clone(jpg)
	i := bytes.Index(out, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	out[i+5], out[i+6] = byte(height>>8), byte(height)
	out[i+7], out[i+8] = byte(width>>8), byte(width)
	return out
}

// validApplication returns an application that passes Validate(today).
func validApplication(t testing.TB) Application {
	return Application{
		Person: Person{
			IDNumber:            "001090012345", // Hà Nội, male 1900s, born 1990
			FullName:            "Nguyễn Văn Đức",
			DateOfBirth:         MustParseDate("1990-03-07"),
			Sex:                 SexMale,
			Nationality:         "Việt Nam",
			Ethnicity:           "Kinh",
			Religion:            "Không",
			PlaceOfOrigin:       "Xã Đông Hội, Huyện Đông Anh, Hà Nội",
			PlaceOfResidence:    "Số 12 Phố Huế, Phường Ngô Thì Nhậm, Quận Hai Bà Trưng, Hà Nội",
			IdentifyingFeatures: "Nốt ruồi C:2cm trên trước mép phải",
			Father:              "Nguyễn Văn Hùng",
			Mother:              "Trần Thị Lan",
			Spouse:              "Lê Thị Mai",
			PreviousIDNumber:    "012345678",
		},
		Portrait:     testJPEG(t, 300, 400, 75),
		Reason:       ReasonFirstIssue,
		IntakeOffice: "001-HK01",
		Delivery:     Delivery{Method: DeliveryOffice, Office: "001-HK01"},
	}
}

func TestValidateGood(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(a *Application)
	}{
		{"baseline", func(a *Application) {}},
		{"female 2000s", func(a *Application) {
			a.IDNumber, a.Sex, a.DateOfBirth = "079305000001", SexFemale, MustParseDate("2005-01-01")
		}},
		{"born 1900-01-01", func(a *Application) { a.IDNumber, a.DateOfBirth = "001000000001", MustParseDate("1900-01-01") }},
		{"born today", func(a *Application) { a.IDNumber, a.DateOfBirth = "001226000001", today }},
		{"no parents or spouse", func(a *Application) { a.Father, a.Mother, a.Spouse = "", "", "" }},
		{"minority name with apostrophe", func(a *Application) { a.FullName = "H'Hen Niê" }},
		{"hyphen and dot", func(a *Application) { a.FullName = "Lê-Nguyễn Minh Q." }},
		{"single letter name", func(a *Application) { a.FullName = "Ư" }},
		{"100 rune name", func(a *Application) { a.FullName = strings.Repeat("Ữ", 100) }},
		{"previous 12 digits", func(a *Application) { a.PreviousIDNumber = "001090099999" }},
		{"no previous", func(a *Application) { a.PreviousIDNumber = "" }},
		{"no identifying features", func(a *Application) { a.IdentifyingFeatures = "" }},
		{"200 rune place", func(a *Application) { a.PlaceOfOrigin = strings.Repeat("ạ", 200) }},
		{"post delivery", func(a *Application) {
			a.Delivery = Delivery{Method: DeliveryPost, Address: "Số 5 Ngõ 10 Phố Huế, Hà Nội"}
		}},
		{"post delivery with office", func(a *Application) {
			a.Delivery = Delivery{Method: DeliveryPost, Office: "079-Q1", Address: "12 Lê Lợi, Quận 1"}
		}},
		{"six char office", func(a *Application) { a.IntakeOffice = "096-ABC123" }},
		{"every reason", func(a *Application) { a.Reason = ReasonChangeOfData }},
		{"portrait minimum size", func(a *Application) { a.Portrait = testJPEG(t, 240, 320, 50) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validApplication(t)
			tt.mutate(&a)
			if err := a.Validate(today); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateBad(t *testing.T) {
	big := testJPEG(t, 1200, 1600, 100)
	if len(big) <= MaxPortraitBytes {
		t.Fatalf("test portrait is %d bytes, want > %d", len(big), MaxPortraitBytes)
	}
	tests := []struct {
		name   string
		mutate func(a *Application)
		field  string
		rule   string // substring of the rule
	}{
		{"id empty", func(a *Application) { a.IDNumber = "" }, "id_number", "required"},
		{"id 11 digits", func(a *Application) { a.IDNumber = "00109001234" }, "id_number", "12 digits"},
		{"id letter", func(a *Application) { a.IDNumber = "00109001234X" }, "id_number", "12 digits"},
		{"id unknown province 003", func(a *Application) { a.IDNumber = "003090012345" }, "id_number", "province"},
		{"id unknown province 097", func(a *Application) { a.IDNumber = "097090012345" }, "id_number", "province"},
		{"id wrong sex digit", func(a *Application) { a.IDNumber = "001190012345" }, "id_number", "sex"},
		{"id wrong century", func(a *Application) { a.IDNumber = "001290012345" }, "id_number", "century"},
		{"id wrong year", func(a *Application) { a.IDNumber = "001091012345" }, "id_number", "year"},
		{"id 1800s", func(a *Application) { a.IDNumber = "001890012345" }, "id_number", "century"},
		{"dob missing", func(a *Application) { a.DateOfBirth = Date{} }, "date_of_birth", "required"},
		{"dob unreal", func(a *Application) { a.DateOfBirth = Date{1990, 2, 30} }, "date_of_birth", "real"},
		{"dob future", func(a *Application) {
			a.IDNumber, a.DateOfBirth = "001227000001", today.AddYears(1)
		}, "date_of_birth", "future"},
		{"dob 1899", func(a *Application) { a.IDNumber, a.DateOfBirth = "001899000001", MustParseDate("1899-12-31") }, "date_of_birth", "1900"},
		{"name empty", func(a *Application) { a.FullName = "" }, "full_name", "required"},
		{"name digits", func(a *Application) { a.FullName = "Nguyễn Văn 2" }, "full_name", "letters"},
		{"name emoji", func(a *Application) { a.FullName = "Nguyễn 😀" }, "full_name", "letters"},
		{"name cyrillic", func(a *Application) { a.FullName = "Иван" }, "full_name", "letter"},
		{"name chinese", func(a *Application) { a.FullName = "Lý 李" }, "full_name", "letters"},
		{"name french accent", func(a *Application) { a.FullName = "Lê Thị Ëlise" }, "full_name", "letters"},
		{"name starts with hyphen", func(a *Application) { a.FullName = "-Lan" }, "full_name", "start"},
		{"name double space", func(a *Application) { a.FullName = "Nguyễn  Văn" }, "full_name", "spaces"},
		{"name trailing space", func(a *Application) { a.FullName = "Nguyễn Văn " }, "full_name", "spaces"},
		{"name NFD", func(a *Application) { a.FullName = "Nguye\u0302\u0303n" }, "full_name", "NFC"},
		{"name too long", func(a *Application) { a.FullName = strings.Repeat("A", 101) }, "full_name", "100"},
		{"name invalid utf8", func(a *Application) { a.FullName = "Ng\xffa" }, "full_name", "UTF-8"},
		{"father bad", func(a *Application) { a.Father = "Nguyễn_Văn" }, "father", "letters"},
		{"mother bad", func(a *Application) { a.Mother = "Trần Thị <b>" }, "mother", "letters"},
		{"spouse bad", func(a *Application) { a.Spouse = "Lê@Mai" }, "spouse", "letters"},
		{"sex empty", func(a *Application) { a.Sex = "" }, "sex", "M"},
		{"sex lower", func(a *Application) { a.Sex = "m" }, "sex", "M"},
		{"sex X", func(a *Application) { a.Sex = "X" }, "sex", "M"},
		{"nationality empty", func(a *Application) { a.Nationality = "" }, "nationality", "Việt Nam"},
		{"nationality other", func(a *Application) { a.Nationality = "Lào" }, "nationality", "Việt Nam"},
		{"ethnicity empty", func(a *Application) { a.Ethnicity = "" }, "ethnicity", "required"},
		{"ethnicity long", func(a *Application) { a.Ethnicity = strings.Repeat("a", 51) }, "ethnicity", "54 ethnic groups"},
		{"religion empty", func(a *Application) { a.Religion = "" }, "religion", "required"},
		{"origin empty", func(a *Application) { a.PlaceOfOrigin = "" }, "place_of_origin", "required"},
		{"origin 201 runes", func(a *Application) { a.PlaceOfOrigin = strings.Repeat("ạ", 201) }, "place_of_origin", "200"},
		{"residence empty", func(a *Application) { a.PlaceOfResidence = "" }, "place_of_residence", "required"},
		{"residence control", func(a *Application) { a.PlaceOfResidence = "Hà Nội\x00" }, "place_of_residence", "control"},
		{"residence newline", func(a *Application) { a.PlaceOfResidence = "Hà\nNội" }, "place_of_residence", "control"},
		{"residence padded", func(a *Application) { a.PlaceOfResidence = " Hà Nội" }, "place_of_residence", "spaces"},
		{"features too long", func(a *Application) { a.IdentifyingFeatures = strings.Repeat("x", 201) }, "identifying_features", "200"},
		{"previous 8 digits", func(a *Application) { a.PreviousIDNumber = "01234567" }, "previous_id_number", "9 digits"},
		{"previous 10 digits", func(a *Application) { a.PreviousIDNumber = "0123456789" }, "previous_id_number", "9 digits"},
		{"previous letters", func(a *Application) { a.PreviousIDNumber = "B12345678" }, "previous_id_number", "9 digits"},
		{"previous same as id", func(a *Application) { a.PreviousIDNumber = a.IDNumber }, "previous_id_number", "differ"},
		{"portrait missing", func(a *Application) { a.Portrait = nil }, "portrait", "required"},
		{"portrait PNG", func(a *Application) { a.Portrait = []byte("\x89PNG\r\n\x1a\n....") }, "portrait", "JPEG"},
		{"portrait truncated", func(a *Application) { a.Portrait = a.Portrait[:len(a.Portrait)/2] }, "portrait", "truncated"},
		{"portrait without end of image", func(a *Application) { a.Portrait = a.Portrait[:len(a.Portrait)-2] }, "portrait", "truncated"},
		{"portrait with trailing data", func(a *Application) { a.Portrait = append(bytes.Clone(a.Portrait), 0, 1, 2) }, "portrait", "after the end"},
		{"portrait header only", func(a *Application) { a.Portrait = []byte{0xFF, 0xD8, 0xFF, 0xE0} }, "portrait", "decodable"},
		{"portrait too big", func(a *Application) { a.Portrait = big }, "portrait", "100 KiB"},
		{"portrait landscape", func(a *Application) { a.Portrait = testJPEG(t, 400, 330, 50) }, "portrait", "orientation"},
		{"portrait square", func(a *Application) { a.Portrait = testJPEG(t, 400, 400, 50) }, "portrait", "orientation"},
		{"portrait small", func(a *Application) { a.Portrait = testJPEG(t, 239, 320, 50) }, "portrait", "240x320"},
		{"portrait huge header", func(a *Application) { a.Portrait = withSOFSize(t, a.Portrait, 60000, 65000) }, "portrait", "1200x1600"},
		{"portrait too tall", func(a *Application) { a.Portrait = testJPEG(t, 300, 1601, 10) }, "portrait", "1200x1600"},
		{"reason empty", func(a *Application) { a.Reason = "" }, "reason", "one of"},
		{"reason unknown", func(a *Application) { a.Reason = "stolen" }, "reason", "one of"},
		{"intake empty", func(a *Application) { a.IntakeOffice = "" }, "intake_office", "office code"},
		{"intake lower", func(a *Application) { a.IntakeOffice = "001-hk01" }, "intake_office", "office code"},
		{"intake unknown province", func(a *Application) { a.IntakeOffice = "003-HK01" }, "intake_office", "office code"},
		{"intake too long", func(a *Application) { a.IntakeOffice = "001-ABCDEFG" }, "intake_office", "office code"},
		{"intake too short", func(a *Application) { a.IntakeOffice = "001-A" }, "intake_office", "office code"},
		{"intake no hyphen", func(a *Application) { a.IntakeOffice = "001_HK01" }, "intake_office", "office code"},
		{"method empty", func(a *Application) { a.Delivery.Method = "" }, "delivery.method", "office"},
		{"method drone", func(a *Application) { a.Delivery.Method = "drone" }, "delivery.method", "office"},
		{"office method no office", func(a *Application) { a.Delivery.Office = "" }, "delivery.office", "required"},
		{"bad delivery office", func(a *Application) { a.Delivery.Office = "HK01" }, "delivery.office", "office code"},
		{"post without address", func(a *Application) { a.Delivery = Delivery{Method: DeliveryPost} }, "delivery.address", "required"},
		{"address too long", func(a *Application) {
			a.Delivery = Delivery{Method: DeliveryPost, Address: strings.Repeat("a", 201)}
		}, "delivery.address", "200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validApplication(t)
			tt.mutate(&a)
			before := a.FullName
			err := a.Validate(today)
			if a.FullName != before {
				t.Errorf("Validate modified the application")
			}
			var ve ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want a ValidationError", err)
			}
			if !errors.Is(err, ErrInvalidApplication) {
				t.Errorf("errors.Is(err, ErrInvalidApplication) = false")
			}
			if len(ve) != 1 {
				t.Errorf("want exactly one failing field, got %v", ve)
			}
			if !ve.Has(tt.field) {
				t.Fatalf("Validate() = %v, want field %s", err, tt.field)
			}
			for _, fe := range ve {
				if fe.Field == tt.field && !strings.Contains(fe.Rule, tt.rule) {
					t.Errorf("rule %q does not mention %q", fe.Rule, tt.rule)
				}
				if !strings.HasPrefix(fe.Error(), "issuance: "+fe.Field+": ") {
					t.Errorf("FieldError.Error() = %q, want prefix with field", fe.Error())
				}
			}
		})
	}
}

func TestValidateListsEveryField(t *testing.T) {
	var a Application
	err := a.Validate(today)
	var ve ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate(zero) = %v, want ValidationError", err)
	}
	want := []string{"id_number", "date_of_birth", "full_name", "sex", "nationality", "ethnicity", "religion",
		"place_of_origin", "place_of_residence", "portrait", "reason", "intake_office", "delivery.method"}
	for _, f := range want {
		if !ve.Has(f) {
			t.Errorf("zero application: field %s not reported in %v", f, err)
		}
	}
	if len(ve) != len(want) {
		t.Errorf("got %d errors, want %d: %v", len(ve), len(want), err)
	}
	if !strings.Contains(err.Error(), "; issuance: date_of_birth: required") {
		t.Errorf("Error() = %q does not join the field errors", err.Error())
	}
}

func TestValidateIDAgainstBirthAndSex(t *testing.T) {
	tests := []struct {
		name, id, dob string
		sex           Sex
		wantErr       bool
	}{
		{"male 1990", "001090000001", "1990-01-01", SexMale, false},
		{"female 1990", "001190000001", "1990-01-01", SexFemale, false},
		{"male 2000", "001200000001", "2000-01-01", SexMale, false},
		{"female 2024", "079324000001", "2024-12-31", SexFemale, false},
		{"female 1999 with 2000s digit", "001399000001", "1999-12-31", SexFemale, true},
		{"male 2000 with 1900s digit", "001000000001", "2000-01-01", SexMale, true},
		{"female with male digit", "001200000001", "2000-01-01", SexFemale, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validApplication(t)
			a.IDNumber, a.DateOfBirth, a.Sex = tt.id, MustParseDate(tt.dob), tt.sex
			err := a.Validate(today)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !err.(ValidationError).Has("id_number") {
				t.Errorf("error %v does not name id_number", err)
			}
		})
	}
}

func TestNormalizeName(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"already clean", "Nguyễn Văn Đức", "Nguyễn Văn Đức"},
		{"trim and collapse", "  Nguyễn   Văn\tĐức \n", "Nguyễn Văn Đức"},
		{"NFD to NFC", "Nguye\u0302\u0303n", "Nguyễn"},
		{"empty", "   ", ""},
		{"no-break space", "Lê\u00a0Lan", "Lê Lan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeName(tt.in); got != tt.want {
				t.Errorf("NormalizeName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestVietnameseLetters(t *testing.T) {
	// 26 ASCII letters + đ, 12 vowels x 5 tones + 5 non-ASCII toneless vowels (ă â ê ô ơ ư = 6), both cases.
	want := 2 * (26 + 1 + 12*5 + 6)
	got := 0
	for r := rune(0); r < 0x1F00; r++ {
		if isVietnameseLetter(r) {
			got++
		}
	}
	if got != want {
		t.Errorf("alphabet has %d letters, want %d", got, want)
	}
	for _, r := range "ĂẮẰẲẴẶăắằẳẵặÂẤẦẨẪẬâấầẩẫậĐđÊẾỀỂỄỆêếềểễệƠỚỜỞỠỢơớờởỡợƯỨỪỬỮỰưứừửữựỲÝỶỸỴỳýỷỹỵ" {
		if !isVietnameseLetter(r) {
			t.Errorf("%c not accepted", r)
		}
	}
}

func TestSexAndReason(t *testing.T) {
	tests := []struct {
		name      string
		got, want any
	}{
		{"male Vietnamese", SexMale.Vietnamese(), "Nam"},
		{"female Vietnamese", SexFemale.Vietnamese(), "Nữ"},
		{"other Vietnamese", Sex("X").Vietnamese(), ""},
		{"reason valid", ReasonReplaceLost.Valid(), true},
		{"reason invalid", Reason("x").Valid(), false},
		{"five reasons", len(Reasons()), 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

// TestRequiredNote: a reason someone must give is normalized, must not be empty, and
// follows the note rules.
func TestRequiredNote(t *testing.T) {
	if got, err := RequiredNote("reason", "  The\u0309 bị xước ", 500); err != nil || got != "Thẻ bị xước" {
		t.Fatalf("good note: %q %v", got, err)
	}
	for _, bad := range []string{"", "   ", "x\u202ey", "mờ\x1b[2J", strings.Repeat("a", 501)} {
		_, err := RequiredNote("reason", bad, 500)
		var ve ValidationError
		if !errors.As(err, &ve) || ve[0].Field != "reason" {
			t.Errorf("note %q: %v, want a ValidationError on reason", bad, err)
		}
	}
}
