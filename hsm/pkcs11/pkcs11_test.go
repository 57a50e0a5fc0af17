package pkcs11_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/cccd-project/cccd/hsm"
	"github.com/cccd-project/cccd/hsm/pkcs11"
	"github.com/cccd-project/cccd/hsm/pkcs11/softhsmtest"
)

func TestStore(t *testing.T) {
	ctx := context.Background()
	s := softhsmtest.New(t)
	for _, alg := range []hsm.Algorithm{hsm.ECDSAP256, hsm.ECDSAP384, hsm.RSA3072} {
		t.Run(string(alg), func(t *testing.T) {
			label := "key-" + string(alg)
			k, err := s.Generate(ctx, label, alg)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := hsm.AlgorithmOf(k.Public()); got != alg {
				t.Errorf("algorithm = %q, want %q", got, alg)
			}
			d := sha256.Sum256([]byte("document"))
			sig, err := k.Sign(rand.Reader, d[:], crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			switch pub := k.Public().(type) {
			case *ecdsa.PublicKey:
				if !ecdsa.VerifyASN1(pub, d[:], sig) {
					t.Error("signature does not verify")
				}
			case *rsa.PublicKey:
				if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig); err != nil {
					t.Error(err)
				}
			}
			for attr, want := range map[uint]bool{p11.CKA_EXTRACTABLE: false, p11.CKA_SENSITIVE: true, p11.CKA_NEVER_EXTRACTABLE: true, p11.CKA_LOCAL: true} {
				got, err := s.Attribute(ctx, label, attr)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("attribute %#x = %v, want %v", attr, got, want)
				}
			}
			if _, err := s.Generate(ctx, label, alg); !errors.Is(err, hsm.ErrKeyExists) {
				t.Errorf("duplicate label: %v, want ErrKeyExists", err)
			}
			if err := s.Destroy(ctx, label); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Signer(ctx, label); !errors.Is(err, hsm.ErrKeyNotFound) {
				t.Errorf("after Destroy: %v, want ErrKeyNotFound", err)
			}
		})
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	s := softhsmtest.New(t)
	for _, l := range []string{"b", "a"} {
		if _, err := s.Generate(ctx, l, hsm.ECDSAP256); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("List = %v, want [a b]", got)
	}
}

func TestConfigValidate(t *testing.T) {
	slot := 0
	tests := []struct {
		name string
		cfg  pkcs11.Config
		ok   bool
	}{
		{"ok", pkcs11.Config{Module: "m", TokenLabel: "t", PIN: "s3cr3t-PIN"}, true},
		{"slot", pkcs11.Config{Module: "m", Slot: &slot, PIN: "s3cr3t-PIN"}, true},
		{"no module", pkcs11.Config{TokenLabel: "t", PIN: "s3cr3t-PIN"}, false},
		{"no token", pkcs11.Config{Module: "m", PIN: "s3cr3t-PIN"}, false},
		{"both", pkcs11.Config{Module: "m", TokenLabel: "t", Slot: &slot, PIN: "s3cr3t-PIN"}, false},
		{"no pin", pkcs11.Config{Module: "m", TokenLabel: "t"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate = %v, want ok=%v", err, tt.ok)
			}
			if s := tt.cfg.String(); tt.cfg.PIN != "" && strings.Contains(s, tt.cfg.PIN) {
				t.Errorf("String leaks PIN: %q", s)
			}
		})
	}
}
