// Package verifytest makes good and bad CCCD cards on virtual chips for the tests and
// the benchmark of package personalization/verify: a throwaway document PKI issued with
// package hsm/pki (CSCA, Document Signer, CRLs, master lists), and Issue, which
// personalizes a blank chip the way the production station does (package
// personalization/prep for the data, smartcard/perso for the chip, personalization/sod
// for EF.SOD) with hooks that forge or damage the card: data altered before or after
// signing, a chip whose keys do not match DG14/DG15, a stripped EF.COM.
//
// Test support only: its keys are software keys made on the fly.
package verifytest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/portrait"
	"github.com/cccd-project/cccd/issuance/registry"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/prep"
	"github.com/cccd-project/cccd/personalization/sod"
	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/perso"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
)

// PKI is one country's CSCA and a Document Signer, with software keys.
type PKI struct {
	Authority pki.Authority
	CSCA      *x509.Certificate
	CSCAKey   crypto.Signer
	DS        *x509.Certificate
	DSKey     crypto.Signer
	crlNumber int64
}

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

// NewPKI issues a CSCA for country (two capital letters) and one Document Signer, both
// valid from an hour ago.
func NewPKI(country string) (*PKI, error) {
	return NewPKIOf(pki.Authority{Country: country, Organization: "cccd verifytest",
		CRLURL: "http://crl.example/" + country + ".crl"})
}

// NewPKIOf is NewPKI for the given authority (country, organization, CRL address).
func NewPKIOf(a pki.Authority) (*PKI, error) {
	p := &PKI{Authority: a}
	now := time.Now().Add(-time.Hour)
	ck, err := newKey()
	if err != nil {
		return nil, err
	}
	if p.CSCA, err = pki.NewCSCA(ck, pki.CSCAOptions{Authority: p.Authority, Now: now}); err != nil {
		return nil, fmt.Errorf("verifytest: %w", err)
	}
	p.CSCAKey = ck
	if p.DS, p.DSKey, err = p.NewDS("DS-1"); err != nil {
		return nil, err
	}
	return p, nil
}

// NewDS issues another Document Signer of this CSCA.
func (p *PKI) NewDS(serial string) (*x509.Certificate, crypto.Signer, error) {
	k, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	c, err := pki.IssueDocumentSigner(p.CSCA, p.CSCAKey, &k.PublicKey, pki.DSOptions{Authority: p.Authority,
		SerialNumber: serial, Now: time.Now().Add(-time.Hour)})
	if err != nil {
		return nil, nil, fmt.Errorf("verifytest: %w", err)
	}
	return c, k, nil
}

// Trust returns a fresh trust store trusting this CSCA.
func (p *PKI) Trust() (*trust.Store, error) {
	s := trust.New()
	if err := s.AddCSCA(p.CSCA); err != nil {
		return nil, err
	}
	return s, nil
}

// CRL issues the CSCA's next CRL revoking the given certificates (ICAO 9303-12 §7.1.4).
func (p *PKI) CRL(revoked ...*x509.Certificate) ([]byte, error) {
	p.crlNumber++
	var list []pki.Revoked
	for _, c := range revoked {
		list = append(list, pki.Revoked{Serial: c.SerialNumber, At: time.Now().Add(-time.Minute), Reason: 1})
	}
	return pki.CRL(p.CSCA, p.CSCAKey, list, pki.CRLOptions{Number: big.NewInt(p.crlNumber)})
}

// MasterList signs a CSCA Master List (ICAO 9303-12 §9) holding cscas with a new
// Master List Signer of this CSCA.
func (p *PKI) MasterList(cscas ...*x509.Certificate) ([]byte, error) {
	k, err := newKey()
	if err != nil {
		return nil, err
	}
	mls, err := pki.NewMasterListSigner(p.CSCA, p.CSCAKey, &k.PublicKey, pki.MLSOptions{Authority: p.Authority, Now: time.Now().Add(-time.Hour)})
	if err != nil {
		return nil, fmt.Errorf("verifytest: %w", err)
	}
	return pki.ExportMasterList(append([]*x509.Certificate{p.CSCA}, cscas...), mls, k, time.Now())
}

