// Package registry generates a synthetic national population register: realistic, deterministic Vietnamese
// residents for tests, demonstrations and load benchmarks (a 1,000,000-row import takes seconds to generate).
// Nobody in it is real.
//
// Names follow published surname frequencies (Nguyễn ~38 %, Trần, Lê, Phạm, ...; "Huỳnh"/"Võ" from Đà Nẵng
// southwards), middle names by sex and generation, ethnicities and religions by region, addresses built from
// real provinces and districts (pre-2025 map) with diacritics, and personal identification numbers that agree
// with the birth province, year and sex (package idnum) and are unique within one generated set. The data
// lives in data/*.tsv.
package registry

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/idnum"
)

// Resident is one person in the register: the personal data a card carries plus what the register keeps
// about the residence.
type Resident struct {
	issuance.Person
	ResidenceProvince string `json:"residence_province"` // 3-digit province code of the permanent residence
	RegisteredOffice  string `json:"registered_office"`  // police office code of the residence (issuance.ValidOfficeCode)
	Phone             string `json:"phone"`              // 10-digit mobile number
}

// Application returns an intake application for r with the given reason and portrait, taken and delivered at
// r's registered office.
func (r *Resident) Application(reason issuance.Reason, portrait []byte) issuance.Application {
	return issuance.Application{
		Person:       r.Person,
		Portrait:     portrait,
		Reason:       reason,
		IntakeOffice: r.RegisteredOffice,
		Delivery:     issuance.Delivery{Method: issuance.DeliveryOffice, Office: r.RegisteredOffice},
	}
}

// MaxResidents is the largest set one Generator call produces (about the population of Viet Nam). Below it,
// the ID serials of one province, birth year and sex (a million per combination) cannot run out in practice.
const MaxResidents = 100_000_000

// ErrTooMany is returned for n > MaxResidents or when the ID serials of one province, year and sex run out.
var ErrTooMany = errors.New("registry: too many residents")

// DefaultAsOf is the register's reference date when Generator.AsOf is zero.
var DefaultAsOf = issuance.Date{Year: 2026, Month: time.January, Day: 1}

// Generator produces synthetic residents. The same Seed and AsOf always produce the same residents in the
// same order. The zero Generator is ready to use.
type Generator struct {
	Seed int64
	AsOf issuance.Date // "today" of the register: nobody is born after it; zero means DefaultAsOf
}

