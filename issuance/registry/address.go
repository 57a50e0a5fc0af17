package registry

import "strconv"

// numbers caches decimal strings for house numbers, villages and wards, to keep fmt and strconv out of the
// generator's hot loop.
var numbers = func() []string {
	out := make([]string, 400)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}()

// appendCommune appends the ward (urban district) or commune (rural district) part of an address.
func (s *stream) appendCommune(b []byte, p *place, d *district) []byte {
	if !d.urban {
		b = append(b, "Xã "...)
		return append(b, s.pick(lists.commune)...)
	}
	b = append(b, "Phường "...)
	// Wards of Ho Chi Minh City's numbered districts and many southern towns are numbered.
	if (p.region == 'S' || p.region == 'K') && s.r.IntN(100) < 60 {
		return append(b, numbers[1+s.r.IntN(15)]...)
	}
	return append(b, s.pick(lists.ward)...)
}

// appendOrigin appends a place of origin (quê quán): commune, district, province.
func (s *stream) appendOrigin(b []byte, p *place) []byte {
	d := &p.districts[s.r.IntN(len(p.districts))]
	return appendPlace(s.appendCommune(b, p, d), p, d)
}

// appendResidence appends a permanent residence: house and street in towns, hamlet or village in the
// countryside, then commune, district and province.
func (s *stream) appendResidence(b []byte, p *place, d *district) []byte {
	if d.urban {
		b = append(b, "Số "...)
		b = append(b, numbers[1+s.r.IntN(399)]...)
		b = append(b, " đường "...)
		b = append(b, s.pick(lists.street)...)
	} else {
		b = append(b, s.village(p.region)...)
		b = append(b, ' ')
		b = append(b, numbers[1+s.r.IntN(15)]...)
	}
	b = append(b, ", "...)
	return appendPlace(s.appendCommune(b, p, d), p, d)
}

// appendPlace appends ", district, province".
func appendPlace(b []byte, p *place, d *district) []byte {
	b = append(b, ", "...)
	b = append(b, d.name...)
	b = append(b, ", "...)
	return append(b, p.name...)
}

// village is the word for a hamlet in the region: ấp in the south, bản in the northern mountains, buôn in
// the Central Highlands, thôn elsewhere.
func (s *stream) village(region byte) string {
	switch region {
	case 'S', 'K':
		return "Ấp"
	case 'M':
		if s.r.IntN(2) == 0 {
			return "Bản"
		}
	case 'H':
		if s.r.IntN(3) == 0 {
			return "Buôn"
		}
	}
	return "Thôn"
}
