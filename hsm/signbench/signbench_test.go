package signbench_test

import (
	"context"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm"
	"github.com/cccd-project/cccd/hsm/signbench"
)

// TestRun checks that every back-end and operation produces a row with signatures (speed
// itself is reported by `cccd bench sign`, not asserted).
func TestRun(t *testing.T) {
	rows, err := signbench.Run(context.Background(), signbench.Config{
		Duration: 100 * time.Millisecond, Workers: 2, Algorithms: []hsm.Algorithm{hsm.ECDSAP256}, TempDir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("signbench needs softhsm2: %v", err)
	}
	want := map[string]bool{
		"softhsm2 (pkcs11)/sign": true, "softhsm2 (pkcs11)/cms.Sign": true,
		"software store/sign": true, "software store/cms.Sign": true,
	}
	for _, r := range rows {
		k := r.Backend + "/" + r.Operation
		if !want[k] {
			t.Errorf("unexpected row %s", k)
		}
		delete(want, k)
		if r.Signatures == 0 || r.PerSecond <= 0 {
			t.Errorf("%s: no signatures", k)
		}
	}
	for k := range want {
		t.Errorf("missing row %s", k)
	}
}
