// Package softkey is the software back-end of hsm.KeyStore: each private key is a file
// <label>.key (mode 0600, in a 0700 directory) holding the PKCS#8 key sealed with
// XChaCha20-Poly1305 under a key derived from the store passphrase with argon2id (RFC 9106).
// It is for development, tests and sites without an HSM; production uses hsm/pkcs11.
package softkey

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/cccd-project/cccd/hsm"
)

// ErrPassphrase is returned when a key file does not open with the store passphrase (or was altered).
var ErrPassphrase = errors.New("softkey: wrong passphrase or damaged key file")

// KDF holds the argon2id cost parameters written into each new key file.
type KDF struct {
	Time      uint32 // passes; zero means 3
	MemoryKiB uint32 // zero means 64 MiB
	Threads   uint8  // zero means 2
}

func (k KDF) withDefaults() KDF {
	if k.Time == 0 {
		k.Time = 3
	}
	if k.MemoryKiB == 0 {
		k.MemoryKiB = 64 * 1024
	}
	if k.Threads == 0 {
		k.Threads = 2
	}
	return k
}

// Store is a directory of sealed keys. Opened keys are cached in memory so the argon2id cost
// is paid once per key and process. It is safe for concurrent use.
type Store struct {
	dir        string
	passphrase []byte
	kdf        KDF

	mu    sync.Mutex
	cache map[string]crypto.Signer
}

var _ hsm.KeyStore = (*Store)(nil)

// Open returns the store in dir (created with mode 0700 if missing). The passphrase must be
// non-empty; kdf sets the cost for keys generated from now on (zero value: defaults).
func Open(dir string, passphrase string, kdf KDF) (*Store, error) {
	if passphrase == "" {
		return nil, errors.New("softkey: empty passphrase")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("softkey: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("softkey: %w", err)
	}
	return &Store{dir: dir, passphrase: []byte(passphrase), kdf: kdf.withDefaults(), cache: map[string]crypto.Signer{}}, nil
}

const (
	magic     = "CCCDSK01"
	saltLen   = 16
	headerLen = len(magic) + 4 + 4 + 1 + saltLen + chacha20poly1305.NonceSizeX
)

func (s *Store) path(label string) string { return filepath.Join(s.dir, label+".key") }

// Generate creates a key pair, seals it to <label>.key and returns its signer.
func (s *Store) Generate(ctx context.Context, label string, alg hsm.Algorithm) (crypto.Signer, error) {
	if err := hsm.CheckLabel(label); err != nil {
		return nil, err
	}
	var key crypto.Signer
	var err error
	switch {
	case alg.Curve() != nil:
		key, err = ecdsa.GenerateKey(alg.Curve(), rand.Reader)
	case alg.RSABits() != 0:
		key, err = rsa.GenerateKey(rand.Reader, alg.RSABits())
	default:
		return nil, fmt.Errorf("%w: %q", hsm.ErrAlgorithm, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("softkey: generate: %w", err)
	}
	plain, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("softkey: %w", err)
	}
	sealed, err := s.seal(label, plain)
	clear(plain)
	if err != nil {
		return nil, err
	}
	if err := writeNew(s.dir, s.path(label), sealed); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache[label] = key
	s.mu.Unlock()
	return key, nil
}

func (s *Store) seal(label string, plain []byte) ([]byte, error) {
	hdr := make([]byte, 0, headerLen)
	hdr = append(hdr, magic...)
	hdr = binary.BigEndian.AppendUint32(hdr, s.kdf.Time)
	hdr = binary.BigEndian.AppendUint32(hdr, s.kdf.MemoryKiB)
	hdr = append(hdr, s.kdf.Threads)
	salt := make([]byte, saltLen+chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("softkey: %w", err)
	}
	hdr = append(hdr, salt...)
	aead, err := s.aead(hdr)
	if err != nil {
		return nil, err
	}
	nonce := hdr[headerLen-chacha20poly1305.NonceSizeX:]
	return aead.Seal(hdr, nonce, plain, append(bytes.Clone(hdr), label...)), nil
}

// aead derives the sealing key from the passphrase and the header's parameters and salt.
func (s *Store) aead(hdr []byte) (interface {
	Seal(dst, nonce, plaintext, ad []byte) []byte
	Open(dst, nonce, ciphertext, ad []byte) ([]byte, error)
}, error) {
	p := hdr[len(magic):]
	t, m, th := binary.BigEndian.Uint32(p), binary.BigEndian.Uint32(p[4:]), p[8]
	if t == 0 || t > 16 || m < 8*1024 || m > 4*1024*1024 || th == 0 {
		return nil, fmt.Errorf("%w: implausible kdf parameters", ErrPassphrase)
	}
	salt := p[9 : 9+saltLen]
	k := argon2.IDKey(s.passphrase, salt, t, m, th, chacha20poly1305.KeySize)
	defer clear(k)
	a, err := chacha20poly1305.NewX(k)
	if err != nil {
		return nil, fmt.Errorf("softkey: %w", err)
	}
	return a, nil
}

// Signer opens <label>.key (or returns the cached key).
func (s *Store) Signer(ctx context.Context, label string) (crypto.Signer, error) {
	if err := hsm.CheckLabel(label); err != nil {
		return nil, err
	}
	s.mu.Lock()
	k, ok := s.cache[label]
	s.mu.Unlock()
	if ok {
		return k, nil
	}
	b, err := os.ReadFile(s.path(label))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q", hsm.ErrKeyNotFound, label)
	}
	if err != nil {
		return nil, fmt.Errorf("softkey: %w", err)
	}
	if len(b) < headerLen+chacha20poly1305.Overhead || string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: %q: bad header", ErrPassphrase, label)
	}
	hdr := b[:headerLen]
	aead, err := s.aead(hdr)
	if err != nil {
		return nil, err
	}
	nonce := hdr[headerLen-chacha20poly1305.NonceSizeX:]
	plain, err := aead.Open(nil, nonce, b[headerLen:], append(bytes.Clone(hdr), label...))
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrPassphrase, label)
	}
	defer clear(plain)
	pk, err := x509.ParsePKCS8PrivateKey(plain)
	if err != nil {
		return nil, fmt.Errorf("softkey: %q: %w", label, err)
	}
	signer, ok := pk.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("softkey: %q: key %T is not a signer", label, pk)
	}
	s.mu.Lock()
	s.cache[label] = signer
	s.mu.Unlock()
	return signer, nil
}

