// Package vchiptest issues sample CCCD chips for tests and benchmarks: it personalizes a
// virtual (or any) blank chip through package perso with a synthetic but well-formed
// document (EF.CardAccess, EF.COM, DG1, DG2, DG3, DG13, DG14, DG15, EF.SOD), the way a
// personalization station does, and returns what it wrote. EF.SOD is a placeholder (not
// signed): this package exercises the chip and the reader, not Passive Authentication.
package vchiptest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/bac"
	"github.com/cccd-project/cccd/smartcard/perso"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/tlv"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

// Sample holder data (the MRZ of ICAO 9303-11 appendix G.1, a CCCD-style CAN).
const (
	DocumentNumber = "T22000129"
	DateOfBirth    = "640812"
	DateOfExpiry   = "101031"
	CAN            = "123456"
)

// Profile chooses what Issue writes. The zero value issues a complete, locked chip with
// PACE, Chip and Active Authentication and a DG2 of DefaultDG2Size bytes.
type Profile struct {
	DG2Size int  // bytes of DG2; 0 means DefaultDG2Size
	NoPACE  bool // no EF.CardAccess: the chip offers BAC only
	NoDG14  bool // no DG14 (and no Chip Authentication key)
	NoDG15  bool // no DG15 (and no Active Authentication key)
	NoLock  bool // leave the chip in personalization
	// SwapAAKey makes the chip generate a second AA key after the one written to DG15,
	// so its AA private key does not match DG15 (a clone that copied the CA key).
	SwapAAKey bool
	Rand      io.Reader
	CAN       string // "" means CAN
	NoCAN     bool   // store no CAN: PACE-CAN fails with 6A88
}

// DefaultDG2Size makes a chip of about 20 KB in all.
const DefaultDG2Size = 18000

// Card is what Issue wrote.
type Card struct {
	Serial   string
	MRZInfo  string
	CAN      string
	Files    map[uint16][]byte // by FID
	AAPublic []byte            // DG15's SubjectPublicKeyInfo, nil with NoDG15
	CAPublic []byte            // DG14's CA key SubjectPublicKeyInfo, nil with NoDG14
}

// DG returns the content of data group n.
func (c *Card) DG(n int) []byte { return c.Files[vchip.FIDDG1+uint16(n)-1] }

// Total returns the bytes written to files.
func (c *Card) Total() int {
	n := 0
	for _, f := range c.Files {
		n += len(f)
	}
	return n
}

// PACEInfo is the PACE protocol of EF.CardAccess on issued cards (ICAO 9303-11 §9.2).
var PACEInfo = securityinfo.PACEInfo{
	Protocol: securityinfo.OIDPACEECDHGMAES128, Version: 2,
	ParameterID: securityinfo.ParamBrainpoolP256r1, HasParameterID: true,
}

// New returns a fresh blank chip with the given serial.
func New(serial string) *vchip.Chip { return vchip.New(serial, vchip.Options{}) }

// Issue personalizes the blank chip on t: key generation, files, access keys, lock.
func Issue(ctx context.Context, t apdu.Transmitter, p Profile) (*Card, error) {
	rnd := p.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	can := p.CAN
	if can == "" {
		can = CAN
	}
	serial, err := perso.Serial(ctx, t)
	if err != nil {
		return nil, err
	}
	mrzInfo, err := bac.MRZInformation(DocumentNumber, DateOfBirth, DateOfExpiry)
	if err != nil {
		return nil, err
	}
	card := &Card{Serial: serial, MRZInfo: mrzInfo, CAN: can, Files: map[uint16][]byte{}}
	tags := []byte{0x61, 0x75, 0x63, 0x6D}
	if !p.NoDG14 {
		if card.CAPublic, err = perso.GenerateCAKey(ctx, t); err != nil {
			return nil, err
		}
		tags = append(tags, 0x6E)
	}
	if !p.NoDG15 {
		if card.AAPublic, err = perso.GenerateAAKey(ctx, t); err != nil {
			return nil, err
		}
		if p.SwapAAKey {
			if _, err = perso.GenerateAAKey(ctx, t); err != nil {
				return nil, err
			}
		}
		tags = append(tags, 0x6F)
	}
	if err := card.build(p, tags, rnd); err != nil {
		return nil, err
	}
	for _, fid := range card.order() {
		data := card.Files[fid]
		if err := perso.CreateFile(ctx, t, fid, len(data)); err != nil {
			return nil, err
		}
		if err := perso.WriteFile(ctx, t, fid, data); err != nil {
			return nil, err
		}
	}
	if p.NoCAN {
		card.CAN = ""
	}
	if err := perso.SetAccessKeys(ctx, t, perso.MRZKey([]byte(mrzInfo)), card.CAN); err != nil {
		return nil, err
	}
	if p.NoLock {
		return card, nil
	}
	return card, perso.Lock(ctx, t)
}

