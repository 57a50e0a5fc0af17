// Package verify is the counter verifier of CCCD chip identity cards: it reads a card
// and decides whether it is genuine, with a precise reason when it is not.
//
// Verify runs, on one apdu.Transmitter:
//
//  1. the read of package smartcard/emrtd: PACE (CAN or MRZ) with BAC fallback, every
//     data group EF.COM lists, Chip Authentication with DG14 (ICAO 9303-11 §6.2) and
//     Active Authentication with DG15 (§6.1): the two clone checks;
//  2. Passive Authentication (ICAO 9303-11 §5.1, package personalization/passive): the
//     EF.SOD signature, its Document Signer against the trust store (CSCAs, imported
//     master lists, CRLs) and the hash of every data group read;
//  3. completeness: every data group EF.SOD lists must have been read. A chip, or an
//     attacker on the radio link, can hide DG14 or DG15 (a plain 6A82, or an EF.COM
//     without it) to skip the clone checks; only DG3 (fingerprints, refused with 6982
//     behind Extended Access Control) may stay unread;
//  4. consistency of DG1 (MRZ) with DG13 (Vietnamese personal data), and expiry;
//  5. when a StatusSource is given, the card's status in the issuance registry:
//     card-revoked (revoked, reported lost or stolen, replaced, destroyed) or
//     card-not-issued (printed, in transit or at the office, never handed over), each
//     with the date its state began.
//
// Certificates are judged by the shell model for cards that expire and by the chain
// model for cards that do not (model.go); Options.Now sets the date judged at, past or
// future (`cccd verify --at`), and the report states it.
//
// The outcome is a Report: a Verdict (Genuine, NotGenuine, Unreadable), one Finding per
// check with a stable failure code ("sod-unknown-signer", "ds-revoked",
// "dg-hash-mismatch:DG13", "dg1-dg13-mismatch", "clone-aa-failed", "card-expired",
// "card-revoked", "card-not-issued", "dg-missing:DG15", ...), the holder's data, the portrait and the
// timing of every step.
//
// The package holds no private keys and knows no database or message broker: the
// registry is reached through the StatusSource interface the caller implements.
package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/passive"
	"github.com/cccd-project/cccd/personalization/sod"
	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/emrtd"
)

// Verdict is the outcome of a verification.
type Verdict string

// Verdicts.
const (
	// Genuine: every check passed.
	Genuine Verdict = "genuine"
	// NotGenuine: the card was read and at least one check failed (forged, altered,
	// cloned, expired or revoked card).
	NotGenuine Verdict = "not-genuine"
	// Unreadable: the card could not be read (wrong CAN or MRZ, card removed, reader
	// error): nothing can be said about it.
	Unreadable Verdict = "unreadable"
)

// ExitCode is the process exit code of a verdict: 0 genuine, 1 not genuine, 2 could
// not read.
func (v Verdict) ExitCode() int {
	switch v {
	case Genuine:
		return 0
	case NotGenuine:
		return 1
	}
	return 2
}

// Checks, the Finding.Check values.
const (
	CheckRead      = "read"
	CheckPassive   = "passive-authentication"
	CheckComplete  = "data-groups"
	CheckChipAuth  = "chip-authentication"
	CheckActive    = "active-authentication"
	CheckDG1DG13   = "dg1-dg13"
	CheckExpiry    = "expiry"
	CheckStatus    = "card-status"
	CheckSerial    = "serial"
	CheckConfig    = "config"
	checkCloneTest = "clone-check"
)

