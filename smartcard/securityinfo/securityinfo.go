// Package securityinfo encodes and parses the SecurityInfos of ICAO 9303-11 §9.2 (EF.CardAccess,
// DG14): PACEInfo, ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo,
// ActiveAuthenticationInfo and TerminalAuthenticationInfo, keeping any other SecurityInfo raw.
// It also names the protocol, signature and curve object identifiers and encodes elliptic
// curve public keys (Brainpool included, which crypto/x509 cannot) as SubjectPublicKeyInfo.
// It is a pure package: bytes in, bytes out.
package securityinfo

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrMalformed is wrapped by every Parse error.
var ErrMalformed = errors.New("securityinfo: malformed")

// SecurityInfo is one element of SecurityInfos (§9.2): one of *PACEInfo,
// *ChipAuthenticationInfo, *ChipAuthenticationPublicKeyInfo, *ActiveAuthenticationInfo,
// *TerminalAuthenticationInfo or *UnknownInfo.
type SecurityInfo interface {
	// OID returns the protocol object identifier.
	OID() asn1.ObjectIdentifier
	marshal(b *cryptobyte.Builder)
}

// PACEInfo announces a PACE protocol (§9.2):
// SEQUENCE { protocol OID, version INTEGER, parameterId INTEGER OPTIONAL }.
type PACEInfo struct {
	Protocol       asn1.ObjectIdentifier // e.g. OIDPACEECDHGMAES128
	Version        int                   // 2
	ParameterID    int                   // standardized domain parameters, e.g. ParamBrainpoolP256r1
	HasParameterID bool
}

// ChipAuthenticationInfo announces a Chip Authentication protocol (§9.2):
// SEQUENCE { protocol OID, version INTEGER, keyId INTEGER OPTIONAL }.
type ChipAuthenticationInfo struct {
	Protocol asn1.ObjectIdentifier // e.g. OIDCAECDHAES128
	Version  int                   // 1
	KeyID    int
	HasKeyID bool
}

// ChipAuthenticationPublicKeyInfo holds the chip's static Chip Authentication key (§9.2):
// SEQUENCE { protocol OID (id-PK-ECDH), chipAuthenticationPublicKey SubjectPublicKeyInfo,
// keyId INTEGER OPTIONAL }.
type ChipAuthenticationPublicKeyInfo struct {
	Protocol  asn1.ObjectIdentifier // OIDPKECDH
	PublicKey []byte                // DER SubjectPublicKeyInfo, see MarshalECPublicKey
	KeyID     int
	HasKeyID  bool
}

// ActiveAuthenticationInfo names the Active Authentication signature algorithm (§9.2):
// SEQUENCE { protocol id-AA, version INTEGER, signatureAlgorithm OID }.
type ActiveAuthenticationInfo struct {
	Version            int                   // 1
	SignatureAlgorithm asn1.ObjectIdentifier // e.g. OIDECDSAPlainSHA256
}

// TerminalAuthenticationInfo announces Terminal Authentication (§9.2, BSI TR-03110):
// SEQUENCE { protocol id-TA, version INTEGER, efCVCA FileID OPTIONAL }.
type TerminalAuthenticationInfo struct {
	Version int    // 1 or 2
	EFCVCA  []byte // DER of the optional FileID, nil when absent
}

// UnknownInfo is a SecurityInfo this package does not interpret (domain parameter infos,
// PACE/CA infos of unknown shape, other vendors' objects), kept as its DER encoding.
type UnknownInfo struct {
	Protocol asn1.ObjectIdentifier
	Raw      []byte // the whole SEQUENCE
}

// OID returns the PACE protocol.
func (p *PACEInfo) OID() asn1.ObjectIdentifier { return p.Protocol }

// OID returns the Chip Authentication protocol.
func (c *ChipAuthenticationInfo) OID() asn1.ObjectIdentifier { return c.Protocol }

// OID returns the public key protocol (id-PK-ECDH or id-PK-DH).
func (c *ChipAuthenticationPublicKeyInfo) OID() asn1.ObjectIdentifier { return c.Protocol }

// OID returns id-AA.
func (*ActiveAuthenticationInfo) OID() asn1.ObjectIdentifier { return OIDAA }

// OID returns id-TA.
func (*TerminalAuthenticationInfo) OID() asn1.ObjectIdentifier { return OIDTA }

// OID returns the protocol of the raw info.
func (u *UnknownInfo) OID() asn1.ObjectIdentifier { return u.Protocol }

func (p *PACEInfo) marshal(b *cryptobyte.Builder) {
	addVersioned(b, p.Protocol, p.Version, p.ParameterID, p.HasParameterID)
}

