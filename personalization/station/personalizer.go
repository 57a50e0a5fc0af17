// Package station is the production-line personalization station: it turns a
// personalization job from the work queue into a written, locked and verified chip.
//
// A Personalizer writes one card over one apdu.Transmitter (ICAO 9303-10 file
// layout, this project's personalization profile of package smartcard/perso):
//
//	read serial -> start(serial) -> chip generates its Chip Authentication and
//	Active Authentication keys -> create and write EF.CardAccess, EF.COM, DG1, DG2,
//	DG13, DG14, DG15 -> store the access keys (MRZ key, CAN) -> sign EF.SOD over every
//	data group (signature verified before writing) -> write EF.SOD -> lock ->
//	quality control: read the chip back exactly as a counter does (PACE-CAN, Chip
//	Authentication, Active Authentication), Passive Authentication of every data
//	group against the trust store, and a byte-for-byte comparison of every file.
//
// Only then does MakeCard return the MRZ, which the workflow binds to the
// application. Any failure returns a *StepError naming the step: the workflow
// spoils that card and re-queues the application for a new one.
//
// A Station owns several PC/SC readers and lends one reader holding a blank card to
// each MakeCard call, so that one workflow.JobWorker with Workers = len(readers)
// keeps every reader busy.
package station

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/passive"
	"github.com/cccd-project/cccd/personalization/prep"
	"github.com/cccd-project/cccd/personalization/sod"
	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/perso"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
)

// SignerSource hands out the Document Signer for the next card (hsm/dsrotation.Pool
// implements it: one document count per call).
type SignerSource interface {
	Acquire(ctx context.Context) (crypto.Signer, *x509.Certificate, error)
}

// Applications loads the approved application a job personalizes.
type Applications interface {
	Application(ctx context.Context, id int64) (issuance.Application, error)
}

// Errors callers branch on.
var (
	// ErrQC: the chip read back differs from what was written, or fails an authentication.
	ErrQC = errors.New("station: read-back quality control failed")
	// ErrNoBlankCard: no reader offered a blank card in time.
	ErrNoBlankCard = errors.New("station: no blank card in any reader")
	// ErrSignerExpiresFirst: the Document Signer certificate ends before the card does, so
	// the card would stop verifying during its legal life (ICAO 9303-12 §5).
	ErrSignerExpiresFirst = errors.New("station: the Document Signer certificate expires before the card")
)

// StepError names the step of a card that failed. Its text becomes the spoil reason.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return "station: " + e.Step + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// Step is one timed step of a card.
type Step struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration_ns"`
	APDUs    int           `json:"apdus"` // commands sent to the chip in this step
}

// Result is what Personalize did.
type Result struct {
	Serial string
	MRZ    string // the 90 characters of DG1
	Card   *prep.Card
	Files  map[uint16][]byte // every file written, by FID
	Steps  []Step
}

// Profile is the chip security profile written to EF.CardAccess and DG14. The zero
// value is the one of issued CCCD chips (REFERENCE.md §5): PACE ECDH generic mapping
// AES-128 on brainpoolP256r1 (domain parameter 13) and a brainpoolP256r1 Chip
// Authentication key.
type Profile struct {
	// NISTP256 uses NIST P-256 (domain parameter 12) for PACE and the Chip
	// Authentication key instead of brainpoolP256r1: same security level, and the Go
	// standard library's P-256 is an order of magnitude faster than generic Brainpool
	// arithmetic. For benchmarks and demos; issued cards use Brainpool.
	NISTP256 bool
}

// Personalizer writes cards. Apps, Signers and Trust are required; the zero values of
// the other fields are usable. It is safe for concurrent use on different transmitters.
type Personalizer struct {
	Apps    Applications
	Signers SignerSource
	Trust   passive.TrustStore
	Profile Profile
	// Transmitter is the reader MakeCard writes to (a Station sets its own per card).
	Transmitter apdu.Transmitter
	// Now is the clock: the issue date (Vietnam time) and Passive Authentication time.
	Now func() time.Time
	// Rand is the terminal randomness of the read-back (crypto/rand when nil).
	Rand io.Reader
	// Readback, when set, records DG1 and DG13 as the read-back QC got them from the
	// locked chip (the print queue compares the printed face with them). A failure
	// fails the card.
	Readback func(ctx context.Context, serial string, dg1, dg13 []byte) error
	// Alarm, when set, is told about a card refused for a reason the line must not keep
	// meeting (ErrSignerExpiresFirst): the signing profile is wrong, not the card, and the
	// next card of the batch would meet it too (cmd/cccd pauses the batch).
	Alarm func(ctx context.Context, j workflow.Job, serial string, err error)
}

