package lds

import "fmt"

// File identifiers outside the data groups (ICAO 9303-10 §3.10, §4.6, §3.11.5).
const (
	FIDCardAccess uint16 = 0x011C // EF.CardAccess, in the master file
	FIDSOD        uint16 = 0x011D // EF.SOD
	FIDCOM        uint16 = 0x011E // EF.COM
)

// Tags of the files' outer data objects (ICAO 9303-10 §4.6, Table 33).
const (
	TagCOM byte = 0x60
	TagSOD byte = 0x77
)

// File describes one elementary file of the eMRTD application.
type File struct {
	Name      string // "EF.COM", "DG1", ...
	DataGroup int    // 1..16 for a data group, 0 otherwise
	FID       uint16 // file identifier for SELECT
	SFI       byte   // short EF identifier for READ BINARY with P1 bit 8 set
	Tag       byte   // outer tag; 0 for EF.CardAccess, which has none
}

// dgTags are the outer tags of DG1..DG16 (ICAO 9303-10 §4.6.1, Table 33).
var dgTags = [17]byte{0, 0x61, 0x75, 0x63, 0x76, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70}

// Files returns every file of the application in a stable order: EF.CardAccess, EF.COM,
// EF.SOD, then DG1 to DG16 (FID 0101..0110, SFI 01..10).
func Files() []File {
	out := []File{
		{Name: "EF.CardAccess", FID: FIDCardAccess, SFI: 0x1C},
		{Name: "EF.COM", FID: FIDCOM, SFI: 0x1E, Tag: TagCOM},
		{Name: "EF.SOD", FID: FIDSOD, SFI: 0x1D, Tag: TagSOD},
	}
	for n := 1; n <= 16; n++ {
		out = append(out, File{Name: fmt.Sprintf("DG%d", n), DataGroup: n, FID: 0x0100 + uint16(n), SFI: byte(n), Tag: dgTags[n]})
	}
	return out
}

// DataGroupFile returns the file of data group n (1..16).
func DataGroupFile(n int) (File, error) {
	if n < 1 || n > 16 {
		return File{}, invalid("data group %d out of range 1..16", n)
	}
	return Files()[2+n], nil
}

// DataGroupByTag returns the data group number whose outer tag is tag (0x61 -> 1, 0x75 -> 2, ...).
func DataGroupByTag(tag byte) (int, error) {
	for n := 1; n <= 16; n++ {
		if dgTags[n] == tag {
			return n, nil
		}
	}
	return 0, invalid("tag %02X is not a data group tag", tag)
}

// DataGroupByFID returns the data group number stored in file fid (0x0101 -> 1 ... 0x0110 -> 16).
func DataGroupByFID(fid uint16) (int, error) {
	if fid < 0x0101 || fid > 0x0110 {
		return 0, invalid("file %04X is not a data group", fid)
	}
	return int(fid - 0x0100), nil
}
