package printqueue_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/issuance/store/storetest"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/printqueue"
)

// TestPrintFailureIsADeadLetter: a face that cannot be printed after its chip was written
// (here a name that reached the line without intake's fitting check, as a register import or
// a data correction could bring) is never a silent stuck state: the job fails at once, a dead
// letter names the remedy, and the card is counted as held in the batch status and in
// reconciliation. Retrying it blindly as a message is refused; `print retry` closes it (and
// a new failure opens another); `print reprint` spoils the card, closes it, and the card made
// again (after the name was corrected) prints and passes QC.
func TestPrintFailureIsADeadLetter(t *testing.T) {
	ctx := context.Background()
	pool := storetest.New(t)
	seed(t, pool, 2)
	wide := strings.Repeat("MMMMMMMMM ", 10)[:99] + "M"
	if _, err := pool.Exec(ctx, `UPDATE applications SET person = jsonb_set(person, '{full_name}', to_jsonb($1::text)) WHERE receipt = 'R2'`, wide); err != nil {
		t.Fatal(err)
	}
	w := newWorldOn(t, pool, printqueue.Config{MaxAttempts: 3}, 0)
	w.start()
	w.waitFor("R1 qc_passed", 1, "SELECT count(*) FROM applications WHERE state = 'qc_passed'")
	w.waitFor("R2's dead letter", 1, "SELECT count(*) FROM dead_letters WHERE consumer = 'print' AND state = 'dead'")

	dead, err := w.engine.DeadLetters(ctx, false)
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters %+v %v", dead, err)
	}
	d := dead[0]
	jobs, _ := printqueue.List(ctx, pool, printqueue.Filter{Receipt: "R2"})
	if len(jobs) != 1 || jobs[0].State != printqueue.Failed || !jobs[0].NeedsOperator() || jobs[0].Attempts != 3 {
		t.Fatalf("R2 jobs %+v: want one failed for good at its first attempt", jobs)
	}
	for _, want := range []string{"FullName", "does not fit its box", "remedy: retry with the fitted layout: cccd print retry",
		"spoil the card and make a new one: cccd print reprint R2"} {
		if !strings.Contains(d.Error, want) {
			t.Errorf("dead letter %q lacks %q", d.Error, want)
		}
	}
	st, err := w.engine.Status(ctx, w.batch)
	if err != nil || st.PrintHeld != 1 {
		t.Fatalf("batch status print_held %d (%v), want 1", st.PrintHeld, err)
	}
	r := w.reconcile()
	if len(r.Held) != 1 || r.Held[0].Receipt != "R2" || !strings.Contains(r.Held[0].Problem, "remedy:") {
		t.Fatalf("reconciliation held %+v", r.Held)
	}
	if err := w.engine.RetryDeadLetter(ctx, operator, d.ID); !errors.Is(err, workflow.ErrNoDeadLetter) || !strings.Contains(err.Error(), "cccd print retry") {
		t.Fatalf("retrying the dead letter as a message: %v", err)
	}

	// print retry: the dead letter is closed; the same face fails again and opens a new one.
	if err := printqueue.Retry(ctx, pool, jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	w.waitFor("the retried letter closed", 1, "SELECT count(*) FROM dead_letters WHERE consumer = 'print' AND state = 'retried'")
	w.waitFor("a new dead letter", 1, "SELECT count(*) FROM dead_letters WHERE consumer = 'print' AND state = 'dead'")

	// The name is corrected, and the card is spoiled and made again.
	if _, err := pool.Exec(ctx, `UPDATE applications SET person = jsonb_set(person, '{full_name}', '"Trần Thị Mai"') WHERE receipt = 'R2'`); err != nil {
		t.Fatal(err)
	}
	if err := printqueue.Reprint(ctx, w.engine, operator, "R2", "name corrected, face could not be printed"); err != nil {
		t.Fatal(err)
	}
	w.waitFor("no open print dead letter", 0, "SELECT count(*) FROM dead_letters WHERE consumer = 'print' AND state = 'dead'")
	w.waitFor("both qc_passed", 2, "SELECT count(*) FROM applications WHERE state = 'qc_passed'")
	if r := w.reconcile(); len(r.Held) != 0 || r.Spoiled != 1 {
		t.Fatalf("after the remedy: held %+v, spoiled %d", r.Held, r.Spoiled)
	}
	if st, _ := w.engine.Status(ctx, w.batch); st.PrintHeld != 0 {
		t.Fatalf("print_held %d after the remedy", st.PrintHeld)
	}
}