// Failure codes (Finding.Code). Codes for one data group end in ":DGn".
const (
	CodeAccessDenied     = "access-denied"  // wrong CAN or MRZ data
	CodeNoCredentials    = "no-credentials" // no CAN or MRZ data usable with this chip
	CodeCardRemoved      = "card-removed"   // the card left the field
	CodeReadFailed       = "read-failed"    // a reader or chip error
	CodeMalformed        = "malformed-data" // a file of the chip is not well formed
	CodeSODMalformed     = "sod-malformed"  // EF.SOD does not parse
	CodeSODSignature     = "sod-signature-invalid"
	CodeUnknownSigner    = "sod-unknown-signer" // Document Signer not issued by a trusted CSCA
	CodeDSRevoked        = "ds-revoked"         // Document Signer on its CSCA's CRL
	CodeDSExpired        = "ds-expired"         // Document Signer or CSCA not valid now
	CodeDSProfile        = "ds-profile"         // Document Signer may not sign this document (keyUsage, DocumentTypeList)
	CodeHashMismatch     = "dg-hash-mismatch"   // + ":DGn": data group altered after signing
	CodeNotInSOD         = "dg-not-in-sod"      // + ":DGn": data group the SOD does not cover
	CodeMissing          = "dg-missing"         // + ":DGn": listed in EF.SOD but not read
	CodeCloneCA          = "clone-ca-failed"    // Chip Authentication failed
	CodeCloneAA          = "clone-aa-failed"    // Active Authentication failed
	CodeNoCloneCheck     = "clone-check-absent" // neither DG14 nor DG15: no clone check possible
	CodeDG1DG13          = "dg1-dg13-mismatch"
	CodeDGMalformed      = "dg-malformed" // + ":DGn"
	CodeExpired          = "card-expired"
	CodeRevoked          = "card-revoked"           // lost, stolen, replaced, revoked or destroyed at production
	CodeNotIssued        = "card-not-issued"        // made but never handed over: printed, in transit, at the office
	CodeUnknownCard      = "card-unknown"           // the registry has no card with this serial
	CodeRegistryMismatch = "card-registry-mismatch" // the registry binds the serial to another person
	CodeSerialMismatch   = "serial-mismatch"        // not the card expected (hand-over)
	CodeConfig           = "config"
)

// Finding is the outcome of one check.
type Finding struct {
	Check   string `json:"check"`
	OK      bool   `json:"ok"`
	Skipped bool   `json:"skipped,omitempty"` // not run (e.g. registry unreachable); does not change the verdict
	// NotApplicable: a CCCD-only check (DG13, registry status) on a document of another
	// State; Skipped is also set.
	NotApplicable bool   `json:"not_applicable,omitempty"`
	Code          string `json:"code,omitempty"` // failure code when !OK
	Detail        string `json:"detail"`
}

// Step is one timed step of a verification.
type Step struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration_ns"`
}

// Holder is the holder's data from DG13 (REFERENCE.md §5) and DG1.
type Holder struct {
	IDNumber            string `json:"id_number"`
	FullName            string `json:"full_name"`
	DateOfBirth         string `json:"date_of_birth"`
	Sex                 string `json:"sex"`
	Nationality         string `json:"nationality"`
	Ethnicity           string `json:"ethnicity,omitempty"`
	Religion            string `json:"religion,omitempty"`
	PlaceOfOrigin       string `json:"place_of_origin,omitempty"`
	PlaceOfResidence    string `json:"place_of_residence,omitempty"`
	IdentifyingFeatures string `json:"identifying_features,omitempty"`
	IssueDate           string `json:"issue_date"`
	ExpiryDate          string `json:"expiry_date"`
	Father              string `json:"father,omitempty"`
	Mother              string `json:"mother,omitempty"`
	Spouse              string `json:"spouse,omitempty"`
	PreviousIDNumber    string `json:"previous_id_number,omitempty"`
	MRZ                 string `json:"mrz"` // DG1, 90 characters
}

// Report is the result of Verify.
type Report struct {
	Verdict Verdict   `json:"verdict"`
	Code    string    `json:"code,omitempty"` // the first failure code; empty when genuine
	Reasons []Finding `json:"reasons"`
	Access  string    `json:"access,omitempty"` // PACE-CAN, PACE-MRZ or BAC
	Serial  string    `json:"serial,omitempty"` // card serial (DG13 field 16)
	Holder  *Holder   `json:"holder,omitempty"`
	// Issuer is the issuing State in DG1 of a document of another State (empty for a CCCD
	// card: see OwnIssuer), and Document that document's DG1.
	Issuer   string        `json:"issuer,omitempty"`
	Document *lds.Document `json:"document,omitempty"`
	Portrait []byte        `json:"-"` // DG2's JPEG
	// DocumentSigner and CSCA are the subjects of the certificates of Passive Authentication.
	DocumentSigner string `json:"document_signer,omitempty"`
	CSCA           string `json:"csca,omitempty"`
	// JudgedAt is the time the card was judged at (Options.Now: today, or `cccd verify --at`).
	JudgedAt time.Time `json:"judged_at"`
	// ValidationModel is how the certificates were judged (ModelShell or ModelChain, see
	// model.go), ModelDetail what that meant for this card.
	ValidationModel string        `json:"validation_model,omitempty"`
	ModelDetail     string        `json:"model_detail,omitempty"`
	Steps           []Step        `json:"steps"`
	Total           time.Duration `json:"total_ns"`
}