// Each generates n residents and calls fn with each; the Resident is reused between calls, so fn must copy
// what it keeps. It stops at the first error of fn.
func (g Generator) Each(n int, fn func(*Resident) error) error {
	if n < 0 || n > MaxResidents {
		return fmt.Errorf("%w: %d (0..%d)", ErrTooMany, n, MaxResidents)
	}
	s := newStream(g)
	var r Resident
	for i := 0; i < n; i++ {
		if err := s.next(&r); err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

// Residents returns n generated residents.
func (g Generator) Residents(n int) ([]Resident, error) {
	out := make([]Resident, 0, max(0, min(n, 1<<20)))
	err := g.Each(n, func(r *Resident) error {
		out = append(out, *r)
		return nil
	})
	return out, err
}

// serialSpace is the number of serials NNNNNN per province, century/sex digit and year.
const serialSpace = 1_000_000

// stream is the state of one generation run.
type stream struct {
	r        *rand.Rand
	seed     uint64
	asOf     issuance.Date
	asOfUnix int64
	used     []uint32 // serials handed out per (province, G, YY)
	cmnd     uint64   // old 9-digit ID numbers handed out
	arena    []byte   // text of the resident being built
}

func newStream(g Generator) *stream {
	asOf := g.AsOf
	if asOf.IsZero() {
		asOf = DefaultAsOf
	}
	seed := uint64(g.Seed)
	return &stream{
		r:        rand.New(rand.NewPCG(seed, seed^0x5DEECE66D)),
		seed:     seed,
		asOf:     asOf,
		asOfUnix: asOf.Time().Unix(),
		used:     make([]uint32, len(idnum.Provinces())*10*100),
	}
}

// Age bands of the population (approximating the 2019 census pyramid): weights per band of years.
var ageBands = []struct{ from, to, weight int }{
	{0, 13, 230}, {14, 24, 140}, {25, 39, 240}, {40, 59, 250}, {60, 79, 120}, {80, 99, 20},
}

// next fills r with the next resident.
func (s *stream) next(r *Resident) error {
	*r = Resident{}
	p := &r.Person
	female := s.r.IntN(1000) < 505
	birth := s.birthDate()
	age := birth.AgeOn(s.asOf)
	bp := &places[s.pickIndex(&placeWeight)] // where the birth was registered

	// Ethnicity and religion by region of birth registration.
	p.Ethnicity = "Kinh"
	if s.r.IntN(1000) < minorityPerMille(bp.region) {
		p.Ethnicity = s.pick(minorityPool(bp.region))
	}
	if bp.region == 'S' || bp.region == 'K' || bp.south {
		p.Religion = s.pick(lists.religionSouth)
	} else {
		p.Religion = s.pick(lists.religionNorth)
	}

	// Every generated text of the resident is appended to one buffer and cut out of a single string, so a
	// resident costs one allocation for all its text instead of one per field.
	var span [9][2]int
	b := s.arena[:0]
	mark := func(i, start int) { span[i] = [2]int{start, len(b)} }
	surname := s.surname(bp)
	start := len(b)
	b = s.appendName(b, surname, female, birth.Year)
	mark(0, start)
	start = len(b)
	b = s.appendName(b, surname, false, birth.Year-28)
	mark(1, start)
	start = len(b)
	b = s.appendName(b, s.surname(bp), true, birth.Year-25)
	mark(2, start)
	start = len(b)
	if s.married(age) {
		b = s.appendName(b, s.surname(bp), !female, birth.Year)
	}
	mark(3, start)
	p.DateOfBirth = birth
	p.Sex = issuance.SexMale
	if female {
		p.Sex = issuance.SexFemale
	}
	p.Nationality = issuance.Nationality
	if s.r.IntN(100) < 85 {
		p.IdentifyingFeatures = s.pick(lists.feature)
	}

	origin := bp
	if s.r.IntN(100) >= 75 {
		origin = &places[s.pickIndex(&placeWeight)]
	}
	start = len(b)
	b = s.appendOrigin(b, origin)
	mark(4, start)
	home := bp
	if s.r.IntN(100) >= 80 {
		home = s.migrationTarget()
	}
	d := &home.districts[s.r.IntN(len(home.districts))]
	start = len(b)
	b = s.appendResidence(b, home, d)
	mark(5, start)
	r.ResidenceProvince = home.code
	r.RegisteredOffice = d.office
	start = len(b)
	b = s.appendPhone(b)
	mark(6, start)

	start = len(b)
	b, err := s.appendIDNumber(b, bp, female, birth.Year)
	if err != nil {
		return err
	}
	mark(7, start)
	start = len(b)
	if birth.Year <= 2007 && age >= 16 && s.r.IntN(100) < 85 {
		b = s.appendCMND(b)
	}
	mark(8, start)
	s.arena = b

	text := string(b)
	cut := func(i int) string { return text[span[i][0]:span[i][1]] }
	p.FullName, p.Father, p.Mother, p.Spouse = cut(0), cut(1), cut(2), cut(3)
	p.PlaceOfOrigin, p.PlaceOfResidence, r.Phone = cut(4), cut(5), cut(6)
	p.IDNumber, p.PreviousIDNumber = cut(7), cut(8)
	return nil
}

// birthDate draws an age from the census bands, then a day within that year of life.
func (s *stream) birthDate() issuance.Date {
	total := 0
	for _, b := range ageBands {
		total += b.weight
	}
	u := s.r.IntN(total)
	band := ageBands[0]
	for _, b := range ageBands {
		if u < b.weight {
			band = b
			break
		}
		u -= b.weight
	}
	age := band.from + s.r.IntN(band.to-band.from+1)
	days := int64(age)*36524/100 + int64(s.r.IntN(365))
	return issuance.DateOf(time.Unix(s.asOfUnix-days*86400, 0).UTC())
}

func (s *stream) pick(w *weighted) string { return w.pick(s.r.Uint32N(w.total())) }

func (s *stream) pickIndex(w *weighted) int { return w.index(s.r.Uint32N(w.total())) }

// surname draws a family name, spelled the southern way for people registered from Đà Nẵng southwards.
func (s *stream) surname(p *place) string {
	n := s.pick(lists.surname)
	if p.south && s.r.IntN(100) < 85 {
		switch n {
		case "Hoàng":
			return "Huỳnh"
		case "Vũ":
			return "Võ"
		}
	}
	return n
}

// appendName appends "Surname Middle [Middle2] Given"; people born from 1990 get modern middle names, and
// a quarter of those born from 1995 get two.
func (s *stream) appendName(b []byte, surname string, female bool, born int) []byte {
	sex := 0
	if female {
		sex = 1
	}
	young := 0
	if born >= 1990 {
		young = 1
	}
	given := lists.given[sex]
	mid := s.pick(lists.middle[sex][young])
	g := s.pick(given)
	b = append(b, surname...)
	b = append(b, ' ')
	b = append(b, mid...)
	b = append(b, ' ')
	if born >= 1995 && s.r.IntN(4) == 0 {
		if m2 := s.pick(lists.middle[sex][1]); m2 != mid && m2 != g {
			b = append(b, m2...)
			b = append(b, ' ')
			return append(b, g...)
		}
	}
	if g == mid {
		g = s.pick(given)
	}
	return append(b, g...)
}

func (s *stream) married(age int) bool {
	switch {
	case age < 20:
		return false
	case age < 25:
		return s.r.IntN(100) < 30
	case age < 30:
		return s.r.IntN(100) < 60
	case age < 70:
		return s.r.IntN(100) < 82
	}
	return s.r.IntN(100) < 60
}

func minorityPerMille(region byte) int {
	switch region {
	case 'M':
		return 550
	case 'H':
		return 300
	case 'K':
		return 90
	case 'C':
		return 30
	case 'S':
		return 25
	}
	return 15
}

func minorityPool(region byte) *weighted {
	switch region {
	case 'M':
		return lists.minorityM
	case 'H':
		return lists.minorityH
	case 'K':
		return lists.minorityK
	}
	return lists.minorityOther
}

// migrationTarget picks where someone living outside their birth province lives: half of them in the big
// cities and industrial provinces, the rest anywhere.
func (s *stream) migrationTarget() *place {
	if s.r.IntN(2) == 0 {
		return &places[s.pickIndex(&placeWeight)]
	}
	hubs := [...]string{"079", "079", "079", "001", "001", "074", "075", "027", "048", "092"}
	code := hubs[s.r.IntN(len(hubs))]
	for i := range places {
		if places[i].code == code {
			return &places[i]
		}
	}
	return &places[0]
}

// appendIDNumber appends a unique personal identification number: serials of one (province, G, YY) are a
// permutation of 0..999999 (multiplication by a unit modulo 10^6 plus a per-prefix offset), so they look
// random but never repeat.
func (s *stream) appendIDNumber(b []byte, bp *place, female bool, year int) ([]byte, error) {
	g, err := idnum.CenturySexDigit(year, female)
	if err != nil {
		return b, fmt.Errorf("registry: %w", err)
	}
	slot := (bp.idx*10+g)*100 + year%100
	k := s.used[slot]
	if k >= serialSpace {
		return b, fmt.Errorf("%w: serials of %s/%d/%d exhausted", ErrTooMany, bp.code, g, year%100)
	}
	s.used[slot] = k + 1
	off := mix(s.seed^uint64(slot)*0x9E3779B97F4A7C15) % serialSpace
	serial := int((uint64(k)*618_033 + off) % serialSpace)
	return idnum.AppendNumber(b, bp.code, g, year%100, serial), nil
}

// appendCMND appends a unique old-style 9-digit identity card number (chứng minh nhân dân).
func (s *stream) appendCMND(b []byte) []byte {
	const space = 1_000_000_000
	v := (s.cmnd*387_420_489 + mix(s.seed)%space) % space // 3^18 is a unit modulo 10^9: a permutation
	s.cmnd++
	return appendDigits(b, v, 9)
}

// appendPhone appends a 10-digit mobile number with a Vietnamese network prefix.
func (s *stream) appendPhone(b []byte) []byte {
	prefixes := [...]string{"09", "09", "03", "08", "07", "05"}
	b = append(b, prefixes[s.r.IntN(len(prefixes))]...)
	v := s.r.Uint64()
	// The old code wrote the lowest decimal digit first: keep that order so output stays identical.
	for i := 0; i < 8; i++ {
		b = append(b, byte('0'+v%10))
		v /= 10
	}
	return b
}

// appendDigits appends v as exactly n (at most 20) decimal digits, most significant first.
func appendDigits(b []byte, v uint64, n int) []byte {
	var tmp [20]byte
	for i := n - 1; i >= 0; i-- {
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[:n]...)
}

// mix is the SplitMix64 finalizer.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	return x ^ x>>31
}
