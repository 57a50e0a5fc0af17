package drill

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/portrait"
	"github.com/cccd-project/cccd/issuance/registry"
	"github.com/cccd-project/cccd/issuance/site"
	"github.com/cccd-project/cccd/issuance/store/pgcluster"
	"github.com/cccd-project/cccd/personalization/verify/verifytest"
)

const (
	pgPort    = 5432
	natsPort  = 4222
	routePort = 6222
	apiPort   = 8443
)

// setUp issues the site's certificates and starts the database, the NATS cluster,
// `cccd serve` and the station hosts, with the applications in the database.
func (d *drill) setUp(ctx context.Context) error {
	var err error
	if d.ca, err = site.OpenCA(d.dir("pki")); err != nil {
		return err
	}
	ids := map[string]site.Identity{}
	for _, c := range []struct {
		name  string
		hosts []string
	}{{"db", []string{hostAddr["db"]}}, {"api", []string{hostAddr["serve"]}}, {"postgres", nil},
		{site.RoleServe, nil}, {site.StationRole(Line), nil}} {
		if ids[c.name], err = d.ca.Issue(c.name, c.hosts); err != nil {
			return err
		}
	}
	if err := d.startDB(ctx, ids["db"]); err != nil {
		return err
	}
	pgc := ids["postgres"]
	d.dbURL = pgcluster.NetworkURL(hostAddr["db"], pgPort, pgcluster.Database, d.ca.CAFile(), pgc.CertFile, pgc.KeyFile)
	if err := d.connectDB(ctx); err != nil {
		return err
	}
	if err := d.seed(ctx); err != nil {
		return err
	}
	if err := d.startNATS(ctx); err != nil {
		return err
	}
	common := []string{"CCCD_DATABASE_URL=" + d.dbURL, "CCCD_NATS_URL=" + d.nats.URLs(), "CCCD_NATS_CA=" + d.ca.CAFile()}
	role := func(id site.Identity) []string {
		return append(append([]string(nil), common...), "CCCD_NATS_CERT="+id.CertFile, "CCCD_NATS_KEY="+id.KeyFile)
	}
	d.env = map[string][]string{"serve": role(ids[site.RoleServe]), "station": role(ids[site.StationRole(Line)])}
	if err := d.startServe(ctx, ids["api"]); err != nil {
		return err
	}
	return d.startStations(ctx)
}

func (d *drill) startDB(ctx context.Context, id site.Identity) error {
	os.Setenv("CCCD_PG_FSYNC", "on")
	// The server runs as the postgres user, who may not be able to enter the work
	// directory (a test's temporary directory is root's, mode 0700): the cluster lives
	// in a directory of its own under the system's temporary directory.
	dir, err := os.MkdirTemp("", "cccd-drill-pg-")
	if err != nil {
		return fmt.Errorf("drill: %w", err)
	}
	d.pgDir = dir
	c, err := pgcluster.New(dir)
	if err != nil {
		return err
	}
	c.Network = &pgcluster.Network{Listen: hostAddr["db"], Port: pgPort, CertFile: id.CertFile, KeyFile: id.KeyFile, CAFile: d.ca.CAFile()}
	c.Wrap = d.onHost("db")
	d.pg = c
	if _, err := c.Ensure(ctx); err != nil {
		return fmt.Errorf("drill: PostgreSQL on host db: %w", err)
	}
	return nil
}

// receipt is the receipt number of the i-th application of the drill.
func receipt(i int) string { return fmt.Sprintf("HS-DR000-%05d", i) }

// seed inserts the approved applications of a synthetic register (residents and
// portraits from the seed), to be delivered at the office.
func (d *drill) seed(ctx context.Context) error {
	if _, err := d.db.Exec(ctx, "INSERT INTO users (name, role, office, token_hash) VALUES ('drill.clerk', 'clerk', $1, '\\x00') ON CONFLICT DO NOTHING", Office); err != nil {
		return fmt.Errorf("drill: seed: %w", err)
	}
	rs, err := registry.Generator{Seed: d.cfg.Seed}.Residents(d.cfg.Apps)
	if err != nil {
		return err
	}
	for i := range rs {
		jpeg, err := portrait.Generate(d.cfg.Seed + int64(i))
		if err != nil {
			return err
		}
		app := rs[i].Application(issuance.ReasonFirstIssue, jpeg)
		person, err := json.Marshal(app.Person)
		if err != nil {
			return err
		}
		if _, err := d.db.Exec(ctx, `INSERT INTO applications (receipt, id_number, state, person, portrait, reason, intake_office, delivery, clerk)
			VALUES ($1, $2, 'approved', $3, $4, 'first_issue', $5, jsonb_build_object('method', 'office', 'office', $5::text), 'drill.clerk')`,
			receipt(i+1), app.IDNumber, person, app.Portrait, Office); err != nil {
			return fmt.Errorf("drill: seed application %d: %w", i+1, err)
		}
	}
	fmt.Fprintf(d.cfg.Out, "drill: %d approved applications in the database on host db (TLS)\n", len(rs))
	return nil
}

