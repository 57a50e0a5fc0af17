package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/printqueue"
	"github.com/cccd-project/cccd/printqueue/printer"
)

// The print room's screen: each printer's queue, printers taken down and brought up,
// failed jobs retried, reprints with a reason, a card face as printed (its PDF rendered
// by pdftoppm), the QC of a batch (faces against chips) and the dispatch of the cards
// that passed it. Every action calls package printqueue or the workflow engine as
// `cccd print ...` and `cccd dispatch create` do, with the same role sets.

func init() {
	addNav(Nav{Path: "/console/print", Title: L("Phòng in", "Print room"), Key: "p", Order: 40, Roles: intake.ProductionViewRoles})
	addRoute("GET /console/print", intake.ProductionViewRoles, (*Console).printRoom)
	addRoute("POST /console/print/printers/{printer}/{action}", intake.ProductionRoles, (*Console).printPrinter)
	addRoute("POST /console/print/down", intake.ProductionRoles, (*Console).printPrinter)
	addRoute("POST /console/print/jobs/{id}/retry", intake.ProductionRoles, (*Console).printRetry)
	addRoute("POST /console/print/reprint", intake.ProductionRoles, (*Console).printReprint)
	addRoute("POST /console/print/dispatch", intake.ProductionRoles, (*Console).printDispatch)
	addRoute("GET /console/print/jobs/{id}/face.png", intake.ProductionViewRoles, (*Console).printFace)
	addRoute("GET /console/print/qc", intake.ProductionViewRoles, (*Console).printQC)
}

// printLiveStates are the application states whose change the print room shows.
const printLiveStates = "personalized printed qc_passed queued dispatched"

type printView struct {
	Printers   []printqueue.PrinterStatus
	Holds      map[string]printqueue.Hold
	Jobs       []printqueue.Job
	Ready      []workflow.OfficeCount
	Printer    string // the queue shown; empty: all
	CanRun     bool
	LiveStates string
	Alert      string
	Shipped    *workflow.Shipment
}

func (c *Console) printRoom(p *Page) error {
	if p.Form == nil {
		formOf(p, "printer")
	}
	return c.renderPrint(p, http.StatusOK, "", nil)
}

func (c *Console) renderPrint(p *Page, code int, alert string, shipped *workflow.Shipment) error {
	ctx, db := p.Ctx(), c.db
	v := printView{Printer: p.R.URL.Query().Get("printer"), CanRun: p.User.Allowed(intake.ProductionRoles),
		LiveStates: printLiveStates, Alert: alert, Shipped: shipped, Holds: map[string]printqueue.Hold{}}
	if v.Printer != "" && !printer.ValidName(v.Printer) {
		v.Printer = ""
	}
	var err error
	if v.Printers, err = printqueue.Status(ctx, db); err != nil {
		return err
	}
	holds, err := printqueue.Holds(ctx, db)
	if err != nil {
		return err
	}
	for _, h := range holds {
		v.Holds[h.Printer] = h
		if !hasPrinter(v.Printers, h.Printer) {
			v.Printers = append(v.Printers, printqueue.PrinterStatus{Printer: h.Printer, ByState: map[string]int{}})
		}
	}
	if v.Jobs, err = printqueue.List(ctx, db, printqueue.Filter{Printer: v.Printer, Limit: 40}); err != nil {
		return err
	}
	if v.Ready, err = c.prod.Engine.ReadyToDispatch(ctx); err != nil {
		return err
	}
	return p.RenderStatus(code, "printroom", L("Phòng in", "Print room"), v)
}

func hasPrinter(ps []printqueue.PrinterStatus, name string) bool {
	for _, p := range ps {
		if p.Printer == name {
			return true
		}
	}
	return false
}