// Failures returns the findings that failed.
func (r *Report) Failures() []Finding {
	var out []Finding
	for _, f := range r.Reasons {
		if !f.OK && !f.Skipped {
			out = append(out, f)
		}
	}
	return out
}

// ErrNotGenuine and ErrUnreadable are the errors of Report.Err.
var (
	ErrNotGenuine = errors.New("verify: card is not genuine")
	ErrUnreadable = errors.New("verify: card could not be read")
)

// Err returns nil for a genuine card, else an error wrapping ErrNotGenuine or
// ErrUnreadable that names every failed check.
func (r *Report) Err() error {
	if r.Verdict == Genuine {
		return nil
	}
	var why []string
	for _, f := range r.Failures() {
		why = append(why, f.Code+" ("+f.Detail+")")
	}
	sentinel := ErrNotGenuine
	if r.Verdict == Unreadable {
		sentinel = ErrUnreadable
	}
	return fmt.Errorf("%w: %s", sentinel, strings.Join(why, "; "))
}

// Status is a card's status in the issuance registry.
type Status struct {
	Known     bool      `json:"known"`                // the registry has a card with this serial
	Revoked   bool      `json:"revoked"`              // revoked, reported lost or stolen, replaced, destroyed
	NotIssued bool      `json:"not_issued,omitempty"` // made but not handed over yet (printed, in transit, at the office)
	Reason    string    `json:"reason,omitempty"`     // why it is revoked (lost, stolen, damaged, ...) or where it is (printed, dispatched, in_stock)
	Since     time.Time `json:"since,omitzero"`       // when that state began
	IDNumber  string    `json:"id_number,omitempty"`  // the personal identification number the card was made for
	AtOffice  bool      `json:"at_office,omitempty"`  // not issued, waiting at the receiving office for its hand-over
	// WrongHolder: the registry made the card for another ID number than the chip's (a
	// source that discloses no personal data says so instead of giving IDNumber).
	WrongHolder bool `json:"wrong_holder,omitempty"`
}

// StatusSource tells the status of a card in the issuance registry. Its error means the
// registry could not be asked (the check is then skipped, not failed).
type StatusSource interface {
	CardStatus(ctx context.Context, serial, idNumber string) (Status, error)
}

// TrustStore is the trust store of Passive Authentication (*trust.Store implements it).
type TrustStore = passive.TrustStore

// Options configure a verification. Trust is required.
type Options struct {
	Trust TrustStore
	// Status, when set, is asked for the card's registry status.
	Status StatusSource
	// ExpectSerial, when set, is the serial the card must carry (hand-over of the card
	// made for a receipt).
	ExpectSerial string
	// Now is the clock (time.Now when nil): certificate validity and card expiry.
	Now func() time.Time
	// Read tunes the chip read.
	Read emrtd.Options
}

// Validate checks the options.
func (o Options) Validate() error {
	if o.Trust == nil {
		return errors.New("verify: no trust store: Options.Trust is required")
	}
	return nil
}

// verification is the state of one Verify.
type verification struct {
	opts Options
	// complete: every file EF.COM lists was read (the read succeeded, or failed only in
	// Active Authentication, its last step), so an unread data group is a hidden one.
	complete bool
	foreign  bool // DG1 names another issuing State than OwnIssuer
	r        *Report
	last     time.Time
	start    time.Time
}

func (v *verification) add(f Finding) { v.r.Reasons = append(v.r.Reasons, f) }

func (v *verification) pass(check, detail string) {
	v.add(Finding{Check: check, OK: true, Detail: detail})
}

func (v *verification) fail(check, code, detail string) {
	v.add(Finding{Check: check, Code: code, Detail: detail})
}

// step records the time since the last step under name.
func (v *verification) step(name string) {
	now := time.Now()
	v.r.Steps = append(v.r.Steps, Step{Name: name, Duration: now.Sub(v.last)})
	v.last = now
}

