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
}

// Bench measures register import and API intake throughput on the service's database,
// which must be empty (a scratch database). The register file is generated into
// tmpDir first, outside the timed part. progress, if set, gets human-readable steps.
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
		i++
		return nil
	})
	if err != nil && err != io.EOF {
		return res, err
	}
	tok, err := s.AddUser(ctx, User{Name: "bench.clerk", Role: RoleClerk, Office: office})
	if err != nil {
		return res, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	srv := &http.Server{Handler: s.Handler(slog.New(slog.DiscardHandler))}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/api/v1/applications"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Clients}}

	say("submitting %d applications with %d concurrent clients", len(bodies), cfg.Clients)
	lat := make([]time.Duration, len(bodies))
	var next atomic.Int64
	var failed atomic.Int64
	var firstFail atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < cfg.Clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= len(bodies) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(bodies[k]))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						err = fmt.Errorf("status %d: %s", resp.StatusCode, body)
					}
				}
				if err != nil {
					failed.Add(1)
					firstFail.CompareAndSwap(nil, err.Error())
				}
				lat[k] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	res.IntakeTime = time.Since(start)
	res.Apps, res.Clients = len(bodies), cfg.Clients
	res.IntakeAppsSec = float64(len(bodies)) / res.IntakeTime.Seconds()
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	if len(lat) > 0 {
		res.LatencyP50, res.LatencyP99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	res.Failed = failed.Load()
	if f, ok := firstFail.Load().(string); ok {
		res.FirstFailure = f
	}
	return res, ctx.Err()
}
