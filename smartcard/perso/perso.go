// Package perso is the terminal side of this project's chip personalization profile,
// used by personalization stations on a blank CCCD chip before it is locked: create and
// write the eMRTD files, store the access keys (MRZ key, CAN), have the chip generate
// its Active Authentication and Chip Authentication key pairs, read the chip serial, and
// lock the chip. The command set is documented in package vchip (the virtual chip that
// implements it); each function here sends those APDUs over any apdu.Transmitter.
package perso

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// ErrLocked is returned (wrapped with the 6985 StatusError) when the chip refuses a
// personalization command because it has been locked.
var ErrLocked = errors.New("perso: chip is locked")

// ErrVerify is returned by WriteFile when the file read back differs from what was
// written.
var ErrVerify = errors.New("perso: read-back differs from written data")

// Data object tags, key references and identifiers of the profile (see package vchip).
const (
	tagMRZKey = 0xC1
	tagCAN    = 0xC2
	tagSerial = 0xC0
	keyRefAA  = 0x01
	keyRefCA  = 0x02

	fidCardAccess = 0x011C
)

var aid = []byte{0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01}

// MaxLengther is implemented by transports that know the largest Nc/Ne the reader and
// chip carry (vchip.Transport does). Without it, perso uses short APDUs (255 bytes).
type MaxLengther interface {
	MaxLength() int
}

// WithMaxLength returns t reporting n as its MaxLength: for a transport that carries
// extended length APDUs (n up to 65536) but does not implement MaxLengther.
func WithMaxLength(t apdu.Transmitter, n int) apdu.Transmitter { return maxLength{t, n} }

type maxLength struct {
	apdu.Transmitter
	n int
}

// MaxLength returns the configured length.
func (m maxLength) MaxLength() int { return m.n }

// run sends cmd and maps 6985 to ErrLocked.
func run(ctx context.Context, t apdu.Transmitter, what string, cmd apdu.Command) ([]byte, error) {
	data, err := apdu.Run(ctx, t, cmd)
	if err != nil {
		if errors.Is(err, apdu.StatusError{SW: apdu.SWConditionsNotSatisfied}) {
			return nil, fmt.Errorf("perso: %s: %w: %w", what, ErrLocked, err)
		}
		return nil, fmt.Errorf("perso: %s: %w", what, err)
	}
	return data, nil
}

// CreateFile creates a transparent EF of size bytes with CREATE FILE (ISO 7816-9 §8.1).
// The chip places EF.CardAccess in the MF and every other FID in the eMRTD application.
func CreateFile(ctx context.Context, t apdu.Transmitter, fid uint16, size int) error {
	if size < 0 || size > 0xFFFF {
		return fmt.Errorf("perso: create file %04X: size %d out of range 0..65535", fid, size)
	}
	v := tlv.Encode(0x80, []byte{byte(size >> 8), byte(size)})
	v = append(v, tlv.Encode(0x82, []byte{0x01})...)
	v = append(v, tlv.Encode(0x83, []byte{byte(fid >> 8), byte(fid)})...)
	_, err := run(ctx, t, fmt.Sprintf("create file %04X", fid),
		apdu.Command{INS: 0xE0, Data: tlv.Encode(0x62, v)})
	return err
}

// linkLength returns the transport's largest Nc/Ne, 256 when it does not say.
func linkLength(t apdu.Transmitter) int {
	if m, ok := t.(MaxLengther); ok && m.MaxLength() > 0 {
		return min(m.MaxLength(), apdu.MaxExtendedLe)
	}
	return apdu.MaxShortLe
}

// selectEF selects the eMRTD application (for an LDS file) and then the EF.
func selectEF(ctx context.Context, t apdu.Transmitter, fid uint16) error {
	if fid != fidCardAccess {
		if _, err := run(ctx, t, "select application", apdu.Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: aid}); err != nil {
			return err
		}
	}
	_, err := run(ctx, t, fmt.Sprintf("select %04X", fid),
		apdu.Command{INS: 0xA4, P1: 0x00, P2: 0x0C, Data: []byte{byte(fid >> 8), byte(fid)}})
	return err
}

// WriteFile writes data at the start of the EF fid with UPDATE BINARY (ISO 7816-4
// §11.3.5) in as few commands as the transport allows (extended Lc when it reports it),
// using the odd INS D7 with offset DO 54 past offset 7FFF, then reads the file back and
// compares (ErrVerify). A card torn out mid-write is an error; the file is then partial.
func WriteFile(ctx context.Context, t apdu.Transmitter, fid uint16, data []byte) error {
	chunk := min(linkLength(t), apdu.MaxExtendedData) - 16 // room for the D7 data objects
	if err := selectEF(ctx, t, fid); err != nil {
		return err
	}
	for off := 0; off < len(data); {
		n := min(chunk, len(data)-off)
		part := data[off : off+n]
		cmd := apdu.Command{INS: 0xD6, P1: byte(off >> 8), P2: byte(off), Data: part}
		if off > 0x7FFF {
			body := tlv.Encode(0x54, []byte{byte(off >> 16), byte(off >> 8), byte(off)})
			cmd = apdu.Command{INS: 0xD7, Data: append(body, tlv.Encode(0x53, part)...)}
		}
		if _, err := run(ctx, t, fmt.Sprintf("write %04X at %d", fid, off), cmd); err != nil {
			return err
		}
		off += n
	}
	back, err := readBack(ctx, t, fid, len(data))
	if err != nil {
		return err
	}
	if !bytes.Equal(back, data) {
		return fmt.Errorf("perso: file %04X: %w", fid, ErrVerify)
	}
	return nil
}

