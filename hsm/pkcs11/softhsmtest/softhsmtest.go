// Package softhsmtest gives tests a key store on a fresh SoftHSM2 token.
package softhsmtest

import (
	"context"
	"testing"

	"github.com/cccd-project/cccd/hsm/pkcs11"
)

// pin is the user PIN of the tokens New makes.
const pin = "1234"

// New initialises a fresh SoftHSM2 token under t.TempDir, points SOFTHSM2_CONF at it for
// the rest of the test and opens it; the store is closed when the test ends. A missing
// softhsm2 fails the test.
func New(t testing.TB) *pkcs11.Store {
	t.Helper()
	ctx := context.Background()
	h, err := pkcs11.InitSoftHSM(ctx, t.TempDir(), "cccd-test", pin, "5678")
	if err != nil {
		t.Fatalf("SoftHSM2 is required (Debian package softhsm2): %v", err)
	}
	t.Setenv("SOFTHSM2_CONF", h.Conf)
	s, err := pkcs11.Open(ctx, pkcs11.Config{Module: pkcs11.SoftHSMModule, TokenLabel: h.TokenLabel, PIN: pin})
	if err != nil {
		t.Fatalf("open SoftHSM2 token: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
