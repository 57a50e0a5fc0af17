package workflow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
	"github.com/cccd-project/cccd/issuance/workflow"
)

// written counts the rows every state change writes, to show that a refused step
// writes none of them.
func written(t *testing.T, w *world) string {
	t.Helper()
	var s string
	if err := w.pool.QueryRow(context.Background(), `SELECT concat_ws(' ',
		(SELECT count(*) FROM application_events), (SELECT count(*) FROM card_events), (SELECT count(*) FROM audit_log),
		(SELECT count(*) FROM outbox), (SELECT count(*) FROM jobs), (SELECT count(*) FROM cards),
		(SELECT string_agg(state, ',' ORDER BY id) FROM applications), (SELECT string_agg(state, ',' ORDER BY id) FROM jobs))`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// openJob returns the open job of an application as its work-queue message says it.
func openJob(t *testing.T, w *world, app int64) workflow.Job {
	t.Helper()
	var payload []byte
	if err := w.pool.QueryRow(context.Background(), `SELECT o.payload::text FROM jobs j JOIN outbox o ON o.event_id = j.id
		WHERE j.application_id = $1 AND j.state IN ('queued', 'taken')`, app).Scan(&payload); err != nil {
		t.Fatalf("open job of application %d: %v", app, err)
	}
	var j workflow.Job
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		t.Fatalf("job message %s: %v", payload, err)
	}
	return j
}

// TestStepsWriteTheirRecords drives every step of the engine directly: each successful
// step writes its timeline, audit and outbox rows in the shapes consumers read, and each
// refused step returns its error value and writes nothing.
func TestStepsWriteTheirRecords(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 3)
	batch := w.startBatch()
	station := "st1"

	t.Run("start batch queues every application with its event and job", func(t *testing.T) {
		rows, err := w.pool.Query(ctx, `SELECT event_id::text, subject, payload::text FROM outbox ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		events, jobs := 0, 0
		for rows.Next() {
			var id, subject string
			var payload []byte
			if err := rows.Scan(&id, &subject, &payload); err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(payload))
			dec.DisallowUnknownFields()
			switch subject {
			case ledger.SubjectPrefix + string(lifecycle.Queued):
				var ev ledger.Event
				if err := dec.Decode(&ev); err != nil || ev.EventID != id || ev.From != lifecycle.Approved || ev.To != lifecycle.Queued || ev.At.IsZero() {
					t.Fatalf("event %s %s: %+v, %v", id, payload, ev, err)
				}
				events++
			case workflow.JobSubject + "L1":
				var j workflow.Job
				if err := dec.Decode(&j); err != nil || j.ID != id || j.BatchID != batch || j.Line != "L1" || j.Attempt != 1 {
					t.Fatalf("job %s %s: %+v, %v", id, payload, j, err)
				}
				jobs++
			default:
				t.Fatalf("unexpected outbox subject %s", subject)
			}
		}
		var notes int
		if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM application_events WHERE from_state = 'approved'
			AND to_state = 'queued' AND note = $1`, fmt.Sprintf("batch %d", batch)).Scan(&notes); err != nil {
			t.Fatal(err)
		}
		if events != 3 || jobs != 3 || notes != 3 {
			t.Fatalf("%d events, %d jobs, %d timeline rows; want 3 each", events, jobs, notes)
		}
	})

	j1, j2, j3 := openJob(t, w, 1), openJob(t, w, 2), openJob(t, w, 3)
	refused := []struct {
		name string
		do   func() error
		want error
	}{
		{"complete a job never taken", func() error { return w.engine.CompleteJob(ctx, station, j1, "CHIPA", "MRZ") }, workflow.ErrJobObsolete},
		{"spoil a job never taken", func() error { return w.engine.SpoilCard(ctx, station, j1, "", "x") }, workflow.ErrJobObsolete},
		{"take an unknown job", func() error {
			return w.engine.TakeJob(ctx, station, workflow.Job{ID: "00000000-0000-4000-8000-000000000000", ApplicationID: 1}, "CHIPZ")
		}, workflow.ErrJobObsolete},
		{"print before personalization", func() error { return w.engine.MarkPrinted(ctx, operator, 1) }, nil},
		{"QC before printing", func() error { return w.engine.QCPass(ctx, operator, 1) }, ledger.ErrStateChanged},
	}
	for _, c := range refused {
		t.Run("refused: "+c.name, func(t *testing.T) {
			before := written(t, w)
			err := c.do()
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if after := written(t, w); after != before {
				t.Fatalf("refused step wrote rows: %s -> %s", before, after)
			}
		})
	}

	t.Run("personalize, take over, spoil and pause", func(t *testing.T) {
		if err := w.engine.TakeJob(ctx, station, j1, "CHIPA"); err != nil {
			t.Fatal(err)
		}
		// The station died: the job is delivered again and taken over with CHIPB; its blank chip is spoiled.
		if err := w.engine.TakeJob(ctx, station, j1, "CHIPB"); err != nil {
			t.Fatal(err)
		}
		var state, reason string
		if err := w.pool.QueryRow(ctx, "SELECT state, reason FROM cards WHERE serial = 'CHIPA'").Scan(&state, &reason); err != nil ||
			state != "spoiled" || reason != "station stopped mid-card" {
			t.Fatalf("taken-over chip: %s %q %v", state, reason, err)
		}
		before := written(t, w)
		if err := w.engine.TakeJob(ctx, station, j2, "CHIPB"); !errors.Is(err, workflow.ErrChipUsed) {
			t.Fatalf("reused chip: %v, want ErrChipUsed", err)
		}
		if err := w.engine.CompleteJob(ctx, station, j1, "CHIPC", "MRZ"); !errors.Is(err, ledger.ErrStateChanged) {
			t.Fatalf("complete with an unknown chip: %v, want ErrStateChanged", err)
		}
		if after := written(t, w); after != before {
			t.Fatalf("refused steps wrote rows: %s -> %s", before, after)
		}
		if err := w.engine.CompleteJob(ctx, station, j1, "CHIPB", "IDVNM1"); err != nil {
			t.Fatal(err)
		}
		if err := w.engine.CompleteJob(ctx, station, j1, "CHIPB", "IDVNM1"); !errors.Is(err, workflow.ErrJobObsolete) {
			t.Fatalf("second completion: %v, want ErrJobObsolete", err)
		}
		if err := w.engine.TakeJob(ctx, station, j2, "CHIPD"); err != nil {
			t.Fatal(err)
		}
		if err := w.engine.SpoilCard(ctx, station, j2, "CHIPD", "tear after APDU 12"); err != nil {
			t.Fatal(err)
		}
		if j := openJob(t, w, 2); j.Attempt != 2 || j.ID == j2.ID || j.BatchID != batch {
			t.Fatalf("new job after spoilage: %+v", j)
		}
		if err := w.engine.SetPaused(ctx, operator, "R3", true); err != nil {
			t.Fatal(err)
		}
		before = written(t, w)
		if err := w.engine.TakeJob(ctx, station, j3, "CHIPE"); !errors.Is(err, workflow.ErrPaused) {
			t.Fatalf("paused application: %v, want ErrPaused", err)
		}
		if after := written(t, w); after != before {
			t.Fatalf("held job wrote rows: %s -> %s", before, after)
		}
	})

	t.Run("print, QC, dispatch, receive and hand over", func(t *testing.T) {
		if err := w.engine.MarkPrinted(ctx, operator, 1); err != nil {
			t.Fatal(err)
		}
		if err := w.engine.MarkPrinted(ctx, operator, 1); !errors.Is(err, lifecycle.ErrIllegalTransition) {
			t.Fatalf("second print: %v, want ErrIllegalTransition", err)
		}
		if err := w.engine.QCPass(ctx, operator, 1); err != nil {
			t.Fatal(err)
		}
		ship, err := w.engine.Dispatch(ctx, operator, "001-HK01", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ship.Items) != 1 || ship.Items[0].Serial != "CHIPB" || ship.Items[0].Receipt != "R1" {
			t.Fatalf("shipment items: %+v", ship.Items)
		}
		before := written(t, w)
		if _, err := w.engine.Receive(ctx, operator, ship.ID); !errors.Is(err, workflow.ErrWrongOffice) {
			t.Fatalf("receipt at another office: %v, want ErrWrongOffice", err)
		}
		if after := written(t, w); after != before {
			t.Fatalf("refused receipt wrote rows: %s -> %s", before, after)
		}
		got, err := w.engine.Receive(ctx, officer, ship.ID)
		if err != nil || len(got.Items) != 1 || got.Items[0].Serial != "CHIPB" {
			t.Fatalf("receive: %+v, %v", got, err)
		}
		before = written(t, w)
		hand := workflow.Handover{Receipt: "R1", Serial: "CHIPB", Outcome: "delivered", ReceivedBy: "holder"}
		elsewhere := ledger.Actor{Name: "other", Role: "clerk", Office: "002-HN01"}
		if err := w.engine.Hand(ctx, elsewhere, hand); !errors.Is(err, workflow.ErrWrongOffice) {
			t.Fatalf("hand-over at another office: %v, want ErrWrongOffice", err)
		}
		wrong := hand
		wrong.Serial = "CHIPX"
		if err := w.engine.Hand(ctx, officer, wrong); err == nil {
			t.Fatal("hand-over of another card accepted")
		}
		if after := written(t, w); after != before {
			t.Fatalf("refused hand-over wrote rows: %s -> %s", before, after)
		}
		if err := w.engine.Hand(ctx, officer, hand); err != nil {
			t.Fatal(err)
		}
		if err := w.engine.Hand(ctx, officer, hand); !errors.Is(err, workflow.ErrNoApplication) {
			t.Fatalf("second hand-over: %v, want ErrNoApplication", err)
		}
	})

	t.Run("every record agrees", func(t *testing.T) {
		var timeline, events int
		if err := w.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM application_events),
			(SELECT count(*) FROM outbox WHERE subject LIKE 'cccd.app.%')`).Scan(&timeline, &events); err != nil {
			t.Fatal(err)
		}
		if timeline != events {
			t.Fatalf("%d timeline rows but %d outbox events", timeline, events)
		}
		var bad int
		if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM application_events e WHERE NOT EXISTS (SELECT 1 FROM audit_log l
			WHERE l.subject = 'application/' || e.application_id AND l.action = 'application.' || e.to_state)`).Scan(&bad); err != nil || bad != 0 {
			t.Fatalf("%d timeline rows without an audit entry (%v)", bad, err)
		}
		auditIntact(t, w.pool)
		rec, err := w.engine.ReconcileBatch(ctx, batch)
		if err != nil || !rec.Balanced() {
			t.Fatalf("reconciliation: %+v, %v", rec, err)
		}
	})
}

