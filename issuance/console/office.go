package console

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/counter"
	"github.com/cccd-project/cccd/personalization/verify"
)

// The receiving office's screen: shipments on their way to the user's office, received
// with one click; the cards waiting for their holders; and the hand-over, which
// verifies the card in the counter's reader first (workflow.Engine.HandVerified, as
// `cccd deliver` does) and shows the verdict: only a genuine card that is the card made
// for the receipt is handed over.

func init() {
	addNav(Nav{Path: "/console/office", Title: L("Nhận và trả thẻ", "Office"), Key: "f", Order: 50, Roles: intake.OfficeRoles})
	addRoute("GET /console/office", intake.OfficeRoles, (*Console).office)
	addRoute("POST /console/office/shipments/{id}/receive", intake.OfficeRoles, (*Console).officeReceive)
	addRoute("POST /console/office/handover", intake.OfficeRoles, (*Console).officeHandover)
}

// officeLiveStates are the application states whose change the office's screen shows.
const officeLiveStates = "dispatched at_office delivered returned"

// cardWait is how long a hand-over waits for the card in the reader.
const cardWait = 15 * time.Second

type officeView struct {
	Office     string
	Incoming   []workflow.ShipmentInfo
	Received   []workflow.ShipmentInfo
	Waiting    []workflow.Waiting
	Readers    []string
	Verdict    template.HTML
	Handed     string // receipt handed over just now
	LiveStates string
	Alert      string
}

func (c *Console) office(p *Page) error {
	return c.renderOffice(p, http.StatusOK, "", "")
}

func (c *Console) renderOffice(p *Page, code int, alert string, verdict template.HTML) error {
	ctx, e, office := p.Ctx(), c.prod.Engine, p.User.Office
	v := officeView{Office: office, LiveStates: officeLiveStates, Alert: alert, Verdict: verdict}
	if p.Form == nil {
		formOf(p, "receipt", "received_by", "reader")
	}
	var err error
	if v.Incoming, err = e.Shipments(ctx, office, "dispatched", 50); err != nil {
		return err
	}
	if v.Received, err = e.Shipments(ctx, office, "received", 5); err != nil {
		return err
	}
	if v.Waiting, err = e.WaitingAt(ctx, office, 100); err != nil {
		return err
	}
	if v.Readers, err = c.counterReaders(ctx); err != nil && v.Alert == "" {
		v.Alert = err.Error()
	}
	return p.RenderStatus(code, "office", L("Nhận và trả thẻ", "Receiving office"), v)
}

// officeReceive is `cccd dispatch receive SHIPMENT`.
func (c *Console) officeReceive(p *Page) error {
	id, ok := pathID(p)
	if !ok {
		return c.renderOffice(p, http.StatusUnprocessableEntity, "Số lô hàng không hợp lệ (the shipment number is not a positive number)", "")
	}
	s, err := c.prod.Engine.Receive(p.Ctx(), p.User.Actor(), id)
	switch {
	case errors.Is(err, workflow.ErrWrongOffice):
		return c.renderOffice(p, http.StatusForbidden, "Lô hàng này gửi đến nơi khác (the shipment goes to another office)", "")
	case errors.Is(err, workflow.ErrNoSuchShipment):
		return c.renderOffice(p, http.StatusConflict, "Không có lô hàng này đang chờ nhận (no such shipment awaiting receipt)", "")
	case err != nil:
		return err
	}
	p.Flash(fmt.Sprintf("Đã nhận lô hàng %d: %d thẻ (shipment received)", s.ID, len(s.Items)))
	return c.renderOffice(p, http.StatusOK, "", "")
}

