package workflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance/workflow"
)

// TestDashboard runs a batch on a line whose station tears every third card, and checks
// that the dashboard's batch progress agrees with Status, that the throughput series
// counts every good and spoiled card once in the interval it happened, and that reader
// states keep their last card and counts.
func TestDashboard(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 7)
	w.maker.failEvery = 3
	begin := time.Now().Add(-time.Second)
	running(t, w, jobWorker(w))
	id := w.startBatch()
	w.waitFor("personalized", 7, time.Minute)

	ps, err := w.engine.Progresses(ctx, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Fatalf("%d batches, want 1", len(ps))
	}
	st, err := w.engine.Status(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	if p.ID != id || p.Applications != 7 || p.Done != st.Done || p.Spoiled != st.Spoiled || p.Done != 7 || !p.Finished() || p.Percent() != 100 {
		t.Fatalf("progress %+v, status done %d spoiled %d", p, st.Done, st.Spoiled)
	}
	var cards, spoiled int
	if err := w.pool.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE state = 'spoiled') FROM cards WHERE batch_id = $1", id).
		Scan(&cards, &spoiled); err != nil {
		t.Fatal(err)
	}
	if spoiled == 0 || p.Spoiled != spoiled || p.Cards != cards || p.Cards != 7+spoiled {
		t.Fatalf("progress %d cards, %d spoiled; table %d cards, %d spoiled", p.Cards, p.Spoiled, cards, spoiled)
	}
	if p.CardsPerMin <= 0 || p.ETA != 0 {
		t.Errorf("finished batch: %.1f cards/min, ETA %v", p.CardsPerMin, p.ETA)
	}

	t.Run("throughput", func(t *testing.T) {
		end := time.Now().Add(time.Second)
		bs, err := w.engine.Throughput(ctx, begin, end, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		good, bad := 0, 0
		for i, b := range bs {
			good += b.Good
			bad += b.Spoiled
			if !b.Start.Equal(begin.Add(time.Duration(i) * time.Second)) {
				t.Fatalf("bucket %d starts %v", i, b.Start)
			}
		}
		if good != 7 || bad != spoiled {
			t.Fatalf("series counts %d good, %d spoiled; want 7, %d", good, bad, spoiled)
		}
		// Outside the window nothing is counted.
		if bs, err := w.engine.Throughput(ctx, begin.Add(-time.Hour), begin, time.Minute); err != nil || sum(bs) != 0 {
			t.Fatalf("the hour before: %v, %v", bs, err)
		}
		for _, bad := range []struct {
			since, until time.Time
			step         time.Duration
		}{{begin, end, 0}, {end, begin, time.Second}, {begin, begin.Add(time.Hour), time.Second}} {
			if _, err := w.engine.Throughput(ctx, bad.since, bad.until, bad.step); err == nil {
				t.Errorf("throughput %v-%v step %v: no error", bad.since, bad.until, bad.step)
			}
		}
	})

	t.Run("readers", func(t *testing.T) {
		var app int64
		if err := w.pool.QueryRow(ctx, "SELECT id FROM applications ORDER BY id LIMIT 1").Scan(&app); err != nil {
			t.Fatal(err)
		}
		steps := []workflow.ReaderState{
			{Station: "st1", Reader: "Virtual PCD 00 07", Line: "L1", State: workflow.ReaderWaiting},
			{Station: "st1", Reader: "Virtual PCD 00 07", Line: "L1", State: workflow.ReaderGood, Serial: "CHIP1", ApplicationID: app, Detail: "ok"},
			{Station: "st1", Reader: "Virtual PCD 00 07", Line: "L1", State: workflow.ReaderWaiting},
			{Station: "st1", Reader: "Virtual PCD 00 07", Line: "L1", State: workflow.ReaderSpoiled, Serial: "CHIP2", Detail: "card removed <mid-write>"},
			{Station: "st1", Reader: "Virtual PCD 00 14", Line: "L1", Position: 1, State: workflow.ReaderStopped},
		}
		for _, s := range steps {
			if err := w.engine.RecordReader(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.engine.RecordReader(ctx, workflow.ReaderState{Station: "st1", Reader: "x", State: "exploded"}); err == nil {
			t.Fatal("unknown reader state recorded")
		}
		rs, err := w.engine.Readers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 2 {
			t.Fatalf("%d readers, want 2", len(rs))
		}
		r := rs[0]
		if r.State != workflow.ReaderSpoiled || r.Serial != "CHIP2" || r.Good != 1 || r.Spoiled != 1 ||
			r.Detail != "card removed <mid-write>" || r.ApplicationID != app || r.Receipt == "" {
			t.Fatalf("reader %+v", r)
		}
		if rs[1].State != workflow.ReaderStopped || rs[1].Position != 1 || rs[1].Good != 0 {
			t.Fatalf("second reader %+v", rs[1])
		}
	})
}

func sum(bs []workflow.Bucket) int {
	n := 0
	for _, b := range bs {
		n += b.Good + b.Spoiled
	}
	return n
}

func TestShift(t *testing.T) {
	ict := time.FixedZone("ICT", 7*3600)
	for _, tc := range []struct{ at, start string }{
		{"2026-12-04 05:59", "2026-12-03 22:00"},
		{"2026-12-04 06:00", "2026-12-04 06:00"},
		{"2026-12-04 13:59", "2026-12-04 06:00"},
		{"2026-12-04 14:00", "2026-12-04 14:00"},
		{"2026-12-04 22:30", "2026-12-04 22:00"},
	} {
		at, _ := time.ParseInLocation("2006-01-02 15:04", tc.at, ict)
		want, _ := time.ParseInLocation("2006-01-02 15:04", tc.start, ict)
		start, end := workflow.Shift(at)
		if !start.Equal(want) || end.Sub(start) != 8*time.Hour {
			t.Errorf("shift of %s: %v-%v, want start %v", tc.at, start, end, want)
		}
	}
}
