package hsm_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/hsm"
)

func TestParseAlgorithm(t *testing.T) {
	tests := []struct {
		in   string
		want hsm.Algorithm
		err  bool
	}{
		{"ecdsa-p256", hsm.ECDSAP256, false},
		{"ECDSA-P384", hsm.ECDSAP384, false},
		{"rsa-3072", hsm.RSA3072, false},
		{"rsa-2048", "", true},
		{"brainpoolP256r1", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := hsm.ParseAlgorithm(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("ParseAlgorithm(%q) = %q, %v", tt.in, got, err)
			}
			if err != nil && !errors.Is(err, hsm.ErrAlgorithm) {
				t.Errorf("error %v is not ErrAlgorithm", err)
			}
		})
	}
}

func TestAlgorithmOf(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if a, err := hsm.AlgorithmOf(k.Public()); err != nil || a != hsm.ECDSAP384 {
		t.Errorf("AlgorithmOf(P-384) = %q, %v", a, err)
	}
	k2, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if _, err := hsm.AlgorithmOf(k2.Public()); !errors.Is(err, hsm.ErrAlgorithm) {
		t.Errorf("AlgorithmOf(P-224) = %v, want ErrAlgorithm", err)
	}
}

func TestCheckLabel(t *testing.T) {
	for label, ok := range map[string]bool{
		"ds-0a1b2c": true, "csca.001": true, "A": true,
		"": false, "-x": false, "../etc": false, "a/b": false, "a b": false,
		strings.Repeat("x", 64): true, strings.Repeat("x", 65): false,
	} {
		t.Run(label, func(t *testing.T) {
			if err := hsm.CheckLabel(label); (err == nil) != ok {
				t.Errorf("CheckLabel(%q) = %v, want ok=%v", label, err, ok)
			}
		})
	}
}

func TestSecretSource(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pin")
	os.WriteFile(file, []byte("from-file\n"), 0o600)
	t.Setenv("CCCD_TEST_PIN", "from-env")
	tests := []struct {
		name string
		src  hsm.SecretSource
		want string
		err  error
	}{
		{"env wins", hsm.SecretSource{Env: "CCCD_TEST_PIN", File: file}, "from-env", nil},
		{"file", hsm.SecretSource{Env: "CCCD_TEST_UNSET", File: file}, "from-file", nil},
		{"nothing", hsm.SecretSource{Env: "CCCD_TEST_UNSET"}, "", hsm.ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.src.Read()
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("Read = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}
