package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/workflow"
)

// The operator's screen: batches with live progress, the readers of every station, the
// shift's throughput and spoilage, dead letters, and reconciliation. Every action calls
// the workflow engine as `cccd batch ...` and `cccd workflow ...` do, with the same role
// sets (intake.ProductionRoles and friends).

func init() {
	funcs["duration"] = func(d time.Duration) string {
		if d >= time.Hour {
			return fmt.Sprintf("%d giờ %02d phút", int(d.Hours()), int(d.Minutes())%60)
		}
		return fmt.Sprintf("%d phút %02d giây", int(d.Minutes()), int(d.Seconds())%60)
	}
	addNav(Nav{Path: "/console/operator", Title: L("Sản xuất", "Production"), Key: "o", Order: 30, Roles: intake.ProductionViewRoles})
	addRoute("GET /console/operator", intake.ProductionViewRoles, (*Console).operator)
	addRoute("POST /console/operator/batches", intake.ProductionRoles, (*Console).operatorCreate)
	addRoute("POST /console/operator/batches/{id}/{action}", intake.ProductionRoles, (*Console).operatorBatch)
	addRoute("POST /console/operator/dead/{id}/{action}", intake.DeadLetterRoles, (*Console).operatorDead)
	addRoute("GET /console/operator/reconcile", intake.ProductionViewRoles, (*Console).operatorReconcile)
}

// operatorLiveStates are the application states whose change the operator's screen shows.
const operatorLiveStates = "approved queued personalizing personalized printed qc_passed dispatched at_office delivered returned rejected"

// operatorView is the operator's screen.
type operatorView struct {
	Batches    []workflow.Progress
	Readers    []workflow.ReaderState
	Chart      chart
	Dead       []workflow.DeadLetter
	CanRun     bool // may create, start, pause and resume batches
	CanDecide  bool // may see, retry and reject dead letters
	Now        time.Time
	Today      string
	LiveStates string
	Alert      string // why the last action was refused
}

func (c *Console) operator(p *Page) error {
	return c.renderOperator(p, http.StatusOK, "")
}

// renderOperator renders the screen, with alert saying why an action was refused.
func (c *Console) renderOperator(p *Page, code int, alert string) error {
	ctx, e, now := p.Ctx(), c.prod.Engine, c.prod.Now()
	v := operatorView{CanRun: p.User.Allowed(intake.ProductionRoles), CanDecide: p.User.Allowed(intake.DeadLetterRoles),
		Now: now, Today: workflow.Day(now), LiveStates: operatorLiveStates, Alert: alert}
	// The parts are independent: read them at once, each on its own connection.
	var buckets []workflow.Bucket
	parts := []func() error{
		func() (err error) { v.Batches, err = e.Progresses(ctx, 12, now); return err },
		func() (err error) { v.Readers, err = e.Readers(ctx); return err },
		func() (err error) { buckets, err = c.prod.shift.series(ctx, e, now); return err },
	}
	if v.CanDecide {
		parts = append(parts, func() (err error) { v.Dead, err = e.DeadLetters(ctx, false); return err })
	}
	if err := all(parts...); err != nil {
		return err
	}
	v.Chart = newChart(buckets)
	if len(v.Dead) > 50 {
		v.Dead = v.Dead[:50]
	}
	return p.RenderStatus(code, "operator", L("Sản xuất", "Production"), v)
}

// operatorCreate is `cccd batch create --line L [--office O] [--max N]`.
func (c *Console) operatorCreate(p *Page) error {
	f := formOf(p, "line", "office", "max")
	line, office := f.Values["line"], f.Values["office"]
	if !workflow.ValidLine(line) {
		f.Fail("line", "Dây chuyền: 1-32 ký tự A-Z a-z 0-9 _ - (line: 1-32 of A-Z a-z 0-9 _ -)")
	}
	if utf8.RuneCountInString(office) > 64 {
		f.Fail("office", "Nơi nhận: tối đa 64 ký tự (office: at most 64 characters)")
	}
	max := 0
	if s := f.Values["max"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			f.Fail("max", "Số hồ sơ tối đa: số nguyên 1-1000000, hoặc để trống (max: a whole number 1-1000000, or empty for all)")
		}
		max = n
	}
	if !f.OK() {
		return c.renderOperator(p, http.StatusUnprocessableEntity, "")
	}
	bs, err := c.prod.Engine.CreateBatches(p.Ctx(), p.User.Actor(), line, office, max)
	switch {
	case errors.Is(err, workflow.ErrNothingToDo):
		f.Fail("office", "Không có hồ sơ đã duyệt nào chờ đóng lô (no approved applications waiting for a batch)")
		return c.renderOperator(p, http.StatusUnprocessableEntity, "")
	case err != nil:
		return err
	}
	ids := make([]string, len(bs))
	for i, b := range bs {
		ids[i] = strconv.FormatInt(b.ID, 10)
	}
	p.Flash("Đã tạo lô " + strings.Join(ids, ", ") + " (batches created)")
	return c.renderOperator(p, http.StatusOK, "")
}

