package vchip

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// formatVersion is the version of the card file format.
const formatVersion = 1

// ErrFormat is wrapped by every error Load returns for a file that is not a valid card.
var ErrFormat = errors.New("vchip: bad card file")

// cardFile is the JSON form of a card: the chip's EEPROM. Private keys in it are the
// chip's secure memory, so the file is written 0600.
type cardFile struct {
	Version  int          `json:"version"`
	Serial   string       `json:"serial"`
	Options  Options      `json:"options"`
	Locked   bool         `json:"locked"`
	Files    []fileRecord `json:"files"`
	MRZKey   []byte       `json:"mrzKey,omitempty"`
	CAN      string       `json:"can,omitempty"`
	AAKey    []byte       `json:"aaKey,omitempty"` // PKCS #8
	CAKey    *caRecord    `json:"caKey,omitempty"`
	Failures int          `json:"failures,omitempty"`
}

type fileRecord struct {
	FID  string `json:"fid"` // 4 hex digits
	Size int    `json:"size"`
	Data []byte `json:"data"`
}

type caRecord struct {
	Curve string `json:"curve"` // dotted OID
	D     []byte `json:"d"`
}

// Save writes the card to path atomically (a temporary file in the same directory,
// synced, then renamed) with mode 0600.
func (c *Chip) Save(path string) error {
	c.mu.Lock()
	cf, err := c.record()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(cf, "", " ")
	if err != nil {
		return fmt.Errorf("vchip: encode card: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("vchip: save: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("vchip: save: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("vchip: save: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("vchip: save: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("vchip: save: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("vchip: save: %w", err)
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		_ = dir.Sync() // make the rename durable; best effort on file systems that refuse
		dir.Close()
	}
	return nil
}

func (c *Chip) record() (*cardFile, error) {
	cf := &cardFile{
		Version: formatVersion, Serial: c.serial, Options: c.opts, Locked: c.locked,
		MRZKey: c.mrzKey, CAN: c.can, Failures: c.failures,
	}
	for fid, f := range c.mf {
		cf.Files = append(cf.Files, fileRecord{FID: fmt.Sprintf("%04X", fid), Size: f.size, Data: f.data})
	}
	for fid, f := range c.app {
		cf.Files = append(cf.Files, fileRecord{FID: fmt.Sprintf("%04X", fid), Size: f.size, Data: f.data})
	}
	sort.Slice(cf.Files, func(i, j int) bool { return cf.Files[i].FID < cf.Files[j].FID })
	if c.aaKey != nil {
		der, err := x509.MarshalPKCS8PrivateKey(c.aaKey)
		if err != nil {
			return nil, fmt.Errorf("vchip: encode AA key: %w", err)
		}
		cf.AAKey = der
	}
	if c.caKey != nil {
		cf.CAKey = &caRecord{Curve: c.caKey.curveOID.String(), D: c.caKey.d}
	}
	return cf, nil
}

// Load reads a card written by Save. The chip comes up as after a reset, with
// time.Sleep and crypto/rand as its clock and random source.
func Load(path string) (*Chip, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vchip: load: %w", err)
	}
	var cf cardFile
	if err := json.Unmarshal(b, &cf); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if cf.Version != formatVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrFormat, cf.Version, formatVersion)
	}
	c := New(cf.Serial, cf.Options)
	c.locked, c.can, c.failures = cf.Locked, cf.CAN, cf.Failures
	if cf.MRZKey != nil {
		if len(cf.MRZKey) != mrzKeySize {
			return nil, fmt.Errorf("%w: MRZ key of %d bytes, want %d", ErrFormat, len(cf.MRZKey), mrzKeySize)
		}
		c.mrzKey = cf.MRZKey
	}
	if cf.Failures < 0 {
		return nil, fmt.Errorf("%w: negative failure counter", ErrFormat)
	}
	total := 0
	for _, r := range cf.Files {
		fid, err := strconv.ParseUint(r.FID, 16, 16)
		if err != nil || len(r.FID) != 4 || !validFID(uint16(fid)) {
			return nil, fmt.Errorf("%w: file id %q", ErrFormat, r.FID)
		}
		if r.Size < 0 || r.Size > 0xFFFF || len(r.Data) != r.Size {
			return nil, fmt.Errorf("%w: file %s: size %d with %d data bytes", ErrFormat, r.FID, r.Size, len(r.Data))
		}
		dir := c.mf
		if home(uint16(fid)) {
			dir = c.app
		}
		if _, dup := dir[uint16(fid)]; dup {
			return nil, fmt.Errorf("%w: file %s twice", ErrFormat, r.FID)
		}
		dir[uint16(fid)] = &file{size: r.Size, data: r.Data}
		total += r.Size
	}
	if total > c.opts.Capacity {
		return nil, fmt.Errorf("%w: %d bytes of files exceed capacity %d", ErrFormat, total, c.opts.Capacity)
	}
	if cf.AAKey != nil {
		k, err := x509.ParsePKCS8PrivateKey(cf.AAKey)
		if err != nil {
			return nil, fmt.Errorf("%w: AA key: %w", ErrFormat, err)
		}
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok || ek.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: AA key is not ECDSA P-256", ErrFormat)
		}
		c.aaKey = ek
	}
	if cf.CAKey != nil {
		oid, err := parseOID(cf.CAKey.Curve)
		if err != nil {
			return nil, fmt.Errorf("%w: CA key curve: %w", ErrFormat, err)
		}
		curve, ok := curveOf(oid)
		if !ok {
			return nil, fmt.Errorf("%w: CA key curve %s not supported", ErrFormat, oid)
		}
		d := new(big.Int).SetBytes(cf.CAKey.D)
		if d.Sign() <= 0 || d.Cmp(curve.Params().N) >= 0 {
			return nil, fmt.Errorf("%w: CA private key out of range", ErrFormat)
		}
		c.caKey = &caKey{curveOID: oid, d: cf.CAKey.D}
	}
	return c, nil
}

// parseOID parses a dotted object identifier.
func parseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("vchip: OID %q too short", s)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("vchip: OID %q: bad arc %q", s, p)
		}
		oid[i] = n
	}
	return oid, nil
}
