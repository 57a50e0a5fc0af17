package mrz

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// ICAO Doc 9303-5 appendix A (TD1 specimen, Utopia).
const (
	specimen1 = "I<UTOD231458907<<<<<<<<<<<<<<<"
	specimen2 = "7408122F1204159UTO<<<<<<<<<<<6"
	specimen3 = "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"
	specimen  = specimen1 + "\n" + specimen2 + "\n" + specimen3
)

var specimenTD1 = TD1{
	DocumentCode: "I", Issuer: "UTO", DocumentNumber: "D23145890", BirthDate: "740812", Sex: "F",
	ExpiryDate: "120415", Nationality: "UTO", Name: "ERIKSSON<<ANNA<MARIA",
}

func TestCheckDigit(t *testing.T) {
	tests := []struct {
		name, in string
		want     byte
	}{
		{"9303-3 example date", "520727", '3'},
		{"specimen document number", "D23145890", '7'},
		{"specimen birth", "740812", '2'},
		{"specimen expiry", "120415", '9'},
		{"9303-11 D doc number", "L898902C<", '3'},
		{"9303-11 D birth", "690806", '1'},
		{"9303-11 D expiry", "940623", '6'},
		{"9303-11 G doc number", "T22000129", '3'},
		{"all fillers", "<<<<<<", '0'},
		{"empty", "", '0'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckDigit(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("CheckDigit(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	if _, err := CheckDigit("ab1"); !errors.Is(err, ErrCharset) {
		t.Errorf("CheckDigit(lowercase) error = %v, want ErrCharset", err)
	}
}

func TestSpecimen(t *testing.T) {
	lines, err := specimenTD1.Lines()
	if err != nil {
		t.Fatal(err)
	}
	if want := [3]string{specimen1, specimen2, specimen3}; lines != want {
		t.Errorf("Lines() =\n%s\nwant\n%s", strings.Join(lines[:], "\n"), specimen)
	}
	for _, in := range []string{specimen, specimen1 + specimen2 + specimen3, strings.ReplaceAll(specimen, "\n", "\r\n") + "\r\n"} {
		got, err := ParseTD1(in)
		if err != nil {
			t.Fatalf("ParseTD1: %v", err)
		}
		if got != specimenTD1 {
			t.Errorf("ParseTD1 = %+v, want %+v", got, specimenTD1)
		}
	}
	if got, want := specimenTD1.BACSeedInfo(), "D231458907"+"7408122"+"1204159"; got != want {
		t.Errorf("BACSeedInfo = %q, want %q", got, want)
	}
	if specimenTD1.Surname() != "ERIKSSON" || specimenTD1.GivenNames() != "ANNA MARIA" {
		t.Errorf("Surname/GivenNames = %q/%q", specimenTD1.Surname(), specimenTD1.GivenNames())
	}
}

// TestBACSeedICAO checks against ICAO 9303-11 appendix D.2 and G.1 (document number padded to 9).
func TestBACSeedICAO(t *testing.T) {
	tests := []struct {
		name string
		td   TD1
		want string
	}{
		{"appendix D", TD1{DocumentCode: "I", Issuer: "UTO", DocumentNumber: "L898902C", BirthDate: "690806",
			ExpiryDate: "940623", Nationality: "UTO", Sex: "F"}, "L898902C<369080619406236"},
		{"appendix G", TD1{DocumentCode: "I", Issuer: "UTO", DocumentNumber: "T22000129", BirthDate: "640812",
			ExpiryDate: "101031", Nationality: "UTO", Sex: "F"}, "T22000129364081251010318"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.td.BACSeedInfo()
			if got != tt.want {
				t.Errorf("BACSeedInfo = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVietnamese(t *testing.T) {
	td, err := NewVietnamese("001090012345", "Nguyễn Văn Đức", "M", "900307", "300307")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := td.Lines()
	if err != nil {
		t.Fatal(err)
	}
	docCD, _ := CheckDigit("090012345")
	idCD, _ := CheckDigit("001090012345")
	want1 := "IDVNM090012345" + string(docCD) + "001090012345<<" + string(idCD)
	if lines[0] != want1 {
		t.Errorf("line 1 = %q, want %q", lines[0], want1)
	}
	if !strings.HasPrefix(lines[1], "900307") || lines[1][7] != 'M' || lines[1][8:14] != "300307" || lines[1][15:18] != "VNM" {
		t.Errorf("line 2 = %q: fields misplaced", lines[1])
	}
	if lines[2] != pad("NGUYEN<<VAN<DUC", 30) {
		t.Errorf("line 3 = %q", lines[2])
	}
	for i, l := range lines {
		if len(l) != 30 {
			t.Errorf("line %d has %d characters", i+1, len(l))
		}
	}
	back, err := ParseTD1(strings.Join(lines[:], "\n"))
	if err != nil {
		t.Fatalf("ParseTD1: %v", err)
	}
	if back != td {
		t.Errorf("round trip = %+v, want %+v", back, td)
	}

	t.Run("no expiry", func(t *testing.T) {
		td, err := NewVietnamese("079155000001", "Trần Thị Bích", "F", "550101", "")
		if err != nil {
			t.Fatal(err)
		}
		l, _ := td.Lines()
		if l[1][8:15] != "<<<<<<0" {
			t.Errorf("line 2 = %q, want expiry <<<<<<0", l[1])
		}
		if got := td.BACSeedInfo(); !strings.HasSuffix(got, "<<<<<<0") {
			t.Errorf("BACSeedInfo = %q", got)
		}
		if _, err := ParseTD1(td.String()); err != nil {
			t.Errorf("ParseTD1: %v", err)
		}
	})
	t.Run("long name truncated", func(t *testing.T) {
		td, err := NewVietnamese("079155000001", "Tôn Nữ Hoàng Thị Minh Nguyệt Ánh Tuyết Hương", "F", "550101", "")
		if err != nil {
			t.Fatal(err)
		}
		l, _ := td.Lines()
		if l[2] != "TON<<NU<HOANG<THI<MINH<NGUYE<A" { // cut at 30 characters, ending in a letter (ICAO 9303-3 §4.6)
			t.Errorf("line 3 = %q", l[2])
		}
	})
	t.Run("bad id", func(t *testing.T) {
		if _, err := NewVietnamese("0010900123", "A", "M", "900307", "300307"); !errors.Is(err, ErrField) {
			t.Errorf("error = %v, want ErrField", err)
		}
	})
}

func TestParseTD1Errors(t *testing.T) {
	flip := func(line string, pos int, c byte) string {
		b := []byte(line)
		b[pos] = c
		return string(b)
	}
	vn, _ := NewVietnamese("001090012345", "Nguyễn Văn Đức", "M", "900307", "300307")
	vnl, _ := vn.Lines()
	tests := []struct {
		name, in string
		want     error
		field    string
	}{
		{"short", specimen1 + specimen2, ErrLength, ""},
		{"line too short", specimen1 + "\n" + specimen2[:29] + "\n" + specimen3, ErrLength, ""},
		{"four lines", specimen + "\n" + specimen3, ErrLength, ""},
		{"lowercase", strings.ToLower(specimen), ErrCharset, ""},
		{"document number check", flip(specimen1, 14, '8') + specimen2 + specimen3, ErrCheckDigit, "document number"},
		{"document number data", flip(specimen1, 6, '3') + specimen2 + specimen3, ErrCheckDigit, "document number"},
		{"birth check", specimen1 + flip(specimen2, 6, '3') + specimen3, ErrCheckDigit, "birth date"},
		{"expiry check", specimen1 + flip(specimen2, 14, '0') + specimen3, ErrCheckDigit, "expiry date"},
		{"composite", specimen1 + flip(specimen2, 29, '7') + specimen3, ErrCheckDigit, "composite"},
		{"optional data changes composite", flip(specimen1, 20, 'X') + specimen2 + specimen3, ErrCheckDigit, "composite"},
		{"vietnamese id check", vnl[0][:29] + "<" + vnl[1] + vnl[2], ErrCheckDigit, "optional data"},
		{"sex X", specimen1 + flip(specimen2, 7, 'X') + specimen3, ErrField, ""},
		{"digit in name", specimen1 + specimen2 + flip(specimen3, 0, '1'), ErrCharset, ""},
		{"non-ASCII", strings.Replace(specimen, "ANNA", "ÅNA", 1), ErrCharset, ""},
		{"utf8 longer", strings.Replace(specimen, "ANNA", "ÅNNA", 1), ErrLength, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTD1(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseTD1 error = %v, want %v", err, tt.want)
			}
			var cde *CheckDigitError
			if tt.field != "" && (!errors.As(err, &cde) || cde.Field != tt.field) {
				t.Errorf("error = %v, want check digit field %q", err, tt.field)
			}
		})
	}
}

func TestLinesErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*TD1)
		want   error
	}{
		{"long document number", func(td *TD1) { td.DocumentNumber = "1234567890" }, ErrField},
		{"lowercase issuer", func(td *TD1) { td.Issuer = "uto" }, ErrCharset},
		{"birth not digits", func(td *TD1) { td.BirthDate = "74O812" }, ErrField},
		{"short expiry", func(td *TD1) { td.ExpiryDate = "1204" }, ErrField},
		{"sex", func(td *TD1) { td.Sex = "X" }, ErrField},
		{"optional data 2 long", func(td *TD1) { td.OptionalData2 = "123456789012" }, ErrField},
		{"name with space", func(td *TD1) { td.Name = "ANNA MARIA" }, ErrCharset},
		{"empty document code", func(td *TD1) { td.DocumentCode = "" }, ErrField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := specimenTD1
			tt.mutate(&td)
			if _, err := td.Lines(); !errors.Is(err, tt.want) {
				t.Errorf("Lines() error = %v, want %v", err, tt.want)
			}
			if td.BACSeedInfo() != "" || td.String() != "" {
				t.Errorf("invalid TD1 gave BACSeedInfo %q / String %q", td.BACSeedInfo(), td.String())
			}
		})
	}
}

func TestTransliterate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Nguyễn Văn Đức", "NGUYEN<VAN<DUC"},
		{"đặng thị ánh", "DANG<THI<ANH"},
		{"Ưng Hoàng Phúc", "UNG<HOANG<PHUC"},
		{"Ỷ Lan", "Y<LAN"},
		{"H'Hen Niê", "HHEN<NIE"},
		{"Lê-Nguyễn", "LE<NGUYEN"},
		{"Nguye\u0302\u0303n", "NGUYEN"}, // already decomposed
		{"Strauß", "STRAUSS"},
		{"李", "<"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Transliterate(tt.in); got != tt.want {
				t.Errorf("Transliterate(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Nguyễn Văn Đức", "NGUYEN<<VAN<DUC"},
		{"Trần Thị Bích Ngọc", "TRAN<<THI<BICH<NGOC"},
		{"  Lê   Lan  ", "LE<<LAN"},
		{"Lan", "LAN"},
		{"Lê-Nguyễn Thị Ánh", "LE<NGUYEN<<THI<ANH"},
		{"Hồ - Xuân", "HO<<XUAN"},
		{"- '", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Name(tt.in); got != tt.want {
				t.Errorf("Name(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

var (
	mrzChars = regexp.MustCompile(`^[A-Z<]*$`)
	mrzName  = regexp.MustCompile(`^([A-Z]+(<[A-Z]+)*(<<[A-Z]+(<[A-Z]+)*)?)?$`)
)

func FuzzTransliterate(f *testing.F) {
	for _, s := range []string{"Nguyễn Văn Đức", "H'Hen Niê", "Lê-Nguyễn", "Strauß", "李", "a\u0301\u0301", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tr := Transliterate(s)
		if !mrzChars.MatchString(tr) {
			t.Errorf("Transliterate(%q) = %q: not [A-Z<]", s, tr)
		}
		if len(tr) > 2*utf8.RuneCountInString(s) {
			t.Errorf("Transliterate(%q) = %q: longer than two characters per input rune", s, tr)
		}
		n := Name(s)
		if !mrzName.MatchString(n) {
			t.Errorf("Name(%q) = %q: not SURNAME<<GIVEN<NAMES", s, n)
		}
		if strings.Count(n, "<<") > 1 {
			t.Errorf("Name(%q) = %q: more than one <<", s, n)
		}
	})
}

func FuzzParseTD1(f *testing.F) {
	f.Add(specimen)
	f.Add(specimen1 + specimen2 + specimen3)
	vn, _ := NewVietnamese("001090012345", "Nguyễn Văn Đức", "M", "900307", "300307")
	f.Add(vn.String())
	f.Add(strings.Repeat("<", 90))
	f.Fuzz(func(t *testing.T, s string) {
		td, err := ParseTD1(s)
		if err != nil {
			return
		}
		lines, err := td.Lines()
		if err != nil {
			t.Fatalf("parsed TD1 %+v does not encode: %v", td, err)
		}
		flat := strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", ""), "\n", "")
		if got := strings.Join(lines[:], ""); got != flat {
			t.Errorf("re-encoding differs:\n%s\n%s", got, flat)
		}
		if len(td.BACSeedInfo()) != 24 {
			t.Errorf("BACSeedInfo %q is not 24 characters", td.BACSeedInfo())
		}
	})
}

func ExampleName() {
	fmt.Println(Name("Nguyễn Văn Đức"))
	fmt.Println(Name("Đặng Thị Ánh Tuyết"))
	// Output:
	// NGUYEN<<VAN<DUC
	// DANG<<THI<ANH<TUYET
}

func ExampleCheckDigit() {
	d, _ := CheckDigit("D23145890")
	fmt.Println(string(d))
	// Output: 7
}

func ExampleTD1_Lines() {
	td, _ := NewVietnamese("001090012345", "Nguyễn Văn Đức", "M", "900307", "300307")
	lines, _ := td.Lines()
	for _, l := range lines {
		fmt.Println(l)
	}
	fmt.Println(td.BACSeedInfo())
	// Output:
	// IDVNM0900123450001090012345<<1
	// 9003071M3003079VNM<<<<<<<<<<<0
	// NGUYEN<<VAN<DUC<<<<<<<<<<<<<<<
	// 090012345090030713003079
}

func ExampleParseTD1() {
	td, err := ParseTD1("I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<")
	fmt.Println(td.DocumentNumber, td.BirthDate, td.ExpiryDate, td.Surname(), td.GivenNames(), err)
	// Output: D23145890 740812 120415 ERIKSSON ANNA MARIA <nil>
}

func TestYYMMDD(t *testing.T) {
	if got := YYMMDD(time.Date(1990, 3, 7, 0, 0, 0, 0, time.UTC)); got != "900307" {
		t.Errorf("YYMMDD = %q, want 900307", got)
	}
}