// TestStageSets drives the set steps of the print and QC stages: applications still in
// the stage move with every record, others are left alone, paused ones come back
// untouched, and a set with an inconsistent record writes nothing.
func TestStageSets(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 5)
	w.startBatch()
	for app := int64(1); app <= 5; app++ {
		j := openJob(t, w, app)
		serial := fmt.Sprintf("CHIP%d", app)
		if err := w.engine.TakeJob(ctx, "st1", j, serial); err != nil {
			t.Fatal(err)
		}
		if err := w.engine.CompleteJob(ctx, "st1", j, serial, "MRZ"); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.engine.SetPaused(ctx, operator, "R4", true); err != nil {
		t.Fatal(err)
	}
	states := func() string {
		var s string
		w.pool.QueryRow(ctx, `SELECT string_agg(a.state || '/' || c.state, ',' ORDER BY a.id) FROM applications a
			JOIN cards c ON c.application_id = a.id`).Scan(&s)
		return s
	}

	// Application 5's card is not encoded: the set refuses and writes nothing.
	if _, err := w.pool.Exec(ctx, "UPDATE cards SET state = 'dispatched' WHERE serial = 'CHIP5'"); err != nil {
		t.Fatal(err)
	}
	before := written(t, w)
	if _, err := w.engine.MarkPrintedSet(ctx, operator, []int64{1, 2, 5}); !errors.Is(err, ledger.ErrStateChanged) {
		t.Fatalf("set with a card not encoded: %v, want ErrStateChanged", err)
	}
	if after := written(t, w); after != before {
		t.Fatalf("refused set wrote rows: %s -> %s", before, after)
	}

	paused, err := w.engine.MarkPrintedSet(ctx, operator, []int64{1, 2, 3, 4, 99})
	if err != nil || len(paused) != 1 || paused[0] != 4 {
		t.Fatalf("print set: paused %v, %v", paused, err)
	}
	want := "printed/printed,printed/printed,printed/printed,personalized/encoded,personalized/dispatched"
	if got := states(); got != want {
		t.Fatalf("after print set: %s, want %s", got, want)
	}
	before = written(t, w)
	if paused, err := w.engine.MarkPrintedSet(ctx, operator, []int64{1, 2}); err != nil || len(paused) != 0 {
		t.Fatalf("repeated print set: %v, %v", paused, err)
	}
	if after := written(t, w); after != before {
		t.Fatalf("repeated set wrote rows: %s -> %s", before, after)
	}
	if paused, err := w.engine.QCPassSet(ctx, operator, []int64{1, 3, 4}); err != nil || len(paused) != 0 {
		t.Fatalf("qc set: %v, %v", paused, err)
	}
	want = "qc_passed/printed,printed/printed,qc_passed/printed,personalized/encoded,personalized/dispatched"
	if got := states(); got != want {
		t.Fatalf("after qc set: %s, want %s", got, want)
	}

	var timeline, audit, events int
	if err := w.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM application_events WHERE to_state IN ('printed', 'qc_passed')),
		(SELECT count(*) FROM audit_log WHERE action IN ('application.printed', 'application.qc_passed', 'card.printed')),
		(SELECT count(*) FROM outbox WHERE subject IN ('cccd.app.printed', 'cccd.app.qc_passed'))`).Scan(&timeline, &audit, &events); err != nil {
		t.Fatal(err)
	}
	if timeline != 5 || audit != 8 || events != 5 {
		t.Fatalf("%d timeline rows, %d audit entries, %d events; want 5, 8, 5", timeline, audit, events)
	}
	auditIntact(t, w.pool)
}

// TestTakeJob drives the one-statement take of a job with its chip: refusals write
// nothing, a take-over spoils the dead attempt's chip as the new one is recorded.
func TestTakeJob(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 3)
	w.startBatch()
	j1, j2, j3 := openJob(t, w, 1), openJob(t, w, 2), openJob(t, w, 3)
	if err := w.engine.TakeJob(ctx, "st1", j1, "CHIPA"); err != nil {
		t.Fatal(err)
	}
	// The station died writing CHIPA: the job comes again and another station takes it
	// over with CHIPB, in one statement (CHIPA leaves the one-good-card index as CHIPB enters).
	if err := w.engine.TakeJob(ctx, "st2", j1, "CHIPB"); err != nil {
		t.Fatal(err)
	}
	var cards string
	w.pool.QueryRow(ctx, "SELECT string_agg(serial || '=' || state, ',' ORDER BY serial) FROM cards").Scan(&cards)
	if cards != "CHIPA=spoiled,CHIPB=blank" {
		t.Fatalf("cards after take-over: %s", cards)
	}
	if err := w.engine.SetPaused(ctx, operator, "R3", true); err != nil {
		t.Fatal(err)
	}
	if err := w.engine.CompleteJob(ctx, "st2", j1, "CHIPB", "MRZ"); err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name   string
		j      workflow.Job
		serial string
		want   error
	}{
		{"finished job", j1, "CHIPC", workflow.ErrJobObsolete},
		{"chip used before", j2, "CHIPA", workflow.ErrChipUsed},
		{"paused application", j3, "CHIPD", workflow.ErrPaused},
		{"no serial", j2, "", nil},
	}
	for _, c := range refused {
		t.Run("refused: "+c.name, func(t *testing.T) {
			before := written(t, w)
			err := w.engine.TakeJob(ctx, "st1", c.j, c.serial)
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if after := written(t, w); after != before {
				t.Fatalf("refused take wrote rows: %s -> %s", before, after)
			}
		})
	}
	if err := w.engine.TakeJob(ctx, "st1", j2, "CHIPE"); err != nil {
		t.Fatal(err)
	}
	var state string
	w.pool.QueryRow(ctx, "SELECT state FROM applications WHERE id = 2").Scan(&state)
	if state != "personalizing" {
		t.Fatalf("application 2 is %s after its job was taken", state)
	}
	auditIntact(t, w.pool)
}
