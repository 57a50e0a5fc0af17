package lds_test

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/personalization/lds/ldstest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sampleFiles encodes the sample card and returns its files by golden file name.
func sampleFiles(t testing.TB) map[string][]byte {
	t.Helper()
	com, ca, dgs, err := ldstest.Sample().Files()
	if err != nil {
		t.Fatalf("encode sample card: %v", err)
	}
	out := map[string][]byte{"com": com, "cardaccess": ca}
	for n, b := range dgs {
		out[fmt.Sprintf("dg%d", n)] = b
	}
	return out
}

// TestGoldenSampleCard compares every file of the sample card with testdata/card/<file>.hex.
// Run with -update to rewrite them after a deliberate change.
func TestGoldenSampleCard(t *testing.T) {
	for name, got := range sampleFiles(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "card", name+".hex")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(wrapHex(got)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want := readHex(t, path)
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (run go test -update after a deliberate change)\n got %X\nwant %X", name, path, got, want)
			}
		})
	}
}

// wrapHex writes b as upper-case hex, 64 characters a line.
func wrapHex(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var s strings.Builder
	for len(h) > 64 {
		s.WriteString(h[:64] + "\n")
		h = h[64:]
	}
	s.WriteString(h + "\n")
	return s.String()
}

// readHex reads a hex golden file, ignoring white space.
func readHex(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file: %v (run go test -update to create it)", err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}