// ict is Vietnam's time zone (UTC+7): the issue date printed and stored is the local date.
var ict = time.FixedZone("ICT", 7*3600)

// MakeCard implements workflow.CardMaker on p.Transmitter.
func (p *Personalizer) MakeCard(ctx context.Context, j workflow.Job, start func(serial string) error) (string, error) {
	if p.Transmitter == nil {
		return "", &StepError{"reader", errors.New("no transmitter")}
	}
	res, err := p.Personalize(ctx, p.Transmitter, j, start)
	if err != nil {
		return "", err
	}
	return res.MRZ, nil
}

// card is the state of one card being written.
type card struct {
	p     *Personalizer
	t     *counter
	res   *Result
	last  time.Time
	sent  int // APDUs counted at the end of the last step
	files map[uint16][]byte
}

// counter counts the commands sent through a transmitter. It keeps the transport's
// MaxLength, which perso and emrtd size their chunks from.
type counter struct {
	apdu.Transmitter
	n int
}

func (c *counter) Transmit(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	c.n++
	return c.Transmitter.Transmit(ctx, cmd)
}

// MaxLength reports the wrapped transport's limit (perso.MaxLengther, emrtd.MaxLengther),
// or 255 when it does not say, as perso and emrtd then assume.
func (c *counter) MaxLength() int {
	if m, ok := c.Transmitter.(interface{ MaxLength() int }); ok {
		return m.MaxLength()
	}
	return 0
}

// step runs f as a named, timed step; an error becomes a *StepError.
func (c *card) step(name string, f func() error) error {
	err := f()
	now := time.Now()
	c.res.Steps = append(c.res.Steps, Step{name, now.Sub(c.last), c.t.n - c.sent})
	c.last, c.sent = now, c.t.n
	if err != nil {
		var se *StepError
		if errors.As(err, &se) {
			return err
		}
		return &StepError{name, err}
	}
	return nil
}

// Personalize writes, locks and verifies the card for job j on t. start is called
// with the chip serial before anything is written; its error aborts the card.
func (p *Personalizer) Personalize(ctx context.Context, t apdu.Transmitter, j workflow.Job, start func(serial string) error) (*Result, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	c := &card{p: p, t: &counter{Transmitter: t}, res: &Result{}, last: time.Now(), files: map[uint16][]byte{}}
	c.res.Files = c.files
	var app issuance.Application
	if err := c.step("load application", func() (err error) {
		app, err = p.Apps.Application(ctx, j.ApplicationID)
		return err
	}); err != nil {
		return c.res, err
	}
	if err := c.step("read serial", func() (err error) {
		c.res.Serial, err = perso.Serial(ctx, c.t)
		return err
	}); err != nil {
		return c.res, err
	}
	if err := c.step("start card", func() error { return start(c.res.Serial) }); err != nil {
		return c.res, err
	}
	if err := c.step("prepare data", func() (err error) {
		c.res.Card, err = prep.Prepare(app, issuance.DateOf(now().In(ict)), c.res.Serial)
		return err
	}); err != nil {
		return c.res, err
	}
	if err := c.write(ctx, j); err != nil {
		return c.res, err
	}
	if err := c.step("lock", func() error { return perso.Lock(ctx, c.t) }); err != nil {
		return c.res, err
	}
	if err := c.step("read-back QC", func() error { return c.verify(ctx, now()) }); err != nil {
		return c.res, err
	}
	c.res.MRZ = c.res.Card.MRZText()
	return c.res, nil
}

