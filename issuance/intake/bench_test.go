package intake_test

import (
	"context"
	"testing"

	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/ledger"
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
	// Every recorded look-up is chained on the audit log by the end of the run.
	var reads, apps, pending int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM audit_log WHERE action = 'access.register'),
		(SELECT count(*) FROM applications), (SELECT count(*) FROM access_pending)`).Scan(&reads, &apps, &pending); err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Fatalf("%d reads left pending after the run", pending)
	}
	if rep, err := ledger.VerifyAudit(ctx, pool); err != nil || !rep.OK() {
		t.Fatalf("audit log after the run: %+v %v", rep, err)
	}
	if res.WarmUp == 0 || apps != res.WarmUp+res.Apps || reads != res.WarmUp+res.AccessOn.Apps {
		t.Fatalf("%d applications, %d recorded look-ups; want %d and %d (the warm-up's and those taken with access records on)",
			apps, reads, res.WarmUp+res.Apps, res.WarmUp+res.AccessOn.Apps)
	}
	// The look-ups taken with records on were written in groups of one or more.
	if res.LookupGroup < 1 || res.LookupGroup > 4 {
		t.Fatalf("look-ups per statement %.2f; want 1 to 4 (4 clerks)", res.LookupGroup)
	}
}
