package console

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/dsrotation"
	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/issuance/broker"
	"github.com/cccd-project/cccd/issuance/console/browsertest"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/station"
	"github.com/cccd-project/cccd/printqueue"
	"github.com/cccd-project/cccd/printqueue/printer"
	"github.com/cccd-project/cccd/smartcard/pcsc"
	"github.com/cccd-project/cccd/smartcard/pcsc/pcsctest"
	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vpcd"
)

// pcscd reader slots of the console's tests (TEAM.md: the web console owns 7, 14 and 15):
// the station's two readers and the counter's reader.
const (
	slotStationA = 7
	slotStationB = 14
	slotCounter  = 15
)

// quietLog discards the line's logs.
var quietLog = slog.New(slog.DiscardHandler)

// specimenDir holds the specimen cards and their trust store (testdata/specimen).
const specimenDir = "../../testdata/specimen"

// line is the production side of the full-line test: the workflow's relay and event
// feed on an embedded broker, a station with two virtual readers through pcscd (fed
// blank chips as a card feeder would), and a print queue with its QC.
type line struct {
	t        *testing.T
	pc       *pcsc.Context
	feed     *workflow.Feed
	trustDir string
	chips    string // where finished chips are saved
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	feeders  []*pcsctest.Feeder
}

// newLine starts the broker, the relay and the event feed; the station and the print
// queue start with startProduction once the console's database has its PKI.
func newLine(t *testing.T) (*line, *broker.Broker, context.Context) {
	ctx, cancel := context.WithCancel(context.Background())
	l := &line{t: t, cancel: cancel, trustDir: t.TempDir(), chips: t.TempDir()}
	var err error
	if l.pc, err = pcsc.Open(); err != nil {
		t.Fatalf("pcscd: %v (start it: sudo scripts/pcscd.sh start 16)", err)
	}
	b, err := broker.Connect(ctx, broker.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := workflow.EnsureStreams(ctx, b.JS); err != nil {
		t.Fatal(err)
	}
	l.feed = &workflow.Feed{JS: b.JS, Log: quietLog}
	l.run(ctx, l.feed.Run)
	t.Cleanup(func() {
		cancel()
		l.wg.Wait()
		for _, f := range l.feeders {
			f.Stop()
		}
		b.Close()
		l.pc.Close()
	})
	return l, b, ctx
}

func (l *line) run(ctx context.Context, f func(context.Context) error) {
	l.wg.Add(1)
	go func() { defer l.wg.Done(); f(ctx) }()
}

// startProduction signs with the console's PKI (withPKI), writes the counter's trust store
// (that CSCA and its CRL, and the specimen CSCA for the specimen cards), and starts the
// relay, a station on line L1 with readers in slots 7 and 14, and printer P1 with its QC.
func (l *line) startProduction(ctx context.Context, e *testEnv, b *broker.Broker) {
	t := l.t
	a, ks := withPKI(t, e)
	cscas, err := a.CSCAs(ctx)
	if err != nil || len(cscas) == 0 {
		t.Fatalf("CSCAs %v %v", cscas, err)
	}
	lineTrust := trust.New()
	if err := lineTrust.AddCSCA(cscas[0].Cert); err != nil {
		t.Fatal(err)
	}
	crls, err := a.LatestCRLs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counterTrust, err := trust.Load(os.DirFS(filepath.Join(specimenDir, "trust")))
	if err != nil {
		t.Fatal(err)
	}
	if err := counterTrust.AddCSCA(cscas[0].Cert); err != nil {
		t.Fatal(err)
	}
	for _, c := range crls {
		if err := counterTrust.AddCRL(c.DER); err != nil {
			t.Fatal(err)
		}
	}
	if err := counterTrust.Save(l.trustDir); err != nil {
		t.Fatal(err)
	}

	engine := e.con.prod.Engine
	var readers []string
	for i, slot := range []int{slotStationA, slotStationB} {
		name, addr := pcsctest.Reader(t, slot)
		f := &pcsctest.Feeder{T: t, PC: l.pc, Reader: name, Addr: addr, Dir: l.chips, Prefix: fmt.Sprintf("VNWEB%d", i)}
		f.Insert(ctx)
		l.feeders = append(l.feeders, f)
		readers = append(readers, name)
	}
	p := &station.Personalizer{Apps: station.DBApplications{DB: e.db}, Signers: dsrotation.New(e.db, ks, nil), Trust: lineTrust,
		Readback: engine.RecordReadback}
	st := station.New(p, l.pc, readers)
	st.Log, st.MaxLength = quietLog, 4096
	st.OnCard = func(ev station.Event) {
		if ev.Err != nil {
			t.Logf("station: %s", ev.Line())
		}
		l.feeders[ev.Reader].Done(ctx)
	}
	stopped := st.RecordReaders(ctx, engine, "st-web", "L1")
	out := t.TempDir()
	q, err := printqueue.New(e.db, engine, printer.Spool{Dir: filepath.Join(out, "spool")}, printqueue.Config{Printer: "P1", Out: out,
		Poll: 100 * time.Millisecond, Actor: ledger.System("printqueue:P1")}, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(out, "spool"), 0o755); err != nil {
		t.Fatal(err)
	}
	l.run(ctx, (&workflow.Relay{DB: e.db, JS: b.JS, Log: quietLog}).Run)
	l.run(ctx, func(ctx context.Context) error { err := st.Run(ctx); stopped(); return err })
	l.run(ctx, (&workflow.JobWorker{Engine: engine, JS: b.JS, Log: quietLog, Line: "L1", Station: "st-web", Workers: len(readers),
		AckWait: time.Minute, Maker: st}).Run)
	l.run(ctx, func(ctx context.Context) error { return q.RunStages(ctx, b.JS, 30*time.Second) })
}

// waitState waits (a safety deadline only) until the application is in state.
func waitState(t *testing.T, e *testEnv, receipt, state string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := stateOf(t, e, receipt)
		if got == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("application %s is %s after %v, want %s", receipt, got, within, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// insertCard puts a virtual chip saved in path (a copy: a chip is written back when it
// leaves) into the counter's slot and returns a function that takes it out.
func insertCard(t *testing.T, ctx context.Context, l *line, path string) func() {
	t.Helper()
	chip, err := vchip.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	chip.SetSleep(func(time.Duration) {})
	slot, err := vpcd.Attach(ctx, vpcd.Addr(slotCounter), chip)
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		slot.Detach()
		if err := pcsctest.WaitEmpty(ctx, l.pc, vpcd.ReaderName(slotCounter), 15*time.Second); err != nil {
			t.Fatalf("counter reader still holds a card: %v", err)
		}
	}
}

// TestBrowserFullLine is the whole line through the console in a real browser: a clerk
// takes an application, a supervisor approves it, an operator batches it and watches
// the batch finish live on a station with virtual readers through pcscd, the print
// room sees the face printed and checked against the chip and dispatches it, the office
// receives it and hands it over after the counter's reader verified it, a verifier reads
// the genuine and the altered specimen cards, and the public status page says delivered.
func TestBrowserFullLine(t *testing.T) {
	l, b, ctx := newLine(t)
	p := testResident(t, 41, false)
	e := newEnv(t, Config{Production: Production{Feed: l.feed, TrustDir: l.trustDir, PCSC: l.pc}}, p)
	counter, _ := pcsctest.Reader(t, slotCounter)
	l.startProduction(ctx, e, b)
	br := browsertest.Start(t)
	base := e.srv.URL

	// Intake and approval (the clerk's and supervisor's screens).
	browserLogin(t, br, base, "lan.clerk")
	receipt := browserSubmit(t, br, base, p, false)
	browserLogout(t, br)
	browserLogin(t, br, base, "hoa.sup")
	browserApprove(t, br, base, receipt, false)
	browserLogout(t, br)

	// The operator batches the approved application and starts the batch, then watches
	// it finish: the row changes by the live stream, without a reload.
	browserLogin(t, br, base, "an.operator")
	br.Go(base + "/console/operator")
	br.WaitText("#live-status", "trực tiếp")
	br.Find("#line").Fill("L1")
	br.Find("#create-batch").Click()
	br.WaitText(".flash", "Đã tạo lô")
	batch := e.scalar("SELECT batch_id::text FROM applications WHERE receipt = $1", receipt)
	br.Find("#start-" + batch).Click()
	br.WaitURL("/console/operator")
	br.WaitText("#live-status", "trực tiếp")
	old := browsertest.Timeout
	browsertest.Timeout = 2 * time.Minute
	br.Find("#batch-" + batch + "[data-finished]")
	browsertest.Timeout = old
	if n := br.Script(`return Number(document.getElementById("live").dataset.liveRefreshes || 0)`); n == float64(0) {
		t.Fatal("the batch finished on screen without a live refresh")
	}
	br.WaitText("#batch-"+batch+" .progress-text", "1/1 (100%)")
	br.WaitText("#readers", "VNWEB")
	br.Shot("operator-dashboard")
	br.Script(`document.getElementById("readers").scrollIntoView()`)
	br.Shot("operator-readers-chart")
	br.Go(base + "/console/operator/reconcile?batch=" + batch)
	br.WaitText("#balanced", "Cân khớp")
	br.Shot("operator-reconcile")

	// Print room: the face printed and checked against its chip, then dispatched.
	waitState(t, e, receipt, "qc_passed", 2*time.Minute)
	br.Go(base + "/console/print")
	br.Find("#face-preview")
	if w := br.Script(`const i = document.getElementById("face-preview"); return i.complete ? i.naturalWidth : 0`); w == float64(0) {
		time.Sleep(time.Second)
		if w := br.Script(`return document.getElementById("face-preview").naturalWidth`); w == float64(0) {
			t.Fatal("the card face preview did not load")
		}
	}
	br.Shot("print-room")
	br.Script(`document.getElementById("face-preview").scrollIntoView()`)
	br.Shot("print-face")
	br.Go(base + "/console/print/qc?batch=" + batch)
	br.WaitText("#qc-verdict", "Mọi mặt thẻ khớp chip")
	br.Shot("print-qc")
	office := e.scalar("SELECT delivery->>'office' FROM applications WHERE receipt = $1", receipt)
	br.Go(base + "/console/print")
	br.Find("#dispatch-" + office).Click()
	br.WaitText("#shipped", "Lô hàng")
	br.Shot("print-dispatched")
	browserLogout(t, br)
	waitState(t, e, receipt, "dispatched", time.Second)

	// The office receives the shipment and hands the card over once the counter's reader
	// verified it.
	browserLogin(t, br, base, "lan.clerk")
	shipment := e.scalar("SELECT max(id)::text FROM shipments")
	br.Go(base + "/console/office")
	br.Find("#receive-" + shipment).Click()
	br.WaitText(".flash", "Đã nhận lô hàng")
	br.WaitText("#waiting", receipt)
	serial := e.scalar("SELECT serial FROM cards WHERE state = 'in_stock'")
	out := insertCard(t, ctx, l, filepath.Join(l.chips, serial+".card"))
	br.Find("#receipt").Fill(receipt)
	br.Find("#received_by").Fill(p.FullName)
	br.Find("#reader").Select(counter)
	br.Find("#handover").Click()
	br.WaitText("#handover-verdict", "THẺ THẬT")
	br.WaitText(".flash", "Đã trao thẻ")
	br.Script(`document.getElementById("handover-verdict").scrollIntoView()`)
	br.Shot("office-handover")
	out()
	waitState(t, e, receipt, "delivered", time.Second)
	browserLogout(t, br)

	// The verifier reads the genuine specimen, then the altered one.
	browserLogin(t, br, base, "binh.verifier")
	specimens := t.TempDir()
	for _, name := range []string{"genuine.json", "altered-dg13.json"} {
		b, err := os.ReadFile(filepath.Join(specimenDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(specimens, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	verifyCard := func(file, can, want, shot string, check func()) {
		t.Helper()
		br.Go(base + "/console/verifier")
		br.Find("#reader").Select(counter)
		br.Find("#can").Fill(can)
		if br.Find("#no_registry").Prop("checked") != true {
			br.Find("#no_registry").Click()
		}
		br.Find("#watch").Click()
		br.WaitText("#verdict", "Đặt thẻ lên đầu đọc")
		out := insertCard(t, ctx, l, filepath.Join(specimens, file))
		br.WaitText("#verdict", want)
		br.Shot(shot)
		check()
		out()
		br.WaitText("#verdict", "Thẻ đã được lấy ra")
	}
	verifyCard("genuine.json", "954824", "THẺ THẬT", "verifier-genuine", func() {
		if br.Has("#verdict li.fail") || !br.Has("#chip-portrait") || br.Find("#holder-name").Text() == "" {
			t.Fatal("the genuine card shows a failed check, or no portrait or name")
		}
		if w := br.Script(`return document.getElementById("chip-portrait").naturalWidth`); w == float64(0) {
			t.Fatal("the portrait from the chip does not show")
		}
	})
	verifyCard("altered-dg13.json", "012215", "KHÔNG PHẢI THẺ THẬT", "verifier-not-genuine", func() {
		if code := br.Script(`return document.getElementById("verdict-state").dataset.code`); code != "dg-hash-mismatch:DG13" {
			t.Fatalf("altered card's first failure %v, want dg-hash-mismatch:DG13", code)
		}
		br.WaitText(`#verdict li.fail`, "dg-hash-mismatch:DG13")
	})
	browserLogout(t, br)

	// The public status page says delivered, without personal data.
	br.Go(base + "/console/status")
	br.Find("#receipt").Fill(receipt)
	br.Find("button[type=submit]").Click()
	br.WaitText("#status-result", "Delivered")
	if st := br.Script(`return document.getElementById("status-state").dataset.state`); st != "delivered" {
		t.Fatalf("public status %v, want delivered", st)
	}
	if body := br.Find("main").Text(); strings.Contains(body, p.FullName) || strings.Contains(body, p.IDNumber) {
		t.Fatal("the public status page shows personal data")
	}
	br.Shot("public-delivered")
}