func (c *ChipAuthenticationInfo) marshal(b *cryptobyte.Builder) {
	addVersioned(b, c.Protocol, c.Version, c.KeyID, c.HasKeyID)
}

// addVersioned adds the shape PACEInfo and ChipAuthenticationInfo share:
// SEQUENCE { protocol OID, version INTEGER, id INTEGER OPTIONAL }.
func addVersioned(b *cryptobyte.Builder, protocol asn1.ObjectIdentifier, version, id int, hasID bool) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(protocol)
		b.AddASN1Int64(int64(version))
		if hasID {
			b.AddASN1Int64(int64(id))
		}
	})
}

func (c *ChipAuthenticationPublicKeyInfo) marshal(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(c.Protocol)
		addElement(b, c.PublicKey, cbasn1.SEQUENCE)
		if c.HasKeyID {
			b.AddASN1Int64(int64(c.KeyID))
		}
	})
}

func (a *ActiveAuthenticationInfo) marshal(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDAA)
		b.AddASN1Int64(int64(a.Version))
		b.AddASN1ObjectIdentifier(a.SignatureAlgorithm)
	})
}

func (t *TerminalAuthenticationInfo) marshal(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDTA)
		b.AddASN1Int64(int64(t.Version))
		if t.EFCVCA != nil {
			addElement(b, t.EFCVCA, cbasn1.SEQUENCE)
		}
	})
}

func (u *UnknownInfo) marshal(b *cryptobyte.Builder) { addElement(b, u.Raw, cbasn1.SEQUENCE) }

// addElement writes a pre-encoded DER element after checking it is one whole element with
// the wanted tag.
func addElement(b *cryptobyte.Builder, der []byte, tag cbasn1.Tag) {
	s := cryptobyte.String(der)
	var inner cryptobyte.String
	if !s.ReadASN1(&inner, tag) || !s.Empty() {
		b.SetError(fmt.Errorf("securityinfo: embedded DER is not one element with tag %#x", uint8(tag)))
		return
	}
	b.AddBytes(der)
}

// SecurityInfos is the SET OF SecurityInfo of EF.CardAccess and DG14 (§9.2).
type SecurityInfos []SecurityInfo

// Marshal returns the DER encoding of the SET OF SecurityInfo. The elements are sorted by
// their encodings, as DER requires for SET OF.
func (s SecurityInfos) Marshal() ([]byte, error) {
	elems := make([][]byte, 0, len(s))
	for i, info := range s {
		if info == nil {
			return nil, fmt.Errorf("securityinfo: element %d is nil", i)
		}
		var b cryptobyte.Builder
		info.marshal(&b)
		e, err := b.Bytes()
		if err != nil {
			return nil, fmt.Errorf("securityinfo: element %d (%s): %w", i, info.OID(), err)
		}
		elems = append(elems, e)
	}
	slices.SortFunc(elems, bytes.Compare)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, e := range elems {
			b.AddBytes(e)
		}
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("securityinfo: %w", err)
	}
	return out, nil
}

// PACE returns the PACEInfos in order.
func (s SecurityInfos) PACE() []*PACEInfo { return ofType[*PACEInfo](s) }

// ChipAuthentication returns the ChipAuthenticationInfos in order.
func (s SecurityInfos) ChipAuthentication() []*ChipAuthenticationInfo {
	return ofType[*ChipAuthenticationInfo](s)
}

// ChipAuthenticationPublicKeys returns the ChipAuthenticationPublicKeyInfos in order.
func (s SecurityInfos) ChipAuthenticationPublicKeys() []*ChipAuthenticationPublicKeyInfo {
	return ofType[*ChipAuthenticationPublicKeyInfo](s)
}

// ActiveAuthentication returns the first ActiveAuthenticationInfo, or nil.
func (s SecurityInfos) ActiveAuthentication() *ActiveAuthenticationInfo {
	if a := ofType[*ActiveAuthenticationInfo](s); len(a) > 0 {
		return a[0]
	}
	return nil
}

// TerminalAuthentication returns the first TerminalAuthenticationInfo, or nil.
func (s SecurityInfos) TerminalAuthentication() *TerminalAuthenticationInfo {
	if a := ofType[*TerminalAuthenticationInfo](s); len(a) > 0 {
		return a[0]
	}
	return nil
}

