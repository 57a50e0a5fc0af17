package console

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/counter"
	"github.com/cccd-project/cccd/smartcard/pcsc"
)

// Production is what the production screens (operator, print room, office, verifier)
// need beyond the database.
type Production struct {
	// Engine is the workflow engine the screens call; default one on Config.DB.
	Engine *workflow.Engine
	// Feed brings the workflow's events (the outbox, through JetStream) for the live
	// updates of the operator, print room and office screens. Nil: the pages show the
	// state at the time they were loaded.
	Feed *workflow.Feed
	// PCSC is the counter's PC/SC readers (verifier, hand-over); nil opens pcscd on first use.
	PCSC counter.PCSC
	// TrustDir is the verifier's trust store (CSCAs, master lists, CRLs) as `cccd verify
	// --trust-dir` reads it; default $CCCD_TRUST_DIR.
	TrustDir string
	// Now is the clock of the dashboards; default time.Now.
	Now func() time.Time
}

// production is a console's Production with what it opened.
type production struct {
	Production
	log  *slog.Logger
	mu   sync.Mutex
	pc   counter.PCSC
	pcOK bool
	// shift keeps the throughput chart's closed intervals.
	shift shiftSeries
}

func newProduction(p Production, db *pgxpool.Pool, log *slog.Logger) *production {
	if p.Engine == nil {
		p.Engine = &workflow.Engine{DB: db, Log: log}
	}
	if p.TrustDir == "" {
		p.TrustDir = os.Getenv("CCCD_TRUST_DIR")
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return &production{Production: p, log: log, pc: p.PCSC, pcOK: p.PCSC != nil}
}

// readers returns the counter's pcscd connection, opening it on first use.
func (p *production) readers() (counter.PCSC, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pcOK {
		return p.pc, nil
	}
	pc, err := pcsc.Open()
	if err != nil {
		return nil, fmt.Errorf("console: PC/SC: %w (is pcscd running?)", err)
	}
	p.pc, p.pcOK = pc, true
	return pc, nil
}

// trust loads the verifier's trust store, again for every card as `cccd verify` does (a
// counter runs all day: CRLs change).
func (p *production) trust() (*trust.Store, error) {
	if p.TrustDir == "" {
		return nil, errors.New("console: no trust store configured (CCCD_TRUST_DIR): cards cannot be verified")
	}
	s, err := trust.Load(os.DirFS(p.TrustDir))
	if err != nil {
		return nil, fmt.Errorf("console: trust store %s: %w", p.TrustDir, err)
	}
	if len(s.CSCAs()) == 0 {
		return nil, fmt.Errorf("console: the trust store at %s holds no CSCA", p.TrustDir)
	}
	return s, nil
}

// liveRoles may open the live event stream: whoever has a live screen.
var liveRoles = []string{intake.RoleOperator, intake.RoleAdmin, intake.RoleSupervisor, intake.RoleClerk}

func init() {
	addRoute("GET /console/live", liveRoles, (*Console).live)
}

// liveFlush is how often the stream sends what changed: a busy line moves hundreds of
// applications a second, a screen refreshes at most this often.
const liveFlush = 700 * time.Millisecond

// liveHeartbeat keeps proxies from closing a quiet stream.
const liveHeartbeat = 20 * time.Second

// live is the server-sent event stream of the workflow's events (text/event-stream,
// WHATWG HTML §9.2): event "change" with the application states that were entered
// since the last one, {"states":["personalized",...]}, or {"lost":true} when events were
// dropped. It carries states only, no IDs or personal data: the page reads the current
// state of what it shows again. The stream ends with the request (or the server).
func (c *Console) live(p *Page) error {
	w := p.W
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n: live\n\n")
	if err := rc.Flush(); err != nil {
		return nil
	}
	feed := c.prod.Feed
	if feed == nil {
		fmt.Fprint(w, "event: off\ndata: {}\n\n")
		rc.Flush()
		<-p.Ctx().Done()
		return nil
	}
	watcher := feed.Watch(256)
	defer watcher.Close()
	tick := time.NewTicker(liveFlush)
	defer tick.Stop()
	beat := time.NewTicker(liveHeartbeat)
	defer beat.Stop()
	states := map[string]bool{}
	for {
		select {
		case <-p.Ctx().Done():
			return nil
		case ev := <-watcher.C:
			states[string(ev.To)] = true
		case <-beat.C:
			fmt.Fprint(w, ": beat\n\n")
			if rc.Flush() != nil {
				return nil
			}
		case <-tick.C:
			lost := watcher.Lost()
			if len(states) == 0 && !lost {
				continue
			}
			list := make([]string, 0, len(states))
			for s := range states {
				if validState(s) {
					list = append(list, `"`+s+`"`)
				}
			}
			slices.Sort(list)
			clear(states)
			fmt.Fprintf(w, "event: change\ndata: {\"states\":[%s],\"lost\":%t}\n\n", strings.Join(list, ","), lost)
			if rc.Flush() != nil {
				return nil
			}
		}
	}
}

// validState keeps anything but a plain state name out of the stream.
func validState(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return true
}
