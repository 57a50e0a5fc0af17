package station

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/portrait"
	"github.com/cccd-project/cccd/issuance/registry"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/pcsc"
	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vpcd"
)

// BenchConfig sets up `cccd bench perso`. Zero values take the defaults noted.
type BenchConfig struct {
	Cards    int   // cards per run; default 200 in process, 40 through pcscd
	Workers  int   // cards written at once in process; default 2
	Slots    []int // vpcd reader slots for the pcscd run; default 10, 11 (the benchmark slots)
	Profile  Profile
	InProc   bool // run the in-process benchmark
	PCSCD    bool // run the benchmark through pcscd
	Apps     int  // distinct synthetic applications cycled through; default 50
	MaxChunk int  // extended length APDU limit through pcscd; default 4096
}

// BenchRow is one measured run.
type BenchRow struct {
	Mode        string  `json:"mode"` // "in-process" or "pcscd"
	Readers     int     `json:"readers"`
	Cards       int     `json:"cards"`
	Failed      int     `json:"failed"`
	Seconds     float64 `json:"seconds"`
	CardsPerSec float64 `json:"cards_per_second"`
	P50MS       float64 `json:"p50_ms"`
	P95MS       float64 `json:"p95_ms"`
	// CPUMS is the whole process's user+system CPU per card (getrusage), virtual chips included.
	CPUMS float64 `json:"cpu_ms_per_card"`
	// ChipMS is the virtual chips' CPU per card (thread CPU clock around each Process);
	// ControllerMS = CPUMS - ChipMS is the station's own CPU per card (preparation,
	// signing, the terminal side of PACE/CA/AA, verification, PC/SC, Go runtime).
	ChipMS       float64         `json:"chip_ms_per_card"`
	ControllerMS float64         `json:"controller_cpu_ms_per_card"`
	Steps        []BenchStepMean `json:"steps"`
}

// BenchStepMean is the mean duration of one step of a card.
type BenchStepMean struct {
	Name  string  `json:"name"`
	MS    float64 `json:"ms"`
	APDUs float64 `json:"apdus"`
}

// benchEnv is what every run shares: applications, a throwaway document PKI.
type benchEnv struct {
	apps   *memApps
	signer staticSigner
	trust  *trust.Store
}

// memApps is an in-memory Applications over synthetic residents.
type memApps struct{ apps []issuance.Application }

func (m *memApps) Application(_ context.Context, id int64) (issuance.Application, error) {
	if id < 1 || id > int64(len(m.apps)) {
		return issuance.Application{}, fmt.Errorf("%w: %d", ErrNoApplication, id)
	}
	return m.apps[id-1], nil
}

// staticSigner is a SignerSource with one Document Signer.
type staticSigner struct {
	key  crypto.Signer
	cert *x509.Certificate
}

func (s staticSigner) Acquire(context.Context) (crypto.Signer, *x509.Certificate, error) {
	return s.key, s.cert, nil
}

// newBenchEnv makes n synthetic applications and a throwaway CSCA + Document Signer
// (in-memory P-384 and P-256 keys, the project's certificate profiles).
func newBenchEnv(n int) (*benchEnv, error) {
	rs, err := registry.Generator{Seed: 1}.Residents(n)
	if err != nil {
		return nil, err
	}
	env := &benchEnv{apps: &memApps{}}
	for i := range rs {
		jpeg, err := portrait.Generate(int64(i))
		if err != nil {
			return nil, err
		}
		env.apps.apps = append(env.apps.apps, rs[i].Application(issuance.ReasonFirstIssue, jpeg))
	}
	auth := pki.Authority{Country: "VN", Organization: "cccd bench", CRLURL: "http://pki.invalid/csca.crl"}
	cscaKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	csca, err := pki.NewCSCA(cscaKey, pki.CSCAOptions{Authority: auth})
	if err != nil {
		return nil, err
	}
	dsKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ds, err := pki.IssueDocumentSigner(csca, cscaKey, dsKey.Public(), pki.DSOptions{Authority: auth})
	if err != nil {
		return nil, err
	}
	env.trust = trust.New()
	if err := env.trust.AddCSCA(csca); err != nil {
		return nil, err
	}
	env.signer = staticSigner{dsKey, ds}
	return env, nil
}

// timedChip is a virtual chip that adds the time spent inside Process to a counter. It
// serves both as an in-process apdu.Transmitter and as a vpcd.Card.
type timedChip struct {
	*vchip.Chip
	spent *atomic.Int64
}