// Verify reads the card on t with creds and checks it (see the package documentation).
// It never returns an error: every outcome, a reader failure included, is in the Report.
func Verify(ctx context.Context, t apdu.Transmitter, creds emrtd.Credentials, opts Options) Report {
	start := time.Now()
	v := &verification{opts: opts, r: &Report{}, last: start, start: start}
	v.r.JudgedAt = v.now()
	defer func() { v.r.Total = time.Since(start) }()
	if err := opts.Validate(); err != nil {
		v.fail(CheckConfig, CodeConfig, err.Error())
		v.r.Verdict, v.r.Code = Unreadable, CodeConfig
		v.r.Total = time.Since(start)
		return *v.r
	}
	doc, readErr := emrtd.Read(ctx, t, creds, opts.Read)
	if doc != nil {
		v.r.Access = doc.Access
		for _, s := range doc.Steps {
			v.r.Steps = append(v.r.Steps, Step{Name: s.Name, Duration: s.Duration})
		}
	}
	v.last = time.Now()
	v.complete = readErr == nil || errors.Is(readErr, emrtd.ErrActiveAuthentication)
	v.run(ctx, doc, readErr)
	v.finish()
	v.r.Total = time.Since(start)
	return *v.r
}

// run does every check on what was read.
func (v *verification) run(ctx context.Context, doc *emrtd.Document, readErr error) {
	if !v.readOutcome(doc, readErr) {
		return // nothing more can be said
	}
	if doc.SOD == nil {
		if errors.Is(readErr, emrtd.ErrChipAuthentication) {
			v.cloneChecks(doc, readErr) // EF.SOD is read after Chip Authentication
		}
		return
	}
	dg1 := v.issuer(doc)
	v.passive(doc)
	v.step("passive authentication")
	v.cloneChecks(doc, readErr)
	if readErr != nil && !errors.Is(readErr, emrtd.ErrActiveAuthentication) {
		return
	}
	if v.foreign {
		v.foreignDocument(doc, dg1)
		v.step("consistency checks")
		return
	}
	dg13 := v.consistency(doc)
	v.expiry(dg13)
	v.serial(dg13)
	v.step("consistency checks")
	switch {
	case dg13 == nil:
	case v.opts.Status == nil:
		v.add(Finding{Check: CheckStatus, OK: true, Skipped: true, Detail: "no issuance registry given: revocation not checked"})
	default:
		v.status(ctx, dg13)
		v.step("card status")
	}
}

// finish sets the verdict from the findings.
func (v *verification) finish() {
	v.r.Verdict = Genuine
	for _, f := range v.r.Reasons {
		if f.OK || f.Skipped {
			continue
		}
		if v.r.Code == "" {
			v.r.Code = f.Code
		}
		if f.Check == CheckRead && unreadableCode(f.Code) {
			v.r.Verdict = Unreadable
			continue
		}
		if v.r.Verdict == Genuine {
			v.r.Verdict = NotGenuine
		}
	}
	// A definite sign of forgery found in what was read outranks an incomplete read.
	if v.r.Verdict == Unreadable {
		for _, f := range v.r.Failures() {
			if f.Check != CheckRead {
				v.r.Verdict, v.r.Code = NotGenuine, f.Code
				break
			}
		}
	}
}

func unreadableCode(code string) bool {
	switch code {
	case CodeAccessDenied, CodeNoCredentials, CodeCardRemoved, CodeReadFailed:
		return true
	}
	return false
}

// readOutcome records the read as a finding. It returns false when nothing was read
// that the other checks could use.
func (v *verification) readOutcome(doc *emrtd.Document, err error) bool {
	if err == nil {
		v.pass(CheckRead, fmt.Sprintf("read with %s: %d data groups", doc.Access, len(doc.DataGroups)))
		return true
	}
	var se *emrtd.StepError
	step := "read"
	if errors.As(err, &se) {
		step = se.Step
	}
	switch {
	case errors.Is(err, emrtd.ErrChipAuthentication):
		// Reported by cloneChecks, with what Passive Authentication says about DG14.
		return doc != nil
	case errors.Is(err, emrtd.ErrActiveAuthentication):
		return doc != nil
	case errors.Is(err, emrtd.ErrCardRemoved):
		v.fail(CheckRead, CodeCardRemoved, "the card left the reader during "+step+"; hold it still and try again")
		return false
	case errors.Is(err, emrtd.ErrAccessDenied):
		v.fail(CheckRead, CodeAccessDenied, "the chip refused the CAN or MRZ data; check the 6-digit CAN printed on the card")
		return false
	case errors.Is(err, emrtd.ErrNoCredentials):
		v.fail(CheckRead, CodeNoCredentials, err.Error())
		return false
	case errors.Is(err, emrtd.ErrMalformed):
		v.fail(CheckRead, CodeMalformed, step+": "+err.Error())
		return doc != nil
	}
	if n, ok := dgOfStep(step); ok && errors.Is(err, apdu.StatusError{SW: apdu.SWFileNotFound}) {
		// EF.COM lists the data group, the chip denies having it: data hidden from the reader.
		v.fail(CheckComplete, dgCode(CodeMissing, n), fmt.Sprintf("EF.COM lists DG%d but the chip answers 'file not found' (6A82)", n))
		return false
	}
	v.fail(CheckRead, CodeReadFailed, err.Error())
	return false
}

