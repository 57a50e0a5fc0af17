package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/lifecycle"
)

func init() {
	sup := []string{intake.RoleSupervisor}
	addNav(Nav{Path: "/console/supervisor", Title: L("Phê duyệt", "Approvals"), Key: "a", Order: 20, Roles: sup})
	addRoute("GET /console/supervisor", sup, (*Console).approvalQueue)
	addRoute("POST /console/supervisor/approve", sup, (*Console).bulkApprove)
	addRoute("GET /console/supervisor/{receipt}", sup, (*Console).review)
	addRoute("POST /console/supervisor/{receipt}", sup, (*Console).decide)
}

// QueueLimit is the number of applications the approval queue shows at once, newest
// first. Listing is a recorded read of each applicant's data (intake.Service.List), so
// the queue shows a working page, not the whole backlog.
const QueueLimit = 50

// outcome is what happened to one receipt of a bulk approval.
type outcome struct {
	Receipt string
	OK      bool
	Message string
}

type queueData struct {
	Queue    []intake.Summary
	Limit    int
	Outcomes []outcome
}

// approvalQueue lists the applications of the supervisor's office awaiting a decision
// (intake.Service.List restricts a supervisor to their office).
func (c *Console) approvalQueue(p *Page) error {
	q := p.R.URL.Query()
	if r := q.Get("decided"); receiptPattern.MatchString(r) {
		verb := "phê duyệt (approved)"
		if q.Get("action") == "reject" {
			verb = "từ chối (rejected)"
		}
		p.Flash(fmt.Sprintf("Hồ sơ %s đã được %s.", r, verb))
	}
	return c.renderQueue(p, nil, http.StatusOK)
}

func (c *Console) renderQueue(p *Page, outcomes []outcome, code int) error {
	list, err := c.intake.List(p.Ctx(), p.User, intake.Filter{State: string(lifecycle.Submitted), Limit: QueueLimit})
	if err != nil {
		return err
	}
	return p.RenderStatus(code, "supervisor", L("Phê duyệt hồ sơ", "Approval queue"),
		queueData{Queue: list, Limit: QueueLimit, Outcomes: outcomes})
}

// bulkApprove approves every selected application, each through intake.Service.Decide,
// and reports each one's outcome: one refused application does not stop the others.
func (c *Console) bulkApprove(p *Page) error {
	receipts := p.R.PostForm["receipt"]
	if len(receipts) == 0 {
		p.Form = &Form{}
		p.Form.Fail("receipt", "Chưa chọn hồ sơ nào (select at least one application).")
		return c.renderQueue(p, nil, http.StatusUnprocessableEntity)
	}
	if len(receipts) > QueueLimit {
		receipts = receipts[:QueueLimit]
	}
	var out []outcome
	approved := 0
	for _, r := range receipts {
		err := c.intake.Decide(p.Ctx(), p.User, intake.Decision{Receipt: r, Approve: true})
		o := outcome{Receipt: r, OK: err == nil}
		if err != nil {
			if o.Message = decideMessage(err); o.Message == "" {
				return err
			}
		} else {
			approved++
		}
		out = append(out, o)
	}
	p.Flash(fmt.Sprintf("Đã phê duyệt %d/%d hồ sơ (approved %d of %d).", approved, len(receipts), approved, len(receipts)))
	return c.renderQueue(p, out, http.StatusOK)
}

// decideMessage says why Decide refused, or "" for an error that is not the user's.
func decideMessage(err error) string {
	switch {
	case errors.Is(err, intake.ErrSameClerk):
		return "Không được tự phê duyệt hồ sơ do chính mình tiếp nhận (dual control: not your own intake)."
	case errors.Is(err, intake.ErrWrongOffice):
		return "Hồ sơ thuộc cơ quan khác (the application belongs to another office)."
	case errors.Is(err, intake.ErrNotSubmitted):
		return "Hồ sơ không còn chờ phê duyệt (no longer awaiting a decision)."
	case errors.Is(err, intake.ErrNotFound):
		return "Không tìm thấy hồ sơ (no such application)."
	case errors.Is(err, intake.ErrForbidden):
		return "Không có quyền phê duyệt (not allowed for this role)."
	case errors.Is(err, intake.ErrReasonRequired):
		return "Nhập lý do từ chối, 1-500 ký tự (reason required, 1-500 characters)."
	}
	return ""
}

// compareRow is one field of the register and of the application side by side.
type compareRow struct {
	Label             Label
	Register, Applied string
	Changed           bool
}

type reviewData struct {
	Detail  intake.Detail
	Rows    []compareRow
	Reason  Label
	Message string // why a decision was refused
}

// review shows the application beside the register's record, the changed fields marked.
func (c *Console) review(p *Page) error {
	return c.renderReview(p, http.StatusOK, "")
}

func (c *Console) renderReview(p *Page, code int, msg string) error {
	d, err := c.intake.Show(p.Ctx(), p.User, p.R.PathValue("receipt"))
	if err != nil {
		return err
	}
	reg, err := c.intake.RegisterRecord(p.Ctx(), p.User, d.IDNumber)
	if err != nil && !errors.Is(err, intake.ErrNotInRegister) && !errors.Is(err, intake.ErrLookupLimit) {
		return err
	}
	if err != nil && msg == "" {
		msg = lookupError(err) // the register column stays empty
	}
	rv, av := personValues(reg), personValues(d.Application.Person)
	rv["sex"], av["sex"] = reg.Sex.Vietnamese(), d.Application.Sex.Vietnamese()
	rd := reviewData{Detail: d, Reason: reasonNames[issuance.Reason(d.Reason)], Message: msg}
	for _, f := range personFields {
		rd.Rows = append(rd.Rows, compareRow{Label: f.Label, Register: rv[f.Name], Applied: av[f.Name],
			Changed: slices.Contains(d.ChangedFields, f.Name)})
	}
	if p.Form == nil {
		p.Form = &Form{}
	}
	return p.RenderStatus(code, "supervisor_review", L("Xem xét hồ sơ", "Review an application"), rd)
}

// decide approves or rejects one application (form field "action").
func (c *Console) decide(p *Page) error {
	receipt := p.R.PathValue("receipt")
	action := p.R.PostFormValue("action")
	reason := p.R.PostFormValue("reason")
	p.Form = &Form{Values: map[string]string{"reason": reason}}
	if action != "approve" && action != "reject" {
		p.Form.Fail("action", "Chọn Phê duyệt hoặc Từ chối (choose approve or reject).")
		return c.renderReview(p, http.StatusUnprocessableEntity, "")
	}
	err := c.intake.Decide(p.Ctx(), p.User, intake.Decision{Receipt: receipt, Approve: action == "approve", Reason: reason})
	if err == nil {
		return p.Redirect("/console/supervisor?decided=" + url.QueryEscape(receipt) + "&action=" + action)
	}
	msg := decideMessage(err)
	switch {
	case msg == "":
		return err
	case errors.Is(err, intake.ErrReasonRequired):
		p.Form.Fail("reason", msg)
		return c.renderReview(p, http.StatusUnprocessableEntity, "")
	case errors.Is(err, intake.ErrNotFound), errors.Is(err, intake.ErrWrongOffice):
		return err
	}
	return c.renderReview(p, http.StatusForbidden, strings.TrimSpace(msg))
}
