package softkey_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cccd-project/cccd/hsm"
	"github.com/cccd-project/cccd/hsm/softkey"
)

var fastKDF = softkey.KDF{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

func verify(t *testing.T, s crypto.Signer) {
	t.Helper()
	d := sha256.Sum256([]byte("document"))
	sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	switch pub := s.Public().(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, d[:], sig) {
			t.Fatal("ecdsa signature does not verify")
		}
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig); err != nil {
			t.Fatalf("rsa signature: %v", err)
		}
	default:
		t.Fatalf("unexpected key %T", pub)
	}
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	for _, alg := range []hsm.Algorithm{hsm.ECDSAP256, hsm.ECDSAP384, hsm.RSA3072} {
		t.Run(string(alg), func(t *testing.T) {
			dir := t.TempDir()
			s, err := softkey.Open(dir, "correct horse", fastKDF)
			if err != nil {
				t.Fatal(err)
			}
			k, err := s.Generate(ctx, "ds-1", alg)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := hsm.AlgorithmOf(k.Public()); got != alg {
				t.Errorf("algorithm = %q, want %q", got, alg)
			}
			verify(t, k)
			st, err := os.Stat(filepath.Join(dir, "ds-1.key"))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
			}
			if _, err := s.Generate(ctx, "ds-1", alg); !errors.Is(err, hsm.ErrKeyExists) {
				t.Errorf("second Generate: %v, want ErrKeyExists", err)
			}
			// A fresh store (no cache) must unseal the file with the passphrase.
			s2, _ := softkey.Open(dir, "correct horse", fastKDF)
			k2, err := s2.Signer(ctx, "ds-1")
			if err != nil {
				t.Fatal(err)
			}
			verify(t, k2)
			if !k2.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()) {
				t.Error("reopened key differs")
			}
			bad, _ := softkey.Open(dir, "wrong", fastKDF)
			if _, err := bad.Signer(ctx, "ds-1"); !errors.Is(err, softkey.ErrPassphrase) {
				t.Errorf("wrong passphrase: %v, want ErrPassphrase", err)
			}
			labels, err := s.List(ctx)
			if err != nil || len(labels) != 1 || labels[0] != "ds-1" {
				t.Errorf("List = %v, %v", labels, err)
			}
			if err := s.Destroy(ctx, "ds-1"); err != nil {
				t.Fatal(err)
			}
			s3, _ := softkey.Open(dir, "correct horse", fastKDF)
			if _, err := s3.Signer(ctx, "ds-1"); !errors.Is(err, hsm.ErrKeyNotFound) {
				t.Errorf("after Destroy: %v, want ErrKeyNotFound", err)
			}
		})
	}
}

func TestTamperedFile(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		label  string
		mutate func(t *testing.T, dir string)
	}{
		{"flipped ciphertext bit", "k", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "k.key")
			b, _ := os.ReadFile(p)
			b[len(b)-1] ^= 1
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		// The label is authenticated: a renamed file does not open as another key.
		{"renamed file", "other", func(t *testing.T, dir string) {
			if err := os.Rename(filepath.Join(dir, "k.key"), filepath.Join(dir, "other.key")); err != nil {
				t.Fatal(err)
			}
		}},
		{"changed kdf parameters", "k", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "k.key")
			b, _ := os.ReadFile(p)
			b[8+3]++ // argon2 time parameter
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := softkey.Open(dir, "pw", fastKDF)
			if _, err := s.Generate(ctx, "k", hsm.ECDSAP256); err != nil {
				t.Fatal(err)
			}
			tt.mutate(t, dir)
			s2, _ := softkey.Open(dir, "pw", fastKDF)
			if _, err := s2.Signer(ctx, tt.label); !errors.Is(err, softkey.ErrPassphrase) {
				t.Errorf("Signer = %v, want ErrPassphrase", err)
			}
		})
	}
}

func TestBadLabel(t *testing.T) {
	s, _ := softkey.Open(t.TempDir(), "pw", fastKDF)
	for _, l := range []string{"", "../x", ".hidden", "a/b"} {
		if _, err := s.Generate(context.Background(), l, hsm.ECDSAP256); !errors.Is(err, hsm.ErrLabel) {
			t.Errorf("label %q: %v, want ErrLabel", l, err)
		}
	}
}
