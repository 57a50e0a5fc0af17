package registry

import (
	_ "embed"
	"sort"
	"strconv"
	"strings"

	"github.com/cccd-project/cccd/issuance/idnum"
)

// The register's population data: weights and names are data files, not code.
var (
	//go:embed data/places.tsv
	placesTSV string
	//go:embed data/names.tsv
	namesTSV string
)

// place is one province with its share of the population and a few real districts.
type place struct {
	idx       int    // index into idnum.Provinces()
	code      string // "001"
	name      string // "Thành phố Hà Nội", "Tỉnh Hà Giang"
	region    byte   // N M C H S K, see places.tsv
	south     bool   // "Huỳnh"/"Võ" spelling region (Đà Nẵng southwards)
	districts []district
}

type district struct {
	name   string // "Quận Ba Đình", "Huyện Đông Anh"
	urban  bool   // wards (Phường) rather than communes (Xã)
	office string // registered police office code, "001-CA01"
}

// weighted is a list of values drawn with given weights.
type weighted struct {
	values []string
	cum    []uint32 // running totals of the weights
}

func (w *weighted) add(v string, weight uint32) {
	var total uint32
	if n := len(w.cum); n > 0 {
		total = w.cum[n-1]
	}
	w.values = append(w.values, v)
	w.cum = append(w.cum, total+weight)
}

func (w *weighted) total() uint32 { return w.cum[len(w.cum)-1] }

// pick maps u in [0, total) to a value.
func (w *weighted) pick(u uint32) string { return w.values[w.index(u)] }

func (w *weighted) index(u uint32) int {
	return sort.Search(len(w.cum), func(i int) bool { return w.cum[i] > u })
}

var (
	places      []place
	placeWeight weighted // values are indexes into places, as decimal strings
	pools       = map[string]*weighted{}
)

func init() {
	provIdx := map[string]int{}
	for i, p := range idnum.Provinces() {
		provIdx[p.Code] = i
	}
	for _, line := range dataLines(placesTSV) {
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			panic("registry: places.tsv: bad line " + line) // embedded data, covered by tests
		}
		pop, err := strconv.Atoi(f[1])
		idx, ok := provIdx[f[0]]
		if err != nil || !ok {
			panic("registry: places.tsv: bad line " + line)
		}
		prov, _ := idnum.Lookup(f[0])
		pl := place{idx: idx, code: f[0], region: f[2][0], south: f[0] >= "048"}
		if f[3] == "tp" {
			pl.name = "Thành phố " + prov.Name
		} else {
			pl.name = "Tỉnh " + prov.Name
		}
		for i, d := range strings.Split(f[4], ";") {
			pl.districts = append(pl.districts, district{
				name:   d,
				urban:  !strings.HasPrefix(d, "Huyện "),
				office: f[0] + "-CA" + twoDigits(i+1),
			})
		}
		placeWeight.add(strconv.Itoa(len(places)), uint32(pop))
		places = append(places, pl)
	}
	for _, line := range dataLines(namesTSV) {
		f := strings.Split(line, "\t")
		w, err := strconv.Atoi(f[len(f)-1])
		if len(f) != 3 || err != nil || w <= 0 {
			panic("registry: names.tsv: bad line " + line)
		}
		p := pools[f[0]]
		if p == nil {
			p = &weighted{}
			pools[f[0]] = p
		}
		p.add(f[1], uint32(w))
	}
}

func dataLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" && l[0] != '#' {
			out = append(out, l)
		}
	}
	return out
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10%10), byte('0' + n%10)}) }

// lists holds the names.tsv lists the generator draws from, resolved once.
var lists struct {
	surname, feature, ward, commune, street        *weighted
	religionNorth, religionSouth                   *weighted
	minorityM, minorityH, minorityK, minorityOther *weighted
	middle                                         [2][2]*weighted // [male, female][old, young]
	given                                          [2]*weighted    // [male, female]
}

func init() {
	lists.surname, lists.feature = pool("surname"), pool("feature")
	lists.ward, lists.commune, lists.street = pool("ward"), pool("commune"), pool("street")
	lists.religionNorth, lists.religionSouth = pool("religion_north"), pool("religion_south")
	lists.minorityM, lists.minorityH = pool("ethnic_minority_M"), pool("ethnic_minority_H")
	lists.minorityK, lists.minorityOther = pool("ethnic_minority_K"), pool("ethnic_minority_other")
	lists.middle = [2][2]*weighted{
		{pool("middle_m_old"), pool("middle_m_young")},
		{pool("middle_f_old"), pool("middle_f_young")},
	}
	lists.given = [2]*weighted{pool("given_m"), pool("given_f")}
}

// pool returns a named list from names.tsv.
func pool(name string) *weighted {
	p := pools[name]
	if p == nil {
		panic("registry: names.tsv has no list " + name)
	}
	return p
}
