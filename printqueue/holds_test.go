package printqueue_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cccd-project/cccd/printqueue"
)

// TestPrinterHeldDown: a printer an operator took down prints nothing, its jobs waiting
// in order, until it is brought up; bad input and repeated moves change nothing.
func TestPrinterHeldDown(t *testing.T) {
	const n = 2
	ctx := context.Background()
	w := newWorld(t, n, printqueue.Config{Printer: "P-HELD"}, 0)
	for _, bad := range []struct{ printer, reason string }{{"P-HELD", "  "}, {"bad name!", "jam"}} {
		if err := printqueue.SetDown(ctx, w.pool, operator, bad.printer, bad.reason); err == nil {
			t.Fatalf("down %q %q: no error", bad.printer, bad.reason)
		}
	}
	if err := printqueue.SetDown(ctx, w.pool, operator, "P-HELD", "ribbon out"); err != nil {
		t.Fatal(err)
	}
	if err := printqueue.SetDown(ctx, w.pool, operator, "P-HELD", "again"); !errors.Is(err, printqueue.ErrHeld) {
		t.Fatalf("second down: %v, want ErrHeld", err)
	}
	hs, err := printqueue.Holds(ctx, w.pool)
	if err != nil || len(hs) != 1 || hs[0].Reason != "ribbon out" || hs[0].By != operator.Name {
		t.Fatalf("holds %+v %v", hs, err)
	}
	w.start()
	w.waitFor("every job queued", n, "SELECT count(*) FROM print_jobs WHERE state = 'queued' AND attempts = 0")
	// The queue polls every 100 ms: several polls pass while the printer is held.
	w.waitFor("jobs still untouched after the queue polled", n, `SELECT count(*) FROM print_jobs
		WHERE state = 'queued' AND attempts = 0 AND created_at < now() - interval '500 milliseconds'`)
	if err := printqueue.SetUp(ctx, w.pool, operator, "P-HELD"); err != nil {
		t.Fatal(err)
	}
	if err := printqueue.SetUp(ctx, w.pool, operator, "P-HELD"); !errors.Is(err, printqueue.ErrNotHeld) {
		t.Fatalf("second up: %v, want ErrNotHeld", err)
	}
	w.waitFor("every application qc_passed", n, "SELECT count(*) FROM applications WHERE state = 'qc_passed'")
	if got := w.count("SELECT count(*) FROM audit_log WHERE action IN ('printer.down', 'printer.up')"); got != 2 {
		t.Fatalf("%d audit entries for down and up, want 2", got)
	}
}