// securityInfos returns EF.CardAccess and DG14's SecurityInfos (ICAO 9303-11 §9.2):
// PACE, Chip Authentication (with the chip's public key in DG14), Terminal
// Authentication v1 as on issued cards, and Active Authentication with ECDSA.
func (p *Personalizer) securityInfos(caPub []byte) (cardAccess, dg14 securityinfo.SecurityInfos) {
	param := securityinfo.ParamBrainpoolP256r1
	if p.Profile.NISTP256 {
		param = securityinfo.ParamP256
	}
	pace := &securityinfo.PACEInfo{Protocol: securityinfo.OIDPACEECDHGMAES128, Version: 2, ParameterID: param, HasParameterID: true}
	ca := &securityinfo.ChipAuthenticationInfo{Protocol: securityinfo.OIDCAECDHAES128, Version: 1}
	ta := &securityinfo.TerminalAuthenticationInfo{Version: 1}
	cardAccess = securityinfo.SecurityInfos{pace, ca, ta}
	dg14 = securityinfo.SecurityInfos{pace, ca,
		&securityinfo.ChipAuthenticationPublicKeyInfo{Protocol: securityinfo.OIDPKECDH, PublicKey: caPub}, ta,
		&securityinfo.ActiveAuthenticationInfo{Version: 1, SignatureAlgorithm: securityinfo.OIDECDSAPlainSHA256}}
	return cardAccess, dg14
}

// write has the chip generate its keys, writes every file and the access keys,
// signs EF.SOD and writes it.
func (c *card) write(ctx context.Context, j workflow.Job) error {
	pc := c.res.Card
	var caPub, aaPub []byte
	if err := c.step("generate CA key", func() (err error) {
		caPub, err = generateCAKey(ctx, c.t, c.p.Profile.NISTP256)
		return err
	}); err != nil {
		return err
	}
	if err := c.step("generate AA key", func() (err error) {
		aaPub, err = perso.GenerateAAKey(ctx, c.t)
		return err
	}); err != nil {
		return err
	}
	cardAccess, dg14Infos := c.p.securityInfos(caPub)
	dgs := map[int][]byte{1: pc.DG1, 2: pc.DG2, 13: pc.DG13Raw}
	if err := c.step("encode DG14 DG15", func() (err error) {
		if c.files[lds.FIDCardAccess], err = lds.EncodeCardAccess(cardAccess); err != nil {
			return err
		}
		if dgs[14], err = lds.EncodeDG14(dg14Infos); err != nil {
			return err
		}
		pub, err := x509.ParsePKIXPublicKey(aaPub)
		if err != nil {
			return fmt.Errorf("AA public key from chip: %w", err)
		}
		dgs[15], err = lds.EncodeDG15(pub)
		return err
	}); err != nil {
		return err
	}
	c.files[lds.FIDCOM] = pc.COM
	for n, b := range dgs {
		c.files[dgFID(n)] = b
	}
	for _, f := range []struct {
		name string
		fid  uint16
	}{{"EF.CardAccess", lds.FIDCardAccess}, {"EF.COM", lds.FIDCOM}, {"DG1", dgFID(1)}, {"DG2", dgFID(2)},
		{"DG13", dgFID(13)}, {"DG14", dgFID(14)}, {"DG15", dgFID(15)}} {
		if err := c.step("write "+f.name, func() error { return c.writeFile(ctx, f.fid, c.files[f.fid]) }); err != nil {
			return err
		}
	}
	if err := c.step("set access keys", func() error {
		return perso.SetAccessKeys(ctx, c.t, perso.MRZKey([]byte(pc.BACSeedInfo)), pc.CAN)
	}); err != nil {
		return err
	}
	if err := c.step("sign EF.SOD", func() error {
		key, cert, err := c.p.Signers.Acquire(ctx)
		if err != nil {
			return err
		}
		if err := CoversCard(cert, pc); err != nil {
			if c.p.Alarm != nil {
				c.p.Alarm(ctx, j, c.res.Serial, err)
			}
			return err
		}
		// sod.Sign parses its result again, verifies the signature with cert and compares
		// every hash before returning: a faulty signer never reaches the chip.
		c.files[lds.FIDSOD], err = sod.Sign(dgs, cert, key)
		return err
	}); err != nil {
		return err
	}
	return c.step("write EF.SOD", func() error { return c.writeFile(ctx, lds.FIDSOD, c.files[lds.FIDSOD]) })
}

