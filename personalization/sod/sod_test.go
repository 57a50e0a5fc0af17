package sod_test

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/pki/cms"
	"github.com/cccd-project/cccd/personalization/lds/ldstest"
	"github.com/cccd-project/cccd/personalization/sod"
	"github.com/cccd-project/cccd/personalization/sod/sodtest"
)

var issued = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// sampleDGs returns the sample card's data groups (DG1, DG2, DG3, DG13, DG14, DG15).
func sampleDGs(t testing.TB) map[int][]byte {
	t.Helper()
	_, _, dgs, err := ldstest.Sample().Files()
	if err != nil {
		t.Fatalf("encode sample card: %v", err)
	}
	return dgs
}

// newDS returns a fresh CSCA and a Document Signer valid 2024-2034.
func newDS(t testing.TB, country string) (*sodtest.PKI, *sodtest.DS) {
	t.Helper()
	p, err := sodtest.NewPKI(country, issued)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := p.NewDS("1", issued, issued.AddDate(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return p, ds
}

func TestSignParseVerify(t *testing.T) {
	dgs := sampleDGs(t)
	_, ds := newDS(t, "VN")
	ef, err := sod.Sign(dgs, ds.Cert, ds.Key)
	if err != nil {
		t.Fatal(err)
	}
	if ef[0] != 0x77 {
		t.Fatalf("EF.SOD starts with %02X, want 77", ef[0])
	}
	s, err := sod.Parse(ef)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := s.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if !signer.Equal(ds.Cert) || !s.DocumentSigner().Equal(ds.Cert) {
		t.Errorf("signer %v, want %v", signer.Subject, ds.Cert.Subject)
	}
	if s.Version != 0 || s.HashAlgorithm != crypto.SHA256 || s.SignedData.Version != 3 {
		t.Errorf("version %d, hash %v, SignedData v%d; want 0, SHA-256, v3", s.Version, s.HashAlgorithm, s.SignedData.Version)
	}
	t.Run("every data group hashed", func(t *testing.T) {
		if len(s.DataGroupHashes) != len(dgs) {
			t.Fatalf("%d hashes for %d data groups", len(s.DataGroupHashes), len(dgs))
		}
		for n, b := range dgs {
			want := sha256.Sum256(b)
			got, ok := s.HashOf(n)
			if !ok || !bytes.Equal(got, want[:]) {
				t.Errorf("dg%d hash %X, want %X", n, got, want)
			}
		}
		if _, ok := s.HashOf(13); !ok {
			t.Error("DG13 missing from the security object")
		}
	})
	t.Run("ascending order", func(t *testing.T) {
		for i := 1; i < len(s.DataGroupHashes); i++ {
			if s.DataGroupHashes[i-1].Number >= s.DataGroupHashes[i].Number {
				t.Errorf("hashes out of order: %v", s.DataGroupHashes)
			}
		}
	})
	t.Run("tampered content", func(t *testing.T) {
		bad := bytes.Clone(ef)
		h, _ := s.HashOf(2)
		i := bytes.Index(bad, h)
		bad[i] ^= 1
		s2, err := sod.Parse(bad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s2.Verify(); !errors.Is(err, cms.ErrDigest) {
			t.Errorf("Verify err = %v, want cms.ErrDigest", err)
		}
	})
	t.Run("tampered signature", func(t *testing.T) {
		bad := bytes.Clone(ef)
		bad[len(bad)-5] ^= 1
		s2, err := sod.Parse(bad)
		if err != nil {
			return // the flip broke the DER of the signature: also a refusal
		}
		if _, err := s2.Verify(); !errors.Is(err, cms.ErrSignature) {
			t.Errorf("Verify err = %v, want cms.ErrSignature", err)
		}
	})
}

// badSigner returns signatures over other data, as a faulty HSM might.
type badSigner struct{ crypto.Signer }

func (b badSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	d := bytes.Clone(digest)
	d[0] ^= 1
	return b.Signer.Sign(r, d, opts)
}

func TestSignRefuses(t *testing.T) {
	_, ds := newDS(t, "VN")
	_, other := newDS(t, "XX")
	dgs := sampleDGs(t)
	tests := []struct {
		name   string
		dgs    map[int][]byte
		key    crypto.Signer
		is     error
		substr string
	}{
		{"one data group", map[int][]byte{1: dgs[1]}, ds.Key, sod.ErrInvalid, "1 data groups"},
		{"dg17", with(dgs, 17, []byte{0x71, 0}), ds.Key, sod.ErrInvalid, "17"},
		{"dg2 under number 3", with(dgs, 3, dgs[2]), ds.Key, sod.ErrInvalid, "dg3 does not start with its tag 63"},
		{"empty dg", with(dgs, 4, nil), ds.Key, sod.ErrInvalid, "dg4"},
		{"key of another signer", dgs, other.Key, nil, "does not match the certificate"},
		{"signer returns bad signatures", dgs, badSigner{ds.Key}, cms.ErrSignature, "bad signature"},
	}
	p, _ := newDS(t, "VN")
	t.Run("CSCA as signer", func(t *testing.T) {
		_, err := sod.Sign(dgs, p.CSCA, p.CSCAKey)
		if err == nil || !strings.Contains(err.Error(), "digitalSignature") {
			t.Errorf("Sign with the CSCA err = %v, want a Document Signer profile error", err)
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ef, err := sod.Sign(tc.dgs, ds.Cert, tc.key)
			if err == nil || ef != nil {
				t.Fatalf("Sign = %d bytes, %v; want an error", len(ef), err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("Sign err = %v, want %v naming %q", err, tc.is, tc.substr)
			}
		})
	}
}

func with(m map[int][]byte, n int, b []byte) map[int][]byte {
	c := maps.Clone(m)
	c[n] = b
	return c
}

func TestParseRefuses(t *testing.T) {
	_, ds := newDS(t, "VN")
	dgs := sampleDGs(t)
	so, _ := sod.NewLDSSecurityObject(dgs)
	content, _ := so.Marshal()
	otherType, err := cms.Sign(asn1.ObjectIdentifier{2, 23, 136, 1, 1, 2}, content, ds.Cert, ds.Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	notSO, err := cms.Sign(sod.OIDLDSSecurityObject, []byte{0x30, 0x00}, ds.Cert, ds.Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := sod.Sign(dgs, ds.Cert, ds.Key)
	wrap := func(b []byte) []byte { return append([]byte{0x77, 0x82, byte(len(b) >> 8), byte(len(b))}, b...) }
	tests := []struct {
		name, substr string
		ef           []byte
	}{
		{"no tag 77", "tag 77", otherType},
		{"tag 77 of a master list", "eContentType", wrap(otherType)},
		{"not an LDSSecurityObject", "ldssecurityobject", wrap(notSO)},
		{"trailing byte", "tag 77", append(bytes.Clone(good), 0)},
		{"truncated", "ef.sod", good[:len(good)-1]},
		{"empty", "ef.sod", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sod.Parse(tc.ef)
			if !errors.Is(err, sod.ErrMalformed) || !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("Parse err = %v, want ErrMalformed naming %q", err, tc.substr)
			}
		})
	}
}

func TestLDSSecurityObject(t *testing.T) {
	h := func(b byte) string { return strings.Repeat(hex.EncodeToString([]byte{b}), 32) }
	sha256ID := "300B0609608648016503040201"
	hashes := "304E" + "30250201010420" + h(1) + "30250201020420" + h(2)
	seq := func(parts ...string) string {
		s := strings.Join(parts, "")
		return "30" + hex.EncodeToString([]byte{byte(len(s) / 2)}) + s
	}
	tests := []struct {
		name, der string
		ok        bool
		substr    string
	}{
		{"v0 SHA-256 absent params", seq("020100", sha256ID, hashes), true, ""},
		{"v0 SHA-256 NULL params", seq("020100", "300D06096086480165030402010500", hashes), true, ""},
		{"v1 with version info", seq("020101", sha256ID, hashes, "300E1304303130381306303430303030"), true, ""},
		{"v1 without version info", seq("020101", sha256ID, hashes), false, "version 1"},
		{"v0 with version info", seq("020100", sha256ID, hashes, "300E1304303130381306303430303030"), false, "version 0"},
		{"v2", seq("020102", sha256ID, hashes), false, "version 2"},
		{"MD5", seq("020100", "300A06082A864886F70D0205", hashes), false, "unknown hash"},
		{"short hash", seq("020100", sha256ID, "304D"+"3024020101041F"+h(1)[:62]+"30250201020420"+h(2)), false, "dg1 hash has 31 bytes"},
		{"one hash", seq("020100", sha256ID, "3027"+"30250201010420"+h(1)), false, "1 data group hashes"},
		{"dg twice", seq("020100", sha256ID, "304E"+"30250201010420"+h(1)+"30250201010420"+h(2)), false, "dg1 listed twice"},
		{"dg 17", seq("020100", sha256ID, "304E"+"30250201010420"+h(1)+"30250201110420"+h(2)), false, "17"},
		{"params not NULL", seq("020100", "300D06096086480165030402010400", hashes), false, "parameters"},
		{"non-minimal length", "3081" + seq("020100", sha256ID, hashes)[2:], false, "version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der, err := hex.DecodeString(tc.der)
			if err != nil {
				t.Fatal(err)
			}
			o, err := sod.ParseLDSSecurityObject(der)
			if !tc.ok {
				if !errors.Is(err, sod.ErrMalformed) || !strings.Contains(err.Error(), tc.substr) {
					t.Errorf("err = %v, want ErrMalformed naming %q", err, tc.substr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			again, err := o.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			o2, err := sod.ParseLDSSecurityObject(again)
			if err != nil || o2.Version != o.Version || len(o2.DataGroupHashes) != 2 || o2.LDSVersion != o.LDSVersion {
				t.Errorf("round trip: %+v, %v", o2, err)
			}
		})
	}
}

// TestOpenSSLVerifies has openssl check a freshly signed EF.SOD independently of this code:
// the CMS inside tag 77, against the CSCA as the only trust anchor.
func TestOpenSSLVerifies(t *testing.T) {
	p, ds := newDS(t, "VN")
	ef, err := sod.Sign(sampleDGs(t), ds.Cert, ds.Key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sod.Parse(ef)
	if err != nil {
		t.Fatal(err)
	}
	content := opensslVerify(t, s.CMS, sodtest.PEM(p.CSCA))
	if so, _ := sod.NewLDSSecurityObject(sampleDGs(t)); !bytes.Equal(content, mustMarshal(t, so)) {
		t.Errorf("openssl returned content %X, want the LDSSecurityObject", content)
	}

	t.Run("other CSCA refused", func(t *testing.T) {
		other, _ := newDS(t, "XX")
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "sod.der"), s.CMS)
		writeFile(t, filepath.Join(dir, "csca.pem"), sodtest.PEM(other.CSCA))
		out, err := exec.Command(openssl(t), "cms", "-verify", "-inform", "DER", "-in", filepath.Join(dir, "sod.der"),
			"-CAfile", filepath.Join(dir, "csca.pem"), "-purpose", "any", "-out", filepath.Join(dir, "content")).CombinedOutput()
		if err == nil {
			t.Errorf("openssl verified against the wrong CSCA: %s", out)
		}
	})
}

// opensslVerify runs openssl cms -verify and returns the content it extracted.
func opensslVerify(t testing.TB, cmsDER, cscaPEM []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "sod.der"), cmsDER)
	writeFile(t, filepath.Join(dir, "csca.pem"), cscaPEM)
	out, err := exec.Command(openssl(t), "cms", "-verify", "-inform", "DER", "-in", filepath.Join(dir, "sod.der"),
		"-CAfile", filepath.Join(dir, "csca.pem"), "-purpose", "any", "-out", filepath.Join(dir, "content")).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl cms -verify: %v\n%s", err, out)
	}
	content, err := os.ReadFile(filepath.Join(dir, "content"))
	if err != nil {
		t.Fatal(err)
	}
	return content
}

func openssl(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is required for this test (Debian package openssl): %v", err)
	}
	return path
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustMarshal(t testing.TB, so *sod.LDSSecurityObject) []byte {
	t.Helper()
	b, err := so.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