// Destroy overwrites the key file with zeros, syncs it and removes it. (On flash storage the
// old blocks may survive; the sealing key protects them only as long as the passphrase does.)
func (s *Store) Destroy(ctx context.Context, label string) error {
	if err := hsm.CheckLabel(label); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.cache, label)
	s.mu.Unlock()
	p := s.path(label)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %q", hsm.ErrKeyNotFound, label)
	}
	if err != nil {
		return fmt.Errorf("softkey: %w", err)
	}
	st, err := f.Stat()
	if err == nil {
		_, err = f.WriteAt(make([]byte, st.Size()), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("softkey: wipe %q: %w", label, err)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("softkey: %w", err)
	}
	return nil
}

// List returns the labels of the key files, sorted.
func (s *Store) List(ctx context.Context) ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("softkey: %w", err)
	}
	var out []string
	for _, e := range ents {
		if l, ok := strings.CutSuffix(e.Name(), ".key"); ok && e.Type().IsRegular() && hsm.CheckLabel(l) == nil {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out, nil
}

// writeNew writes data to a temporary 0600 file and links it to path, failing with
// hsm.ErrKeyExists if path exists: a label is never overwritten.
func writeNew(dir, path string, data []byte) error {
	f, err := os.CreateTemp(dir, ".new-*")
	if err != nil {
		return fmt.Errorf("softkey: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("softkey: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("softkey: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("softkey: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("softkey: %w", err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %q", hsm.ErrKeyExists, filepath.Base(path))
		}
		return fmt.Errorf("softkey: %w", err)
	}
	return nil
}