// operatorBatch is `cccd batch start|pause|resume ID`.
func (c *Console) operatorBatch(p *Page) error {
	id, ok := pathID(p)
	if !ok {
		return c.renderOperator(p, http.StatusUnprocessableEntity, "Số lô không hợp lệ (the batch number is not a positive number)")
	}
	ctx, e, actor := p.Ctx(), c.prod.Engine, p.User.Actor()
	var err error
	switch p.R.PathValue("action") {
	case "start":
		_, err = e.StartBatch(ctx, actor, id)
	case "pause":
		err = e.SetBatchPaused(ctx, actor, id, true)
	case "resume":
		err = e.SetBatchPaused(ctx, actor, id, false)
	default:
		return c.renderOperator(p, http.StatusNotFound, "Thao tác không có (no such action): start, pause or resume")
	}
	switch {
	case errors.Is(err, workflow.ErrNoSuchBatch), errors.Is(err, workflow.ErrBatchState):
		return c.renderOperator(p, http.StatusConflict, "Lô "+strconv.FormatInt(id, 10)+": "+err.Error())
	case err != nil:
		return err
	}
	return p.Redirect("/console/operator")
}

// operatorDead is `cccd workflow retry ID` and `cccd workflow reject ID --reason R`.
func (c *Console) operatorDead(p *Page) error {
	id, ok := pathID(p)
	if !ok {
		return c.renderOperator(p, http.StatusUnprocessableEntity, "Số thư lỗi không hợp lệ (the dead letter number is not a positive number)")
	}
	ctx, e, actor := p.Ctx(), c.prod.Engine, p.User.Actor()
	var err error
	switch p.R.PathValue("action") {
	case "retry":
		err = e.RetryDeadLetter(ctx, actor, id)
	case "reject":
		f := formOf(p, "reason")
		reason := f.Values["reason"]
		switch {
		case reason == "":
			f.Fail("reason", "Nhập lý do (reason: say why it is closed without a retry)")
		case utf8.RuneCountInString(reason) > 200:
			f.Fail("reason", "Lý do: tối đa 200 ký tự (reason: at most 200 characters)")
		}
		if !f.OK() {
			f.Values["dead"] = strconv.FormatInt(id, 10)
			return c.renderOperator(p, http.StatusUnprocessableEntity, "")
		}
		err = e.RejectDeadLetter(ctx, actor, id, reason)
		if ve := (issuance.ValidationError{}); errors.As(err, &ve) {
			f.Fail("reason", "Lý do không hợp lệ (reason: "+ve[0].Rule+")")
			f.Values["dead"] = strconv.FormatInt(id, 10)
			return c.renderOperator(p, http.StatusUnprocessableEntity, "")
		}
	default:
		return c.renderOperator(p, http.StatusNotFound, "Thao tác không có (no such action): retry or reject")
	}
	switch {
	case errors.Is(err, workflow.ErrNoDeadLetter):
		return c.renderOperator(p, http.StatusConflict, err.Error())
	case err != nil:
		return err
	}
	return p.Redirect("/console/operator")
}

// reconcileView is the reconciliation page.
type reconcileView struct {
	Batch string
	Day   string
	R     *workflow.Reconciliation
}

// operatorReconcile is `cccd batch reconcile [BATCH] [--day D]`.
func (c *Console) operatorReconcile(p *Page) error {
	f := formOf(p, "batch", "day")
	v := reconcileView{Batch: f.Values["batch"], Day: f.Values["day"]}
	ctx, e := p.Ctx(), c.prod.Engine
	var r workflow.Reconciliation
	var err error
	switch {
	case v.Batch != "" && v.Day != "":
		f.Fail("day", "Chọn lô hoặc ngày, không cả hai (give a batch or a day, not both)")
	case v.Batch != "":
		id, perr := strconv.ParseInt(v.Batch, 10, 64)
		if perr != nil || id <= 0 {
			f.Fail("batch", "Số lô: số nguyên dương (batch: a positive number)")
			break
		}
		r, err = e.ReconcileBatch(ctx, id)
	default:
		if v.Day == "" {
			v.Day = workflow.Day(c.prod.Now())
			f.Values["day"] = v.Day
		}
		if _, perr := time.Parse("2006-01-02", v.Day); perr != nil {
			f.Fail("day", "Ngày: dạng YYYY-MM-DD (day: YYYY-MM-DD)")
			break
		}
		r, err = e.ReconcileDay(ctx, v.Day)
	}
	if err != nil {
		return err
	}
	code := http.StatusOK
	if !f.OK() {
		code = http.StatusUnprocessableEntity
	} else {
		v.R = &r
	}
	return p.RenderStatus(code, "operator_reconcile", L("Đối soát thẻ", "Reconciliation"), v)
}

// formOf parses the request's form (query for GET, body for POST) into p.Form with the
// named fields, trimmed. A body that cannot be parsed leaves the fields empty, which
// the caller's checks then name.
func formOf(p *Page, fields ...string) *Form {
	_ = p.R.ParseForm()
	f := &Form{Values: map[string]string{}}
	for _, k := range fields {
		f.Values[k] = strings.TrimSpace(p.R.Form.Get(k))
	}
	p.Form = f
	return f
}

// pathID is the path's {id} as a positive number.
func pathID(p *Page) (int64, bool) {
	id, err := strconv.ParseInt(p.R.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// all runs fs at once and returns the first error.
func all(fs ...func() error) error {
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	for i, f := range fs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f() }()
	}
	wg.Wait()
	return errors.Join(errs...)
}