// dgOfStep returns n for an emrtd step "read DGn".
func dgOfStep(step string) (int, bool) {
	var n int
	if _, err := fmt.Sscanf(step, "read DG%d", &n); err != nil || n < 1 || n > 16 {
		return 0, false
	}
	return n, true
}

func dgCode(code string, n int) string { return fmt.Sprintf("%s:DG%d", code, n) }

// passive performs Passive Authentication (ICAO 9303-11 §5.1) and the completeness check.
func (v *verification) passive(doc *emrtd.Document) {
	res, err := v.passiveAt(doc, v.now())
	if res != nil {
		v.r.DocumentSigner, v.r.CSCA = res.DSSubject, res.CSCASubject
	}
	switch {
	case err == nil:
		v.pass(CheckPassive, fmt.Sprintf("EF.SOD signed by %s, issued by trusted CSCA %s; %s", res.DSSubject, res.CSCASubject, v.r.ModelDetail))
	case errors.Is(err, passive.ErrSOD):
		v.fail(CheckPassive, CodeSODMalformed, err.Error())
	case errors.Is(err, passive.ErrSignature):
		v.fail(CheckPassive, CodeSODSignature, "the EF.SOD signature does not verify with its Document Signer certificate")
	case errors.Is(err, passive.ErrUnknownSigner):
		v.fail(CheckPassive, CodeUnknownSigner, fmt.Sprintf("Document Signer %s is not issued by any trusted CSCA (issuer %s)",
			res.DSSubject, issuerOf(res)))
	case errors.Is(err, passive.ErrRevoked):
		v.fail(CheckPassive, CodeDSRevoked, fmt.Sprintf("Document Signer %s is revoked by its CSCA's CRL", res.DSSubject))
	case errors.Is(err, passive.ErrExpired):
		v.fail(CheckPassive, CodeDSExpired, err.Error())
	case errors.Is(err, passive.ErrSignerProfile):
		v.fail(CheckPassive, CodeDSProfile, err.Error())
	case errors.Is(err, passive.ErrDataGroupHash), errors.Is(err, passive.ErrNotInSOD):
		v.pass(CheckPassive, fmt.Sprintf("EF.SOD signed by %s, issued by trusted CSCA %s", res.DSSubject, res.CSCASubject))
	default:
		v.fail(CheckPassive, CodeSODMalformed, err.Error())
	}
	if res == nil {
		return
	}
	denied := map[int]bool{}
	for _, n := range doc.Denied {
		denied[n] = true
	}
	ok := true
	for _, d := range res.DataGroups {
		switch d.Status {
		case passive.HashMismatch:
			ok = false
			v.fail(CheckComplete, dgCode(CodeHashMismatch, d.Number),
				fmt.Sprintf("DG%d differs from the hash the Document Signer signed: altered after issue", d.Number))
		case passive.NotInSOD:
			ok = false
			v.fail(CheckComplete, dgCode(CodeNotInSOD, d.Number), fmt.Sprintf("DG%d is on the chip but EF.SOD has no hash for it", d.Number))
		case passive.NotRead:
			if d.Number == 3 && denied[3] || !v.complete {
				continue // fingerprints behind Extended Access Control; or a read cut short (reported by CheckRead)
			}
			ok = false
			v.fail(CheckComplete, dgCode(CodeMissing, d.Number),
				fmt.Sprintf("EF.SOD lists DG%d but it was not read (hidden from the reader)", d.Number))
		}
	}
	if ok {
		v.pass(CheckComplete, fmt.Sprintf("%d data groups match EF.SOD", countValid(res)))
	}
}

func countValid(res *passive.Result) int {
	n := 0
	for _, d := range res.DataGroups {
		if d.Status == passive.Valid {
			n++
		}
	}
	return n
}

