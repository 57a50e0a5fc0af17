package verify

import (
	"fmt"
	"time"

	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/smartcard/emrtd"
)

// OwnIssuer is the issuing State code of CCCD cards in DG1 (ICAO 9303-3): documents of any
// other issuer are read with the checks every eMRTD supports, and the CCCD-only checks
// (DG13, the issuance registry) are not applicable to them.
const OwnIssuer = "VNM"

// notApplicable records a CCCD-only check that does not apply to a foreign document: it
// never changes the verdict.
func (v *verification) notApplicable(check, detail string) {
	v.add(Finding{Check: check, OK: true, Skipped: true, NotApplicable: true, Detail: "not applicable: " + detail})
}

// issuer reads the issuing State from DG1 (TD1 or TD3) before the other checks, so that a
// foreign document is recognized; it returns the parsed DG1 or nil.
func (v *verification) issuer(doc *emrtd.Document) *lds.Document {
	if doc == nil || doc.DataGroups[1] == nil {
		return nil
	}
	d, err := lds.ParseDocumentDG1(doc.DataGroups[1])
	if err != nil {
		return nil
	}
	if v.foreign = d.Issuer != OwnIssuer; v.foreign {
		v.r.Issuer = d.Issuer
	}
	return &d
}

// foreignDocument checks what a document of another State offers beyond Passive
// Authentication and the clone checks (ICAO 9303-11 §5-6): DG1 and DG2 decode, the
// document has not expired; DG13 and the registry status are CCCD checks, not applicable.
func (v *verification) foreignDocument(doc *emrtd.Document, d *lds.Document) {
	if d == nil {
		v.fail(CheckDG1DG13, dgCode(CodeDGMalformed, 1), "DG1 is neither a TD1 nor a TD3 machine readable zone with valid check digits")
		return
	}
	v.r.Document = d
	v.r.Holder = &Holder{FullName: d.HolderName(), DateOfBirth: d.BirthDate, Sex: d.Sex, Nationality: d.Nationality,
		ExpiryDate: d.ExpiryDate, MRZ: d.MRZ}
	if b := doc.DataGroups[2]; b != nil {
		if face, err := lds.ParseDG2(b); err == nil {
			v.r.Portrait = face.JPEG
		} else {
			v.fail(CheckDG1DG13, dgCode(CodeDGMalformed, 2), "DG2: "+err.Error())
		}
	}
	v.notApplicable(CheckDG1DG13, fmt.Sprintf("DG13 (Vietnamese personal data) is a CCCD data group; this %s is issued by %s", d.Format, d.Issuer))
	exp, err := time.Parse("060102", d.ExpiryDate)
	if err != nil {
		v.fail(CheckExpiry, dgCode(CodeDGMalformed, 1), fmt.Sprintf("DG1 expiry date %q is not YYMMDD", d.ExpiryDate))
	} else if today := v.now().UTC().Format(time.DateOnly); today > exp.Format(time.DateOnly) {
		v.fail(CheckExpiry, CodeExpired, "the document expired on "+exp.Format(time.DateOnly))
	} else {
		v.pass(CheckExpiry, "valid until "+exp.Format(time.DateOnly))
	}
	v.notApplicable(CheckStatus, "the issuance registry holds CCCD cards only; this document is issued by "+d.Issuer)
	if v.opts.ExpectSerial != "" {
		v.fail(CheckSerial, CodeSerialMismatch, fmt.Sprintf("expected CCCD card %s, read a %s issued by %s", v.opts.ExpectSerial, d.Format, d.Issuer))
	}
}
