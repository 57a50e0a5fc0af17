package station_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/hsm"
	"github.com/cccd-project/cccd/hsm/dsrotation"
	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/hsm/softkey"
	"github.com/cccd-project/cccd/issuance/broker"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/store/storetest"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/passive"
	"github.com/cccd-project/cccd/personalization/sod"
	"github.com/cccd-project/cccd/personalization/sod/sodtest"
	"github.com/cccd-project/cccd/personalization/station"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/pcsc"
	"github.com/cccd-project/cccd/smartcard/pcsc/pcsctest"
	"github.com/cccd-project/cccd/smartcard/tlv"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var quiet = slog.New(slog.DiscardHandler)

// seedApplications inserts the approved applications of a (synthetic) register for
// delivery at office 001-HK01 and returns them by database id.
func seedApplications(t *testing.T, db *pgxpool.Pool, a *apps) map[int64]string {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Exec(ctx, "INSERT INTO users (name, role, office, token_hash) VALUES ('clerk1', 'clerk', '001-HK01', 'x')"); err != nil {
		t.Fatal(err)
	}
	ids := map[int64]string{}
	for i := int64(1); i <= int64(len(a.byID)); i++ {
		app := a.byID[i]
		person, err := json.Marshal(app.Person)
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		if err := db.QueryRow(ctx, `INSERT INTO applications (receipt, id_number, state, person, portrait, reason, intake_office, delivery, clerk)
			VALUES ($1, $2, 'approved', $3, $4, 'first_issue', '001-HK01', '{"method": "office", "office": "001-HK01"}', 'clerk1') RETURNING id`,
			fmt.Sprintf("R%d", i), app.IDNumber, person, app.Portrait).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[id] = app.IDNumber
	}
	return ids
}