func (d *drill) startNATS(ctx context.Context) error {
	c := &site.NATSCluster{Dir: d.dir("nats"), CA: d.ca, Roles: site.Roles([]string{Line}),
		Wrap: func(n site.NATSNode) []string { return d.onHost(n.Name) }}
	for _, h := range []string{"nats1", "nats2", "nats3"} {
		c.Nodes = append(c.Nodes, site.NATSNode{Name: h, Host: hostAddr[h], Port: natsPort, Cluster: routePort, StoreDir: d.dir("nats", h)})
	}
	d.nats = c
	return c.Start(ctx)
}

// startServe runs `cccd serve` on host serve: HTTPS API, relay, and the print and QC
// stages, with the streams on three replicas.
func (d *drill) startServe(ctx context.Context, api site.Identity) error {
	env := append(append([]string(nil), d.env["serve"]...), "CCCD_DATA_DIR="+d.dir("serve"), "CCCD_NATS_REPLICAS=3",
		"CCCD_TLS_CERT="+api.CertFile, "CCCD_TLS_KEY="+api.KeyFile,
		"CCCD_PRINT_SPOOL="+d.dir("serve", "spool"), "CCCD_PRINT_OUT="+d.dir("serve", "print"))
	d.serve = &proc{name: "serve", env: env, log: filepath.Join(d.dir("logs"), "serve.log"),
		argv: func() []string {
			return append(d.onHost("serve"), d.cfg.Bin, "serve", "--listen", hostAddr["serve"]+":"+strconv.Itoa(apiPort))
		}}
	if err := d.serve.start(); err != nil {
		return err
	}
	return d.serveUp(ctx)
}

// serveUp waits until serve answers over HTTPS with its site certificate.
func (d *drill) serveUp(ctx context.Context) error {
	tc, err := site.ClientTLS(d.ca.CAFile(), "", "")
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	url := "https://" + hostAddr["serve"] + ":" + strconv.Itoa(apiPort) + "/status/" + receipt(1)
	return waitFor(ctx, time.Minute, "cccd serve answering on "+url, func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// startStations starts the two station hosts with the development Document Signer.
func (d *drill) startStations(ctx context.Context) error {
	p, err := verifytest.NewPKI("VN")
	if err != nil {
		return err
	}
	dsKey, err := x509.MarshalPKCS8PrivateKey(p.DSKey)
	if err != nil {
		return err
	}
	docs := d.dir("docpki")
	files := map[string][]byte{
		"ds.key":              pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: dsKey}),
		"ds.crt":              pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.DS.Raw}),
		"trust/csca/csca.der": p.CSCA.Raw,
	}
	for name, b := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(docs, name)), 0o700)
		if err := os.WriteFile(filepath.Join(docs, name), b, 0o600); err != nil {
			return fmt.Errorf("drill: %w", err)
		}
	}
	conf, pcscd, err := pcscdConf(d.dir("pcsc"))
	if err != nil {
		return err
	}
	for i, name := range []string{"st1", "st2"} {
		h := &stationHost{name: name}
		logs := d.dir("logs")
		pidFile := filepath.Join(d.dir(name), "pcscd.pid")
		h.pcscd = &proc{name: name + "/pcscd", log: filepath.Join(logs, name+"-pcscd.log"), argv: func() []string {
			os.Remove(pidFile)
			return append(d.onHost(name), "unshare", "-m", "--propagation", "private", "sh", "-c",
				"mount -t tmpfs tmpfs /run/pcscd && echo $$ > "+pidFile+" && exec "+pcscd+" --foreground -c "+conf)
		}}
		h.pidFile = pidFile
		cards := d.dir(name, "cards")
		h.emulator = &proc{name: name + "/cards", log: filepath.Join(logs, name+"-cards.log"), argv: func() []string {
			return append(inMountNS(h.pcscdPID()), d.cfg.Bin, "card", "emulate", "--slots", "2", "--feed", "--dir", cards,
				"--tear-rate", strconv.FormatFloat(d.cfg.TearRate, 'g', -1, 64), "--tear-seed", strconv.FormatInt(d.cfg.Seed+int64(i), 10))
		}}
		env := append(append([]string(nil), d.env["station"]...), "CCCD_DATA_DIR="+d.dir(name))
		h.station = &proc{name: name + "/station", env: env, log: filepath.Join(logs, name+"-station.log"), argv: func() []string {
			return append(inMountNS(h.pcscdPID()), d.cfg.Bin, "station", "--line", Line, "--name", name,
				"--reader", readers[0], "--reader", readers[1], "--max-apdu", "4096",
				"--signer", "files", "--ds-key", filepath.Join(docs, "ds.key"), "--ds-cert", filepath.Join(docs, "ds.crt"),
				"--trust-dir", filepath.Join(docs, "trust"), "--card-wait", "10s", "--ack-wait", "30s")
		}}
		if err := h.pcscd.start(); err != nil {
			return err
		}
		// pcscd is up when its socket exists in its private /run/pcscd (not the machine's).
		if err := waitFor(ctx, 30*time.Second, name+" pcscd", h.pcscdReady); err != nil {
			return err
		}
		if err := h.emulator.start(); err != nil {
			return err
		}
		if err := h.station.start(); err != nil {
			return err
		}
		d.st = append(d.st, h)
	}
	return nil
}
