package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/hsm"
	"github.com/cccd-project/cccd/hsm/authority"
	"github.com/cccd-project/cccd/hsm/dsrotation"
	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/issuance/broker"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/station"
	"github.com/cccd-project/cccd/smartcard/pcsc"
)

func init() { addCommand(newStationCmd) }

// stationConfig is `cccd station`'s configuration.
type stationConfig struct {
	Line       string
	Readers    []string
	AllReaders bool
	Name       string        // station name in the records; default the host name
	Signer     string        // "pool" (DS rotation pool over the key store) or "files"
	DSKey      string        // --signer files: PKCS#8 PEM private key of the Document Signer
	DSCert     string        // --signer files: its certificate (PEM)
	TrustDir   string        // CSCA trust store (default: the authority's CSCAs from the database)
	NISTP256   bool          // PACE and CA on P-256 instead of brainpoolP256r1
	MaxAPDU    int           // extended length limit of the readers; 0 = short APDUs
	CardWait   time.Duration // how long a job waits for a blank card
	AckWait    time.Duration // work-queue redelivery after a station died
}

// Validate checks the configuration before anything is opened.
func (c *stationConfig) Validate() error {
	switch {
	case !workflow.ValidLine(c.Line):
		return fmt.Errorf("station: --line %q: %w", c.Line, workflow.ErrInvalidLine)
	case len(c.Readers) == 0 && !c.AllReaders:
		return errors.New("station: name at least one --reader, or --all-readers")
	case c.Signer != "pool" && c.Signer != "files":
		return fmt.Errorf("station: --signer %q: want pool or files", c.Signer)
	case c.Signer == "files" && (c.DSKey == "" || c.DSCert == ""):
		return errors.New("station: --signer files needs --ds-key and --ds-cert")
	case c.CardWait >= c.AckWait:
		return fmt.Errorf("station: --card-wait %v must be shorter than --ack-wait %v", c.CardWait, c.AckWait)
	}
	return nil
}

func newStationCmd() *cobra.Command {
	cfg := stationConfig{Signer: "pool", CardWait: 45 * time.Second, AckWait: 2 * time.Minute}
	cmd := &cobra.Command{
		Use:   "station --line L --reader NAME...",
		Short: "Personalize chips in PC/SC readers from the line's work queue (write, sign, lock, read-back QC)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return &exitError{2, err}
			}
			return runStation(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Line, "line", "", "production line whose jobs this station takes")
	f.StringArrayVar(&cfg.Readers, "reader", nil, "PC/SC reader name (repeat for several readers)")
	f.BoolVar(&cfg.AllReaders, "all-readers", false, "use every reader pcscd knows")
	f.StringVar(&cfg.Name, "name", "", "station name in the records (default the host name)")
	f.StringVar(&cfg.Signer, "signer", cfg.Signer, "pool: Document Signers from the rotation pool and the key store; files: --ds-key/--ds-cert")
	f.StringVar(&cfg.DSKey, "ds-key", "", "Document Signer private key, PKCS#8 PEM (--signer files; development only)")
	f.StringVar(&cfg.DSCert, "ds-cert", "", "Document Signer certificate, PEM (--signer files)")
	f.StringVar(&cfg.TrustDir, "trust-dir", "", "CSCA trust store for the read-back QC (default: the CSCAs in the database)")
	f.BoolVar(&cfg.NISTP256, "nist-p256", false, "PACE and Chip Authentication on NIST P-256 (issued cards use brainpoolP256r1)")
	f.IntVar(&cfg.MaxAPDU, "max-apdu", 0, "extended length APDU limit of the readers (0: short APDUs)")
	f.DurationVar(&cfg.CardWait, "card-wait", cfg.CardWait, "how long a job waits for a blank card before it is re-queued")
	f.DurationVar(&cfg.AckWait, "ack-wait", cfg.AckWait, "work-queue redelivery delay after a station died")
	return cmd
}

func runStation(ctx context.Context, cfg stationConfig) error {
	log := newLogger("station")
	pc, err := pcsc.Open()
	if err != nil {
		return err
	}
	defer pc.Close()
	if cfg.AllReaders {
		if cfg.Readers, err = pc.Readers(ctx); err != nil {
			return err
		}
		if len(cfg.Readers) == 0 {
			return errors.New("station: pcscd has no readers")
		}
	}
	if cfg.Name == "" {
		cfg.Name, _ = os.Hostname()
	}
	db, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	signers, ts, closeKeys, err := stationSigning(ctx, db, cfg)
	if err != nil {
		return err
	}
	defer closeKeys()
	url, err := broker.DiscoverURL(natsStoreDir())
	if err != nil {
		return fmt.Errorf("station: broker: %w (start `cccd serve`, or set CCCD_NATS_URL)", err)
	}
	b, err := broker.Connect(ctx, broker.Config{URL: url, Name: "cccd-station-" + cfg.Name})
	if err != nil {
		return err
	}
	defer b.Close()
	// The streams are `cccd serve`'s to create: a station's credentials only reach its
	// line's consumer, which it waits for (package site).

	p := &station.Personalizer{Apps: station.DBApplications{DB: db}, Signers: signers, Trust: ts,
		Profile: station.Profile{NISTP256: cfg.NISTP256}, Readback: (&workflow.Engine{DB: db}).RecordReadback,
		Alarm: func(ctx context.Context, j workflow.Job, serial string, err error) {
			// Every further card of the batch would be refused too: hold the batch until the
			// signing profile is fixed (cccd pki ...) and an operator resumes it.
			perr := (&workflow.Engine{DB: db}).SetBatchPaused(ctx, ledger.System("station:"+cfg.Name), j.BatchID, true)
			log.Error("cccd station: ALARM: card refused, batch paused", "batch", j.BatchID, "serial", serial, "err", err, "pause_err", perr)
		}}
	st := station.New(p, pc, cfg.Readers)
	st.Log, st.MaxLength, st.CardWait = log, cfg.MaxAPDU, cfg.CardWait
	var sum stationSummary
	st.OnCard = func(ev station.Event) {
		sum.add(ev)
		if global.json {
			printJSON(stationEventJSON(ev))
			return
		}
		fmt.Println(ev.Line())
	}
	engine := &workflow.Engine{DB: db, Log: log}
	stopped := st.RecordReaders(ctx, engine, cfg.Name, cfg.Line)
	defer stopped()
	for i, r := range cfg.Readers {
		log.Info("cccd station: reader", "index", i, "name", r)
	}
	log.Info("cccd station: running", "line", cfg.Line, "station", cfg.Name, "readers", len(cfg.Readers), "broker", url)
	w := &workflow.JobWorker{Engine: engine, JS: b.JS, Log: log, Line: cfg.Line, Station: cfg.Name,
		Workers: len(cfg.Readers), AckWait: cfg.AckWait, Maker: st}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); st.Run(ctx) }()
	err = w.Run(ctx)
	wg.Wait()
	sum.print()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// stationSigning returns the Document Signer source and the trust store of the read-back.
