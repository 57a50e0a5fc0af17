package intake

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/portrait"
	"github.com/cccd-project/cccd/issuance/registry"
)

// BenchConfig sizes an intake benchmark.
type BenchConfig struct {
	Residents int // residents imported into the register
	Apps      int // applications submitted through the API
	Clients   int // concurrent API clients
	Portraits int // distinct portraits cycled through (generating them is not timed)
}

// BenchResult is one benchmark run.
type BenchResult struct {
	ImportRows    int64         `json:"import_rows"`
	ImportTime    time.Duration `json:"import_ns"`
	ImportRowsSec float64       `json:"import_rows_per_second"`
	Apps          int           `json:"applications"`
	Clients       int           `json:"clients"`
	PortraitBytes int           `json:"portrait_bytes_avg"`
	IntakeTime    time.Duration `json:"intake_ns"`
	IntakeAppsSec float64       `json:"intake_applications_per_second"`
	LatencyP50    time.Duration `json:"latency_p50_ns"`
	LatencyP99    time.Duration `json:"latency_p99_ns"`
	Failed        int64         `json:"failed"`
	FirstFailure  string        `json:"first_failure,omitempty"`
	// AccessOff and AccessOn split the intake run (after an unmeasured warm-up of 5% of
	// the applications) into Segments parts (a multiple of 4, at least 8) that alternate
	// off, on, on, off, off, on, on, off, ... with access records and look-up limits
	// turned off and on: a drift of the machine weighs on both alike, and the more
	// segments, the less its faster swings do.
	Segments  int        `json:"segments"`
	WarmUp    int        `json:"warm_up_applications"` // taken before the measure, access records on
	AccessOff BenchPhase `json:"access_records_off"`
	AccessOn  BenchPhase `json:"access_records_on"`
	// AccessCost is how much slower intake is with access records on, in percent of the
	// rate with them off (negative: faster, within noise).
	AccessCost float64 `json:"access_cost_percent"`
	// LookupGroup is the mean number of look-ups written by one statement and commit
	// while access records were on (lookups.go).
	LookupGroup float64 `json:"lookup_group_mean"`
}

// BenchPhase is the intake of the applications taken with access records on or off.
type BenchPhase struct {
	Apps       int           `json:"applications"`
	Time       time.Duration `json:"intake_ns"`
	AppsSec    float64       `json:"intake_applications_per_second"`
	LatencyP50 time.Duration `json:"latency_p50_ns"`
	LatencyP99 time.Duration `json:"latency_p99_ns"`
}

