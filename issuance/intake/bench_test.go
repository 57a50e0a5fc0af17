package intake_test

import (
	"context"
	"testing"

	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/store/storetest"
)

// TestBenchAccessRecordsOnAndOff runs a small intake benchmark: every application is
// taken, half with access records on (one recorded look-up each) and half off (none).
func TestBenchAccessRecordsOnAndOff(t *testing.T) {
	ctx := context.Background()
	pool := storetest.New(t)
	res, err := intake.New(pool).Bench(ctx, intake.BenchConfig{Residents: 400, Apps: 80, Clients: 4, Portraits: 2}, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 0 || res.Apps == 0 || res.AccessOn.Apps+res.AccessOff.Apps != res.Apps || res.AccessOn.Apps == 0 || res.AccessOff.Apps == 0 {
		t.Fatalf("bench: %+v", res)
	}
	var reads, apps int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM audit_log WHERE action = 'access.register'),
		(SELECT count(*) FROM applications)`).Scan(&reads, &apps); err != nil {
		t.Fatal(err)
	}
	if res.WarmUp == 0 || apps != res.WarmUp+res.Apps || reads != res.WarmUp+res.AccessOn.Apps {
		t.Fatalf("%d applications, %d recorded look-ups; want %d and %d (the warm-up's and those taken with access records on)",
			apps, reads, res.WarmUp+res.Apps, res.WarmUp+res.AccessOn.Apps)
	}
}