// printPrinter is `cccd print down PRINTER --reason R` and `cccd print up PRINTER`.
func (c *Console) printPrinter(p *Page) error {
	f := formOf(p, "reason", "printer", "general")
	name, action := p.R.PathValue("printer"), p.R.PathValue("action")
	if name == "" { // the form of any printer, by name
		name, action = f.Values["printer"], "down"
	}
	f.Values["printer"] = name
	var err error
	switch action {
	case "down":
		reason := f.Values["reason"]
		switch {
		case !printer.ValidName(name):
			f.Fail("printer", "Tên máy in không hợp lệ (printer name: A-Z a-z 0-9 . _ -)")
			return c.renderPrint(p, http.StatusUnprocessableEntity, "Tên máy in không hợp lệ (printer name: A-Z a-z 0-9 . _ -)", nil)
		case reason == "":
			f.Fail("reason", "Nhập lý do máy in ngừng (reason: say why the printer is down)")
		case utf8.RuneCountInString(reason) > 200:
			f.Fail("reason", "Lý do: tối đa 200 ký tự (reason: at most 200 characters)")
		}
		if !f.OK() {
			return c.renderPrint(p, http.StatusUnprocessableEntity, "", nil)
		}
		err = printqueue.SetDown(p.Ctx(), c.db, p.User.Actor(), name, reason)
	case "up":
		err = printqueue.SetUp(p.Ctx(), c.db, p.User.Actor(), name)
	default:
		return c.renderPrint(p, http.StatusNotFound, "Thao tác không có (no such action): down or up", nil)
	}
	switch {
	case errors.Is(err, printqueue.ErrHeld), errors.Is(err, printqueue.ErrNotHeld):
		return c.renderPrint(p, http.StatusConflict, err.Error(), nil)
	case err != nil:
		return err
	}
	return p.Redirect("/console/print")
}

// printRetry is `cccd print retry JOB`.
func (c *Console) printRetry(p *Page) error {
	id, ok := pathID(p)
	if !ok {
		return c.renderPrint(p, http.StatusUnprocessableEntity, "Số lệnh in không hợp lệ (the job number is not a positive number)", nil)
	}
	err := printqueue.Retry(p.Ctx(), c.db, id)
	switch {
	case errors.Is(err, printqueue.ErrNoJob):
		return c.renderPrint(p, http.StatusConflict, err.Error(), nil)
	case err != nil:
		return err
	}
	return p.Redirect("/console/print")
}

// printReprint is `cccd print reprint RECEIPT --reason R`.
func (c *Console) printReprint(p *Page) error {
	f := formOf(p, "receipt", "reprint_reason")
	receipt, reason := f.Values["receipt"], f.Values["reprint_reason"]
	if receipt == "" || utf8.RuneCountInString(receipt) > 40 {
		f.Fail("receipt", "Nhập số biên nhận của hồ sơ (receipt: the application's receipt number)")
	}
	switch {
	case reason == "":
		f.Fail("reprint_reason", "Nhập lý do in lại (reason: say why the card is made again)")
	case utf8.RuneCountInString(reason) > 200:
		f.Fail("reprint_reason", "Lý do: tối đa 200 ký tự (reason: at most 200 characters)")
	}
	if !f.OK() {
		return c.renderPrint(p, http.StatusUnprocessableEntity, "", nil)
	}
	err := printqueue.Reprint(p.Ctx(), c.prod.Engine, p.User.Actor(), receipt, reason)
	var ve issuance.ValidationError
	switch {
	case errors.As(err, &ve):
		f.Fail("reprint_reason", "Lý do không hợp lệ (reason: "+ve[0].Rule+")")
		return c.renderPrint(p, http.StatusUnprocessableEntity, "", nil)
	case errors.Is(err, printqueue.ErrNoSuchApp):
		f.Fail("receipt", "Không có hồ sơ với số biên nhận này (no application with this receipt)")
		return c.renderPrint(p, http.StatusUnprocessableEntity, "", nil)
	case err != nil && isRefusal(err):
		f.Fail("receipt", "Không in lại được: "+err.Error())
		return c.renderPrint(p, http.StatusConflict, "", nil)
	case err != nil:
		return err
	}
	p.Flash("Đã hủy thẻ của hồ sơ " + receipt + " và xếp làm thẻ mới (card spoiled; a new card is queued)")
	return c.renderPrint(p, http.StatusOK, "", nil)
}

