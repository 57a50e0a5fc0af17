package vchip

import (
	"bytes"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// home returns the DF an EF lives in under this profile's fixed layout: EF.CardAccess
// (and any other 011C-011F file outside the LDS range) in the MF, the rest in the eMRTD
// application (ICAO 9303-10 §3.10, figure 3).
func home(fid uint16) (inApp bool) {
	return fid != FIDCardAccess
}

// validFID reports whether fid may name an EF (ISO 7816-4 §7.1.1 reserves 3F00, FFFF).
func validFID(fid uint16) bool {
	return fid != FIDMF && fid != 0xFFFF && fid != 0x3FFF && fid != 0
}

// lookup finds an EF by FID in the current DF, then in its parent (ISO 7816-4 §7.1.1).
func (c *Chip) lookup(fid uint16) *file {
	if c.inApp {
		if f, ok := c.app[fid]; ok {
			return f
		}
	}
	return c.mf[fid]
}

// lookupSFI finds an EF by short EF identifier, in the current DF then its parent; in
// this profile an SFI is the low 5 bits of the FID (ICAO 9303-10 §3.6.2: 011C -> 1C,
// 0101 -> 01).
func (c *Chip) lookupSFI(sfi byte) (uint16, *file) {
	fid := 0x0100 | uint16(sfi)
	return fid, c.lookup(fid)
}

// accessible applies the access conditions of a locked chip (ICAO 9303-11 §4.2, §7):
// EF.CardAccess is free, eMRTD files need secure messaging, DG3 needs EAC.
func (c *Chip) accessible(fid uint16, secure bool) uint16 {
	if fid == FIDDG1+2 && c.locked {
		return apdu.SWSecurityNotSatisfied // DG3: Terminal Authentication is not offered
	}
	if !c.locked || !home(fid) {
		return apdu.SWOK
	}
	if !secure {
		return apdu.SWSecurityNotSatisfied
	}
	return apdu.SWOK
}

// selectFile implements SELECT (ISO 7816-4 §11.2.2).
func (c *Chip) selectFile(cmd apdu.Command) apdu.Response {
	switch cmd.P2 &^ 0x03 { // b2b1 = first/only occurrence only
	case 0x00, 0x04, 0x08, 0x0C:
	default:
		return sw(apdu.SWIncorrectP1P2)
	}
	if cmd.P2&0x03 != 0 {
		return sw(apdu.SWFuncNotSupported)
	}
	switch cmd.P1 {
	case 0x04: // by DF name
		if !bytes.Equal(cmd.Data, AID) {
			return sw(apdu.SWFileNotFound)
		}
		c.inApp, c.current = true, nil
		if cmd.P2 == 0x0C {
			return sw(apdu.SWOK)
		}
		return apdu.Response{Data: tlv.Encode(0x6F, tlv.Encode(0x84, AID)), SW: apdu.SWOK}
	case 0x00, 0x02:
		if cmd.P1 == 0x00 && (len(cmd.Data) == 0 || bytes.Equal(cmd.Data, []byte{0x3F, 0x00})) {
			if c.opts.SelectMFUnsupported {
				return sw(apdu.SWINSNotSupported)
			}
			c.inApp, c.current = false, nil
			if cmd.P2 == 0x0C {
				return sw(apdu.SWOK)
			}
			return apdu.Response{Data: tlv.Encode(0x62, tlv.Encode(0x82, []byte{0x38})), SW: apdu.SWOK}
		}
		if len(cmd.Data) != 2 {
			return sw(apdu.SWWrongLength)
		}
		fid := uint16(cmd.Data[0])<<8 | uint16(cmd.Data[1])
		var f *file
		if cmd.P1 == 0x02 && !c.inApp {
			f = c.mf[fid]
		} else {
			f = c.lookup(fid)
		}
		if f == nil {
			return sw(apdu.SWFileNotFound)
		}
		c.current = f
		if cmd.P2 == 0x0C {
			return sw(apdu.SWOK)
		}
		return apdu.Response{Data: fcp(fid, f.size), SW: apdu.SWOK}
	}
	return sw(apdu.SWIncorrectP1P2)
}

// fcp returns the file control parameters of a transparent EF (ISO 7816-4 §7.4).
func fcp(fid uint16, size int) []byte {
	var v []byte
	v = append(v, tlv.Encode(0x80, []byte{byte(size >> 8), byte(size)})...)
	v = append(v, tlv.Encode(0x82, []byte{0x01})...)
	v = append(v, tlv.Encode(0x83, []byte{byte(fid >> 8), byte(fid)})...)
	return tlv.Encode(0x62, v)
}

// fidOf returns the FID of an EF held by the chip.
func (c *Chip) fidOf(f *file) uint16 {
	for fid, g := range c.app {
		if g == f {
			return fid
		}
	}
	for fid, g := range c.mf {
		if g == f {
			return fid
		}
	}
	return 0
}

// readBinary implements READ BINARY, even INS with a 15-bit offset or an SFI in P1,
// and odd INS with an offset data object 54 answered inside 53 (ISO 7816-4 §11.3.3).
func (c *Chip) readBinary(cmd apdu.Command, secure bool) apdu.Response {
	f, fid, offset, status := c.target(cmd)
	if status != apdu.SWOK {
		return sw(status)
	}
	if s := c.accessible(fid, secure); s != apdu.SWOK {
		return sw(s)
	}
	if cmd.Ne == 0 {
		return sw(apdu.SWWrongLength)
	}
	if offset > f.size || (offset == f.size && f.size > 0) {
		return sw(apdu.SWWrongP1P2)
	}
	c.current = f
	n := cmd.Ne
	if cmd.INS == insReadBinaryOdd {
		n -= 4 // room for the 53 wrapper (tag, up to 3 length bytes)
		if n <= 0 {
			return sw(apdu.SWWrongLength)
		}
	}
	end := offset + n
	status = apdu.SWOK
	if end > f.size {
		end = f.size
		if cmd.Ne != apdu.MaxShortLe && cmd.Ne != apdu.MaxExtendedLe {
			status = apdu.SWEndOfFile
		}
	}
	data := append([]byte(nil), f.data[offset:end]...)
	if cmd.INS == insReadBinaryOdd {
		data = tlv.Encode(0x53, data)
	}
	return apdu.Response{Data: data, SW: status}
}

// target resolves the EF and offset of READ/UPDATE BINARY from P1-P2 and, for the
// odd INS, the offset data object 54.
func (c *Chip) target(cmd apdu.Command) (f *file, fid uint16, offset int, status uint16) {
	odd := cmd.INS&1 == 1
	if !odd {
		if cmd.P1&0x80 != 0 {
			if cmd.P1&0x60 != 0 {
				return nil, 0, 0, apdu.SWIncorrectP1P2
			}
			fid, f = c.lookupSFI(cmd.P1 & 0x1F)
			if f == nil {
				return nil, 0, 0, apdu.SWFileNotFound
			}
			return f, fid, int(cmd.P2), apdu.SWOK
		}
		if c.current == nil {
			return nil, 0, 0, apdu.SWCommandNotAllowed // no current EF
		}
		return c.current, c.fidOf(c.current), int(cmd.P1)<<8 | int(cmd.P2), apdu.SWOK
	}
	p := uint16(cmd.P1)<<8 | uint16(cmd.P2)
	switch {
	case p == 0:
		if c.current == nil {
			return nil, 0, 0, apdu.SWCommandNotAllowed
		}
		f, fid = c.current, c.fidOf(c.current)
	case p&0xFFE0 == 0 && p&0x1F != 0x1F:
		fid, f = c.lookupSFI(byte(p))
	default:
		fid, f = p, c.lookup(p)
	}
	if f == nil {
		return nil, 0, 0, apdu.SWFileNotFound
	}
	obj, _, err := firstObject(cmd.Data)
	if err != nil || obj.Tag != 0x54 || len(obj.Value) == 0 || len(obj.Value) > 3 {
		return nil, 0, 0, apdu.SWWrongData
	}
	for _, b := range obj.Value {
		offset = offset<<8 | int(b)
	}
	return f, fid, offset, apdu.SWOK
}

// firstObject decodes the first data object of b (no descent).
func firstObject(b []byte) (tlv.Object, []byte, error) {
	tag, v, rest, err := tlv.Next(b)
	if err != nil {
		return tlv.Object{}, nil, err
	}
	return tlv.Object{Tag: tag, Value: v}, rest, nil
}

// usedSpace is the sum of all file sizes.
func (c *Chip) usedSpace() int {
	n := 0
	for _, f := range c.mf {
		n += f.size
	}
	for _, f := range c.app {
		n += f.size
	}
	return n
}

// createFile implements CREATE FILE (ISO 7816-9 §8.1) for transparent EFs with an FCP
// template 62 { 80 size, [82 01 01], 83 FID }. The DF is implied by the FID (see home).
// A torn CREATE FILE completes: the file exists, empty.
func (c *Chip) createFile(cmd apdu.Command) apdu.Response {
	if c.locked {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	o, err := tlv.Decode(cmd.Data)
	if err != nil || o.Tag != 0x62 {
		return sw(apdu.SWWrongData)
	}
	sizeDO, ok1 := o.Find(0x80)
	fidDO, ok2 := o.Find(0x83)
	if !ok1 || !ok2 || len(fidDO.Value) != 2 || len(sizeDO.Value) == 0 || len(sizeDO.Value) > 2 {
		return sw(apdu.SWWrongData)
	}
	if d, ok := o.Find(0x82); ok && (len(d.Value) == 0 || d.Value[0] != 0x01) {
		return sw(apdu.SWFuncNotSupported) // only transparent EFs
	}
	fid := uint16(fidDO.Value[0])<<8 | uint16(fidDO.Value[1])
	size := 0
	for _, b := range sizeDO.Value {
		size = size<<8 | int(b)
	}
	if !validFID(fid) {
		return sw(apdu.SWWrongData)
	}
	dir := c.mf
	if home(fid) {
		dir = c.app
	}
	if _, exists := dir[fid]; exists {
		return sw(apdu.SWFileExists)
	}
	if c.usedSpace()+size > c.opts.Capacity {
		return sw(apdu.SWNotEnoughMemory)
	}
	c.slowWrite()
	f := &file{size: size, data: make([]byte, size)}
	dir[fid] = f
	c.inApp, c.current = home(fid), f
	return sw(apdu.SWOK)
}

// updateBinary implements UPDATE BINARY (ISO 7816-4 §11.3.5): even INS with a 15-bit
// offset or an SFI, odd INS with 54 offset and 53 data objects. A torn command
// writes only the first half of its data.
func (c *Chip) updateBinary(cmd apdu.Command, tear bool) apdu.Response {
	if c.locked {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	f, _, offset, status := c.target(cmd)
	if status != apdu.SWOK {
		return sw(status)
	}
	data := cmd.Data
	if cmd.INS == insUpdateBinaryOdd {
		_, rest, _ := firstObject(cmd.Data)
		o, tail, err := firstObject(rest)
		if err != nil || o.Tag != 0x53 || len(tail) != 0 {
			return sw(apdu.SWWrongData)
		}
		data = o.Value
	}
	if len(data) == 0 {
		return sw(apdu.SWWrongLength)
	}
	if offset >= f.size {
		return sw(apdu.SWWrongP1P2)
	}
	if offset+len(data) > f.size {
		return sw(apdu.SWNotEnoughMemory)
	}
	c.slowWrite()
	if tear {
		data = data[:len(data)/2]
	}
	copy(f.data[offset:], data)
	c.current = f
	return sw(apdu.SWOK)
}
