package console

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/personalization/counter"
	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/smartcard/emrtd"
)

// The verifier's screen: choose a reader and give the card's CAN; the page then shows,
// live, every card put in that reader as `cccd verify --watch --can N` does (the same
// reader loop, package personalization/counter): GENUINE or NOT GENUINE with each
// check, the portrait from the chip and the holder's data, cleared when the card is
// taken out. The watch runs on the server for as long as the page is open and streams
// server-sent events.

func init() {
	addNav(Nav{Path: "/console/verifier", Title: L("Kiểm tra thẻ", "Verify a card"), Key: "v", Order: 60, Roles: intake.VerifyRoles})
	addRoute("GET /console/verifier", intake.VerifyRoles, (*Console).verifier)
	addRoute("GET /console/verifier/watch", intake.VerifyRoles, (*Console).verifierWatch)
}

// verdictTemplate renders one verification (templates/verdict.html); the verifier's
// stream and the office's hand-over show it.
var verdictTemplate = template.Must(template.New("verdict.html").Funcs(funcs).ParseFS(templateFS, "templates/verdict.html"))

// checkNames are the checks of package verify, as a counter reads them.
var checkNames = map[string]Label{
	verify.CheckRead:     L("Đọc chip (PACE/BAC)", "Chip read (PACE/BAC)"),
	verify.CheckPassive:  L("Chữ ký số của dữ liệu (PA)", "Passive Authentication"),
	verify.CheckComplete: L("Đủ các nhóm dữ liệu", "All data groups read"),
	verify.CheckChipAuth: L("Chống sao chép: xác thực chip (CA)", "Clone check: Chip Authentication"),
	verify.CheckActive:   L("Chống sao chép: xác thực chủ động (AA)", "Clone check: Active Authentication"),
	verify.CheckDG1DG13:  L("MRZ khớp thông tin cá nhân", "MRZ matches personal data"),
	verify.CheckExpiry:   L("Thẻ còn hạn", "Not expired"),
	verify.CheckStatus:   L("Tình trạng thẻ trong hệ thống", "Card status in the registry"),
	verify.CheckSerial:   L("Đúng thẻ cần trao", "The card made for this receipt"),
	verify.CheckConfig:   L("Cấu hình máy kiểm tra", "Verifier configuration"),
}

// verdictView is what templates/verdict.html shows.
type verdictView struct {
	Reader   string
	Waiting  bool // no card yet
	Removed  bool
	Failed   string // the watch stopped: why
	R        *verify.Report
	Checks   []checkView
	Portrait template.URL
	Millis   string
}

type checkView struct {
	Name                   Label
	OK, Skipped            bool
	Code, Detail, CheckKey string
}

