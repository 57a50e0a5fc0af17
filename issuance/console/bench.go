package console

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance/intake"
)

// BenchConfig sizes `cccd bench console`.
type BenchConfig struct {
	Applications int // applications in the database (default 100,000)
	Offices      int // intake offices they are spread over (default 20)
	Requests     int // requests per page (default 2,000)
	Clients      int // concurrent browsers (default 4)
}

// BenchPage is the measurement of one page.
type BenchPage struct {
	Name     string        `json:"name"`
	Path     string        `json:"path"`
	User     string        `json:"user"`
	Requests int           `json:"requests"`
	PagesSec float64       `json:"pages_per_second"`
	P50      time.Duration `json:"server_p50_ns"`
	P99      time.Duration `json:"server_p99_ns"`
	Max      time.Duration `json:"server_max_ns"`
	Bytes    int           `json:"page_bytes"`
}

// BenchResult is a run of Bench.
type BenchResult struct {
	Applications int           `json:"applications"`
	InQueue      int           `json:"awaiting_approval_at_office"`
	LoadTime     time.Duration `json:"load_ns"`
	Pages        []BenchPage   `json:"pages"`
}

// benchOffice is the office whose supervisor's queue is measured.
const benchOffice = "001-HK01"

// Bench fills db (a migrated scratch database) with cfg.Applications applications in
// every state, spread over cfg.Offices offices, then serves the console on a loopback
// listener and requests the approval queue and the operator's dashboard cfg.Requests
// times each from cfg.Clients logged-in clients. Server time is the time the console's
// handler takes for a request, measured around ServeHTTP.
func Bench(ctx context.Context, db *pgxpool.Pool, cfg BenchConfig, progress func(string)) (BenchResult, error) {
	if cfg.Applications <= 0 {
		cfg.Applications = 100_000
	}
	if cfg.Offices <= 0 {
		cfg.Offices = 20
	}
	if cfg.Requests <= 0 {
		cfg.Requests = 2000
	}
	if cfg.Clients <= 0 {
		cfg.Clients = 4
	}
	res := BenchResult{Applications: cfg.Applications}
	svc := intake.New(db)
	users := []intake.User{{Name: "bench.clerk", Role: intake.RoleClerk, Office: benchOffice},
		{Name: "bench.sup", Role: intake.RoleSupervisor, Office: benchOffice},
		{Name: "bench.op", Role: intake.RoleOperator, Office: "001-SX01"}}
	const password = "bench password 2026"
	for _, u := range users {
		if _, err := svc.AddUser(ctx, u); err != nil {
			return res, err
		}
		if err := SetPassword(ctx, db, u.Name, password); err != nil {
			return res, err
		}
	}
	progress(fmt.Sprintf("loading %d applications over %d offices", cfg.Applications, cfg.Offices))
	start := time.Now()
	if err := benchLoad(ctx, db, cfg); err != nil {
		return res, err
	}
	if err := benchProduction(ctx, db); err != nil {
		return res, err
	}
	res.LoadTime = time.Since(start)
	if err := db.QueryRow(ctx, "SELECT count(*) FROM applications WHERE state = 'submitted' AND intake_office = $1",
		benchOffice).Scan(&res.InQueue); err != nil {
		return res, err
	}

	con, err := New(Config{DB: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return res, err
	}
	var mu sync.Mutex
	var times []time.Duration
	timed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		con.ServeHTTP(w, r)
		d := time.Since(t0)
		mu.Lock()
		times = append(times, d)
		mu.Unlock()
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	srv := &http.Server{Handler: timed}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	pages := []BenchPage{{Name: "approval queue", Path: "/console/supervisor", User: "bench.sup"}}
	if _, ok := routePatterns()["GET /console/operator"]; ok {
		pages = append(pages, BenchPage{Name: "operator dashboard", Path: "/console/operator", User: "bench.op"})
	}
	for _, pg := range pages {
		progress("measuring " + pg.Name)
		clients := make([]*http.Client, cfg.Clients)
		for i := range clients {
			if clients[i], err = benchLogin(ctx, base, pg.User, password); err != nil {
				return res, err
			}
		}
		mu.Lock()
		times = times[:0]
		mu.Unlock()
		var next atomic.Int64
		var failed atomic.Value
		var size atomic.Int64
		var wg sync.WaitGroup
		t0 := time.Now()
		for _, hc := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(cfg.Requests) && ctx.Err() == nil {
					n, err := benchGet(ctx, hc, base+pg.Path)
					if err != nil {
						failed.CompareAndSwap(nil, err)
						return
					}
					size.Store(int64(n))
				}
			}()
		}
		wg.Wait()
		wall := time.Since(t0)
		if err, _ := failed.Load().(error); err != nil {
			return res, fmt.Errorf("console: bench %s: %w", pg.Name, err)
		}
		mu.Lock()
		ts := slices.Clone(times)
		mu.Unlock()
		slices.Sort(ts)
		pg.Requests, pg.Bytes = len(ts), int(size.Load())
		pg.PagesSec = float64(len(ts)) / wall.Seconds()
		pg.P50, pg.P99, pg.Max = ts[len(ts)/2], ts[len(ts)*99/100], ts[len(ts)-1]
		res.Pages = append(res.Pages, pg)
	}
	return res, nil
}

