// Package signbench measures signing throughput through each key store back-end (a fresh
// SoftHSM2 token and a fresh software store, both in a temporary directory): raw
// crypto.Signer signatures per second per algorithm, and complete EF.SOD-style CMS
// signatures (cms.Sign, which also verifies each signature) with a Document Signer key.
// It backs `cccd bench sign`.
package signbench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cccd-project/cccd/hsm"
	"github.com/cccd-project/cccd/hsm/pkcs11"
	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/hsm/pki/cms"
	"github.com/cccd-project/cccd/hsm/softkey"
)

// Config tunes Run. Zero values take the defaults noted.
type Config struct {
	Duration   time.Duration   // per row; default 3s
	Workers    int             // concurrent signers; default GOMAXPROCS
	Algorithms []hsm.Algorithm // default ecdsa-p256, ecdsa-p384, rsa-3072
	TempDir    string          // default os.TempDir()
}

// Row is one measurement.
type Row struct {
	Backend    string  `json:"backend"`
	Operation  string  `json:"operation"` // "sign" (raw signature) or "cms.Sign" (EF.SOD-style SignedData, verified)
	Algorithm  string  `json:"algorithm"`
	Workers    int     `json:"workers"`
	Signatures int     `json:"signatures"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"per_second"`
}

// Run creates both key stores, generates one key per algorithm in each and measures.
func Run(ctx context.Context, c Config) ([]Row, error) {
	if c.Duration == 0 {
		c.Duration = 3 * time.Second
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if len(c.Algorithms) == 0 {
		c.Algorithms = []hsm.Algorithm{hsm.ECDSAP256, hsm.ECDSAP384, hsm.RSA3072}
	}
	dir, err := os.MkdirTemp(c.TempDir, "cccd-bench-sign-")
	if err != nil {
		return nil, fmt.Errorf("signbench: %w", err)
	}
	defer os.RemoveAll(dir)

	pin := fmt.Sprintf("%x", time.Now().UnixNano())
	h, err := pkcs11.InitSoftHSM(ctx, dir+"/softhsm", "bench", pin, pin+"so")
	if err != nil {
		return nil, err
	}
	os.Setenv("SOFTHSM2_CONF", h.Conf)
	token, err := pkcs11.Open(ctx, pkcs11.Config{Module: pkcs11.SoftHSMModule, TokenLabel: h.TokenLabel, PIN: pin})
	if err != nil {
		return nil, err
	}
	defer token.Close()
	soft, err := softkey.Open(dir+"/keys", pin, softkey.KDF{})
	if err != nil {
		return nil, err
	}
	stores := []struct {
		name string
		ks   hsm.KeyStore
	}{{"softhsm2 (pkcs11)", token}, {"software store", soft}}

	// A throwaway CSCA to certify the DS keys for the cms.Sign rows.
	cscaKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	auth := pki.Authority{Country: "VN", Organization: "bench", CRLURL: "http://bench.invalid/crl"}
	csca, err := pki.NewCSCA(cscaKey, pki.CSCAOptions{Authority: auth})
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, st := range stores {
		for _, alg := range c.Algorithms {
			k, err := st.ks.Generate(ctx, "bench-"+string(alg), alg)
			if err != nil {
				return nil, err
			}
			digest := sha256.Sum256([]byte("bench"))
			r, err := measure(ctx, c, func() error {
				_, err := k.Sign(rand.Reader, digest[:], crypto.SHA256)
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("signbench: %s %s: %w", st.name, alg, err)
			}
			r.Backend, r.Operation, r.Algorithm = st.name, "sign", string(alg)
			rows = append(rows, r)
			if alg != hsm.ECDSAP256 {
				continue
			}
			ds, err := pki.IssueDocumentSigner(csca, cscaKey, k.Public(), pki.DSOptions{Authority: auth})
			if err != nil {
				return nil, err
			}
			content := make([]byte, 600) // an LDSSecurityObject with 6 SHA-256 hashes is ~400-600 bytes
			oid := asn1.ObjectIdentifier{2, 23, 136, 1, 1, 1}
			r, err = measure(ctx, c, func() error {
				_, err := cms.Sign(oid, content, ds, k, nil)
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("signbench: %s cms.Sign: %w", st.name, err)
			}
			r.Backend, r.Operation, r.Algorithm = st.name, "cms.Sign", string(alg)
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// measure runs op from c.Workers goroutines for c.Duration.
func measure(ctx context.Context, c Config, op func() error) (Row, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Duration)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	start := time.Now()
	for w := 0; w < c.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := op(); err != nil {
					once.Do(func() { firstErr = err })
					cancel()
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	return Row{Workers: c.Workers, Signatures: int(n.Load()), Seconds: el, PerSecond: float64(n.Load()) / el}, firstErr
}
