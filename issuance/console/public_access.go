package console

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/intake"
)

func init() {
	addRoute("POST /console/status/access", nil, (*Console).statusAccesses)
}

var purposeNames = map[string]Label{
	intake.PurposePrefill:        L("Điền sẵn hồ sơ từ CSDL dân cư", "Pre-fill from the register"),
	intake.PurposeFollowUp:       L("Theo dõi hồ sơ", "Follow-up"),
	intake.PurposeApproval:       L("Phê duyệt hồ sơ", "Approval"),
	intake.PurposeHandover:       L("Trả thẻ", "Hand-over"),
	intake.PurposeVerification:   L("Kiểm tra thẻ", "Card verification"),
	intake.PurposeAdministration: L("Quản trị", "Administration"),
}

type accessData struct {
	Receipt  string
	Accesses []intake.SubjectAccess
	Purposes map[string]Label
	Shown    bool
}

// statusAccesses shows applicants who read their record, and why (Decree 13/2023 art. 9),
// once they prove the receipt with their date of birth (intake.Service.AccessesForApplicant,
// which counts a wrong date against the caller's address like a failed login). The form
// is protected like the login form: the cookie's token must come back in the form.
func (c *Console) statusAccesses(p *Page) error {
	r := p.R
	r.Body = http.MaxBytesReader(p.W, r.Body, 8<<10)
	title := L("Ai đã xem dữ liệu của tôi", "Who has read my data")
	if err := r.ParseForm(); err != nil {
		c.errorPageStatus(p, http.StatusBadRequest, L("Yêu cầu không hợp lệ", "Bad request"), "Biểu mẫu hỏng (malformed form).")
		return nil
	}
	ck, err := r.Cookie(loginCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		c.errorPageStatus(p, http.StatusForbidden, L("Yêu cầu bị từ chối", "Request refused"),
			"Thiếu hoặc sai mã chống giả mạo (CSRF token missing or wrong). Xin tải lại trang tra cứu.")
		return nil
	}
	receipt := strings.ToUpper(strings.TrimSpace(r.PostFormValue("receipt")))
	dobText := strings.TrimSpace(r.PostFormValue("date_of_birth"))
	p.Form = &Form{Values: map[string]string{"receipt": receipt, "date_of_birth": dobText}}
	d := accessData{Receipt: receipt, Purposes: purposeNames}
	if !receiptPattern.MatchString(receipt) {
		p.Form.Fail("access_receipt", "Số biên nhận có dạng HS-XXXXX-XXXXX (receipt number: HS- then two groups of 5).")
	}
	var dob issuance.Date
	if m := ddmmyyyy.FindStringSubmatch(dobText); m == nil {
		p.Form.Fail("date_of_birth", "Nhập ngày sinh dạng dd/mm/yyyy (date of birth as dd/mm/yyyy).")
	} else if dob, err = issuance.ParseDate(m[3] + "-" + m[2] + "-" + m[1]); err != nil {
		p.Form.Fail("date_of_birth", "Ngày sinh không có thật (not a real date).")
	}
	code := http.StatusUnprocessableEntity
	if p.Form.OK() {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		ctx := intake.WithSource(r.Context(), "console:"+host)
		d.Accesses, err = c.intake.AccessesForApplicant(ctx, receipt, dob)
		switch {
		case err == nil:
			d.Shown, code = true, http.StatusOK
		case errors.Is(err, intake.ErrProof):
			p.Form.Fail("date_of_birth", "Số biên nhận và ngày sinh không khớp (receipt and date of birth do not match).")
		case errors.Is(err, intake.ErrAuthLimit):
			p.Form.Fail("date_of_birth", "Đã thử sai quá nhiều lần; xin thử lại sau 15 phút (too many wrong attempts; try again later).")
			code = http.StatusTooManyRequests
		default:
			return err
		}
	}
	tok := ck.Value
	return p.RenderStatus(code, "status_access", title, struct {
		accessData
		Token string
	}{d, tok})
}