// routePatterns returns the registered route patterns.
func routePatterns() map[string]bool {
	regMu.Lock()
	defer regMu.Unlock()
	out := map[string]bool{}
	for _, r := range routes {
		out[r.pattern] = true
	}
	return out
}

// benchLoad inserts the applications in one statement: 1 in 20 awaiting approval, the
// rest spread over the later states, each office in turn.
func benchLoad(ctx context.Context, db *pgxpool.Pool, cfg BenchConfig) error {
	_, err := db.Exec(ctx, `
		INSERT INTO applications (receipt, id_number, state, person, portrait, reason, intake_office, delivery,
			changed_fields, clerk, supervisor, created_at, updated_at)
		SELECT 'HS-' || lpad(to_hex(i), 5, '0') || '-BENCH', lpad(i::text, 12, '0'),
			(ARRAY['submitted','approved','queued','personalized','printed','qc_passed','dispatched','at_office',
			       'delivered','delivered','delivered','delivered','delivered','delivered','delivered','delivered',
			       'delivered','delivered','rejected','delivered'])[i % 20 + 1],
			jsonb_build_object('full_name', 'Nguyễn Văn Thử ' || i, 'id_number', lpad(i::text, 12, '0')),
			'\xffd8ffd9'::bytea, 'first_issue',
			'001-' || CASE WHEN i / 20 % $2 = 0 THEN 'HK01' ELSE 'B' || (i / 20 % $2) END,
			'{"method": "office", "office": "001-HK01"}'::jsonb,
			CASE WHEN i % 7 = 0 THEN '{place_of_residence}'::text[] ELSE '{}' END,
			'bench.clerk', CASE WHEN i % 20 = 0 THEN NULL ELSE 'bench.sup' END,
			now() - make_interval(secs => $1 - i), now() - make_interval(secs => $1 - i)
		FROM generate_series(1, $1) AS i`, cfg.Applications, cfg.Offices)
	if err != nil {
		return fmt.Errorf("console: bench load: %w", err)
	}
	_, err = db.Exec(ctx, "ANALYZE applications")
	return err
}

var benchCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// benchLogin logs user in through the login form and returns its client.
func benchLogin(ctx context.Context, base, user, password string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/console/login", nil)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := benchCSRF.FindSubmatch(body)
	if m == nil {
		return nil, fmt.Errorf("console: bench: no CSRF token on the login form")
	}
	form := url.Values{"user": {user}, "password": {password}, "csrf": {string(m[1])}}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+"/console/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err = hc.Do(req); err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path == "/console/login" {
		return nil, fmt.Errorf("console: bench: login of %s refused (%d)", user, resp.StatusCode)
	}
	return hc, nil
}

// benchGet fetches a page and returns its size; anything but 200 is an error.
func benchGet(ctx context.Context, hc *http.Client, u string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != req.URL.Path {
		return 0, fmt.Errorf("%s: status %d at %s", u, resp.StatusCode, resp.Request.URL.Path)
	}
	return int(n), nil
}
