package idnum

import (
	_ "embed"
	"strings"
)

// Province is a province-level unit of the personal identification number (Circular 07/2016/TT-BCA appendix).
type Province struct {
	Code string // three digits, "001" Hà Nội ... "096" Cà Mau
	Name string // Vietnamese name with diacritics, NFC
}

//go:embed provinces.tsv
var provincesTSV string

var (
	provinces []Province
	byCode    = map[string]Province{}
)

func init() {
	for _, line := range strings.Split(provincesTSV, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		code, name, ok := strings.Cut(line, "\t")
		if !ok || len(code) != 3 {
			panic("idnum: malformed provinces.tsv line " + line) // embedded data, checked by tests
		}
		p := Province{Code: code, Name: name}
		provinces = append(provinces, p)
		byCode[code] = p
	}
}

// Lookup returns the province with the given 3-digit code.
func Lookup(code string) (Province, bool) {
	p, ok := byCode[code]
	return p, ok
}

// Provinces returns all 63 provinces in code order. The slice is a copy.
func Provinces() []Province {
	return append([]Province(nil), provinces...)
}