func stationSigning(ctx context.Context, db *pgxpool.Pool, cfg stationConfig) (station.SignerSource, *trust.Store, func(), error) {
	nothing := func() {}
	var ks hsm.KeyStore
	closeKS := nothing
	if cfg.Signer == "pool" || cfg.TrustDir == "" {
		var err error
		if ks, _, closeKS, err = openKeyStore(ctx); err != nil {
			return nil, nil, nothing, err
		}
	}
	ts, err := stationTrust(ctx, db, ks, cfg.TrustDir)
	if err != nil {
		closeKS()
		return nil, nil, nothing, err
	}
	if cfg.Signer == "files" {
		src, err := newFileSigner(cfg.DSKey, cfg.DSCert)
		if err != nil {
			closeKS()
			return nil, nil, nothing, err
		}
		return src, ts, closeKS, nil
	}
	// Stations never issue Document Signers (issuer nil): the authority does, by policy.
	return dsrotation.New(db, ks, nil), ts, closeKS, nil
}

// stationTrust loads the CSCAs that the read-back QC trusts: a trust store directory,
// or the authority's CSCA certificates.
func stationTrust(ctx context.Context, db *pgxpool.Pool, ks hsm.KeyStore, dir string) (*trust.Store, error) {
	if dir != "" {
		return trust.Load(os.DirFS(dir))
	}
	a, err := authority.New(db, ks, pkiConfig())
	if err != nil {
		return nil, err
	}
	cscas, err := a.CSCAs(ctx)
	if err != nil {
		return nil, err
	}
	ts := trust.New()
	for _, c := range cscas {
		if err := ts.AddCSCA(c.Cert); err != nil {
			return nil, err
		}
		if c.Link != nil {
			if err := ts.AddCSCA(c.Link); err != nil {
				return nil, err
			}
		}
	}
	if len(cscas) == 0 {
		return nil, errors.New("station: no CSCA in the database (run `cccd pki csca` first) and no --trust-dir")
	}
	return ts, nil
}

// fileSigner is a development SignerSource: one Document Signer key and certificate
// from PEM files. Production stations use the rotation pool (--signer pool).
type fileSigner struct {
	key  crypto.Signer
	cert *x509.Certificate
}

func newFileSigner(keyFile, certFile string) (*fileSigner, error) {
	kb, err := os.ReadFile(filepath.Clean(keyFile))
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(kb)
	if blk == nil {
		return nil, fmt.Errorf("station: %s: no PEM block", keyFile)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("station: %s: %w", keyFile, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("station: %s: not a signing key", keyFile)
	}
	cert, err := readCert(certFile)
	if err != nil {
		return nil, err
	}
	return &fileSigner{signer, cert}, nil
}

func (f *fileSigner) Acquire(context.Context) (crypto.Signer, *x509.Certificate, error) {
	return f.key, f.cert, nil
}

// stationSummary counts the station's cards for the summary at exit.
type stationSummary struct {
	mu      sync.Mutex
	good    int
	spoiled int
	total   time.Duration
	began   time.Time
}

func (s *stationSummary) add(ev station.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.began.IsZero() {
		s.began = time.Now().Add(-ev.Duration)
	}
	if ev.Err != nil {
		s.spoiled++
	} else {
		s.good++
		s.total += ev.Duration
	}
}

func (s *stationSummary) print() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var mean float64
	if s.good > 0 {
		mean = float64(s.total.Milliseconds()) / float64(s.good)
	}
	var rate float64
	if el := time.Since(s.began).Seconds(); !s.began.IsZero() && el > 0 {
		rate = float64(s.good) / el
	}
	if global.json {
		printJSON(map[string]any{"summary": map[string]any{"good": s.good, "spoiled": s.spoiled, "mean_ms": mean, "cards_per_second": rate}})
		return
	}
	fmt.Printf("station summary: %d good, %d spoiled, mean %.0f ms per good card, %.2f cards/s\n", s.good, s.spoiled, mean, rate)
}

// stationEventJSON is the --json form of a progress event.
func stationEventJSON(ev station.Event) map[string]any {
	m := map[string]any{"reader": ev.Reader, "reader_name": ev.ReaderName, "job": ev.Job.ID, "application_id": ev.Job.ApplicationID,
		"serial": ev.Serial, "ms": ev.Duration.Milliseconds(), "ok": ev.Err == nil}
	if ev.Err != nil {
		m["error"] = ev.Err.Error()
	}
	return m
}
