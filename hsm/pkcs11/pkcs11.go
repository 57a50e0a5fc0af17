// Package pkcs11 is the hardware back-end of hsm.KeyStore: keys live in a PKCS#11 token
// (crypto11 over miekg/pkcs11), are generated inside it and are marked sensitive and
// non-extractable (PKCS#11 v2.40 §4.9: CKA_SENSITIVE, CKA_EXTRACTABLE), so the private part
// never leaves the token. Development uses SoftHSM2 (see InitSoftHSM); production names the
// vendor module, the token and a PIN source in its configuration.
package pkcs11

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/eclipse-keypont/crypto11"
	p11 "github.com/miekg/pkcs11"

	"github.com/cccd-project/cccd/hsm"
)

// Config selects the module and token. The PIN is a secret: fill it from hsm.SecretSource,
// never from a flag, and never log it (String omits it).
type Config struct {
	Module     string // path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so
	TokenLabel string // token label; or Slot
	Slot       *int   // slot number, when TokenLabel is empty
	PIN        string // user PIN
	// MaxSessions bounds the session pool; zero means 16.
	MaxSessions int
}

// SoftHSMModule is where Debian's softhsm2 package installs the SoftHSM2 module.
const SoftHSMModule = "/usr/lib/softhsm/libsofthsm2.so"

// String describes the configuration without the PIN.
func (c Config) String() string {
	if c.TokenLabel != "" {
		return fmt.Sprintf("pkcs11 module=%s token=%q", c.Module, c.TokenLabel)
	}
	if c.Slot != nil {
		return fmt.Sprintf("pkcs11 module=%s slot=%d", c.Module, *c.Slot)
	}
	return fmt.Sprintf("pkcs11 module=%s", c.Module)
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.Module == "":
		return errors.New("pkcs11: module path is empty")
	case c.TokenLabel == "" && c.Slot == nil:
		return errors.New("pkcs11: name a token label or a slot")
	case c.TokenLabel != "" && c.Slot != nil:
		return errors.New("pkcs11: name a token label or a slot, not both")
	case c.PIN == "":
		return errors.New("pkcs11: PIN is empty")
	}
	return nil
}

// Store is a logged-in PKCS#11 token. Signers are cached by label. Safe for concurrent use.
type Store struct {
	ctx *crypto11.Context

	mu    sync.Mutex
	cache map[string]crypto11.Signer
}

var _ hsm.KeyStore = (*Store)(nil)

// Open loads the module and logs in to the token.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := cfg.MaxSessions
	if n == 0 {
		n = 16
	}
	c, err := crypto11.Configure(&crypto11.Config{
		Path: cfg.Module, TokenLabel: cfg.TokenLabel, SlotNumber: cfg.Slot, Pin: cfg.PIN, MaxSessions: n,
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: open %s: %w", cfg, err)
	}
	return &Store{ctx: c, cache: map[string]crypto11.Signer{}}, nil
}

// Close logs out and releases the module.
func (s *Store) Close() error {
	if err := s.ctx.Close(); err != nil {
		return fmt.Errorf("pkcs11: close: %w", err)
	}
	return nil
}

