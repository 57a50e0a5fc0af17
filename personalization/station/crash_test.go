package station_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance/broker"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/station"
	"github.com/cccd-project/cccd/smartcard/pcsc/pcsctest"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

// killOnSign stops the station (cancels its context) when the first card asks for its
// Document Signer: every file is written, EF.SOD and the lock are not.
type killOnSign struct {
	station.SignerSource
	once sync.Once
	kill func()
}

func (k *killOnSign) Acquire(ctx context.Context) (crypto.Signer, *x509.Certificate, error) {
	k.once.Do(k.kill)
	return k.SignerSource.Acquire(ctx)
}

// TestStationKilledMidCard: a station is killed in the middle of a card (its job not
// acknowledged); a new station run takes the redelivered job over. The half-written
// chip is recorded spoiled ("station stopped mid-card") and stays unlocked, every
// application gets exactly one good card, and the batch reconciles.
func TestStationKilledMidCard(t *testing.T) {
	const n = 3
	bg := context.Background()
	l := newProductionLine(t, bg, newApps(t, n), "L2")
	db, signers, ts, engine, operator, pc := l.db, l.signers, l.trust, l.engine, l.operator, l.pc
	feedCtx, stopFeeding := context.WithCancel(bg)
	defer stopFeeding()
	dir := t.TempDir()
	name, addr := pcsctest.Reader(t, 6)
	f := &pcsctest.Feeder{T: t, PC: pc, Reader: name, Addr: addr, Dir: dir, Prefix: "VNKILL", Removal: 10 * time.Second}
	f.Insert(feedCtx)
	b, err := broker.Connect(bg, broker.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := workflow.EnsureStreams(bg, b.JS); err != nil {
		t.Fatal(err)
	}
	relayCtx, stopRelay := context.WithCancel(bg)
	var relayWG sync.WaitGroup
	relayWG.Add(1)
	go func() { defer relayWG.Done(); (&workflow.Relay{DB: db, JS: b.JS, Log: quiet}).Run(relayCtx) }()
	defer func() { stopRelay(); relayWG.Wait() }()

	// run is one life of the station process: station + job worker until ctx ends.
	run := func(ctx context.Context, signers station.SignerSource) *sync.WaitGroup {
		p := &station.Personalizer{Apps: station.DBApplications{DB: db}, Signers: signers, Trust: ts}
		st := station.New(p, pc, []string{name})
		st.Log, st.MaxLength, st.CardWait = quiet, 4096, 2500*time.Millisecond
		st.OnCard = func(ev station.Event) { t.Log(ev.Line()); f.Done(feedCtx) }
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); st.Run(ctx) }()
		go func() {
			defer wg.Done()
			(&workflow.JobWorker{Engine: engine, JS: b.JS, Log: quiet, Line: "L2", Station: "st-kill", Workers: 1,
				AckWait: 3 * time.Second, Maker: st}).Run(ctx)
		}()
		return &wg
	}
	ctx1, kill := context.WithCancel(bg)
	first := run(ctx1, &killOnSign{SignerSource: signers, kill: kill})
	if _, err := engine.StartBatch(bg, operator, l.batch); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	if got := count(t, db, "SELECT count(*) FROM cards WHERE state = 'blank'"); got != 1 {
		t.Fatalf("%d blank (in progress) cards after the kill, want 1", got)
	}

	ctx2, stop := context.WithCancel(bg)
	second := run(ctx2, signers)
	deadline := time.Now().Add(2 * time.Minute)
	for count(t, db, "SELECT count(*) FROM applications WHERE state = 'personalized'") < n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %d of %d personalized", count(t, db, "SELECT count(*) FROM applications WHERE state = 'personalized'"), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	second.Wait()
	stopFeeding()
	f.Stop()

	if got := count(t, db, "SELECT count(*) FROM cards WHERE state = 'encoded'"); got != n {
		t.Errorf("%d encoded cards, want %d", got, n)
	}
	if got := count(t, db, "SELECT count(*) FROM (SELECT application_id FROM cards WHERE state = 'encoded' GROUP BY 1 HAVING count(*) > 1) x"); got != 0 {
		t.Errorf("%d applications with two good cards", got)
	}
	var serial, reason string
	if err := db.QueryRow(bg, "SELECT serial, reason FROM cards WHERE state = 'spoiled'").Scan(&serial, &reason); err != nil {
		t.Fatalf("spoiled card: %v", err)
	}
	if reason != "station stopped mid-card" {
		t.Errorf("spoiled %s: reason %q", serial, reason)
	}
	chip, err := vchip.Load(filepath.Join(dir, serial+".card"))
	if err != nil || chip.Locked() {
		t.Errorf("half-written chip %s: locked=%v err=%v", serial, chip != nil && chip.Locked(), err)
	}
	rec, err := engine.ReconcileBatch(bg, l.batch)
	if err != nil || !rec.Balanced() || rec.Started != n+1 || rec.Spoiled != 1 {
		t.Errorf("reconciliation %+v %v", rec, err)
	}
}
