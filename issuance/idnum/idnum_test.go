package idnum

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

func TestProvinces(t *testing.T) {
	ps := Provinces()
	if len(ps) != 63 {
		t.Fatalf("got %d provinces, want 63", len(ps))
	}
	for i, p := range ps {
		if len(p.Code) != 3 || strings.Trim(p.Code, "0123456789") != "" {
			t.Errorf("province %d: bad code %q", i, p.Code)
		}
		if i > 0 && ps[i-1].Code >= p.Code {
			t.Errorf("codes not strictly ascending at %s", p.Code)
		}
		if p.Name == "" || !norm.NFC.IsNormalString(p.Name) {
			t.Errorf("province %s: name %q empty or not NFC", p.Code, p.Name)
		}
	}
	ps[0].Name = "changed"
	if p, _ := Lookup("001"); p.Name != "Hà Nội" {
		t.Errorf("Provinces() returned shared storage")
	}
	tests := []struct {
		code, name string
		ok         bool
	}{
		{"001", "Hà Nội", true},
		{"079", "Hồ Chí Minh", true},
		{"048", "Đà Nẵng", true},
		{"066", "Đắk Lắk", true},
		{"077", "Bà Rịa - Vũng Tàu", true},
		{"096", "Cà Mau", true},
		{"003", "", false},
		{"097", "", false},
		{"1", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			p, ok := Lookup(tt.code)
			if ok != tt.ok || p.Name != tt.name {
				t.Errorf("Lookup(%q) = %+v, %v; want %q, %v", tt.code, p, ok, tt.name, tt.ok)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in  string
		province  string
		g, yy     int
		serial    string
		birthYear int
		female    bool
		wantErr   error
	}{
		{"Hà Nội male 1990", "001090012345", "001", 0, 90, "012345", 1990, false, nil},
		{"HCM female 2005", "079305000001", "079", 3, 5, "000001", 2005, true, nil},
		{"female 1900s", "096199999999", "096", 1, 99, "999999", 1999, true, nil},
		{"male 2100s", "001400000000", "001", 4, 0, "000000", 2100, false, nil},
		{"female 2200s", "001700000000", "001", 7, 0, "000000", 2200, true, nil},
		{"male 1800s", "001899000000", "001", 8, 99, "000000", 1899, false, nil},
		{"female 1800s", "001999000000", "001", 9, 99, "000000", 1899, true, nil},
		{"empty", "", "", 0, 0, "", 0, false, ErrFormat},
		{"11 digits", "00109001234", "", 0, 0, "", 0, false, ErrFormat},
		{"13 digits", "0010900123456", "", 0, 0, "", 0, false, ErrFormat},
		{"letter", "0010900123a5", "", 0, 0, "", 0, false, ErrFormat},
		{"space", "001 90012345", "", 0, 0, "", 0, false, ErrFormat},
		{"arabic-indic digits", "٠٠١٠٩٠٠١٢٣٤٥", "", 0, 0, "", 0, false, ErrFormat},
		{"unknown province 000", "000090012345", "", 0, 0, "", 0, false, ErrProvince},
		{"unknown province 099", "099090012345", "", 0, 0, "", 0, false, ErrProvince},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse(tt.in)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "idnum: ") {
					t.Errorf("error %q lacks package prefix", err)
				}
				return
			}
			if n.Province.Code != tt.province || n.CenturySex != tt.g || n.BirthYY != tt.yy || n.Serial != tt.serial {
				t.Errorf("Parse(%q) = %+v", tt.in, n)
			}
			if n.BirthYear() != tt.birthYear || n.Female() != tt.female {
				t.Errorf("BirthYear, Female = %d, %v; want %d, %v", n.BirthYear(), n.Female(), tt.birthYear, tt.female)
			}
			if n.String() != tt.in {
				t.Errorf("String() = %q, want %q", n.String(), tt.in)
			}
		})
	}
}

func TestCheckBirth(t *testing.T) {
	tests := []struct {
		name   string
		id     string
		year   int
		female bool
		want   []error
	}{
		{"ok male 1990", "001090012345", 1990, false, nil},
		{"ok female 2005", "079305000001", 2005, true, nil},
		{"ok 1800s", "001899000000", 1899, false, nil},
		{"sex wrong", "001090012345", 1990, true, []error{ErrSex}},
		{"year wrong", "001090012345", 1991, false, []error{ErrYear}},
		{"century wrong", "001090012345", 2090, false, []error{ErrCentury}},
		{"all wrong", "001090012345", 2001, true, []error{ErrCentury, ErrSex, ErrYear}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse(tt.id)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckBirth(n, tt.year, tt.female)
			if (err == nil) != (len(tt.want) == 0) {
				t.Fatalf("CheckBirth = %v, want %v", err, tt.want)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("CheckBirth = %v, does not wrap %v", err, w)
				}
			}
			for _, other := range []error{ErrCentury, ErrSex, ErrYear} {
				if errors.Is(err, other) && !containsErr(tt.want, other) {
					t.Errorf("CheckBirth = %v, unexpectedly wraps %v", err, other)
				}
			}
		})
	}
}

func containsErr(list []error, e error) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

func TestMake(t *testing.T) {
	tests := []struct {
		name     string
		province string
		year     int
		female   bool
		serial   int
		want     string
		wantErr  error
	}{
		{"male 1990", "001", 1990, false, 12345, "001090012345", nil},
		{"female 2005", "079", 2005, true, 1, "079305000001", nil},
		{"male 2100", "096", 2100, false, 999999, "096400999999", nil},
		{"female 1850", "048", 1850, true, 0, "048950000000", nil},
		{"unknown province", "003", 1990, false, 1, "", ErrProvince},
		{"serial too big", "001", 1990, false, 1000000, "", ErrRange},
		{"negative serial", "001", 1990, false, -1, "", ErrRange},
		{"year 1799", "001", 1799, false, 1, "", ErrRange},
		{"year 2300", "001", 2300, false, 1, "", ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Make(tt.province, tt.year, tt.female, tt.serial)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("Make = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil {
				return
			}
			n, err := Parse(got)
			if err != nil {
				t.Fatalf("Parse(Make()) = %v", err)
			}
			if err := CheckBirth(n, tt.year, tt.female); err != nil {
				t.Errorf("CheckBirth(Make()) = %v", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"001090012345", "079305000001", "000000000000", "00109001234", "0010900123a5", "096999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrProvince) {
				t.Errorf("Parse(%q) error %v wraps no sentinel", s, err)
			}
			return
		}
		if n.String() != s {
			t.Errorf("Parse(%q).String() = %q", s, n.String())
		}
		if err := CheckBirth(n, n.BirthYear(), n.Female()); err != nil {
			t.Errorf("number disagrees with its own birth year and sex: %v", err)
		}
		if again, err := Make(n.Province.Code, n.BirthYear(), n.Female(), atoi(n.Serial)); err != nil || again != s {
			t.Errorf("Make of parsed parts = %q, %v; want %q", again, err, s)
		}
	})
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func ExampleMake() {
	id, _ := Make("079", 2005, true, 1)
	n, _ := Parse(id)
	fmt.Println(id, n.Province.Name, n.BirthYear(), n.Female())
	// Output: 079305000001 Hồ Chí Minh 2005 true
}