// CoversCard refuses a Document Signer certificate that ends before the last instant card c
// is valid: the end of its expiry date in Vietnam time. A card without expiry is verified by
// the chain model (personalization/verify): it needs the DS valid when it signs, which the
// signer source already ensures.
func CoversCard(ds *x509.Certificate, c *prep.Card) error {
	if c.NoExpiry {
		return nil
	}
	end := ValidThrough(c.ExpiryDate)
	if ds.NotAfter.Before(end) {
		return fmt.Errorf("%w: card valid through %s, DS %q (serial %x) valid until %s", ErrSignerExpiresFirst,
			c.ExpiryDate, ds.Subject.CommonName, ds.SerialNumber, ds.NotAfter.In(ict).Format("2006-01-02 15:04 MST"))
	}
	return nil
}

// ValidThrough is the last instant of a card that expires on e: the end of that day in Vietnam.
func ValidThrough(e issuance.Date) time.Time {
	return time.Date(e.Year, e.Month, e.Day+1, 0, 0, 0, 0, ict).Add(-time.Second)
}

// writeFile creates an EF of exactly the data's size and writes it (perso.WriteFile
// reads it back and compares).
func (c *card) writeFile(ctx context.Context, fid uint16, data []byte) error {
	if err := perso.CreateFile(ctx, c.t, fid, len(data)); err != nil {
		return err
	}
	return perso.WriteFile(ctx, c.t, fid, data)
}

// verify reads the locked chip as a counter does and checks it against what was written.
func (c *card) verify(ctx context.Context, at time.Time) error {
	pc := c.res.Card
	doc, err := emrtd.Read(ctx, c.t, emrtd.Credentials{CAN: pc.CAN}, emrtd.Options{Rand: c.p.Rand})
	if err != nil {
		return err
	}
	switch {
	case doc.Access != emrtd.AccessPACECAN:
		return fmt.Errorf("%w: access by %s, want %s", ErrQC, doc.Access, emrtd.AccessPACECAN)
	case !doc.ChipAuthenticated:
		return fmt.Errorf("%w: chip authentication not done", ErrQC)
	case !doc.ActiveAuthenticated:
		return fmt.Errorf("%w: active authentication not done", ErrQC)
	case len(doc.Denied) != 0:
		return fmt.Errorf("%w: data groups %v denied", ErrQC, doc.Denied)
	}
	if err := same("EF.CardAccess", doc.CardAccess, c.files[lds.FIDCardAccess]); err != nil {
		return err
	}
	if err := same("EF.COM", doc.COM, c.files[lds.FIDCOM]); err != nil {
		return err
	}
	if err := same("EF.SOD", doc.SOD, c.files[lds.FIDSOD]); err != nil {
		return err
	}
	if len(doc.DataGroups) != len(prep.DataGroups) {
		return fmt.Errorf("%w: %d data groups read, %d written", ErrQC, len(doc.DataGroups), len(prep.DataGroups))
	}
	for _, n := range prep.DataGroups {
		if err := same(fmt.Sprintf("DG%d", n), doc.DataGroups[n], c.files[dgFID(n)]); err != nil {
			return err
		}
	}
	res, err := passive.Verify(doc.SOD, doc.DataGroups, c.p.Trust, at)
	if err != nil {
		return fmt.Errorf("%w: passive authentication: %w", ErrQC, err)
	}
	for _, n := range prep.DataGroups {
		if s := res.Status(n); s != passive.Valid {
			return fmt.Errorf("%w: passive authentication: DG%d %v", ErrQC, n, s)
		}
	}
	if c.p.Readback != nil {
		if err := c.p.Readback(ctx, c.res.Serial, doc.DataGroups[1], doc.DataGroups[13]); err != nil {
			return fmt.Errorf("record read-back: %w", err)
		}
	}
	return nil
}

// same compares a file read back with the file written.
func same(name string, got, want []byte) error {
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%w: %s read back (%d bytes) differs from written (%d bytes)", ErrQC, name, len(got), len(want))
	}
	return nil
}

// dgFID returns the file identifier of data group n (ICAO 9303-10 §4.7: 0101..0110).
func dgFID(n int) uint16 { return 0x0100 + uint16(n) }
