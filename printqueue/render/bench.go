package render

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cccd-project/cccd/printqueue/layout"
)

// BenchConfig configures Bench. Zero values take the documented defaults.
type BenchConfig struct {
	Design  string // design name; default layout.DefaultDesign
	Cards   int    // cards to render; default 1000
	Workers int    // concurrent renderers; default runtime.GOMAXPROCS(0)
	Batch   int    // cards per PDF document; default 1 (one print job per card)
}

// Validate checks the ranges of a filled-in BenchConfig.
func (c BenchConfig) Validate() error {
	if c.Cards < 0 || c.Workers < 0 || c.Batch < 0 {
		return fmt.Errorf("render: bench: cards, workers and batch must not be negative")
	}
	return nil
}

func (c BenchConfig) withDefaults() BenchConfig {
	if c.Design == "" {
		c.Design = layout.DefaultDesign
	}
	if c.Cards == 0 {
		c.Cards = 1000
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Batch == 0 {
		c.Batch = 1
	}
	return c
}

// BenchResult is what Bench measured.
type BenchResult struct {
	Design         string
	Cards, Faces   int
	Documents      int
	Workers, Batch int
	Elapsed        time.Duration
	FacesPerSecond float64
	Bytes          int64 // total PDF bytes written
	// CPUSeconds is the process CPU time (user + system) spent while rendering;
	// FacesPerCPUSecond = Faces / CPUSeconds is the throughput one dedicated core
	// gives, which stays meaningful when other work shares the machine.
	CPUSeconds        float64
	FacesPerCPUSecond float64
}

// cpuTime returns the CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Bench renders cfg.Cards synthetic cards (Sample) with Render on cfg.Workers
// goroutines, cfg.Batch cards per document, discarding the PDFs, and reports
// the throughput in card faces per second. The cards are built before the clock
// starts.
func Bench(ctx context.Context, cfg BenchConfig) (BenchResult, error) {
	if err := cfg.Validate(); err != nil {
		return BenchResult{}, err
	}
	cfg = cfg.withDefaults()
	d, err := layout.Lookup(cfg.Design)
	if err != nil {
		return BenchResult{}, fmt.Errorf("render: bench: %w", err)
	}
	cards := make([]layout.Card, cfg.Cards)
	for i := range cards {
		cards[i] = Sample(i)
	}
	loadFonts()
	jobs := make(chan []layout.Card)
	var (
		wg       sync.WaitGroup
		total    atomic.Int64
		once     sync.Once
		firstErr error
		docs     atomic.Int64
	)
	start, startCPU := time.Now(), cpuTime()
	for range cfg.Workers {
		wg.Go(func() {
			for batch := range jobs {
				var n countWriter
				if err := Render(&n, d, batch...); err != nil {
					once.Do(func() { firstErr = err })
					continue
				}
				total.Add(int64(n))
				docs.Add(1)
			}
		})
	}
feed:
	for i := 0; i < len(cards); i += cfg.Batch {
		select {
		case jobs <- cards[i:min(i+cfg.Batch, len(cards))]:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	elapsed, cpu := time.Since(start), (cpuTime() - startCPU).Seconds()
	if firstErr != nil {
		return BenchResult{}, fmt.Errorf("render: bench: %w", firstErr)
	}
	if err := ctx.Err(); err != nil {
		return BenchResult{}, fmt.Errorf("render: bench: %w", err)
	}
	return BenchResult{
		Design: cfg.Design, Cards: len(cards), Faces: 2 * len(cards), Documents: int(docs.Load()),
		Workers: cfg.Workers, Batch: cfg.Batch, Elapsed: elapsed,
		FacesPerSecond: float64(2*len(cards)) / elapsed.Seconds(), Bytes: total.Load(),
		CPUSeconds: cpu, FacesPerCPUSecond: float64(2*len(cards)) / cpu,
	}, nil
}

// countWriter counts and discards what is written to it.
type countWriter int64

func (w *countWriter) Write(p []byte) (int, error) {
	*w += countWriter(len(p))
	return len(p), nil
}