func ofType[T SecurityInfo](s SecurityInfos) []T {
	var out []T
	for _, i := range s {
		if t, ok := i.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// Parse decodes a DER (or BER with definite lengths) SET OF SecurityInfo, the contents of
// EF.CardAccess or of DG14 inside its tag 6E. Infos with an unrecognised protocol are kept
// as *UnknownInfo; a recognised protocol with a malformed body is an error.
func Parse(der []byte) (SecurityInfos, error) {
	in := cryptobyte.String(der)
	var set cryptobyte.String
	if !in.ReadASN1(&set, cbasn1.SET) {
		return nil, fmt.Errorf("%w: not a SET", ErrMalformed)
	}
	if !in.Empty() {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(in))
	}
	var out SecurityInfos
	for i := 0; !set.Empty(); i++ {
		var elem cryptobyte.String
		if !set.ReadASN1Element(&elem, cbasn1.SEQUENCE) {
			return nil, fmt.Errorf("%w: element %d is not a SEQUENCE", ErrMalformed, i)
		}
		info, err := parseInfo(elem)
		if err != nil {
			return nil, fmt.Errorf("%w: element %d: %w", ErrMalformed, i, err)
		}
		out = append(out, info)
	}
	return out, nil
}

func parseInfo(elem cryptobyte.String) (SecurityInfo, error) {
	raw := []byte(elem)
	var body cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !elem.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1ObjectIdentifier(&oid) {
		return nil, errors.New("no protocol OID")
	}
	pacelike := len(oid) == len(OIDPACE)+2 // id-PACE.<mapping>.<cipher>, id-CA.<agreement>.<cipher>
	switch {
	case pacelike && hasPrefix(oid, OIDPACE):
		p := &PACEInfo{Protocol: oid}
		if !body.ReadASN1Integer(&p.Version) {
			return nil, fmt.Errorf("PACEInfo %s: bad version", oid)
		}
		if !body.Empty() {
			if !body.ReadASN1Integer(&p.ParameterID) {
				return nil, fmt.Errorf("PACEInfo %s: bad parameterId", oid)
			}
			p.HasParameterID = true
		}
		return p, atEnd(body, "PACEInfo")
	case pacelike && hasPrefix(oid, OIDCA):
		c := &ChipAuthenticationInfo{Protocol: oid}
		if !body.ReadASN1Integer(&c.Version) {
			return nil, fmt.Errorf("ChipAuthenticationInfo %s: bad version", oid)
		}
		if !body.Empty() {
			if !body.ReadASN1Integer(&c.KeyID) {
				return nil, fmt.Errorf("ChipAuthenticationInfo %s: bad keyId", oid)
			}
			c.HasKeyID = true
		}
		return c, atEnd(body, "ChipAuthenticationInfo")
	case oid.Equal(OIDPKECDH) || oid.Equal(OIDPKDH):
		c := &ChipAuthenticationPublicKeyInfo{Protocol: oid}
		var spki cryptobyte.String
		if !body.ReadASN1Element(&spki, cbasn1.SEQUENCE) {
			return nil, errors.New("ChipAuthenticationPublicKeyInfo: bad SubjectPublicKeyInfo")
		}
		c.PublicKey = append([]byte(nil), spki...)
		if !body.Empty() {
			if !body.ReadASN1Integer(&c.KeyID) {
				return nil, errors.New("ChipAuthenticationPublicKeyInfo: bad keyId")
			}
			c.HasKeyID = true
		}
		return c, atEnd(body, "ChipAuthenticationPublicKeyInfo")
	case oid.Equal(OIDAA):
		a := &ActiveAuthenticationInfo{}
		if !body.ReadASN1Integer(&a.Version) || !body.ReadASN1ObjectIdentifier(&a.SignatureAlgorithm) {
			return nil, errors.New("ActiveAuthenticationInfo: want version and signatureAlgorithm")
		}
		return a, atEnd(body, "ActiveAuthenticationInfo")
	case oid.Equal(OIDTA):
		t := &TerminalAuthenticationInfo{}
		if !body.ReadASN1Integer(&t.Version) {
			return nil, errors.New("TerminalAuthenticationInfo: bad version")
		}
		if !body.Empty() {
			var fid cryptobyte.String
			if !body.ReadASN1Element(&fid, cbasn1.SEQUENCE) {
				return nil, errors.New("TerminalAuthenticationInfo: bad efCVCA")
			}
			t.EFCVCA = append([]byte(nil), fid...)
		}
		return t, atEnd(body, "TerminalAuthenticationInfo")
	}
	return &UnknownInfo{Protocol: oid, Raw: append([]byte(nil), raw...)}, nil
}

func atEnd(s cryptobyte.String, what string) error {
	if !s.Empty() {
		return fmt.Errorf("%s: %d unexpected trailing bytes", what, len(s))
	}
	return nil
}