// Application returns a synthetic citizen's application (registry resident seed, portrait).
func Application(seed int64) (issuance.Application, error) {
	rs, err := registry.Generator{Seed: seed}.Residents(1)
	if err != nil {
		return issuance.Application{}, err
	}
	jpeg, err := portrait.Generate(seed)
	if err != nil {
		return issuance.Application{}, err
	}
	return rs[0].Application(issuance.ReasonFirstIssue, jpeg), nil
}

// Spec says what card Issue makes. App, DS and DSKey are required.
type Spec struct {
	App   issuance.Application
	DS    *x509.Certificate
	DSKey crypto.Signer
	// Issue is the issue date (today in Vietnam when zero); an old one makes an expired card.
	Issue issuance.Date
	// NISTP256 uses P-256 for PACE and Chip Authentication instead of brainpoolP256r1.
	NISTP256 bool
	// BeforeSign changes the data groups before EF.SOD is signed: a card whose
	// inconsistent data the Document Signer signed.
	BeforeSign func(c *prep.Card, dgs map[int][]byte) error
	// AfterSign changes the files (by FID) after EF.SOD is signed: a card altered after issue.
	AfterSign func(files map[uint16][]byte) error
	// SwapCAKey / SwapAAKey make the chip generate its Chip / Active Authentication key
	// again after the public key was written: its private key no longer matches DG14 /
	// DG15, as on a copy of a genuine chip.
	SwapCAKey, SwapAAKey bool
}

// Card is what Issue wrote.
type Card struct {
	Serial string
	Prep   *prep.Card
	Files  map[uint16][]byte // by FID
}

// Credentials returns the CAN credentials of the card.
func (c *Card) Credentials() emrtd.Credentials { return emrtd.Credentials{CAN: c.Prep.CAN} }

// CANOf returns the CAN credentials of a card made for app: the last 6 digits of the
// ID number (REFERENCE.md §5).
func CANOf(app issuance.Application) emrtd.Credentials {
	if len(app.IDNumber) != 12 {
		return emrtd.Credentials{}
	}
	return emrtd.Credentials{CAN: app.IDNumber[6:]}
}

// MRZCredentials returns the MRZ credentials of the card.
func (c *Card) MRZCredentials() emrtd.Credentials {
	return emrtd.Credentials{DocumentNumber: c.Prep.DocumentNumber, DateOfBirth: c.Prep.BirthYYMMDD, DateOfExpiry: c.Prep.ExpiryYYMMDD}
}

var ict = time.FixedZone("ICT", 7*3600)

// Issue personalizes and locks the blank chip on t as Spec says.
func Issue(ctx context.Context, t apdu.Transmitter, s Spec) (*Card, error) {
	serial, err := perso.Serial(ctx, t)
	if err != nil {
		return nil, err
	}
	issue := s.Issue
	if issue.IsZero() {
		issue = issuance.DateOf(time.Now().In(ict))
	}
	pc, err := prep.Prepare(s.App, issue, serial)
	if err != nil {
		return nil, err
	}
	caPub, err := generateCAKey(ctx, t, s.NISTP256)
	if err != nil {
		return nil, err
	}
	aaPub, err := perso.GenerateAAKey(ctx, t)
	if err != nil {
		return nil, err
	}
	if s.SwapCAKey {
		if _, err := generateCAKey(ctx, t, s.NISTP256); err != nil {
			return nil, err
		}
	}
	if s.SwapAAKey {
		if _, err := perso.GenerateAAKey(ctx, t); err != nil {
			return nil, err
		}
	}
	card := &Card{Serial: serial, Prep: pc, Files: map[uint16][]byte{}}
	dgs, cardAccess, err := dataGroups(pc, caPub, aaPub, s.NISTP256)
	if err != nil {
		return nil, err
	}
	if s.BeforeSign != nil {
		if err := s.BeforeSign(pc, dgs); err != nil {
			return nil, err
		}
	}
	efSOD, err := sod.Sign(dgs, s.DS, s.DSKey)
	if err != nil {
		return nil, err
	}
	card.Files[lds.FIDCardAccess], card.Files[lds.FIDCOM], card.Files[lds.FIDSOD] = cardAccess, pc.COM, efSOD
	for n, b := range dgs {
		card.Files[0x0100+uint16(n)] = b
	}
	if s.AfterSign != nil {
		if err := s.AfterSign(card.Files); err != nil {
			return nil, err
		}
	}
	for _, fid := range []uint16{lds.FIDCardAccess, lds.FIDCOM, 0x0101, 0x0102, 0x010D, 0x010E, 0x010F, lds.FIDSOD} {
		if err := perso.CreateFile(ctx, t, fid, len(card.Files[fid])); err != nil {
			return nil, err
		}
		if err := perso.WriteFile(ctx, t, fid, card.Files[fid]); err != nil {
			return nil, err
		}
	}
	if err := perso.SetAccessKeys(ctx, t, perso.MRZKey([]byte(pc.BACSeedInfo)), pc.CAN); err != nil {
		return nil, err
	}
	return card, perso.Lock(ctx, t)
}

