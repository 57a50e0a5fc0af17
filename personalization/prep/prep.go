// Package prep prepares the data of one card from an approved application: the
// TD1 machine readable zone, the access credentials (MRZ information for BAC/PACE,
// the CAN), the encoded data groups that do not depend on the chip (EF.COM, DG1,
// DG2, DG13) and the fields printed on the card face. The same Card drives the
// chip (package personalization/station) and the printed face, so the two can
// never disagree.
//
// Rules (REFERENCE.md §3-§5):
//
//   - document number = the last 9 digits of the 12-digit personal identification
//     number; line 1's optional data holds the full 12 digits;
//   - expiry = issuance.ExpiryDate(birth, issue); a card that never expires (issued
//     at 58 or later) has the expiry field "<<<<<<" in the MRZ (mrz.NoExpiry, check
//     digit 0), so BAC and PACE-MRZ still have a well-defined MRZ information, and
//     "Không thời hạn" in DG13 and on the face;
//   - CAN = the last 6 digits of the ID number;
//   - DG13 dates are dd/mm/yyyy, sex "Nam"/"Nữ", nationality "Việt Nam", field 16
//     the chip serial.
//
// The package is pure: no I/O.
package prep

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/mrz"
	"github.com/cccd-project/cccd/personalization/lds"
)

// ErrInvalid is wrapped by every error of Prepare: the application cannot be put on a card.
var ErrInvalid = errors.New("prep: application cannot be personalized")

// IssuingAuthority is printed on the 2024 card design (Circular 16/2024).
const IssuingAuthority = "Bộ Công an"

// DataGroups are the data groups a card of this project carries, in EF.COM order.
// DG3 (fingerprints, behind Extended Access Control) is not written: applications
// carry no fingerprints.
var DataGroups = []int{1, 2, 13, 14, 15}

// Card is everything one card carries, before the chip adds its own keys (DG14,
// DG15) and the Document Signer signs EF.SOD.
type Card struct {
	Serial string // chip serial, also DG13 field 16

	MRZ      mrz.TD1
	MRZLines [3]string // the three 30-character lines with check digits
	// BACSeedInfo is the MRZ information (document number, birth and expiry dates with
	// their check digits) from which BAC keys and the PACE MRZ password derive (ICAO
	// 9303-11 §9.7.3, §4.4.3.1).
	BACSeedInfo    string
	DocumentNumber string // 9 digits
	BirthYYMMDD    string
	ExpiryYYMMDD   string // mrz.NoExpiry when the card does not expire
	CAN            string // 6 digits (REFERENCE.md §5)

	IssueDate  issuance.Date
	ExpiryDate issuance.Date // zero when the card does not expire
	NoExpiry   bool

	DG13 lds.DG13
	Face lds.FaceImage

	// Encoded files (ICAO 9303-10 §4.6, §4.7).
	COM     []byte
	COMTags []byte // data group tags listed in EF.COM
	DG1     []byte
	DG2     []byte
	DG13Raw []byte

	Printed Printed
}

// Printed holds the fields of the card face (2024 design, Circular 16/2024) as plain
// strings, ready for a layout engine.
type Printed struct {
	IDNumber         string    `json:"id_number"`
	FullName         string    `json:"full_name"` // upper case, as printed
	DateOfBirth      string    `json:"date_of_birth"`
	Sex              string    `json:"sex"`
	Nationality      string    `json:"nationality"`
	PlaceOfOrigin    string    `json:"place_of_origin"`
	PlaceOfResidence string    `json:"place_of_residence"`
	IssueDate        string    `json:"issue_date"`
	ExpiryDate       string    `json:"expiry_date"` // dd/mm/yyyy or "Không thời hạn"
	IssuingAuthority string    `json:"issuing_authority"`
	Serial           string    `json:"serial"`
	MRZ              [3]string `json:"mrz"`
	// QR is the payload of the QR code (REFERENCE.md §3): ID|old ID|name|birth ddmmyyyy|sex|residence|issue ddmmyyyy.
	QR string `json:"qr"`
}

