package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/personalization/verify/verifytest"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ and make the specimen cards (top-level testdata/specimen) anew")

// TestGolden renders the reports of a genuine and a forged card, with step times set to
// zero, and compares them with testdata/*.golden (the text a counter clerk reads and the
// JSON machines read). Run with -update after a deliberate change.
func TestGolden(t *testing.T) {
	fx := newFixture(t)
	app, err := verifytest.Application(5)
	if err != nil {
		t.Fatal(err)
	}
	good := verifytest.Spec{App: app, DS: fx.vn.DS, DSKey: fx.vn.DSKey, NISTP256: true, Issue: issuance.MustParseDate("2026-01-15")}
	altered := good
	altered.AfterSign = func(files map[uint16][]byte) (err error) {
		files[0x010D], err = reencodeDG13(files[0x010D], func(d *lds.DG13) { d.FullName = "Trần Văn Giả" })
		return err
	}
	for _, tc := range []struct {
		name string
		spec verifytest.Spec
	}{{"genuine", good}, {"altered-dg13", altered}} {
		t.Run(tc.name, func(t *testing.T) {
			chip, card := issue(t, "VNGOLDEN01", tc.spec)
			r := verify.Verify(context.Background(), vchip.Transport{Chip: chip}, card.Credentials(), verify.Options{Trust: fx.trust})
			r.Total, r.JudgedAt = 0, time.Date(2026, 6, 1, 9, 30, 0, 0, time.UTC)
			for i := range r.Steps {
				r.Steps[i].Duration = 0
			}
			var text bytes.Buffer
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			js, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".txt.golden", text.Bytes())
			golden(t, tc.name+".json.golden", append(js, '\n'))
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file: %v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update after a deliberate change)\n got:\n%s\nwant:\n%s", path, got, want)
	}
}
