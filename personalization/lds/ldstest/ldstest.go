// Package ldstest provides a fixed, fully synthetic sample card for tests of the packages that
// encode, sign, write and verify chip files: its MRZ, portrait, DG13 data, SecurityInfos and
// Active/Chip Authentication keys are always the same bytes, so encoded files can be compared
// with golden files. It is test support: never use its keys for anything real.
package ldstest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"

	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
)

// Card is the sample card's content before encoding.
type Card struct {
	MRZ        string // 90 characters, valid check digits
	Face       lds.FaceImage
	DG13       lds.DG13
	DataGroups []int             // the data groups present: 1, 2, 3, 13, 14, 15
	AAKey      *ecdsa.PrivateKey // Active Authentication key (DG15), P-256
	CAKey      *ecdsa.PrivateKey // Chip Authentication key (DG14), P-256 for the fixture
}

// Sample returns the sample card: NGUYỄN VĂN AN, ID 079203001234, born 15/04/2003.
func Sample() *Card {
	return &Card{
		MRZ: "IDVNM2030012345079203001234<<5" +
			"0304155M2804154VNM<<<<<<<<<<<0" +
			"NGUYEN<<VAN<AN<<<<<<<<<<<<<<<<",
		Face: lds.FaceImage{
			JPEG:        Portrait(),
			ImageType:   lds.ImageFullFrontal,
			ColourSpace: lds.ColourRGB24,
			SourceType:  lds.SourceStaticDigital,
			Gender:      lds.GenderMale,
			EyeColour:   lds.EyeBrown,
			HairColour:  lds.HairBlack,
			Expression:  lds.ExpressionNeutral,
		},
		DG13: lds.DG13{
			IDNumber: "079203001234", FullName: "Nguyễn Văn An", DateOfBirth: "15/04/2003", Sex: "Nam",
			Nationality: "Việt Nam", Ethnicity: "Kinh", Religion: "Không",
			PlaceOfOrigin:       "Phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh",
			PlaceOfResidence:    "123 Đường Lê Lợi, Phường Bến Thành, Quận 1, Thành phố Hồ Chí Minh",
			IdentifyingFeatures: "Nốt ruồi C:2cm trên trước mày trái",
			IssueDate:           "10/05/2024", ExpiryDate: "15/04/2028",
			Father: "Nguyễn Văn Bình", Mother: "Trần Thị Cúc",
			PreviousIDNumber: "025123456", CardSerial: "CC2024000001",
		},
		DataGroups: []int{1, 2, 3, 13, 14, 15},
		AAKey:      fixedKey("cccd sample active authentication key"),
		CAKey:      fixedKey("cccd sample chip authentication key"),
	}
}

// fixedKey derives a P-256 key from a label, the same on every run.
func fixedKey(label string) *ecdsa.PrivateKey {
	d := sha256.Sum256([]byte(label))
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		panic(fmt.Sprintf("ldstest: %v", err)) // a SHA-256 value is below the P-256 order
	}
	return k
}

// Portrait returns a synthetic 240x320 colour JPEG portrait, the same bytes on every run of a
// given Go version.
func Portrait() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 240, 320))
	r := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < 320; y++ {
		for x := 0; x < 240; x++ {
			dx, dy := x-120, y-150
			c := color.RGBA{R: uint8(200 - y/4), G: uint8(210 - y/4), B: 230, A: 255}
			if dx*dx*16/9+dy*dy < 90*90 { // a face-shaped ellipse
				c = color.RGBA{R: 224, G: 180, B: 150, A: 255}
			}
			n := uint8(r.IntN(12))
			c.R, c.G, c.B = c.R-n, c.G-n, c.B-n
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		panic(fmt.Sprintf("ldstest: %v", err)) // writing to memory cannot fail
	}
	return b.Bytes()
}

// SecurityInfos returns the sample card's SecurityInfos for DG14: PACE (ECDH generic
// mapping, AES-128, brainpoolP256r1), Chip Authentication (ECDH AES-128) with its public key,
// Terminal Authentication v1 and Active Authentication (ECDSA SHA-256).
func (c *Card) SecurityInfos() (securityinfo.SecurityInfos, error) {
	spki, err := securityinfo.MarshalECPublicKey(elliptic.P256(), c.CAKey.X, c.CAKey.Y)
	if err != nil {
		return nil, err
	}
	return securityinfo.SecurityInfos{
		&securityinfo.PACEInfo{Protocol: securityinfo.OIDPACEECDHGMAES128, Version: 2,
			ParameterID: securityinfo.ParamBrainpoolP256r1, HasParameterID: true},
		&securityinfo.ChipAuthenticationInfo{Protocol: securityinfo.OIDCAECDHAES128, Version: 1},
		&securityinfo.ChipAuthenticationPublicKeyInfo{Protocol: securityinfo.OIDPKECDH, PublicKey: spki},
		&securityinfo.TerminalAuthenticationInfo{Version: 1},
		&securityinfo.ActiveAuthenticationInfo{Version: 1, SignatureAlgorithm: securityinfo.OIDECDSAPlainSHA256},
	}, nil
}

// CardAccess returns the sample EF.CardAccess SecurityInfos: the PACE entry only, as in
// ICAO 9303-11 appendix G.1.
func (c *Card) CardAccess() securityinfo.SecurityInfos {
	return securityinfo.SecurityInfos{&securityinfo.PACEInfo{Protocol: securityinfo.OIDPACEECDHGMAES128,
		Version: 2, ParameterID: securityinfo.ParamBrainpoolP256r1, HasParameterID: true}}
}

// DG3 is a placeholder DG3 with no fingerprint: 63 { 7F61 { 02 01 00 } }. On issued cards DG3
// holds fingerprints behind Extended Access Control; the sample only needs its hash in EF.SOD.
var DG3 = []byte{0x63, 0x06, 0x7F, 0x61, 0x03, 0x02, 0x01, 0x00}

// Files encodes the sample card: EF.COM, EF.CardAccess and the data groups by number.
func (c *Card) Files() (com, cardAccess []byte, dgs map[int][]byte, err error) {
	dgs = map[int][]byte{3: DG3}
	if dgs[1], err = lds.EncodeDG1(c.MRZ); err != nil {
		return nil, nil, nil, err
	}
	if dgs[2], err = lds.EncodeDG2(c.Face); err != nil {
		return nil, nil, nil, err
	}
	if dgs[13], err = c.DG13.Encode(); err != nil {
		return nil, nil, nil, err
	}
	si, err := c.SecurityInfos()
	if err != nil {
		return nil, nil, nil, err
	}
	if dgs[14], err = lds.EncodeDG14(si); err != nil {
		return nil, nil, nil, err
	}
	if dgs[15], err = lds.EncodeDG15(&c.AAKey.PublicKey); err != nil {
		return nil, nil, nil, err
	}
	if cardAccess, err = lds.EncodeCardAccess(c.CardAccess()); err != nil {
		return nil, nil, nil, err
	}
	ec, err := lds.NewCOM(c.DataGroups...)
	if err != nil {
		return nil, nil, nil, err
	}
	if com, err = ec.Encode(); err != nil {
		return nil, nil, nil, err
	}
	return com, cardAccess, dgs, nil
}