// printDispatch is `cccd dispatch create --office O`.
func (c *Console) printDispatch(p *Page) error {
	f := formOf(p, "office")
	office := f.Values["office"]
	if office == "" || utf8.RuneCountInString(office) > 64 {
		f.Fail("office", "Chọn nơi nhận (office: the receiving office)")
		return c.renderPrint(p, http.StatusUnprocessableEntity, "", nil)
	}
	s, err := c.prod.Engine.Dispatch(p.Ctx(), p.User.Actor(), office, 0)
	switch {
	case errors.Is(err, workflow.ErrNothingToDo):
		f.Fail("office", "Không có thẻ nào đã qua kiểm tra cho nơi này (no cards that passed QC for this office)")
		return c.renderPrint(p, http.StatusUnprocessableEntity, "", nil)
	case err != nil:
		return err
	}
	p.Flash(fmt.Sprintf("Đã gửi lô hàng %d: %d thẻ đến %s (shipment dispatched)", s.ID, len(s.Items), s.Office))
	return c.renderPrint(p, http.StatusOK, "", &s)
}

// printFace renders the face of a printed job's PDF as PNG (pdftoppm, poppler-utils).
func (c *Console) printFace(p *Page) error {
	id, ok := pathID(p)
	if !ok {
		http.Error(p.W, "không có lệnh in này (no such print job)", http.StatusNotFound)
		return nil
	}
	jobs, err := c.printJob(p.Ctx(), id)
	if err != nil {
		return err
	}
	if jobs == "" {
		http.Error(p.W, "lệnh in chưa có mặt thẻ (the job has no printed face yet)", http.StatusNotFound)
		return nil
	}
	png, err := renderPDF(p.Ctx(), jobs, 110)
	if err != nil {
		c.log.Warn("console: face preview", "job", id, "err", err)
		http.Error(p.W, "không hiển thị được mặt thẻ (the face could not be rendered)", http.StatusNotFound)
		return nil
	}
	h := p.W.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Cache-Control", "private, max-age=60")
	_, err = p.W.Write(png)
	return err
}

// printJob returns the PDF path of print job id, "" when it has none.
func (c *Console) printJob(ctx context.Context, id int64) (string, error) {
	var pdf string
	err := c.db.QueryRow(ctx, "SELECT pdf FROM print_jobs WHERE id = $1", id).Scan(&pdf)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return pdf, err
}

// isRefusal reports whether err is the workflow refusing an operation in the state the
// application is in (nothing changed), as opposed to a failure.
func isRefusal(err error) bool {
	return errors.Is(err, workflow.ErrNoGoodCard) || errors.Is(err, workflow.ErrNoApplication) ||
		errors.Is(err, ledger.ErrStateChanged) || errors.Is(err, lifecycle.ErrIllegalTransition) || errors.Is(err, workflow.ErrPaused)
}

// renderPDF renders the first page of a PDF as PNG at dpi with pdftoppm.
func renderPDF(ctx context.Context, pdf string, dpi int) ([]byte, error) {
	dir, err := os.MkdirTemp("", "cccd-face-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out := filepath.Join(dir, "face")
	cmd := exec.CommandContext(ctx, "pdftoppm", "-png", "-r", strconv.Itoa(dpi), "-f", "1", "-l", "1", "-singlefile", pdf, out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pdftoppm: %w: %s", err, msg)
	}
	return os.ReadFile(out + ".png")
}

type qcView struct {
	Batch   string
	Results []printqueue.Verification
	Bad     int
}

// printQC is `cccd print verify BATCH`: every printed face of a batch against its chip.
func (c *Console) printQC(p *Page) error {
	f := formOf(p, "batch")
	v := qcView{Batch: f.Values["batch"]}
	code := http.StatusOK
	if v.Batch != "" {
		id, err := strconv.ParseInt(v.Batch, 10, 64)
		if err != nil || id <= 0 {
			f.Fail("batch", "Số lô: số nguyên dương (batch: a positive number)")
			code = http.StatusUnprocessableEntity
		} else {
			if v.Results, err = printqueue.Verify(p.Ctx(), c.prod.Engine, id); err != nil {
				return err
			}
			for _, r := range v.Results {
				if !r.OK {
					v.Bad++
				}
			}
		}
	}
	return p.RenderStatus(code, "printroom_qc", L("Kiểm tra mặt thẻ với chip", "Face against chip (QC)"), v)
}
