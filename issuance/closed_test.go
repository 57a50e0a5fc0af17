package issuance

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

func TestClosedLists(t *testing.T) {
	groups := EthnicGroups()
	if len(groups) != 54 {
		t.Fatalf("%d ethnic groups, want 54", len(groups))
	}
	for i, g := range groups {
		if want := fmt.Sprintf("%02d", i+1); g.Code != want {
			t.Errorf("group %d (%s) has code %s, want %s", i, g.Name, g.Code, want)
		}
	}
	rel := Religions()
	if rel[0].Name != "Không" || len(rel) != 17 {
		t.Fatalf("religions: %d, first %q; want 16 recognised and Không first", len(rel), rel[0].Name)
	}
	for _, list := range [][]ClosedValue{groups, rel} {
		for _, v := range list {
			for _, n := range append([]string{v.Name}, v.Other...) {
				if !norm.NFC.IsNormalString(n) {
					t.Errorf("%q is not NFC", n)
				}
				var bad ValidationError
				checkPlace(func(f, r string) { bad = append(bad, FieldError{Field: f, Rule: r}) }, "x", n, true)
				if bad != nil {
					t.Errorf("%q breaks the place rules the card face needs: %v", n, bad)
				}
			}
		}
	}
	for _, c := range []struct {
		s    string
		eth  bool
		reli bool
	}{
		{"Kinh", true, false}, {"Khmer", true, false}, {"Khơ-me", true, false}, {"H'Mông", true, false},
		{"kinh", false, false}, {"Kinh ", false, false}, {"Klingon", false, false}, {"", false, false},
		{"Không", false, true}, {"Phật giáo", false, true}, {"Jedi", false, false},
		{"Phật giáo Hòa Hảo", false, true}, {"Tôn giáo Baha'i", false, true},
	} {
		if ValidEthnicity(c.s) != c.eth || ValidReligion(c.s) != c.reli {
			t.Errorf("%q: ethnicity %v religion %v, want %v %v", c.s, ValidEthnicity(c.s), ValidReligion(c.s), c.eth, c.reli)
		}
	}
}

// TestTextClasses: every class of character the card face and DG13 cannot carry is refused with the
// rule named, and what they need passes.
func TestTextClasses(t *testing.T) {
	for _, c := range []struct {
		name, s, want string
	}{
		{"address", "Số 12/3 Ngõ 45 (cũ), Phường Quang Trung, Quận Đống Đa; Hà Nội", ""},
		{"feature", "Sẹo chấm C:1cm dưới sau cánh mũi trái", ""},
		{"emoji", "Hà Nội 😀", "symbol or emoji U+1F600"},
		{"symbol", "Hà Nội ★", "symbol or emoji U+2605"},
		{"html", "<b>Hà Nội</b>", `'<' (U+003C)`},
		{"tab", "Hà\tNội", "control character U+0009"},
		{"nul", "Hà\x00Nội", "control character U+0000"},
		{"bidi override", "Hà\u202eNội", "bidi or zero-width character U+202E"},
		{"zero width space", "Hà\u200bNội", "bidi or zero-width character U+200B"},
		{"zero width joiner", "Hà\u200dNội", "bidi or zero-width character U+200D"},
		{"bom inside", "Hà\ufeffNội", "bidi or zero-width character U+FEFF"},
		{"replacement", "Hà \ufffd Nội", "replacement character U+FFFD"},
		{"line separator", "Hà\u2028Nội", "bidi or zero-width character U+2028"},
		{"nbsp", "Hà\u00a0Nội", "white space other than a space U+00A0"},
		{"han", "Hà 中 Nội", "a letter outside the Vietnamese alphabet"},
		{"nfd", norm.NFD.String("Hà Nội"), "NFC"},
		{"invalid utf-8", "H\xe0 N\xf4i", "valid UTF-8"},
		{"too long", string(make([]rune, 201)), "longer than 200"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			checkPlace(func(f, r string) { got = append(got, r) }, "place_of_origin", c.s, true)
			switch {
			case c.want == "" && got != nil:
				t.Fatalf("refused: %v", got)
			case c.want != "" && (len(got) == 0 || !contains(got, c.want)):
				t.Fatalf("rules %q, want one mentioning %q", got, c.want)
			}
		})
	}
}

func contains(rules []string, sub string) bool {
	for _, r := range rules {
		if strings.Contains(r, sub) {
			return true
		}
	}
	return false
}
