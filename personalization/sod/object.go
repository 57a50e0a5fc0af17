package sod

import (
	"bytes"
	"crypto"
	"crypto/subtle"
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DataGroupHash is one entry of the LDSSecurityObject (ICAO 9303-10 §4.6.2.3).
type DataGroupHash struct {
	Number int    // data group number, 1..16
	Hash   []byte // hash of the whole data group file, tag and length included
}

// LDSSecurityObject is the signed content of EF.SOD (ICAO 9303-10 §4.6.2.3):
//
//	LDSSecurityObject ::= SEQUENCE {
//	    version                LDSSecurityObjectVersion,   -- v0(0), v1(1)
//	    hashAlgorithm          DigestAlgorithmIdentifier,
//	    dataGroupHashValues    SEQUENCE SIZE (2..16) OF DataGroupHash,
//	    ldsVersionInfo         LDSVersionInfo OPTIONAL }   -- present iff version is v1
//	DataGroupHash ::= SEQUENCE { dataGroupNumber INTEGER (1..16), dataGroupHashValue OCTET STRING }
//	LDSVersionInfo ::= SEQUENCE { ldsVersion PrintableString, unicodeVersion PrintableString }
type LDSSecurityObject struct {
	Version         int         // 0; 1 when LDSVersion and UnicodeVersion are set
	HashAlgorithm   crypto.Hash // crypto.SHA256 for cards of this project
	DataGroupHashes []DataGroupHash
	LDSVersion      string // v1 only, e.g. "0108"
	UnicodeVersion  string // v1 only, e.g. "040000"
}

// Hash algorithm identifiers accepted in an LDSSecurityObject (RFC 3279, RFC 5754).
var hashOIDs = []struct {
	oid  asn1.ObjectIdentifier
	hash crypto.Hash
}{
	{asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, crypto.SHA1},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}, crypto.SHA224},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, crypto.SHA256},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, crypto.SHA384},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}, crypto.SHA512},
}

// HashOf returns the hash listed for data group n, or false if it is not listed.
func (o *LDSSecurityObject) HashOf(n int) ([]byte, bool) {
	for _, d := range o.DataGroupHashes {
		if d.Number == n {
			return d.Hash, true
		}
	}
	return nil, false
}

// Matches hashes the data group file b with the object's algorithm and reports whether it
// equals the hash listed for data group n. It fails if n is not listed.
func (o *LDSSecurityObject) Matches(n int, b []byte) (bool, error) {
	want, ok := o.HashOf(n)
	if !ok {
		return false, fmt.Errorf("sod: dg%d is not listed in the security object", n)
	}
	if !o.HashAlgorithm.Available() {
		return false, fmt.Errorf("sod: hash algorithm %v is not available", o.HashAlgorithm)
	}
	h := o.HashAlgorithm.New()
	h.Write(b)
	return subtle.ConstantTimeCompare(h.Sum(nil), want) == 1, nil
}

// Marshal returns the DER encoding. The hash algorithm is written without parameters
// (RFC 5754 §2); the hashes are written in the order given.
func (o *LDSSecurityObject) Marshal() ([]byte, error) {
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var oid asn1.ObjectIdentifier
	for _, h := range hashOIDs {
		if h.hash == o.HashAlgorithm {
			oid = h.oid
		}
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(int64(o.Version))
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, d := range o.DataGroupHashes {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1Int64(int64(d.Number))
					b.AddASN1OctetString(d.Hash)
				})
			}
		})
		if o.Version == 1 {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.PrintableString, func(b *cryptobyte.Builder) { b.AddBytes([]byte(o.LDSVersion)) })
				b.AddASN1(cbasn1.PrintableString, func(b *cryptobyte.Builder) { b.AddBytes([]byte(o.UnicodeVersion)) })
			})
		}
	})
	return b.Bytes()
}