func issuerOf(res *passive.Result) string {
	if res.DocumentSigner == nil {
		return "unknown"
	}
	return res.DocumentSigner.Issuer.String()
}

// cloneChecks reports Chip Authentication and Active Authentication (ICAO 9303-11 §6).
// A data group EF.SOD lists must have been used: DG14 -> CA done, DG15 -> AA done.
func (v *verification) cloneChecks(doc *emrtd.Document, readErr error) {
	listed := sodLists(doc.SOD)
	switch {
	case errors.Is(readErr, emrtd.ErrChipAuthentication):
		v.fail(CheckChipAuth, CodeCloneCA, "the chip does not hold the Chip Authentication private key of DG14: cloned chip")
	case doc.ChipAuthenticated:
		v.pass(CheckChipAuth, "the chip proved its DG14 key (secure messaging restarted with Chip Authentication keys)")
	case listed[14]:
		v.fail(CheckChipAuth, dgCode(CodeMissing, 14), "EF.SOD lists DG14 but Chip Authentication was not performed")
	}
	switch {
	case errors.Is(readErr, emrtd.ErrActiveAuthentication):
		v.fail(CheckActive, CodeCloneAA, "the chip's signature of the challenge does not verify with DG15: cloned chip")
	case doc.ActiveAuthenticated:
		v.pass(CheckActive, "the chip signed a fresh challenge with its DG15 key")
	case listed[15] && readErr == nil:
		v.fail(CheckActive, dgCode(CodeMissing, 15), "EF.SOD lists DG15 but Active Authentication was not performed")
	}
	if !listed[14] && !listed[15] && readErr == nil && v.foreign {
		v.add(Finding{Check: checkCloneTest, OK: true, Skipped: true,
			Detail: "this document offers neither Chip Authentication nor Active Authentication (optional in ICAO 9303-11 §6)"})
	} else if !listed[14] && !listed[15] && readErr == nil {
		v.fail(checkCloneTest, CodeNoCloneCheck, "EF.SOD lists neither DG14 nor DG15: the chip cannot prove it is not a copy")
	}
}

// sodLists returns the data groups EF.SOD has hashes for (an empty set if it does not parse).
func sodLists(efSOD []byte) map[int]bool {
	out := map[int]bool{}
	s, err := sod.Parse(efSOD)
	if err != nil {
		return out
	}
	for _, d := range s.LDSSecurityObject.DataGroupHashes {
		out[d.Number] = true
	}
	return out
}

func (v *verification) now() time.Time {
	if v.opts.Now != nil {
		return v.opts.Now()
	}
	return time.Now()
}

// consistency parses DG1, DG2 and DG13, fills the holder, the serial and the portrait
// and compares DG1 with DG13. It returns DG13 (nil if it did not parse).
func (v *verification) consistency(doc *emrtd.Document) *lds.DG13 {
	if b := doc.DataGroups[2]; b != nil {
		if face, err := lds.ParseDG2(b); err == nil {
			v.r.Portrait = face.JPEG
		} else {
			v.fail(CheckDG1DG13, dgCode(CodeDGMalformed, 2), "DG2: "+err.Error())
		}
	}
	dg1, err1 := lds.ParseDG1(doc.DataGroups[1])
	if err1 != nil {
		v.fail(CheckDG1DG13, dgCode(CodeDGMalformed, 1), "DG1: "+err1.Error())
	}
	dg13, err13 := lds.ParseDG13(doc.DataGroups[13])
	if err13 != nil {
		v.fail(CheckDG1DG13, dgCode(CodeDGMalformed, 13), "DG13: "+err13.Error())
	}
	if err1 != nil || err13 != nil {
		return nil
	}
	v.r.Serial = dg13.CardSerial
	v.r.Holder = holderOf(dg13, dg1.MRZ)
	if diff := Compare(dg1, dg13); len(diff) > 0 {
		v.fail(CheckDG1DG13, CodeDG1DG13, "DG1 (MRZ) and DG13 disagree on "+strings.Join(diff, ", "))
	} else {
		v.pass(CheckDG1DG13, "MRZ and personal data agree (ID number, name, birth date, sex, expiry)")
	}
	return &dg13
}