// renderVerdict renders a verification (or a waiting, removed or failed reader) as HTML.
func renderVerdict(v verdictView) (template.HTML, error) {
	if v.R != nil {
		for _, f := range v.R.Reasons {
			name, ok := checkNames[f.Check]
			if !ok {
				name = L(f.Check, f.Check)
			}
			v.Checks = append(v.Checks, checkView{Name: name, OK: f.OK, Skipped: f.Skipped, Code: f.Code, Detail: f.Detail, CheckKey: f.Check})
		}
		if len(v.R.Portrait) > 0 {
			v.Portrait = template.URL("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(v.R.Portrait))
		}
		v.Millis = fmt.Sprintf("%.0f ms", float64(v.R.Total.Microseconds())/1000)
	}
	var b bytes.Buffer
	if err := verdictTemplate.ExecuteTemplate(&b, "verdict", v); err != nil {
		return "", fmt.Errorf("console: verdict: %w", err)
	}
	return template.HTML(b.String()), nil
}

type verifierView struct {
	Readers []string
	Reader  string
	CAN     string
	// NoRegistry skips the card's status in the issuance records, as `cccd verify
	// --no-registry`: for training cards (testdata/specimen) the registry never made.
	NoRegistry bool
	Watch      string // the stream's URL when the watch runs
	Alert      string
}

func (c *Console) verifier(p *Page) error {
	f := formOf(p, "reader", "can", "no_registry")
	v := verifierView{Reader: f.Values["reader"], CAN: f.Values["can"], NoRegistry: f.Values["no_registry"] != ""}
	code := http.StatusOK
	readers, err := c.counterReaders(p.Ctx())
	if err != nil {
		v.Alert = err.Error()
	}
	v.Readers = readers
	if p.R.URL.Query().Has("reader") {
		if msg := checkWatchInput(readers, v.Reader, v.CAN, f); msg == "" {
			q := url.Values{"reader": {v.Reader}, "can": {v.CAN}}
			if v.NoRegistry {
				q.Set("no_registry", "1")
			}
			v.Watch = "/console/verifier/watch?" + q.Encode()
		} else {
			code = http.StatusUnprocessableEntity
		}
	}
	return p.RenderStatus(code, "verifier", L("Kiểm tra thẻ", "Verify a card"), v)
}

// counterReaders lists the counter's PC/SC readers.
func (c *Console) counterReaders(ctx context.Context) ([]string, error) {
	pc, err := c.prod.readers()
	if err != nil {
		return nil, err
	}
	rs, err := pc.Readers(ctx)
	if err != nil {
		return nil, fmt.Errorf("console: PC/SC readers: %w", err)
	}
	return rs, nil
}

// checkWatchInput checks the reader and CAN of a watch, failing the form's fields; it
// returns "" when both are good.
func checkWatchInput(readers []string, reader, can string, f *Form) string {
	if !slices.Contains(readers, reader) {
		f.Fail("reader", "Chọn một đầu đọc trong danh sách (reader: choose one of the list)")
	}
	if len(can) != 6 || strings.Trim(can, "0123456789") != "" {
		f.Fail("can", "CAN: 6 chữ số in trên thẻ (CAN: the 6 digits printed on the card)")
	}
	if f.OK() {
		return ""
	}
	return "bad input"
}

// verifierWatch streams the reader watch as server-sent events: "waiting", "result"
// and "removed", each an HTML fragment to show; "failed" when the watch stops.
func (c *Console) verifierWatch(p *Page) error {
	f := formOf(p, "reader", "can", "no_registry")
	reader, can := f.Values["reader"], f.Values["can"]
	var status verify.StatusSource = c.prod.Engine
	if f.Values["no_registry"] != "" {
		status = nil
	}
	readers, err := c.counterReaders(p.Ctx())
	if err != nil {
		http.Error(p.W, err.Error(), http.StatusConflict)
		return nil
	}
	if checkWatchInput(readers, reader, can, f) != "" {
		http.Error(p.W, f.Error("reader")+" "+f.Error("can"), http.StatusUnprocessableEntity)
		return nil
	}
	pc, err := c.prod.readers()
	if err != nil {
		http.Error(p.W, err.Error(), http.StatusConflict)
		return nil
	}
	w := p.W
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	send := func(event string, v verdictView) {
		html, err := renderVerdict(v)
		if err != nil {
			c.log.Error("console: verifier", "err", err)
			return
		}
		var b strings.Builder
		b.WriteString("event: " + event + "\n")
		for _, line := range strings.Split(string(html), "\n") {
			b.WriteString("data: " + line + "\n")
		}
		b.WriteString("\n")
		w.Write([]byte(b.String()))
		rc.Flush()
	}
	removed := false // after a removal, waiting says the card was taken out
	watch := counter.Watch{PC: pc, Reader: reader,
		Setup: func(ctx context.Context, _ string) (emrtd.Credentials, verify.Options, error) {
			ts, err := c.prod.trust()
			if err != nil {
				return emrtd.Credentials{}, verify.Options{}, err
			}
			return emrtd.Credentials{CAN: can}, verify.Options{Trust: ts, Status: status}, nil
		},
		On: func(ev counter.Event) {
			switch ev.Kind {
			case counter.Waiting:
				send("waiting", verdictView{Reader: reader, Waiting: !removed, Removed: removed})
			case counter.Result:
				send("result", verdictView{Reader: reader, R: ev.Report})
			case counter.Removed:
				removed = true
				send("removed", verdictView{Reader: reader, Removed: true})
			}
		}}
	if _, err := watch.Run(p.Ctx()); err != nil && p.Ctx().Err() == nil {
		send("failed", verdictView{Reader: reader, Failed: err.Error()})
	}
	return nil
}
