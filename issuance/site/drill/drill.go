// Package drill runs the fault drill of a production site spread over hosts: on the test
// site of scripts/site.sh (network namespaces), a 3-node NATS JetStream cluster with the
// workflow streams on three replicas, a PostgreSQL server reached over TLS with client
// certificates, `cccd serve` on its own host, two station hosts each with its own pcscd
// and virtual chips in its readers, and the receiving office where the drill runs. It
// carries applications from approval to delivered, first without faults (the rate of
// the undisturbed line) and then while, at moments chosen from a printed seed, it kills
// (-9) a station, `cccd serve` and NATS nodes (the work queue's leader first), cuts a
// station host's network for 10-30 s, and restarts PostgreSQL once; a share of the
// blank chips is torn out of the reader mid-write throughout. At the end it checks
// the invariants (Report.Check) and reports each fault's recovery.
package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance/site"
	"github.com/cccd-project/cccd/issuance/store"
	"github.com/cccd-project/cccd/issuance/store/pgcluster"
	"github.com/cccd-project/cccd/issuance/workflow"
)

// Config is the drill's configuration. Zero values take the defaults noted.
type Config struct {
	Dir      string        // work directory: certificates, stores, logs, the report (required)
	Site     string        // the site's name, as given to scripts/site.sh (default $CCCD_SITE or cccd-site)
	Bin      string        // the cccd binary the hosts run (default this executable)
	Apps     int           // applications (default 1000)
	Faults   int           // faults injected (default 8; at least 5 includes every kind)
	Seed     int64         // default: from the clock (printed)
	Baseline float64       // share of the applications run first without faults (default 0.2)
	TearRate float64       // share of blank chips torn mid-write (default 0.03)
	Timeout  time.Duration // the whole drill (default 10 minutes + 1 s per application)
	Out      io.Writer     // progress (default os.Stderr)
}

// Validate checks the configuration and fills the defaults.
func (c *Config) Validate() error {
	if c.Dir == "" {
		return errors.New("drill: --dir is required")
	}
	if c.Site == "" {
		c.Site = os.Getenv("CCCD_SITE")
	}
	if c.Site == "" {
		c.Site = "cccd-site"
	}
	if c.Bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("drill: %w", err)
		}
		c.Bin = exe
	}
	switch {
	case c.Apps == 0:
		c.Apps = 1000
	case c.Apps < 10 || c.Apps > 100000:
		return fmt.Errorf("drill: --apps %d: want 10 to 100000", c.Apps)
	}
	switch {
	case c.Faults == 0:
		c.Faults = 8
	case c.Faults < 0 || c.Faults > 100:
		return fmt.Errorf("drill: --faults %d: want 1 to 100", c.Faults)
	}
	if c.Seed == 0 {
		c.Seed = time.Now().UnixNano() % 1_000_000_007
	}
	if c.Baseline == 0 {
		c.Baseline = 0.2
	}
	if c.Baseline < 0.05 || c.Baseline > 0.8 {
		return fmt.Errorf("drill: baseline share %.2f: want 0.05 to 0.8", c.Baseline)
	}
	if c.TearRate == 0 {
		c.TearRate = 0.03
	}
	if c.TearRate < 0 || c.TearRate > 0.5 {
		return fmt.Errorf("drill: tear rate %.2f: want 0 to 0.5", c.TearRate)
	}
	if c.Timeout == 0 {
		c.Timeout = 10*time.Minute + time.Duration(c.Apps)*time.Second
	}
	if c.Out == nil {
		c.Out = os.Stderr
	}
	return nil
}

// Line is the production line of the drill; Office the receiving office.
const (
	Line   = "L1"
	Office = "001-HK01"
)

// drill is one run.
type drill struct {
	cfg     Config
	log     *slog.Logger
	ca      *site.CA
	pg      *pgcluster.Cluster
	pgDir   string
	dbURL   string
	db      *pgxpool.Pool
	engine  *workflow.Engine
	nats    *site.NATSCluster
	serve   *proc
	st      []*stationHost
	env     map[string][]string // per role: environment of its processes
	started time.Time
}

// Run runs the drill on the site (scripts/site.sh up made it; the drill runs on the
// office host) and returns its report; err is set when the drill could not run or an
// invariant does not hold.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	d := &drill{cfg: cfg, log: slog.New(slog.NewTextHandler(cfg.Out, nil)), started: time.Now()}
	fmt.Fprintf(cfg.Out, "drill: seed %d, %d applications, %d faults, site %s, work directory %s\n",
		cfg.Seed, cfg.Apps, cfg.Faults, cfg.Site, cfg.Dir)
	defer d.shutdown()
	if err := d.setUp(ctx); err != nil {
		return nil, err
	}
	rep := &Report{Seed: cfg.Seed, Applications: cfg.Apps, Command: command(cfg)}
	if err := d.run(ctx, rep); err != nil {
		return rep, err
	}
	if err := d.check(ctx, rep); err != nil {
		return rep, err
	}
	return rep, rep.Err()
}

// command is the command line that repeats this drill.
func command(c Config) string {
	return fmt.Sprintf("scripts/site.sh drill --dir %s --apps %d --faults %d --seed %d --tear-rate %g --baseline %g",
		c.Dir, c.Apps, c.Faults, c.Seed, c.TearRate, c.Baseline)
}

// shutdown stops every process the drill started (scripts/site.sh down kills whatever
// is left on the hosts).
func (d *drill) shutdown() {
	for _, h := range d.st {
		h.station.stop()
		h.emulator.stop()
		h.pcscd.stop()
	}
	if d.serve != nil {
		d.serve.stop()
	}
	if d.db != nil {
		d.db.Close()
	}
	if d.nats != nil {
		d.nats.Stop()
	}
	if d.pg != nil {
		stop, cancel := context.WithTimeout(context.Background(), time.Minute)
		d.pg.Kill(stop)
		cancel()
		os.RemoveAll(d.pgDir)
	}
}

// dir is a directory under the work directory, made on first use.
func (d *drill) dir(parts ...string) string {
	p := filepath.Join(append([]string{d.cfg.Dir}, parts...)...)
	os.MkdirAll(p, 0o700)
	return p
}

// connectDB opens the pool of the drill's own office work (dispatch, receipt,
// hand-over) and its checks.
func (d *drill) connectDB(ctx context.Context) error {
	var err error
	for try := 0; ; try++ {
		if d.db, err = store.Connect(ctx, d.dbURL, 8); err == nil {
			break
		}
		if try > 50 || ctx.Err() != nil {
			return fmt.Errorf("drill: database: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := store.Migrate(ctx, d.db); err != nil {
		return fmt.Errorf("drill: migrate: %w", err)
	}
	d.engine = &workflow.Engine{DB: d.db, Log: d.log}
	return nil
}