// readBack reads n bytes from the start of the current EF.
func readBack(ctx context.Context, t apdu.Transmitter, fid uint16, n int) ([]byte, error) {
	chunk := linkLength(t) - 8
	out := make([]byte, 0, n)
	for len(out) < n {
		off := len(out)
		want := min(chunk, n-off)
		cmd := apdu.Command{INS: 0xB0, P1: byte(off >> 8), P2: byte(off), Ne: want}
		if off > 0x7FFF {
			cmd = apdu.Command{INS: 0xB1, Data: tlv.Encode(0x54, []byte{byte(off >> 16), byte(off >> 8), byte(off)}), Ne: want + 4}
		}
		data, err := run(ctx, t, fmt.Sprintf("read back %04X at %d", fid, off), cmd)
		if err != nil {
			return nil, err
		}
		if cmd.INS == 0xB1 {
			tag, v, rest, err := tlv.Next(data)
			if err != nil || tag != 0x53 || len(rest) != 0 {
				return nil, fmt.Errorf("perso: read back %04X at %d: answer is not one DO 53", fid, off)
			}
			data = v
		}
		if len(data) == 0 || len(data) > want {
			return nil, fmt.Errorf("perso: read back %04X at %d: %d bytes for %d asked", fid, off, len(data), want)
		}
		out = append(out, data...)
	}
	return out, nil
}

// SetAccessKeys stores the access keys with PUT DATA. mrzKey is SHA-1 of the MRZ
// information (document number, birth date and expiry date, each with its check digit;
// 20 bytes): its first 16 bytes are the BAC key seed (ICAO 9303-11 §9.7.2) and the whole
// is the PACE MRZ secret (§4.4.3.1). can is the 6-digit Card Access Number (empty to
// leave it unset).
func SetAccessKeys(ctx context.Context, t apdu.Transmitter, mrzKey []byte, can string) error {
	if len(mrzKey) != sha1.Size {
		return fmt.Errorf("perso: MRZ key of %d bytes, want %d (SHA-1 of the MRZ information)", len(mrzKey), sha1.Size)
	}
	if can != "" && !isCAN(can) {
		return fmt.Errorf("perso: CAN must be 6 digits")
	}
	if _, err := run(ctx, t, "put MRZ key", apdu.Command{CLA: 0x80, INS: 0xDA, P2: tagMRZKey, Data: mrzKey}); err != nil {
		return err
	}
	if can == "" {
		return nil
	}
	_, err := run(ctx, t, "put CAN", apdu.Command{CLA: 0x80, INS: 0xDA, P2: tagCAN, Data: []byte(can)})
	return err
}

// MRZKey returns the MRZ key SetAccessKeys expects: SHA-1 of the MRZ information
// (mrzInfo as bac.MRZInformation or pace.MRZInformation build it).
func MRZKey(mrzInfo []byte) []byte {
	h := sha1.Sum(mrzInfo)
	return h[:]
}

func isCAN(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// generate runs GENERATE ASYMMETRIC KEY PAIR (ISO 7816-8 §5.1) for a key reference.
func generate(ctx context.Context, t apdu.Transmitter, what string, ref byte) ([]byte, error) {
	return run(ctx, t, "generate "+what+" key",
		apdu.Command{INS: 0x47, P1: 0x80, Data: []byte{0x84, 0x01, ref}, Ne: apdu.MaxShortLe})
}

// GenerateAAKey has the chip generate its Active Authentication key pair (ECDSA P-256,
// ICAO 9303-11 §6.1) and returns the public key as a DER SubjectPublicKeyInfo, the
// content of DG15. The private key never leaves the chip.
func GenerateAAKey(ctx context.Context, t apdu.Transmitter) ([]byte, error) {
	spki, err := generate(ctx, t, "AA", keyRefAA)
	if err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, fmt.Errorf("perso: AA public key: %w", err)
	}
	if k, ok := pub.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("perso: AA public key is %T, want ECDSA P-256", pub)
	}
	return spki, nil
}

// GenerateCAKey has the chip generate its Chip Authentication key pair (ECDH on
// brainpoolP256r1, ICAO 9303-11 §6.2) and returns the public key as a DER
// SubjectPublicKeyInfo for DG14's ChipAuthenticationPublicKeyInfo.
func GenerateCAKey(ctx context.Context, t apdu.Transmitter) ([]byte, error) {
	spki, err := generate(ctx, t, "CA", keyRefCA)
	if err != nil {
		return nil, err
	}
	var info struct {
		Algorithm struct {
			OID   asn1.ObjectIdentifier
			Curve asn1.ObjectIdentifier
		}
		Key asn1.BitString
	}
	if rest, err := asn1.Unmarshal(spki, &info); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("perso: CA public key is not a SubjectPublicKeyInfo with a named curve")
	}
	return spki, nil
}

// Serial reads the chip serial with GET DATA; it works in every life cycle state.
func Serial(ctx context.Context, t apdu.Transmitter) (string, error) {
	b, err := run(ctx, t, "get serial", apdu.Command{CLA: 0x80, INS: 0xCA, P2: tagSerial, Ne: apdu.MaxShortLe})
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Lock ends personalization for good (ACTIVATE FILE on the MF, ISO 7816-9 §8.3): after
// it, every personalization command fails with ErrLocked and access control holds. The
// chip refuses to lock (ErrLocked) while the MRZ key is unset or when already locked.
func Lock(ctx context.Context, t apdu.Transmitter) error {
	_, err := run(ctx, t, "lock", apdu.Command{INS: 0x44, Data: []byte{0x3F, 0x00}})
	return err
}