// check validates the object as ICAO 9303-10 §4.6.2.3 constrains it.
func (o *LDSSecurityObject) check() error {
	known := false
	for _, h := range hashOIDs {
		known = known || h.hash == o.HashAlgorithm
	}
	if !known {
		return fmt.Errorf("hash algorithm %v is not allowed", o.HashAlgorithm)
	}
	switch o.Version {
	case 0:
		if o.LDSVersion != "" || o.UnicodeVersion != "" {
			return fmt.Errorf("version 0 carries no LDS version info")
		}
	case 1:
		if !printable(o.LDSVersion) || !printable(o.UnicodeVersion) || o.LDSVersion == "" || o.UnicodeVersion == "" {
			return fmt.Errorf("version 1 needs LDS and Unicode versions as PrintableStrings")
		}
	default:
		return fmt.Errorf("version %d, want 0 or 1", o.Version)
	}
	if n := len(o.DataGroupHashes); n < 2 || n > 16 {
		return fmt.Errorf("%d data group hashes, want 2 to 16", n)
	}
	var seen [17]bool
	for _, d := range o.DataGroupHashes {
		if d.Number < 1 || d.Number > 16 {
			return fmt.Errorf("data group number %d out of range 1..16", d.Number)
		}
		if seen[d.Number] {
			return fmt.Errorf("dg%d listed twice", d.Number)
		}
		seen[d.Number] = true
		if len(d.Hash) != o.HashAlgorithm.Size() {
			return fmt.Errorf("dg%d hash has %d bytes, want %d for %v", d.Number, len(d.Hash), o.HashAlgorithm.Size(), o.HashAlgorithm)
		}
	}
	return nil
}

// ParseLDSSecurityObject decodes a DER LDSSecurityObject strictly: DER only, version 0 without
// or version 1 with LDSVersionInfo, a known hash algorithm whose parameters are absent or NULL,
// 2 to 16 hashes of distinct data groups 1..16, each the algorithm's size.
func ParseLDSSecurityObject(der []byte) (*LDSSecurityObject, error) {
	in := cryptobyte.String(der)
	var seq, alg, hashes cryptobyte.String
	var o LDSSecurityObject
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&o.Version) ||
		!seq.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, fmt.Errorf("%w: ldssecurityobject: bad version or hash algorithm", ErrMalformed)
	}
	if !alg.Empty() {
		var null cryptobyte.String
		if !alg.ReadASN1(&null, cbasn1.NULL) || !null.Empty() || !alg.Empty() {
			return nil, fmt.Errorf("%w: ldssecurityobject: hash algorithm parameters must be absent or NULL", ErrMalformed)
		}
	}
	for _, h := range hashOIDs {
		if h.oid.Equal(oid) {
			o.HashAlgorithm = h.hash
		}
	}
	if o.HashAlgorithm == 0 {
		return nil, fmt.Errorf("%w: ldssecurityobject: unknown hash algorithm %v", ErrMalformed, oid)
	}
	if !seq.ReadASN1(&hashes, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: ldssecurityobject: no data group hashes", ErrMalformed)
	}
	for !hashes.Empty() {
		var dgh cryptobyte.String
		var d DataGroupHash
		if !hashes.ReadASN1(&dgh, cbasn1.SEQUENCE) || !dgh.ReadASN1Integer(&d.Number) ||
			!dgh.ReadASN1Bytes(&d.Hash, cbasn1.OCTET_STRING) || !dgh.Empty() {
			return nil, fmt.Errorf("%w: ldssecurityobject: bad DataGroupHash", ErrMalformed)
		}
		d.Hash = bytes.Clone(d.Hash)
		o.DataGroupHashes = append(o.DataGroupHashes, d)
		if len(o.DataGroupHashes) > 16 {
			return nil, fmt.Errorf("%w: ldssecurityobject: more than 16 data group hashes", ErrMalformed)
		}
	}
	if !seq.Empty() {
		var info cryptobyte.String
		var lv, uv cryptobyte.String
		if !seq.ReadASN1(&info, cbasn1.SEQUENCE) || !seq.Empty() ||
			!info.ReadASN1(&lv, cbasn1.PrintableString) || !info.ReadASN1(&uv, cbasn1.PrintableString) || !info.Empty() {
			return nil, fmt.Errorf("%w: ldssecurityobject: bad LDSVersionInfo", ErrMalformed)
		}
		o.LDSVersion, o.UnicodeVersion = string(lv), string(uv)
		if o.LDSVersion == "" || o.UnicodeVersion == "" {
			return nil, fmt.Errorf("%w: ldssecurityobject: empty LDSVersionInfo", ErrMalformed)
		}
	}
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("%w: ldssecurityobject: %w", ErrMalformed, err)
	}
	return &o, nil
}

// printable reports whether s holds only PrintableString characters (X.680 §41.4).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || bytes.IndexByte([]byte(" '()+,-./:=?"), c) >= 0) {
			return false
		}
	}
	return true
}