// signerPool registers a CSCA and one Document Signer (key in a softkey store) in the
// database and returns the production DS rotation pool over them, and the CSCA.
func signerPool(t *testing.T, db *pgxpool.Pool) (*dsrotation.Pool, *trust.Store, []byte) {
	t.Helper()
	ctx := context.Background()
	keys, err := softkey.Open(t.TempDir(), "station test passphrase", softkey.KDF{Time: 1, MemoryKiB: 8 * 1024, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	auth := pki.Authority{Country: "VN", Organization: "Bo Cong an", CRLURL: "http://pki.example.vn/csca.crl"}
	cscaKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csca, err := pki.NewCSCA(cscaKey, pki.CSCAOptions{Authority: auth})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"admin-a", "admin-b"} {
		if _, err := db.Exec(ctx, "INSERT INTO users (name, role, office, token_hash) VALUES ($1, 'admin', 'C06', $2)", u, []byte(u)); err != nil {
			t.Fatal(err)
		}
	}
	var cscaID int64
	if err := db.QueryRow(ctx, `INSERT INTO pki_csca (sequence, key_label, algorithm, cert, serial, usage_start, usage_end, not_after,
		requested_by, confirmed_by) VALUES (1, 'csca-1', 'ecdsa-p384', $1, 1, now(), now() + interval '5 years', now() + interval '15 years',
		'admin-a', 'admin-b') RETURNING id`, csca.Raw).Scan(&cscaID); err != nil {
		t.Fatal(err)
	}
	k, err := keys.Generate(ctx, "ds-1", hsm.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := pki.IssueDocumentSigner(csca, cscaKey, k.Public(), pki.DSOptions{Authority: auth})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO pki_document_signer (csca_id, key_label, algorithm, cert, serial, usage_start, usage_end,
		doc_limit, auto_issued) VALUES ($1, 'ds-1', 'ecdsa-p256', $2, $3::numeric, now() - interval '1 hour', now() + interval '90 days', 1000, true)`,
		cscaID, ds.Raw, ds.SerialNumber.String()); err != nil {
		t.Fatal(err)
	}
	ts := trust.New()
	if err := ts.AddCSCA(csca); err != nil {
		t.Fatal(err)
	}
	return dsrotation.New(db, keys, nil), ts, sodtest.PEM(csca)
}

// productionLine is what a station test starts from: its applications approved and
// in one batch of a production line, Document Signers to sign with, and pcscd.
type productionLine struct {
	db       *pgxpool.Pool
	ids      map[int64]string
	signers  *dsrotation.Pool
	trust    *trust.Store
	cscaPEM  []byte
	engine   *workflow.Engine
	operator ledger.Actor
	batch    int64
	pc       *pcsc.Context
}

func newProductionLine(t *testing.T, ctx context.Context, a *apps, line string) *productionLine {
	t.Helper()
	db := storetest.New(t)
	l := &productionLine{db: db, ids: seedApplications(t, db, a), engine: &workflow.Engine{DB: db, Log: quiet},
		operator: ledger.Actor{Name: "op", Role: "operator", Office: "001-SX01"}}
	l.signers, l.trust, l.cscaPEM = signerPool(t, db)
	batches, err := l.engine.CreateBatches(ctx, l.operator, line, "", 0)
	if err != nil || len(batches) != 1 {
		t.Fatalf("batches %+v %v", batches, err)
	}
	l.batch = batches[0].ID
	if l.pc, err = pcsc.Open(); err != nil {
		t.Fatalf("pcscd: %v (start it: sudo scripts/pcscd.sh start 14)", err)
	}
	t.Cleanup(func() { l.pc.Close() })
	return l
}

// TestStationEndToEnd: approved applications -> batch -> a station with two virtual
// readers through pcscd (slots 4 and 5) -> every chip written, locked, read back and
// verified; the first card in reader 0 is torn mid-write, shows up spoiled with its
// reason, and its application completes on a new card.
func TestStationEndToEnd(t *testing.T) {
	const n = 6
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := newApps(t, n)
	l := newProductionLine(t, ctx, a, "L1")
	db, ids, signers, ts, cscaPEM, engine, operator, pc := l.db, l.ids, l.signers, l.trust, l.cscaPEM, l.engine, l.operator, l.pc
	dir := t.TempDir()
	var feeders []*pcsctest.Feeder
	var readers []string
	for i, slot := range []int{4, 5} {
		name, addr := pcsctest.Reader(t, slot)
		f := &pcsctest.Feeder{T: t, PC: pc, Reader: name, Addr: addr, Dir: dir, Prefix: fmt.Sprintf("VNE2E%d", i), Removal: 10 * time.Second}
		if i == 0 {
			f.Faults = vchip.Faults{TearAfter: 14} // mid-write of the first card
		}
		f.Insert(ctx)
		feeders = append(feeders, f)
		readers = append(readers, name)
	}

	var mu sync.Mutex
	var events []station.Event
	p := &station.Personalizer{Apps: station.DBApplications{DB: db}, Signers: signers, Trust: ts, Readback: engine.RecordReadback}
	st := station.New(p, pc, readers)
	st.Log = quiet
	st.MaxLength = 4096
	st.OnCard = func(ev station.Event) {
		t.Log(ev.Line())
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
		feeders[ev.Reader].Done(ctx)
	}

	b, err := broker.Connect(ctx, broker.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := workflow.EnsureStreams(ctx, b.JS); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	run := func(f func(context.Context) error) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	run((&workflow.Relay{DB: db, JS: b.JS, Log: quiet}).Run)
	run(st.Run)
	run((&workflow.JobWorker{Engine: engine, JS: b.JS, Log: quiet, Line: "L1", Station: "st-e2e", Workers: len(readers),
		AckWait: time.Minute, Maker: st}).Run)
	if _, err := engine.StartBatch(ctx, operator, l.batch); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(3 * time.Minute)
	for count(t, db, "SELECT count(*) FROM applications WHERE state = 'personalized'") < n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %d of %d personalized", count(t, db, "SELECT count(*) FROM applications WHERE state = 'personalized'"), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	for _, f := range feeders {
		f.Stop()
	}
	ctx = context.Background()

	// Exactly one good card per application, one spoiled card with the step in its reason.
	if got := count(t, db, "SELECT count(*) FROM cards WHERE state = 'encoded'"); got != n {
		t.Errorf("%d encoded cards, want %d", got, n)
	}
	if got := count(t, db, "SELECT count(DISTINCT application_id) FROM cards WHERE state = 'encoded'"); got != n {
		t.Errorf("%d applications with an encoded card, want %d", got, n)
	}
	var spoiledSerial, reason string
	var spoiledApp int64
	if err := db.QueryRow(ctx, "SELECT serial, reason, application_id FROM cards WHERE state = 'spoiled'").Scan(&spoiledSerial, &reason, &spoiledApp); err != nil {
		t.Fatalf("spoiled card: %v", err)
	}
	if !strings.HasPrefix(spoiledSerial, "VNE2E0") || !strings.Contains(reason, "station: write") {
		t.Errorf("spoiled card %s reason %q", spoiledSerial, reason)
	}
	var good string
	if err := db.QueryRow(ctx, "SELECT serial FROM cards WHERE state = 'encoded' AND application_id = $1", spoiledApp).Scan(&good); err != nil {
		t.Errorf("application %d of the torn card has no good card: %v", spoiledApp, err)
	}
	torn, err := vchip.Load(filepath.Join(dir, spoiledSerial+".card"))
	if err != nil || torn.Locked() {
		t.Errorf("torn chip: locked=%v err=%v", torn != nil && torn.Locked(), err)
	}
	rec, err := engine.ReconcileBatch(ctx, l.batch)
	if err != nil || !rec.Balanced() || rec.Started != n+1 || rec.Spoiled != 1 {
		t.Errorf("reconciliation %+v %v", rec, err)
	}
	// Every good card has its read-back recorded for print QC; the torn one has none.
	var readbacks, tornReadback int
	db.QueryRow(ctx, "SELECT count(*) FROM card_readback r JOIN cards c USING (serial) WHERE c.state = 'encoded'").Scan(&readbacks)
	db.QueryRow(ctx, "SELECT count(*) FROM card_readback WHERE serial = $1", spoiledSerial).Scan(&tornReadback)
	if readbacks != n || tornReadback != 0 {
		t.Errorf("%d read-backs for %d good cards, %d for the torn card", readbacks, n, tornReadback)
	}

	// Every bound chip: locked, and reads back as a counter reads it, with the MRZ the
	// database bound to it.
	rows, err := db.Query(ctx, "SELECT serial, application_id, mrz FROM cards WHERE state = 'encoded' ORDER BY serial")
	if err != nil {
		t.Fatal(err)
	}
	type bound struct {
		serial string
		app    int64
		mrz    string
	}
	var cards []bound
	for rows.Next() {
		var c bound
		if err := rows.Scan(&c.serial, &c.app, &c.mrz); err != nil {
			t.Fatal(err)
		}
		cards = append(cards, c)
	}
	for _, c := range cards {
		t.Run("chip "+c.serial, func(t *testing.T) {
			chip, err := vchip.Load(filepath.Join(dir, c.serial+".card"))
			if err != nil {
				t.Fatal(err)
			}
			if !chip.Locked() {
				t.Fatal("chip not locked")
			}
			id := ids[c.app]
			doc, err := emrtd.Read(ctx, vchip.Transport{Chip: chip}, emrtd.Credentials{CAN: id[6:]}, emrtd.Options{})
			if err != nil || !doc.ChipAuthenticated || !doc.ActiveAuthenticated {
				t.Fatalf("read: %v", err)
			}
			if _, err := passive.Verify(doc.SOD, doc.DataGroups, ts, time.Now()); err != nil {
				t.Fatalf("passive authentication: %v", err)
			}
			if !bytes.Contains(doc.DataGroups[1], []byte(c.mrz)) || !strings.Contains(c.mrz, id) {
				t.Fatalf("DG1 does not hold the bound MRZ %q", c.mrz)
			}
		})
	}
	if len(cards) > 0 {
		t.Run("openssl cms verify", func(t *testing.T) { opensslVerify(t, filepath.Join(dir, cards[0].serial+".card"), ids, cscaPEM) })
	}
	mu.Lock()
	defer mu.Unlock()
	jobs := 0
	for _, ev := range events {
		if ev.Job.ID != "" {
			jobs++
		}
	}
	if jobs != n+1 {
		t.Errorf("%d cards made for jobs, want %d", jobs, n+1)
	}
}

// opensslVerify checks a written chip's EF.SOD independently: openssl verifies the CMS
// signature up to the CSCA, and the LDSSecurityObject it outputs lists SHA-256 hashes
// equal to those of the data groups read from the chip.
func opensslVerify(t *testing.T, cardFile string, ids map[int64]string, cscaPEM []byte) {
	chip, err := vchip.Load(cardFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc *emrtd.Document
	for _, id := range ids { // the CAN opens the chip of its own application only
		chip.Reset()
		if d, err := emrtd.Read(context.Background(), vchip.Transport{Chip: chip}, emrtd.Credentials{CAN: id[6:]}, emrtd.Options{}); err == nil {
			doc = d
			break
		} else if !errors.Is(err, emrtd.ErrAccessDenied) {
			t.Fatal(err)
		}
	}
	if doc == nil {
		t.Fatal("no CAN opens the chip")
	}
	obj, err := tlv.Decode(doc.SOD)
	if err != nil || obj.Tag != 0x77 {
		t.Fatalf("EF.SOD tag 77: %v", err)
	}
	dir := t.TempDir()
	sodFile, cscaFile, content := filepath.Join(dir, "sod.der"), filepath.Join(dir, "csca.pem"), filepath.Join(dir, "content.der")
	if err := os.WriteFile(sodFile, obj.Value, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cscaFile, cscaPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "cms", "-verify", "-inform", "DER", "-in", sodFile, "-CAfile", cscaFile,
		"-purpose", "any", "-out", content).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl cms -verify: %v\n%s", err, out)
	}
	der, err := os.ReadFile(content)
	if err != nil {
		t.Fatal(err)
	}
	lso, err := sod.ParseLDSSecurityObject(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(lso.DataGroupHashes) != len(doc.DataGroups) {
		t.Fatalf("%d hashes for %d data groups", len(lso.DataGroupHashes), len(doc.DataGroups))
	}
	for _, h := range lso.DataGroupHashes {
		sum := sha256.Sum256(doc.DataGroups[h.Number])
		if !bytes.Equal(h.Hash, sum[:]) {
			t.Errorf("DG%d: SOD hash %x, chip SHA-256 %x", h.Number, h.Hash, sum)
		}
	}
}

func count(t *testing.T, db *pgxpool.Pool, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
