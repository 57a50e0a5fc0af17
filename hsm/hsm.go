// Package hsm defines the key store through which every private key of the document PKI is
// used: CSCA, Document Signer and Master List Signer keys are named by a label and handed out
// as crypto.Signer values, so a PKCS#11 token (package hsm/pkcs11) and the sealed software
// store (package hsm/softkey) are interchangeable. Private key bytes never leave a KeyStore.
package hsm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// KeyStore holds private keys by label and yields them as crypto.Signer values.
type KeyStore interface {
	// Signer returns the key with the given label; ErrKeyNotFound when there is none.
	Signer(ctx context.Context, label string) (crypto.Signer, error)
	// Generate creates a new key pair inside the store; ErrKeyExists when the label is taken.
	Generate(ctx context.Context, label string, alg Algorithm) (crypto.Signer, error)
	// Destroy removes the key for good; ErrKeyNotFound when there is none.
	Destroy(ctx context.Context, label string) error
	// List returns the labels of all keys in the store, sorted.
	List(ctx context.Context) ([]string, error)
}

// Algorithm names a key type a KeyStore can generate.
type Algorithm string

// The algorithms of the document PKI. Brainpool curves are absent on purpose: crypto/x509
// cannot issue certificates for them (REFERENCE §6).
const (
	ECDSAP256 Algorithm = "ecdsa-p256"
	ECDSAP384 Algorithm = "ecdsa-p384"
	RSA3072   Algorithm = "rsa-3072"
)

// Sentinel errors callers branch on.
var (
	ErrKeyNotFound = errors.New("hsm: key not found")
	ErrKeyExists   = errors.New("hsm: key label already in use")
	ErrAlgorithm   = errors.New("hsm: unsupported algorithm")
	ErrLabel       = errors.New("hsm: invalid key label")
)

// ParseAlgorithm checks that s names a supported algorithm.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch a := Algorithm(strings.ToLower(s)); a {
	case ECDSAP256, ECDSAP384, RSA3072:
		return a, nil
	}
	return "", fmt.Errorf("%w: %q (want ecdsa-p256, ecdsa-p384 or rsa-3072)", ErrAlgorithm, s)
}

// Curve returns the elliptic curve of an ECDSA algorithm, or nil for RSA.
func (a Algorithm) Curve() elliptic.Curve {
	switch a {
	case ECDSAP256:
		return elliptic.P256()
	case ECDSAP384:
		return elliptic.P384()
	}
	return nil
}

// RSABits returns the modulus size of an RSA algorithm, or 0 for ECDSA.
func (a Algorithm) RSABits() int {
	if a == RSA3072 {
		return 3072
	}
	return 0
}

// AlgorithmOf reports the Algorithm of a public key.
func AlgorithmOf(pub crypto.PublicKey) (Algorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ECDSAP256, nil
		case elliptic.P384():
			return ECDSAP384, nil
		}
	case *rsa.PublicKey:
		if k.N.BitLen() == 3072 {
			return RSA3072, nil
		}
	}
	return "", fmt.Errorf("%w: public key %T", ErrAlgorithm, pub)
}

var labelRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckLabel enforces the label syntax shared by all stores: 1-64 characters of letters,
// digits, '.', '_' and '-', not starting with a punctuation mark (labels become file names).
func CheckLabel(label string) error {
	if !labelRE.MatchString(label) {
		return fmt.Errorf("%w: %q (1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)", ErrLabel, label)
	}
	return nil
}

// SecretSource says where a PIN or passphrase comes from: the named environment variable,
// or else the file (its first line). Secrets are never taken from flags, logged or printed.
type SecretSource struct {
	Env  string // environment variable name, e.g. CCCD_HSM_PIN
	File string // path of a file holding the secret (mode 0600 recommended)
}

// ErrNoSecret is returned when neither the variable nor the file yields a secret.
var ErrNoSecret = errors.New("hsm: secret not configured")

// Read returns the secret. The value is never included in errors.
func (s SecretSource) Read() (string, error) {
	if s.Env != "" {
		if v, ok := os.LookupEnv(s.Env); ok && v != "" {
			return v, nil
		}
	}
	if s.File != "" {
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("hsm: read secret file: %w", err)
		}
		v, _, _ := strings.Cut(string(b), "\n")
		v = strings.TrimRight(v, "\r")
		if v != "" {
			return v, nil
		}
	}
	return "", fmt.Errorf("%w (set $%s or a secret file)", ErrNoSecret, s.Env)
}
