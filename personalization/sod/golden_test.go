package sod_test

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/personalization/sod"
	"github.com/cccd-project/cccd/personalization/sod/sodtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenLDSSecurityObject compares the sample card's LDSSecurityObject (deterministic:
// SHA-256 of each data group) with testdata/ldssecurityobject.hex.
func TestGoldenLDSSecurityObject(t *testing.T) {
	so, err := sod.NewLDSSecurityObject(sampleDGs(t))
	if err != nil {
		t.Fatal(err)
	}
	got := mustMarshal(t, so)
	path := filepath.Join("testdata", "ldssecurityobject.hex")
	if *update {
		writeFile(t, path, []byte(strings.ToUpper(hex.EncodeToString(got))+"\n"))
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	want, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("LDSSecurityObject differs from %s (go test -update after a deliberate change)\n got %X\nwant %X", path, got, want)
	}
}

// TestGoldenSignedSOD reads testdata/sample/sod.bin, an EF.SOD of the sample card signed once
// (ECDSA signatures are randomized, so it is written only with -update), and checks that it
// parses, verifies, lists the current sample card's hashes, and that openssl accepts it
// against testdata/sample/csca.pem.
func TestGoldenSignedSOD(t *testing.T) {
	dir := filepath.Join("testdata", "sample")
	dgs := sampleDGs(t)
	if *update {
		p, ds := newDS(t, "VN")
		ef, err := sod.Sign(dgs, ds.Cert, ds.Key)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "sod.bin"), ef)
		writeFile(t, filepath.Join(dir, "csca.pem"), sodtest.PEM(p.CSCA))
	}
	ef, err := os.ReadFile(filepath.Join(dir, "sod.bin"))
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	csca, err := os.ReadFile(filepath.Join(dir, "csca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sod.Parse(ef)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(); err != nil {
		t.Fatal(err)
	}
	for n, b := range dgs {
		if ok, err := s.Matches(n, b); err != nil || !ok {
			t.Errorf("dg%d: stored EF.SOD does not match the sample card (%v); go test -update after a deliberate change", n, err)
		}
	}
	opensslVerify(t, s.CMS, csca)
}
