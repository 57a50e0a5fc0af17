package render

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"sync"

	"golang.org/x/text/unicode/norm"

	"github.com/cccd-project/cccd/printqueue/layout"
)

// Sample returns a synthetic, plausible card for proofs and benchmarks; i picks
// the name, dates and ID. Its portrait is a drawn silhouette and its MRZ has
// valid check digits, but the person does not exist. The portrait bytes are
// shared between calls: do not modify them.
func Sample(i int) layout.Card {
	names := []struct{ name, sex, surname, given string }{
		{"Nguyễn Thị Ngọc Ánh", layout.Female, "NGUYEN", "THI<NGOC<ANH"},
		{"Đặng Hữu Phước", layout.Male, "DANG", "HUU<PHUOC"},
		{"Trần Văn Bảo", layout.Male, "TRAN", "VAN<BAO"},
		{"Lê Thị Thu Hương", layout.Female, "LE", "THI<THU<HUONG"},
		{"Phạm Quốc Việt", layout.Male, "PHAM", "QUOC<VIET"},
		{"Hoàng Thị Mỹ Dung", layout.Female, "HOANG", "THI<MY<DUNG"},
	}
	n := names[i%len(names)]
	year := 1960 + i%45
	dob := fmt.Sprintf("%02d/%02d/%04d", 1+i%28, 1+i%12, year)
	g := 0 // REFERENCE.md §2: century and sex digit
	if year >= 2000 {
		g = 2
	}
	if n.sex == layout.Female {
		g++
	}
	id := fmt.Sprintf("001%d%02d%06d", g, year%100, (i*7919)%1000000)
	issue, expiry := "15/07/2024", fmt.Sprintf("%02d/%02d/%04d", 1+i%28, 1+i%12, year+60)
	if year+60 <= 2024 {
		expiry = layout.NoExpiry
	}
	c := layout.Card{
		IDNumber:            id,
		FullName:            n.name,
		DateOfBirth:         dob,
		Sex:                 n.sex,
		Nationality:         "Việt Nam",
		PlaceOfOrigin:       "Xã Đông Hưng, Huyện Tiên Lữ, Tỉnh Hưng Yên",
		PlaceOfBirth:        "Phường Hàng Bạc, Quận Hoàn Kiếm, Thành phố Hà Nội",
		PlaceOfResidence:    fmt.Sprintf("Số %d ngõ 12 phố Trần Hưng Đạo, Phường Phan Chu Trinh, Quận Hoàn Kiếm, Thành phố Hà Nội", 1+i%200),
		IdentifyingFeatures: "Nốt ruồi cách 2 cm trên sau đuôi mắt trái",
		IssueDate:           issue,
		ExpiryDate:          expiry,
		IssuingAuthority:    "BỘ CÔNG AN",
		Portrait:            samplePortrait(),
		CardSerial:          fmt.Sprintf("VN24%08d", i),
	}
	c.MRZ = sampleMRZ(id, dob, n.sex, expiry, n.surname, n.given)
	c.FullName = norm.NFC.String(c.FullName)
	return c
}

// sampleMRZ builds TD1 lines as REFERENCE.md §4 describes them (ICAO Doc
// 9303-5 §4.2.2). The MRZ of issued cards is built by personalization; this one
// only feeds proofs and benchmarks.
func sampleMRZ(id, dob, sex, expiry, surname, given string) [3]string {
	yymmdd := func(d string) string { return d[8:10] + d[3:5] + d[0:2] }
	exp := "<<<<<<"
	if expiry != layout.NoExpiry {
		exp = yymmdd(expiry)
	}
	sx := "M"
	if sex == layout.Female {
		sx = "F"
	}
	doc := id[3:]
	opt := id + "<<"
	l1 := "IDVNM" + doc + checkDigit(doc) + opt + checkDigit(opt)
	l2 := yymmdd(dob) + checkDigit(yymmdd(dob)) + sx + exp + checkDigit(exp) + "VNM" + strings.Repeat("<", 11)
	l2 += checkDigit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
	l3 := surname + "<<" + given
	l3 = (l3 + strings.Repeat("<", 30))[:30]
	return [3]string{l1, l2, l3}
}

// checkDigit is the ICAO Doc 9303-3 §4.9 check digit (weights 7, 3, 1; '<' = 0,
// A = 10 ... Z = 35).
func checkDigit(s string) string {
	w := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		v := 0
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		}
		sum += v * w[i%3]
	}
	return string(rune('0' + sum%10))
}

// samplePortrait is a 300 x 400 JPEG of a neutral head-and-shoulders
// silhouette on a light background, drawn once.
var samplePortrait = sync.OnceValue(func() []byte {
	const w, h = 300, 400
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	bg, skin, hair, shirt := color.RGBA{232, 236, 240, 255}, color.RGBA{224, 188, 160, 255},
		color.RGBA{40, 32, 30, 255}, color.RGBA{250, 250, 250, 255}
	inEllipse := func(x, y, cx, cy, rx, ry float64) bool {
		dx, dy := (x-cx)/rx, (y-cy)/ry
		return dx*dx+dy*dy <= 1
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x), float64(y)
			c := bg
			switch {
			case fy > 300 && inEllipse(fx, fy, 150, 420, 150, 120):
				c = shirt
			case fy > 250 && fy < 320 && fx > 120 && fx < 180:
				c = skin // neck
			case inEllipse(fx, fy, 150, 170, 72, 95) && fy < 140:
				c = hair
			case inEllipse(fx, fy, 150, 180, 64, 88):
				c = skin
			case inEllipse(fx, fy, 150, 160, 80, 100):
				c = hair
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		// Cannot happen for an in-memory RGBA image; an empty portrait would
		// make Card.Validate fail with a clear message.
		return nil
	}
	return buf.Bytes()
})
