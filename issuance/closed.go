package issuance

import (
	_ "embed"
	"strings"
)

// Closed lists: the values the law allows in a field, from the code tables in data/ (sources in each file).
var (
	//go:embed data/ethnic_groups.tsv
	ethnicGroupsTSV string
	//go:embed data/religions.tsv
	religionsTSV string

	ethnicGroups, ethnicNames = closedList(ethnicGroupsTSV, true)
	religions, religionNames  = closedList(religionsTSV, false)
)

// ClosedValue is one entry of a closed list: its code (the GSO code of an ethnic group; "" for religions),
// its name as the list writes it, and other spellings accepted for it.
type ClosedValue struct {
	Code  string
	Name  string
	Other []string
}

// EthnicGroups returns the 54 ethnic groups of Viet Nam in GSO code order (data/ethnic_groups.tsv).
func EthnicGroups() []ClosedValue { return append([]ClosedValue(nil), ethnicGroups...) }

// Religions returns the recognised religions, "Không" (none) first (data/religions.tsv).
func Religions() []ClosedValue { return append([]ClosedValue(nil), religions...) }

// ValidEthnicity reports whether s is the name or another accepted spelling of one of the 54 ethnic groups.
func ValidEthnicity(s string) bool { return ethnicNames[s] }

// ValidReligion reports whether s is the name or another accepted spelling of a recognised religion or "Không".
func ValidReligion(s string) bool { return religionNames[s] }

// closedList parses a closed-list file: "#" comments, then tab-separated [code,] name, other spellings.
// The files are embedded and checked by TestClosedLists, so a malformed line is a build defect (panic).
func closedList(tsv string, coded bool) ([]ClosedValue, map[string]bool) {
	var list []ClosedValue
	names := map[string]bool{}
	for _, line := range strings.Split(tsv, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "\t")
		var v ClosedValue
		if coded {
			if len(f) != 3 {
				panic("issuance: closed list: bad line " + line)
			}
			v.Code, f = f[0], f[1:]
		}
		if len(f) != 2 || f[0] == "" {
			panic("issuance: closed list: bad line " + line)
		}
		v.Name = f[0]
		if f[1] != "" {
			v.Other = strings.Split(f[1], ";")
		}
		for _, n := range append([]string{v.Name}, v.Other...) {
			if names[n] {
				panic("issuance: closed list: " + n + " twice")
			}
			names[n] = true
		}
		list = append(list, v)
	}
	return list, names
}
