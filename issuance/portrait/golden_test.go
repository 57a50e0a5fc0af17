package portrait_test

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/issuance/portrait"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGolden pins the bytes of a few portraits: other packages' golden files (DG2 digests in
// personalization/prep) depend on them, so a change must be deliberate (regenerate with go test -update and
// tell the owners of those goldens).
func TestGolden(t *testing.T) {
	var b strings.Builder
	for seed := int64(0); seed < 8; seed++ {
		p, err := portrait.Generate(seed)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(p)
		b.WriteString(strconv.FormatInt(seed, 10) + " " + strconv.Itoa(len(p)) + " " + hex.EncodeToString(sum[:]) + "\n")
	}
	path := filepath.Join("testdata", "generate.sha256.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("portrait bytes changed:\n got %s\nwant %s", b.String(), want)
	}
}