// dataGroups encodes DG1, DG2, DG13 (from prep), DG14 and DG15 and EF.CardAccess with the
// security profile of issued cards (REFERENCE.md §5).
func dataGroups(pc *prep.Card, caPub, aaPub []byte, nist bool) (map[int][]byte, []byte, error) {
	param := securityinfo.ParamBrainpoolP256r1
	if nist {
		param = securityinfo.ParamP256
	}
	paceInfo := &securityinfo.PACEInfo{Protocol: securityinfo.OIDPACEECDHGMAES128, Version: 2, ParameterID: param, HasParameterID: true}
	ca := &securityinfo.ChipAuthenticationInfo{Protocol: securityinfo.OIDCAECDHAES128, Version: 1}
	ta := &securityinfo.TerminalAuthenticationInfo{Version: 1}
	cardAccess, err := lds.EncodeCardAccess(securityinfo.SecurityInfos{paceInfo, ca, ta})
	if err != nil {
		return nil, nil, err
	}
	dg14, err := lds.EncodeDG14(securityinfo.SecurityInfos{paceInfo, ca,
		&securityinfo.ChipAuthenticationPublicKeyInfo{Protocol: securityinfo.OIDPKECDH, PublicKey: caPub}, ta,
		&securityinfo.ActiveAuthenticationInfo{Version: 1, SignatureAlgorithm: securityinfo.OIDECDSAPlainSHA256}})
	if err != nil {
		return nil, nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(aaPub)
	if err != nil {
		return nil, nil, fmt.Errorf("verifytest: AA public key: %w", err)
	}
	dg15, err := lds.EncodeDG15(pub)
	if err != nil {
		return nil, nil, err
	}
	return map[int][]byte{1: pc.DG1, 2: pc.DG2, 13: pc.DG13Raw, 14: dg14, 15: dg15}, cardAccess, nil
}

// generateCAKey has the chip generate its Chip Authentication key: brainpoolP256r1, or
// P-256 named in the command (84 01 02 06 <OID>, the profile of package vchip).
func generateCAKey(ctx context.Context, t apdu.Transmitter, nist bool) ([]byte, error) {
	if !nist {
		return perso.GenerateCAKey(ctx, t)
	}
	oid, err := asn1.Marshal(securityinfo.OIDCurveP256)
	if err != nil {
		return nil, err
	}
	return apdu.Run(ctx, t, apdu.Command{INS: 0x47, P1: 0x80, Data: append([]byte{0x84, 0x01, 0x02}, oid...), Ne: apdu.MaxShortLe})
}

// ExpiredIssueDate returns an issue date in the past for which the card of a holder born
// on birth has already expired (issuance.ExpiryDate before today), or false if none.
func ExpiredIssueDate(birth issuance.Date) (issuance.Date, bool) {
	today := issuance.DateOf(time.Now().In(ict))
	for y := 1; y < 80; y++ {
		issue := today.AddYears(-y)
		if issue.Before(birth.AddYears(14)) {
			break
		}
		if exp, ok := issuance.ExpiryDate(birth, issue); ok && exp.Before(today) {
			return issue, true
		}
	}
	return issuance.Date{}, false
}

// ApplicationAged is Application for a holder who is age years old on day: the date of birth
// and the ID number's century, sex and year digits (REFERENCE.md §2) are changed to match.
func ApplicationAged(seed int64, age int, day issuance.Date) (issuance.Application, error) {
	app, err := Application(seed)
	if err != nil {
		return app, err
	}
	birth := day.AddYears(-age)
	g := (birth.Year/100 - 19) * 2
	if app.Person.Sex == issuance.SexFemale {
		g++
	}
	app.Person.DateOfBirth = birth
	app.IDNumber = fmt.Sprintf("%s%d%02d%s", app.IDNumber[:3], g, birth.Year%100, app.IDNumber[6:])
	return app, nil
}