func holderOf(d lds.DG13, mrzText string) *Holder {
	return &Holder{IDNumber: d.IDNumber, FullName: d.FullName, DateOfBirth: d.DateOfBirth, Sex: d.Sex,
		Nationality: d.Nationality, Ethnicity: d.Ethnicity, Religion: d.Religion, PlaceOfOrigin: d.PlaceOfOrigin,
		PlaceOfResidence: d.PlaceOfResidence, IdentifyingFeatures: d.IdentifyingFeatures, IssueDate: d.IssueDate,
		ExpiryDate: d.ExpiryDate, Father: d.Father, Mother: d.Mother, Spouse: d.Spouse,
		PreviousIDNumber: d.PreviousIDNumber, MRZ: mrzText}
}

// expiry checks the card's expiry date (DG13 field 12) against today in Vietnam.
func (v *verification) expiry(dg13 *lds.DG13) {
	if dg13 == nil {
		return
	}
	if dg13.ExpiryDate == lds.NoExpiry {
		v.pass(CheckExpiry, "the card does not expire")
		return
	}
	exp, err := time.ParseInLocation("02/01/2006", dg13.ExpiryDate, ict)
	if err != nil {
		v.fail(CheckExpiry, dgCode(CodeDGMalformed, 13), fmt.Sprintf("DG13 expiry date %q is not dd/mm/yyyy", dg13.ExpiryDate))
		return
	}
	today := v.now().In(ict)
	if today.Format(time.DateOnly) > exp.Format(time.DateOnly) {
		v.fail(CheckExpiry, CodeExpired, "the card expired on "+dg13.ExpiryDate)
		return
	}
	v.pass(CheckExpiry, "valid until "+dg13.ExpiryDate)
}

// since says when a registry state began, if known.
func since(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return " since " + t.In(ict).Format(time.DateOnly)
}

// ict is Vietnam's time zone: a card is valid through its expiry day, local time.
var ict = time.FixedZone("ICT", 7*3600)

// serial checks the card against the expected serial (hand-over).
func (v *verification) serial(dg13 *lds.DG13) {
	if v.opts.ExpectSerial == "" || dg13 == nil {
		return
	}
	if dg13.CardSerial != v.opts.ExpectSerial {
		v.fail(CheckSerial, CodeSerialMismatch, fmt.Sprintf("card serial %q, expected %q: this is not the card made for this application",
			dg13.CardSerial, v.opts.ExpectSerial))
		return
	}
	v.pass(CheckSerial, "the card made for this application ("+dg13.CardSerial+")")
}

// status asks the registry about the card.
func (v *verification) status(ctx context.Context, dg13 *lds.DG13) {
	st, err := v.opts.Status.CardStatus(ctx, dg13.CardSerial, dg13.IDNumber)
	switch {
	case err != nil:
		v.add(Finding{Check: CheckStatus, OK: true, Skipped: true, Detail: "registry not reachable, status not checked: " + err.Error()})
	case !st.Known:
		v.fail(CheckStatus, CodeUnknownCard, fmt.Sprintf("the registry has no card with serial %q", dg13.CardSerial))
	case st.Revoked:
		reason := st.Reason
		if reason == "" {
			reason = "revoked"
		}
		v.fail(CheckStatus, CodeRevoked, fmt.Sprintf("card %s is revoked in the registry (%s)%s", dg13.CardSerial, reason, since(st.Since)))
	case st.WrongHolder:
		v.fail(CheckStatus, CodeRegistryMismatch, fmt.Sprintf("the registry made card %s for another ID number than the chip's %s",
			dg13.CardSerial, dg13.IDNumber))
	case st.NotIssued && st.AtOffice && v.opts.ExpectSerial != "" && v.opts.ExpectSerial == dg13.CardSerial:
		v.pass(CheckStatus, fmt.Sprintf("card %s waits at the office for this hand-over%s", dg13.CardSerial, since(st.Since)))
	case st.NotIssued:
		v.fail(CheckStatus, CodeNotIssued, fmt.Sprintf("card %s was never handed over to its holder: %s%s; a card in circulation before its hand-over was taken from the production line or a shipment",
			dg13.CardSerial, st.Reason, since(st.Since)))
	case st.IDNumber != "" && st.IDNumber != dg13.IDNumber:
		v.fail(CheckStatus, CodeRegistryMismatch, fmt.Sprintf("the registry made card %s for ID %s, the chip says %s",
			dg13.CardSerial, st.IDNumber, dg13.IDNumber))
	default:
		v.pass(CheckStatus, "card "+dg13.CardSerial+" is valid in the registry")
	}
}