func (c timedChip) Process(cmd []byte) []byte {
	// The goroutine stays on its thread while the chip works, so the thread's CPU clock
	// measures the chip's CPU time (not time spent waiting for a core).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := threadCPU()
	r := c.Chip.Process(cmd)
	c.spent.Add(int64(threadCPU() - t0))
	return r
}

// rusageThread is RUSAGE_THREAD (Linux): the calling thread's resource usage.
const rusageThread = 1

// threadCPU returns the calling thread's user+system CPU time.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (c timedChip) Transmit(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	b, err := cmd.Bytes()
	if err != nil {
		return apdu.Response{}, err
	}
	r := c.Process(b)
	if r == nil {
		return apdu.Response{}, fmt.Errorf("station: bench chip: %w", vchip.ErrRemoved)
	}
	return apdu.ParseResponse(r)
}

func (c timedChip) MaxLength() int { return vchip.Transport{Chip: c.Chip}.MaxLength() }

// Bench personalizes virtual chips and measures throughput, latency and CPU per card.
func Bench(ctx context.Context, cfg BenchConfig) ([]BenchRow, error) {
	if cfg.Apps <= 0 {
		cfg.Apps = 50
	}
	env, err := newBenchEnv(cfg.Apps)
	if err != nil {
		return nil, err
	}
	var rows []BenchRow
	if cfg.InProc {
		row, err := benchInProcess(ctx, env, cfg)
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
	if cfg.PCSCD {
		row, err := benchPCSCD(ctx, env, cfg)
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// recorder gathers per-card results.
type recorder struct {
	mu     sync.Mutex
	lat    []time.Duration
	steps  map[string]*BenchStepMean
	order  []string
	failed int
	err    error
}

// add records one card; its latency is the sum of its steps (the card in the reader,
// from reading the serial to the end of the read-back), not the wait for a card.
func (r *recorder) add(res *Result, err error) {
	var d time.Duration
	if res != nil {
		for _, s := range res.Steps {
			d += s.Duration
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.failed++
		if r.err == nil {
			r.err = err
		}
		return
	}
	r.lat = append(r.lat, d)
	if r.steps == nil {
		r.steps = map[string]*BenchStepMean{}
	}
	for _, s := range res.Steps {
		m := r.steps[s.Name]
		if m == nil {
			m = &BenchStepMean{Name: s.Name}
			r.steps[s.Name] = m
			r.order = append(r.order, s.Name)
		}
		m.MS += float64(s.Duration) / 1e6
		m.APDUs += float64(s.APDUs)
	}
}

func (r *recorder) row(mode string, readers int, wall time.Duration, cpu time.Duration, chip int64) BenchRow {
	n := len(r.lat)
	row := BenchRow{Mode: mode, Readers: readers, Cards: n, Failed: r.failed, Seconds: wall.Seconds()}
	if n == 0 {
		return row
	}
	slices.Sort(r.lat)
	row.CardsPerSec = float64(n) / wall.Seconds()
	row.P50MS = float64(r.lat[n/2]) / 1e6
	row.P95MS = float64(r.lat[min(n-1, n*95/100)]) / 1e6
	total := n + r.failed
	row.CPUMS = float64(cpu) / 1e6 / float64(total)
	row.ChipMS = float64(chip) / 1e6 / float64(total)
	row.ControllerMS = row.CPUMS - row.ChipMS
	for _, name := range r.order {
		m := *r.steps[name]
		m.MS /= float64(n)
		m.APDUs /= float64(n)
		row.Steps = append(row.Steps, m)
	}
	return row
}

// cpuTime returns the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func noStart(string) error { return nil }

// benchInProcess writes cfg.Cards cards on in-process virtual chips with cfg.Workers workers.
func benchInProcess(ctx context.Context, env *benchEnv, cfg BenchConfig) (BenchRow, error) {
	cards, workers := cfg.Cards, cfg.Workers
	if cards <= 0 {
		cards = 200
	}
	if workers <= 0 {
		workers = 2
	}
	p := &Personalizer{Apps: env.apps, Signers: env.signer, Trust: env.trust, Profile: cfg.Profile}
	// One warm-up card: curve tables, the trust store's first chain check.
	var spent atomic.Int64
	if _, err := p.Personalize(ctx, timedChip{benchChip("WARMUP"), &spent}, workflow.Job{ApplicationID: 1}, noStart); err != nil {
		return BenchRow{}, err
	}
	spent.Store(0)
	var next atomic.Int64
	rec := &recorder{}
	cpu0, t0 := cpuTime(), time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > int64(cards) {
					return
				}
				chip := timedChip{benchChip(fmt.Sprintf("VNBENCH%06d", i)), &spent}
				res, err := p.Personalize(ctx, chip, workflow.Job{ApplicationID: 1 + (i-1)%int64(len(env.apps.apps))}, noStart)
				rec.add(res, err)
			}
		}()
	}
	wg.Wait()
	row := rec.row("in-process", workers, time.Since(t0), cpuTime()-cpu0, spent.Load())
	if rec.err != nil {
		return row, fmt.Errorf("station: bench: %d cards failed, first: %w", rec.failed, rec.err)
	}
	return row, ctx.Err()
}

func benchChip(serial string) *vchip.Chip {
	c := vchip.New(serial, vchip.Options{})
	c.SetSleep(func(time.Duration) {})
	return c
}

// benchPCSCD writes cfg.Cards cards through pcscd: a Station over the vpcd reader slots,
// a fresh blank chip attached to a slot as soon as the previous card there is done.
func benchPCSCD(ctx context.Context, env *benchEnv, cfg BenchConfig) (BenchRow, error) {
	cards := cfg.Cards
	if cards <= 0 {
		cards = 40
	}
	slots := cfg.Slots
	if len(slots) == 0 {
		slots = []int{10, 11}
	}
	maxLen := cfg.MaxChunk
	if maxLen <= 0 {
		maxLen = 4096
	}
	pc, err := pcsc.Open()
	if err != nil {
		return BenchRow{}, fmt.Errorf("station: bench: %w (start pcscd: sudo scripts/pcscd.sh start 14)", err)
	}
	defer pc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var spent atomic.Int64
	var names []string
	feeders := make([]*benchFeeder, len(slots))
	for i, slot := range slots {
		names = append(names, vpcd.ReaderName(slot))
		feeders[i] = &benchFeeder{name: vpcd.ReaderName(slot), addr: vpcd.Addr(slot), spent: &spent, prefix: fmt.Sprintf("VNPCSC%02d", slot)}
	}
	p := &Personalizer{Apps: env.apps, Signers: env.signer, Trust: env.trust, Profile: cfg.Profile}
	st := New(p, pc, names)
	st.MaxLength = maxLen
	st.CardWait = 30 * time.Second
	st.OnCard = func(ev Event) { feeders[ev.Reader].out() }
	st.OnRemoved = func(reader int) {
		if err := feeders[reader].insert(ctx); err != nil && ctx.Err() == nil {
			st.logger().Error("station: bench: feed", "err", err)
		}
	}
	for _, f := range feeders {
		if err := f.insert(ctx); err != nil {
			return BenchRow{}, err
		}
	}
	var runWG sync.WaitGroup
	runWG.Add(1)
	go func() { defer runWG.Done(); st.Run(ctx) }()
	defer func() {
		cancel()
		runWG.Wait()
		for _, f := range feeders {
			f.stop()
		}
	}()

	rec := &recorder{}
	var next atomic.Int64
	var wg sync.WaitGroup
	var cpu0 time.Duration
	var t0 time.Time
	started := make(chan struct{})
	var once sync.Once
	for range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > int64(cards)+1 {
					return
				}
				if i == 2 { // the first card is the warm-up; measure from the second on
					once.Do(func() { spent.Store(0); cpu0, t0 = cpuTime(), time.Now(); close(started) })
				} else if i > 2 {
					<-started
				}
				res, err := st.makeCard(ctx, workflow.Job{ApplicationID: 1 + (i-1)%int64(len(env.apps.apps))}, noStart)
				if i > 1 {
					rec.add(res, err)
				}
			}
		}()
	}
	wg.Wait()
	row := rec.row("pcscd", len(names), time.Since(t0), cpuTime()-cpu0, spent.Load())
	if rec.err != nil {
		return row, fmt.Errorf("station: bench: %d cards failed, first: %w", rec.failed, rec.err)
	}
	return row, ctx.Err()
}

// benchFeeder keeps a blank virtual chip in one vpcd slot.
type benchFeeder struct {
	name   string
	addr   string
	prefix string
	spent  *atomic.Int64
	mu     sync.Mutex
	n      int
	slot   *vpcd.Slot
}

func (f *benchFeeder) insert(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	slot, err := vpcd.Attach(ctx, f.addr, timedChip{benchChip(fmt.Sprintf("%s%05d", f.prefix, f.n)), f.spent})
	if err != nil {
		return fmt.Errorf("station: bench: attach %s: %w", f.name, err)
	}
	f.slot = slot
	return nil
}

// out takes the finished card out of the reader.
func (f *benchFeeder) out() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slot.Detach()
}

func (f *benchFeeder) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.slot != nil {
		f.slot.Detach()
	}
}
