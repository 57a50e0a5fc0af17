package sod_test

import (
	"context"
	"crypto"
	"testing"

	"github.com/cccd-project/cccd/hsm"
	"github.com/cccd-project/cccd/hsm/pkcs11/softhsmtest"
	"github.com/cccd-project/cccd/personalization/sod"
	"github.com/cccd-project/cccd/personalization/sod/sodtest"
)

// softHSMSigner generates a P-256 Document Signer key inside a fresh SoftHSM2 token and
// issues its certificate from a throwaway CSCA. A missing SoftHSM2 fails the test.
func softHSMSigner(t testing.TB) (*sodtest.PKI, crypto.Signer, *sodtest.DS) {
	t.Helper()
	ctx := context.Background()
	store := softhsmtest.New(t)
	key, err := store.Generate(ctx, "ds-test", hsm.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sodtest.NewPKI("VN", issued)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := p.IssueDS("hsm", key.Public(), issued, issued.AddDate(10, 0, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, key, &sodtest.DS{Cert: cert}
}

// TestSignWithHSM signs EF.SOD through a PKCS#11 key that never leaves the token and has
// openssl verify the result.
func TestSignWithHSM(t *testing.T) {
	p, key, ds := softHSMSigner(t)
	ef, err := sod.Sign(sampleDGs(t), ds.Cert, key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sod.Parse(ef)
	if err != nil {
		t.Fatal(err)
	}
	if signer, err := s.Verify(); err != nil || !signer.Equal(ds.Cert) {
		t.Fatalf("Verify = %v, %v", signer, err)
	}
	opensslVerify(t, s.CMS, sodtest.PEM(p.CSCA))
}

// BenchmarkSignHSM signs the sample card's EF.SOD through SoftHSM2 (PKCS#11).
func BenchmarkSignHSM(b *testing.B) {
	_, key, ds := softHSMSigner(b)
	dgs := sampleDGs(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sod.Sign(dgs, ds.Cert, key); err != nil {
			b.Fatal(err)
		}
	}
}