func (s *Store) find(label string) (crypto11.Signer, error) {
	s.mu.Lock()
	k, ok := s.cache[label]
	s.mu.Unlock()
	if ok {
		return k, nil
	}
	keys, err := s.ctx.FindKeyPairs(nil, []byte(label))
	if err != nil {
		return nil, fmt.Errorf("pkcs11: find %q: %w", label, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: %q", hsm.ErrKeyNotFound, label)
	}
	if len(keys) > 1 {
		return nil, fmt.Errorf("pkcs11: %d key pairs carry the label %q", len(keys), label)
	}
	s.mu.Lock()
	s.cache[label] = keys[0]
	s.mu.Unlock()
	return keys[0], nil
}

// Signer returns the token key with the given label.
func (s *Store) Signer(ctx context.Context, label string) (crypto.Signer, error) {
	if err := hsm.CheckLabel(label); err != nil {
		return nil, err
	}
	return s.find(label)
}

// Generate creates a key pair inside the token: private half sensitive, non-extractable,
// sign-only; CKA_ID is random, CKA_LABEL is label.
func (s *Store) Generate(ctx context.Context, label string, alg hsm.Algorithm) (crypto.Signer, error) {
	if err := hsm.CheckLabel(label); err != nil {
		return nil, err
	}
	if _, err := s.find(label); err == nil {
		return nil, fmt.Errorf("%w: %q", hsm.ErrKeyExists, label)
	} else if !errors.Is(err, hsm.ErrKeyNotFound) {
		return nil, err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("pkcs11: %w", err)
	}
	pub, err := crypto11.NewAttributeSetWithIDAndLabel(id, []byte(label))
	if err != nil {
		return nil, fmt.Errorf("pkcs11: %w", err)
	}
	priv := pub.Copy()
	if err := priv.Set(p11.CKA_SENSITIVE, true); err != nil {
		return nil, fmt.Errorf("pkcs11: %w", err)
	}
	if err := priv.Set(p11.CKA_EXTRACTABLE, false); err != nil {
		return nil, fmt.Errorf("pkcs11: %w", err)
	}
	if err := priv.Set(p11.CKA_PRIVATE, true); err != nil {
		return nil, fmt.Errorf("pkcs11: %w", err)
	}
	var k crypto11.Signer
	switch {
	case alg.Curve() != nil:
		k, err = s.ctx.GenerateECDSAKeyPairWithAttributes(pub, priv, alg.Curve())
	case alg.RSABits() != 0:
		if err := priv.Set(p11.CKA_DECRYPT, false); err != nil {
			return nil, fmt.Errorf("pkcs11: %w", err)
		}
		if err := pub.Set(p11.CKA_ENCRYPT, false); err != nil {
			return nil, fmt.Errorf("pkcs11: %w", err)
		}
		k, err = s.ctx.GenerateRSAKeyPairWithAttributes(pub, priv, alg.RSABits())
	default:
		return nil, fmt.Errorf("%w: %q", hsm.ErrAlgorithm, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("pkcs11: generate %q: %w", label, err)
	}
	s.mu.Lock()
	s.cache[label] = k
	s.mu.Unlock()
	return k, nil
}

// Destroy deletes both halves of the key pair from the token (C_DestroyObject).
func (s *Store) Destroy(ctx context.Context, label string) error {
	if err := hsm.CheckLabel(label); err != nil {
		return err
	}
	k, err := s.find(label)
	if err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.cache, label)
	s.mu.Unlock()
	if err := k.Delete(); err != nil {
		return fmt.Errorf("pkcs11: destroy %q: %w", label, err)
	}
	return nil
}

// List returns the labels of the key pairs in the token, sorted.
func (s *Store) List(ctx context.Context) ([]string, error) {
	keys, err := s.ctx.FindAllKeyPairs()
	if err != nil {
		return nil, fmt.Errorf("pkcs11: list: %w", err)
	}
	var out []string
	for _, k := range keys {
		a, err := s.ctx.GetAttribute(k, p11.CKA_LABEL)
		if err != nil {
			return nil, fmt.Errorf("pkcs11: list: %w", err)
		}
		if a != nil && len(a.Value) > 0 {
			out = append(out, string(a.Value))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Attribute reads a boolean attribute of the private half of a key (e.g. CKA_EXTRACTABLE),
// so callers and tests can check the key's protection.
func (s *Store) Attribute(ctx context.Context, label string, attr uint) (bool, error) {
	k, err := s.find(label)
	if err != nil {
		return false, err
	}
	a, err := s.ctx.GetAttribute(k, attr)
	if err != nil {
		return false, fmt.Errorf("pkcs11: attribute of %q: %w", label, err)
	}
	return a != nil && len(a.Value) == 1 && a.Value[0] != 0, nil
}