// Prepare builds the card for app issued on issue, written to the chip with serial.
// It validates only what the card needs; the application was validated at intake.
func Prepare(app issuance.Application, issue issuance.Date, serial string) (*Card, error) {
	p := app.Person
	switch {
	case len(p.IDNumber) != 12 || strings.Trim(p.IDNumber, "0123456789") != "":
		return nil, fmt.Errorf("%w: id_number %q is not 12 digits", ErrInvalid, p.IDNumber)
	case p.DateOfBirth.IsZero():
		return nil, fmt.Errorf("%w: date_of_birth missing", ErrInvalid)
	case issue.IsZero():
		return nil, fmt.Errorf("%w: issue date missing", ErrInvalid)
	case issue.Before(p.DateOfBirth):
		return nil, fmt.Errorf("%w: issue date %s before date_of_birth %s", ErrInvalid, issue, p.DateOfBirth)
	case p.Sex.Vietnamese() == "":
		return nil, fmt.Errorf("%w: sex %q is not M or F", ErrInvalid, p.Sex)
	case serial == "":
		return nil, fmt.Errorf("%w: chip serial missing", ErrInvalid)
	case len(app.Portrait) == 0:
		return nil, fmt.Errorf("%w: portrait missing", ErrInvalid)
	}
	c := &Card{Serial: serial, IssueDate: issue, CAN: p.IDNumber[6:], BirthYYMMDD: yymmdd(p.DateOfBirth)}
	expiry, ok := issuance.ExpiryDate(p.DateOfBirth, issue)
	c.NoExpiry = !ok
	expiryText := lds.NoExpiry
	c.ExpiryYYMMDD = mrz.NoExpiry
	if ok {
		c.ExpiryDate = expiry
		expiryText = expiry.DDMMYYYY()
		c.ExpiryYYMMDD = yymmdd(expiry)
	}

	// ICAO 9303-5 §4.2.2, REFERENCE.md §4.
	var err error
	if c.MRZ, err = mrz.NewVietnamese(p.IDNumber, p.FullName, string(p.Sex), c.BirthYYMMDD, c.ExpiryYYMMDD); err != nil {
		return nil, fmt.Errorf("%w: mrz: %w", ErrInvalid, err)
	}
	if c.MRZLines, err = c.MRZ.Lines(); err != nil {
		return nil, fmt.Errorf("%w: mrz: %w", ErrInvalid, err)
	}
	c.DocumentNumber = c.MRZ.DocumentNumber
	if c.BACSeedInfo = c.MRZ.BACSeedInfo(); c.BACSeedInfo == "" {
		return nil, fmt.Errorf("%w: mrz information", ErrInvalid)
	}

	nationality := p.Nationality
	if nationality == "" {
		nationality = issuance.Nationality
	}
	c.DG13 = lds.DG13{
		IDNumber: p.IDNumber, FullName: p.FullName, DateOfBirth: p.DateOfBirth.DDMMYYYY(), Sex: p.Sex.Vietnamese(),
		Nationality: nationality, Ethnicity: p.Ethnicity, Religion: p.Religion, PlaceOfOrigin: p.PlaceOfOrigin,
		PlaceOfResidence: p.PlaceOfResidence, IdentifyingFeatures: p.IdentifyingFeatures,
		IssueDate: issue.DDMMYYYY(), ExpiryDate: expiryText, Father: p.Father, Mother: p.Mother, Spouse: p.Spouse,
		PreviousIDNumber: p.PreviousIDNumber, CardSerial: serial,
	}
	if err := c.DG13.Validate(); err != nil {
		return nil, fmt.Errorf("%w: dg13: %w", ErrInvalid, err)
	}
	gender := lds.GenderMale
	if p.Sex == issuance.SexFemale {
		gender = lds.GenderFemale
	}
	c.Face = lds.FaceImage{JPEG: app.Portrait, ImageType: lds.ImageFullFrontal, ColourSpace: lds.ColourRGB24,
		SourceType: lds.SourceStaticDigital, Gender: gender, Expression: lds.ExpressionNeutral}

	if err := c.encode(); err != nil {
		return nil, err
	}
	c.Printed = Printed{
		IDNumber: p.IDNumber, FullName: strings.ToUpper(p.FullName), DateOfBirth: c.DG13.DateOfBirth, Sex: c.DG13.Sex,
		Nationality: nationality, PlaceOfOrigin: p.PlaceOfOrigin, PlaceOfResidence: p.PlaceOfResidence,
		IssueDate: c.DG13.IssueDate, ExpiryDate: expiryText, IssuingAuthority: IssuingAuthority, Serial: serial,
		MRZ: c.MRZLines,
		QR: strings.Join([]string{p.IDNumber, p.PreviousIDNumber, p.FullName, ddmmyyyy(p.DateOfBirth), c.DG13.Sex,
			p.PlaceOfResidence, ddmmyyyy(issue)}, "|"),
	}
	return c, nil
}

// encode fills the encoded files.
func (c *Card) encode() error {
	var err error
	if c.DG1, err = lds.EncodeDG1(c.MRZLines[0] + c.MRZLines[1] + c.MRZLines[2]); err != nil {
		return fmt.Errorf("%w: dg1: %w", ErrInvalid, err)
	}
	if c.DG2, err = lds.EncodeDG2(c.Face); err != nil {
		return fmt.Errorf("%w: dg2: %w", ErrInvalid, err)
	}
	if c.Face, err = lds.ParseDG2(c.DG2); err != nil { // Width and Height as taken from the JPEG
		return fmt.Errorf("%w: dg2: %w", ErrInvalid, err)
	}
	if c.DG13Raw, err = c.DG13.Encode(); err != nil {
		return fmt.Errorf("%w: dg13: %w", ErrInvalid, err)
	}
	com, err := lds.NewCOM(DataGroups...)
	if err != nil {
		return fmt.Errorf("%w: ef.com: %w", ErrInvalid, err)
	}
	c.COMTags = com.Tags
	if c.COM, err = com.Encode(); err != nil {
		return fmt.Errorf("%w: ef.com: %w", ErrInvalid, err)
	}
	return nil
}

// MRZText returns the 90 MRZ characters as stored in DG1 (the lines without breaks).
func (c *Card) MRZText() string { return c.MRZLines[0] + c.MRZLines[1] + c.MRZLines[2] }

// yymmdd formats a date for the MRZ (ICAO 9303-3 §4.7).
func yymmdd(d issuance.Date) string {
	return fmt.Sprintf("%02d%02d%02d", d.Year%100, int(d.Month), d.Day)
}

// ddmmyyyy formats a date for the QR payload.
func ddmmyyyy(d issuance.Date) string {
	return fmt.Sprintf("%02d%02d%04d", d.Day, int(d.Month), d.Year)
}