// officeHandover is `cccd deliver RECEIPT --received-by NAME --reader R`: the card in the
// reader is verified as the card made for the receipt before anything is recorded.
func (c *Console) officeHandover(p *Page) error {
	f := formOf(p, "receipt", "received_by", "reader")
	h := &workflow.Handover{Receipt: f.Values["receipt"], ReceivedBy: f.Values["received_by"], Outcome: "delivered"}
	reader := f.Values["reader"]
	if h.Receipt == "" || utf8.RuneCountInString(h.Receipt) > 40 {
		f.Fail("receipt", "Nhập số biên nhận (receipt: the application's receipt number)")
	}
	switch {
	case h.ReceivedBy == "":
		f.Fail("received_by", "Nhập họ tên người nhận thẻ (received by: the name of the person who receives the card)")
	case utf8.RuneCountInString(h.ReceivedBy) > 100 || !utf8.ValidString(h.ReceivedBy):
		f.Fail("received_by", "Họ tên: tối đa 100 ký tự (received by: at most 100 characters)")
	}
	readers, rerr := c.counterReaders(p.Ctx())
	if rerr == nil && !slices.Contains(readers, reader) {
		f.Fail("reader", "Chọn đầu đọc có thẻ (reader: choose the reader holding the card)")
	}
	if !f.OK() {
		return c.renderOffice(p, http.StatusUnprocessableEntity, "", "")
	}
	if rerr != nil {
		return c.renderOffice(p, http.StatusConflict, rerr.Error(), "")
	}
	ts, err := c.prod.trust()
	if err != nil {
		return c.renderOffice(p, http.StatusConflict, err.Error(), "")
	}
	pc, err := c.prod.readers()
	if err != nil {
		return c.renderOffice(p, http.StatusConflict, err.Error(), "")
	}
	wctx, cancel := context.WithTimeout(p.Ctx(), cardWait)
	defer cancel()
	if _, err := counter.PickReader(wctx, pc, reader); err != nil {
		f.Fail("reader", "Không có thẻ trong đầu đọc này (no card in this reader)")
		return c.renderOffice(p, http.StatusUnprocessableEntity, "", "")
	}
	card, err := pc.Connect(p.Ctx(), reader)
	if err != nil {
		f.Fail("reader", "Không kết nối được với thẻ: "+err.Error())
		return c.renderOffice(p, http.StatusUnprocessableEntity, "", "")
	}
	defer card.Close()
	r, err := c.prod.Engine.HandVerified(p.Ctx(), p.User.Actor(), h, card, verify.Options{Trust: ts})
	var verdict template.HTML
	if r.Verdict != "" {
		var verr error
		if verdict, verr = renderVerdict(verdictView{Reader: reader, R: &r}); verr != nil {
			return verr
		}
	}
	switch {
	case errors.Is(err, workflow.ErrCardRefused):
		return c.renderOffice(p, http.StatusUnprocessableEntity, "Không trao thẻ: thẻ không đạt kiểm tra (hand-over refused: the card failed verification)", verdict)
	case errors.Is(err, workflow.ErrNoApplication):
		f.Fail("receipt", "Không có thẻ nào của hồ sơ này đang chờ tại nơi nhận (no card for this receipt is waiting at an office)")
		return c.renderOffice(p, http.StatusUnprocessableEntity, "", verdict)
	case errors.Is(err, workflow.ErrWrongOffice):
		f.Fail("receipt", "Thẻ của hồ sơ này ở nơi nhận khác (the card for this receipt is at another office)")
		return c.renderOffice(p, http.StatusForbidden, "", verdict)
	case errors.Is(err, workflow.ErrReceiverNeeded):
		f.Fail("received_by", "Nhập họ tên người nhận thẻ (received by: required)")
		return c.renderOffice(p, http.StatusUnprocessableEntity, "", verdict)
	case err != nil && isRefusal(err):
		return c.renderOffice(p, http.StatusConflict, err.Error(), verdict)
	case err != nil:
		return err
	}
	p.Flash("Đã trao thẻ của hồ sơ " + h.Receipt + " cho " + h.ReceivedBy + " (card handed over)")
	p.Form = nil
	return c.renderOffice(p, http.StatusOK, "", verdict)
}