// Bench measures register import and API intake throughput on the service's database,
// which must be empty (a scratch database). The register file is generated into
// tmpDir first, outside the timed part. progress, if set, gets human-readable steps.
// An application is taken as at a counter: the clerk's register look-up to pre-fill
// (GET /api/v1/register/{id}), then the submission; each client is its own clerk. Half
// the applications are taken with access records (and look-up limits, set above the
// benchmark's rate) on, half with them off.
func (s *Service) Bench(ctx context.Context, cfg BenchConfig, tmpDir string, progress func(string)) (BenchResult, error) {
	say := func(f string, a ...any) {
		if progress != nil {
			progress(fmt.Sprintf(f, a...))
		}
	}
	var res BenchResult
	file, err := os.CreateTemp(tmpDir, "register-*.jsonl")
	if err != nil {
		return res, err
	}
	defer os.Remove(file.Name())
	defer file.Close()
	say("generating %d residents", cfg.Residents)
	bw := bufio.NewWriterSize(file, 1<<20)
	gen := registry.Generator{Seed: 42}
	if err := gen.WriteJSONL(bw, cfg.Residents); err != nil {
		return res, err
	}
	if err := bw.Flush(); err != nil {
		return res, err
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return res, err
	}
	say("importing the register with COPY")
	imp, err := s.ImportRegister(ctx, bufio.NewReaderSize(file, 1<<20), nil)
	if err != nil {
		return res, err
	}
	res.ImportRows, res.ImportTime, res.ImportRowsSec = imp.Rows, imp.Elapsed, imp.RowsPerSec

	// Applications for the first Apps adult residents, each with a synthetic portrait.
	if cfg.Apps > cfg.Residents {
		cfg.Apps = cfg.Residents
	}
	say("preparing %d applications and %d portraits", cfg.Apps, cfg.Portraits)
	pics := make([][]byte, max(1, cfg.Portraits))
	total := 0
	for i := range pics {
		if pics[i], err = portrait.Generate(int64(i + 1)); err != nil {
			return res, err
		}
		total += len(pics[i])
	}
	res.PortraitBytes = total / len(pics)
	const office = "001-BENCH"
	bodies := make([][]byte, 0, cfg.Apps)
	ids := make([]string, 0, cfg.Apps)
	i := 0
	err = gen.Each(cfg.Residents, func(r *registry.Resident) error {
		if len(bodies) == cfg.Apps {
			return io.EOF
		}
		app := r.Application(issuance.ReasonFirstIssue, pics[i%len(pics)])
		app.IntakeOffice, app.Delivery.Office = office, office
		if app.Validate(s.Today()) != nil {
			return nil // e.g. too young for the portrait rules of the benchmark; skip
		}
		b, err := json.Marshal(app)
		if err != nil {
			return err
		}
		bodies = append(bodies, b)
		ids = append(ids, app.IDNumber)
		i++
		return nil
	})
	if err != nil && err != io.EOF {
		return res, err
	}
	tokens := make([]string, max(1, cfg.Clients))
	for c := range tokens {
		if tokens[c], err = s.AddUser(ctx, User{Name: fmt.Sprintf("bench.clerk%03d", c), Role: RoleClerk, Office: office}); err != nil {
			return res, err
		}
	}
	s.Limits.LookupsPerMinute, s.Limits.LookupsPerDay = 1<<30, 1<<30
	defer func() { s.noAccessLog = false }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	// Requests are not logged: a log line per request would be measured too.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := &http.Server{Handler: s.Handler(quiet)}
	go srv.Serve(ln)
	defer srv.Close()
	// As in `cccd serve`, recorded reads are chained onto the audit log in the
	// background while the applications are taken: that work is measured too.
	chainCtx, stopChaining := context.WithCancel(ctx)
	defer stopChaining()
	go s.ChainReads(chainCtx, 250*time.Millisecond, quiet)
	b := benchClients{url: "http://" + ln.Addr().String(), tokens: tokens,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(tokens)}}}

	// A warm-up (new connections, cold caches) that is not measured: 5% of the
	// applications, at least one per clerk.
	warm := min(len(bodies)/2, max(len(tokens), len(bodies)/20))
	b.run(ctx, bodies[:warm], ids[:warm], make([]time.Duration, warm))
	bodies, ids, res.WarmUp = bodies[warm:], ids[warm:], warm
	// Segments of at least 20 applications per clerk, so that the tail of each (clerks
	// finishing their last ones while others idle) stays a small part of it.
	segments := min(64, max(8, len(bodies)/(20*len(tokens))/4*4))
	res.Segments = segments
	say("taking %d applications (look-up, submit) with %d concurrent clerks, access records off and on in %d alternating segments",
		len(bodies), len(tokens), segments)
	groups0, lookups0 := s.LookupGroups()
	lat := make([]time.Duration, len(bodies))
	var phases [2][]time.Duration
	var times [2]time.Duration
	q := len(bodies) / segments
	for k := range segments {
		on := k%4 == 1 || k%4 == 2
		lo, hi := k*q, (k+1)*q
		if k == segments-1 {
			hi = len(bodies)
		}
		s.noAccessLog = !on
		t := b.run(ctx, bodies[lo:hi], ids[lo:hi], lat[lo:hi])
		m := map[bool]int{false: 0, true: 1}[on]
		times[m] += t
		phases[m] = append(phases[m], lat[lo:hi]...)
		res.IntakeTime += t
	}
	// The reads still pending (a quarter second's worth) are chained as serve does
	// when it stops, outside the measure.
	stopChaining()
	if _, err := ledger.ChainPending(ctx, s.db); err != nil {
		return res, err
	}
	if groups, lookups := s.LookupGroups(); groups > groups0 {
		res.LookupGroup = float64(lookups-lookups0) / float64(groups-groups0)
	}
	res.AccessOff, res.AccessOn = phase(phases[0], times[0]), phase(phases[1], times[1])
	if res.AccessOff.AppsSec > 0 {
		res.AccessCost = 100 * (res.AccessOff.AppsSec - res.AccessOn.AppsSec) / res.AccessOff.AppsSec
	}
	res.Apps, res.Clients = len(bodies), len(tokens)
	res.IntakeAppsSec = float64(len(bodies)) / res.IntakeTime.Seconds()
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	if len(lat) > 0 {
		res.LatencyP50, res.LatencyP99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	res.Failed = b.failed.Load()
	if f, ok := b.firstFail.Load().(string); ok {
		res.FirstFailure = f
	}
	return res, ctx.Err()
}

// phase summarises the applications of one setting.
func phase(lat []time.Duration, t time.Duration) BenchPhase {
	p := BenchPhase{Apps: len(lat), Time: t}
	if t > 0 {
		p.AppsSec = float64(len(lat)) / t.Seconds()
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	if len(lat) > 0 {
		p.LatencyP50, p.LatencyP99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	return p
}

// benchClients are the benchmark's API clients, one clerk (token) each.
type benchClients struct {
	url       string
	tokens    []string
	client    *http.Client
	failed    atomic.Int64
	firstFail atomic.Value
}

// run takes the applications bodies (of residents ids) with one goroutine per clerk,
// writing each one's latency (look-up and submission) to lat, and returns the elapsed time.
func (b *benchClients) run(ctx context.Context, bodies [][]byte, ids []string, lat []time.Duration) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for c := range b.tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= len(bodies) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := b.call(ctx, "GET", "/api/v1/register/"+ids[k], b.tokens[c], nil, http.StatusOK)
				if err == nil {
					err = b.call(ctx, "POST", "/api/v1/applications", b.tokens[c], bodies[k], http.StatusCreated)
				}
				if err != nil {
					b.failed.Add(1)
					b.firstFail.CompareAndSwap(nil, err.Error())
				}
				lat[k] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

func (b *benchClients) call(ctx context.Context, method, path, token string, body []byte, want int) error {
	req, err := http.NewRequestWithContext(ctx, method, b.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, got)
	}
	return nil
}