// order lists the FIDs in the order a station writes them.
func (c *Card) order() []uint16 {
	var out []uint16
	for _, fid := range []uint16{vchip.FIDCardAccess, vchip.FIDCOM, 0x0101, 0x0102, 0x0103, 0x010D, 0x010E, 0x010F, vchip.FIDSOD} {
		if _, ok := c.Files[fid]; ok {
			out = append(out, fid)
		}
	}
	return out
}

// build makes the file contents.
func (c *Card) build(p Profile, tags []byte, rnd io.Reader) error {
	if !p.NoPACE {
		ca, err := securityinfo.SecurityInfos{&PACEInfo}.Marshal()
		if err != nil {
			return err
		}
		c.Files[vchip.FIDCardAccess] = ca
	}
	com := tlv.Encode(0x5F01, []byte("0107"))
	com = append(com, tlv.Encode(0x5F36, []byte("040000"))...)
	com = append(com, tlv.Encode(0x5C, tags)...)
	c.Files[vchip.FIDCOM] = tlv.Encode(0x60, com)

	mrz := "IDVNM" + DocumentNumber + "0001234567890<<<<" + DateOfBirth + "2M" + DateOfExpiry + "3VNM<<<<<<<<<<<6" + "NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<"
	c.Files[0x0101] = tlv.Encode(0x61, tlv.Encode(0x5F1F, []byte(mrz)))

	size := p.DG2Size
	if size <= 0 {
		size = DefaultDG2Size
	}
	portrait := make([]byte, size)
	if _, err := io.ReadFull(rnd, portrait); err != nil {
		return fmt.Errorf("vchiptest: %w", err)
	}
	c.Files[0x0102] = tlv.Encode(0x75, tlv.Encode(0x7F61, append(tlv.Encode(0x02, []byte{1}), tlv.Encode(0x7F60, tlv.Encode(0x5F2E, portrait))...)))
	c.Files[0x0103] = tlv.Encode(0x63, tlv.Encode(0x7F61, tlv.Encode(0x02, []byte{0})))

	field := func(n byte, v string) []byte {
		return tlv.Encode(0x30, append(tlv.Encode(0x02, []byte{n}), tlv.Encode(0x0C, []byte(v))...))
	}
	var fields []byte
	for i, v := range []string{"001064012345", "Nguyễn Văn A", "12/08/1964", "Nam", "Việt Nam"} {
		fields = append(fields, field(byte(i+1), v)...)
	}
	dg13 := append(tlv.Encode(0x02, []byte{1}), 0x06, 0x06, 0x28, 0xD3, 0x16, 0x01, 0x00, 0x08)
	c.Files[0x010D] = tlv.Encode(0x6D, tlv.Encode(0x30, append(dg13, tlv.Encode(0x31, fields)...)))

	if !p.NoDG14 {
		infos := securityinfo.SecurityInfos{
			&PACEInfo,
			&securityinfo.ChipAuthenticationInfo{Protocol: securityinfo.OIDCAECDHAES128, Version: 1},
			&securityinfo.ChipAuthenticationPublicKeyInfo{Protocol: securityinfo.OIDPKECDH, PublicKey: c.CAPublic},
		}
		if !p.NoDG15 {
			infos = append(infos, &securityinfo.ActiveAuthenticationInfo{Version: 1, SignatureAlgorithm: securityinfo.OIDECDSAPlainSHA256})
		}
		der, err := infos.Marshal()
		if err != nil {
			return err
		}
		c.Files[0x010E] = tlv.Encode(0x6E, der)
	}
	if !p.NoDG15 {
		c.Files[0x010F] = tlv.Encode(0x6F, c.AAPublic)
	}
	sod := make([]byte, 1500)
	if _, err := io.ReadFull(rnd, sod); err != nil {
		return fmt.Errorf("vchiptest: %w", err)
	}
	c.Files[vchip.FIDSOD] = tlv.Encode(0x77, tlv.Encode(0x30, sod))
	return nil
}

// Clone writes the files and access keys of card to the blank chip on t and locks it, as
// a forger copying a genuine chip would: the copy generates its own key pairs, since a
// chip never gives out its private keys, so Chip Authentication (with DG14) or Active
// Authentication (without DG14) must fail on it.
func Clone(ctx context.Context, t apdu.Transmitter, card *Card) error {
	if card.CAPublic != nil {
		if _, err := perso.GenerateCAKey(ctx, t); err != nil {
			return err
		}
	}
	if card.AAPublic != nil {
		if _, err := perso.GenerateAAKey(ctx, t); err != nil {
			return err
		}
	}
	for _, fid := range card.order() {
		data := card.Files[fid]
		if err := perso.CreateFile(ctx, t, fid, len(data)); err != nil {
			return err
		}
		if err := perso.WriteFile(ctx, t, fid, data); err != nil {
			return err
		}
	}
	if err := perso.SetAccessKeys(ctx, t, perso.MRZKey([]byte(card.MRZInfo)), card.CAN); err != nil {
		return err
	}
	return perso.Lock(ctx, t)
}
