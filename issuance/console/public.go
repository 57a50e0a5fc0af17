package console

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/lifecycle"
)

func init() {
	addRoute("GET /console/status", nil, (*Console).status)
}

var stateNames = map[lifecycle.AppState]Label{
	lifecycle.Submitted:     L("Đã tiếp nhận hồ sơ", "Application received"),
	lifecycle.Approved:      L("Đã phê duyệt", "Approved"),
	lifecycle.Rejected:      L("Bị từ chối", "Rejected"),
	lifecycle.Queued:        L("Chờ sản xuất", "Waiting for production"),
	lifecycle.Personalizing: L("Đang sản xuất thẻ", "Card being made"),
	lifecycle.Personalized:  L("Đã ghi chip", "Chip written"),
	lifecycle.Printed:       L("Đã in thẻ", "Card printed"),
	lifecycle.QCPassed:      L("Đã kiểm tra chất lượng", "Quality checked"),
	lifecycle.Dispatched:    L("Đang chuyển về nơi nhận", "On its way to the office"),
	lifecycle.AtOffice:      L("Thẻ đã về, mời đến nhận", "Ready for collection"),
	lifecycle.Delivered:     L("Đã trả thẻ", "Delivered"),
	lifecycle.Returned:      L("Thẻ bị trả lại", "Returned"),
}

func stateName(s string) Label {
	if l, ok := stateNames[lifecycle.AppState(s)]; ok {
		return l
	}
	return L(s, s)
}

// publicSteps are the milestones the status page shows, in order.
var publicSteps = []lifecycle.AppState{lifecycle.Submitted, lifecycle.Approved, lifecycle.Personalizing,
	lifecycle.Printed, lifecycle.Dispatched, lifecycle.AtOffice, lifecycle.Delivered}

type stepView struct {
	Label Label
	Class string // "done", "now" or ""
}

type statusData struct {
	Receipt string
	Status  *intake.PublicStatus
	Steps   []stepView
	Label   Label
	Final   bool   // rejected or returned: the milestones do not apply
	Token   string // of the "who has read my data" form (a double-submit token, as for login)
}

var receiptPattern = regexp.MustCompile(`^HS-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$`)

// status is the applicant's public page: where an application is, by receipt number,
// with no personal data (intake.Service.Status gives states and dates only).
func (c *Console) status(p *Page) error {
	receipt := strings.ToUpper(strings.TrimSpace(p.R.URL.Query().Get("receipt")))
	d := statusData{Receipt: receipt, Token: c.formToken(p)}
	p.Form = &Form{Values: map[string]string{"receipt": receipt}}
	title := L("Tra cứu tình trạng hồ sơ", "Application status")
	if receipt == "" {
		return p.Render("status", title, d)
	}
	if len(receipt) > 40 || !receiptPattern.MatchString(receipt) {
		p.Form.Fail("receipt", "Số biên nhận có dạng HS-XXXXX-XXXXX (receipt number: HS- then two groups of 5 letters or digits).")
		return p.RenderStatus(http.StatusUnprocessableEntity, "status", title, d)
	}
	st, err := c.intake.Status(p.Ctx(), receipt)
	if errors.Is(err, intake.ErrNotFound) {
		p.Form.Fail("receipt", "Không tìm thấy hồ sơ với số biên nhận này (no application with this receipt number).")
		return p.RenderStatus(http.StatusNotFound, "status", title, d)
	}
	if err != nil {
		return err
	}
	d.Status = &st
	d.Label = stateName(st.State)
	state := lifecycle.AppState(st.State)
	d.Final = state == lifecycle.Rejected || state == lifecycle.Returned
	now := -1
	for i, s := range publicSteps {
		if s == state || rank(state) >= rank(s) {
			now = i
		}
	}
	for i, s := range publicSteps {
		v := stepView{Label: stateNames[s]}
		switch {
		case i < now || i == now && state == lifecycle.Delivered:
			v.Class = "done"
		case i == now:
			v.Class = "now"
		}
		d.Steps = append(d.Steps, v)
	}
	return p.Render("status", title, d)
}

// rank orders the states of a card's normal path.
func rank(s lifecycle.AppState) int {
	for i, v := range []lifecycle.AppState{lifecycle.Submitted, lifecycle.Approved, lifecycle.Queued, lifecycle.Personalizing,
		lifecycle.Personalized, lifecycle.Printed, lifecycle.QCPassed, lifecycle.Dispatched, lifecycle.AtOffice, lifecycle.Delivered} {
		if v == s {
			return i
		}
	}
	return -1
}
