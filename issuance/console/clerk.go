package console

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/idnum"
	"github.com/cccd-project/cccd/issuance/intake"
)

func init() {
	clerk := []string{intake.RoleClerk}
	addNav(Nav{Path: "/console/clerk", Title: L("Tiếp nhận hồ sơ", "Intake"), Key: "n", Order: 10, Roles: clerk})
	addRoute("GET /console/clerk", clerk, (*Console).clerkHome)
	addRoute("GET /console/clerk/new", clerk, (*Console).clerkForm)
	addRoute("POST /console/clerk/new", clerk, (*Console).clerkSubmit)
	addRoute("POST /console/clerk/release", clerk, (*Console).clerkRelease)
	addRoute("POST /console/clerk/portrait", clerk, (*Console).clerkPortraitCheck)
	addRoute("GET /console/clerk/receipt/{receipt}", clerk, (*Console).clerkReceipt)
	addRoute("GET /console/clerk/slip/{receipt}", clerk, (*Console).clerkSlip)
	staff := []string{intake.RoleClerk, intake.RoleSupervisor, intake.RoleAdmin}
	addRoute("GET /console/applications/{receipt}/portrait", staff, (*Console).portrait)
}

// personField is one field of the intake form that the register pre-fills.
type personField struct {
	Name  string // the JSON name, as in issuance.Person and intake.ChangedFields
	Label Label
	Wide  bool
}

var personFields = []personField{
	{"full_name", L("Họ, chữ đệm và tên", "Full name"), false},
	{"date_of_birth", L("Ngày, tháng, năm sinh (dd/mm/yyyy)", "Date of birth"), false},
	{"sex", L("Giới tính", "Sex"), false},
	{"nationality", L("Quốc tịch", "Nationality"), false},
	{"ethnicity", L("Dân tộc", "Ethnicity"), false},
	{"religion", L("Tôn giáo", "Religion"), false},
	{"place_of_origin", L("Quê quán", "Place of origin"), true},
	{"place_of_residence", L("Nơi thường trú", "Place of residence"), true},
	{"identifying_features", L("Đặc điểm nhận dạng", "Identifying features"), true},
	{"father", L("Họ, chữ đệm và tên cha", "Father's name"), false},
	{"mother", L("Họ, chữ đệm và tên mẹ", "Mother's name"), false},
	{"spouse", L("Họ, chữ đệm và tên vợ (chồng)", "Spouse's name"), false},
	{"previous_id_number", L("Số CMND/CCCD cũ", "Previous ID number"), false},
}

var reasonNames = map[issuance.Reason]Label{
	issuance.ReasonFirstIssue:     L("Cấp lần đầu", "First issue"),
	issuance.ReasonRenewalAge:     L("Đổi thẻ khi đến tuổi", "Renewal at the age limit"),
	issuance.ReasonReplaceLost:    L("Cấp lại do bị mất", "Replacement of a lost card"),
	issuance.ReasonReplaceDamaged: L("Đổi thẻ do bị hư hỏng", "Replacement of a damaged card"),
	issuance.ReasonChangeOfData:   L("Đổi thẻ do thay đổi thông tin", "Change of personal data"),
}

// personValues returns the form values of p.
func personValues(p issuance.Person) map[string]string {
	dob := ""
	if !p.DateOfBirth.IsZero() {
		dob = p.DateOfBirth.DDMMYYYY()
	}
	return map[string]string{"id_number": p.IDNumber, "full_name": p.FullName, "date_of_birth": dob,
		"sex": string(p.Sex), "nationality": p.Nationality, "ethnicity": p.Ethnicity, "religion": p.Religion,
		"place_of_origin": p.PlaceOfOrigin, "place_of_residence": p.PlaceOfResidence,
		"identifying_features": p.IdentifyingFeatures, "father": p.Father, "mother": p.Mother, "spouse": p.Spouse,
		"previous_id_number": p.PreviousIDNumber}
}

type clerkHomeData struct {
	Today []intake.Summary
}

// clerkHome shows the ID number look-up and the clerk's applications of today.
func (c *Console) clerkHome(p *Page) error {
	if p.Form == nil {
		p.Form = &Form{}
	}
	now := time.Now().In(vietnam)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, vietnam)
	list, err := c.intake.List(p.Ctx(), p.User, intake.Filter{Clerk: p.User.Name, Since: midnight, Limit: 1000})
	if err != nil {
		return err
	}
	d := clerkHomeData{Today: list}
	code := http.StatusOK
	if !p.Form.OK() {
		code = http.StatusUnprocessableEntity
	}
	return p.RenderStatus(code, "clerk", L("Tiếp nhận hồ sơ", "Intake"), d)
}

type clerkFormData struct {
	Fields     []personField
	Register   map[string]string
	Changed    []string
	Reasons    []issuance.Reason
	Names      map[issuance.Reason]Label
	Portrait   string // base64 of a portrait already uploaded
	Verdict    string // the portrait's structural check: "" passes
	HasVerdict bool
}

// clerkForm looks the ID number up in the register and shows the form pre-filled.
func (c *Console) clerkForm(p *Page) error {
	id := strings.TrimSpace(p.R.URL.Query().Get("id"))
	p.Form = &Form{Values: map[string]string{"id": id}}
	reg, err := c.intake.RegisterRecord(p.Ctx(), p.User, id)
	if err != nil {
		if msg := lookupError(err); msg != "" {
			p.Form.Fail("id", msg)
			if errors.Is(err, intake.ErrLookupOpen) {
				p.Form.Values["open"] = "1" // offer to give the open look-up up
			}
			return c.clerkHome(p)
		}
		return err
	}
	p.Form.Values = personValues(reg)
	p.Form.Values["reason"] = string(issuance.ReasonFirstIssue)
	p.Form.Values["delivery_method"] = issuance.DeliveryOffice
	p.Form.Values["delivery_office"] = p.User.Office
	return p.Render("clerk_form", L("Hồ sơ đề nghị cấp thẻ", "Card application"), c.formData(reg, p.Form, nil))
}

// clerkRelease gives up the clerk's open look-up (the citizen did not apply, or the
// number was mistyped): the form's Cancel button.
func (c *Console) clerkRelease(p *Page) error {
	id, err := c.intake.Release(p.Ctx(), p.User)
	if err != nil {
		return err
	}
	if id != "" {
		p.Flash("Đã huỷ tra cứu " + id + "; có thể tra cứu công dân khác (look-up given up).")
	}
	return c.clerkHome(p)
}

// lookupError is the message for an ID number the register cannot answer for, or "".
func lookupError(err error) string {
	var le *intake.LimitError
	var oe *intake.OpenLookupError
	switch {
	case errors.As(err, &le):
		return fmt.Sprintf("Đã vượt giới hạn tra cứu CSDL dân cư; xin thử lại sau %d giây (%s).",
			int(le.RetryAfter.Seconds())+1, le.Rule)
	case errors.As(err, &oe):
		return fmt.Sprintf("Hồ sơ của số định danh %s đang mở: hãy nộp hồ sơ đó hoặc huỷ tra cứu trước khi tra cứu người khác "+
			"(one look-up at a time: submit that application or give it up first).", oe.Open)
	case errors.Is(err, idnum.ErrFormat):
		return "Số định danh gồm 12 chữ số (ID number: 12 digits)."
	case errors.Is(err, idnum.ErrProvince), errors.Is(err, idnum.ErrRange):
		return "Số định danh không hợp lệ (" + err.Error() + ")."
	case errors.Is(err, intake.ErrNotInRegister):
		return "Không có trong Cơ sở dữ liệu quốc gia về dân cư (not in the population register)."
	}
	return ""
}

func (c *Console) formData(reg issuance.Person, f *Form, portrait []byte) clerkFormData {
	d := clerkFormData{Fields: personFields, Register: personValues(reg), Reasons: issuance.Reasons(), Names: reasonNames}
	for _, pf := range personFields {
		if f.Value(pf.Name) != d.Register[pf.Name] {
			d.Changed = append(d.Changed, pf.Name)
		}
	}
	if len(portrait) > 0 {
		d.Portrait = base64.StdEncoding.EncodeToString(portrait)
		d.Verdict, d.HasVerdict = portraitVerdict(portrait), true
	}
	return d
}

var ddmmyyyy = regexp.MustCompile(`^(\d{2})/(\d{2})/(\d{4})$`)

// applicationFromForm builds the application the form describes, through the same strict
// decoder as the JSON API (issuance.DecodeApplication), so a field is read and normalized
// one way whichever door it came through.
func applicationFromForm(r *http.Request, office string, portrait []byte) (issuance.Application, map[string]string, error) {
	v := map[string]string{}
	for _, f := range append([]string{"id_number", "reason", "delivery_method", "delivery_office", "delivery_address"}, fieldNames()...) {
		v[f] = r.PostFormValue(f)
	}
	dob := strings.TrimSpace(v["date_of_birth"])
	if m := ddmmyyyy.FindStringSubmatch(dob); m != nil {
		dob = m[3] + "-" + m[2] + "-" + m[1]
	}
	doc := map[string]any{"id_number": v["id_number"], "full_name": v["full_name"], "date_of_birth": dob,
		"sex": v["sex"], "nationality": v["nationality"], "ethnicity": v["ethnicity"], "religion": v["religion"],
		"place_of_origin": v["place_of_origin"], "place_of_residence": v["place_of_residence"],
		"identifying_features": v["identifying_features"], "father": v["father"], "mother": v["mother"],
		"spouse": v["spouse"], "previous_id_number": v["previous_id_number"], "portrait": portrait,
		"reason": v["reason"], "intake_office": office,
		"delivery": map[string]string{"method": v["delivery_method"], "office": v["delivery_office"], "address": v["delivery_address"]}}
	if dob == "" {
		delete(doc, "date_of_birth")
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return issuance.Application{}, v, err
	}
	app, err := issuance.DecodeApplication(b)
	return app, v, err
}

func fieldNames() []string {
	out := make([]string, len(personFields))
	for i, f := range personFields {
		out[i] = f.Name
	}
	return out
}

// readPortrait returns the uploaded portrait, or the one carried over from the previous
// attempt of the same form.
func readPortrait(r *http.Request) ([]byte, string) {
	if f, _, err := r.FormFile("portrait"); err == nil {
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, issuance.MaxPortraitBytes+1))
		if err != nil {
			return nil, "Không đọc được tệp ảnh (could not read the file)."
		}
		if len(b) > 0 {
			return b, ""
		}
	}
	if s := r.PostFormValue("portrait_kept"); s != "" {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) > issuance.MaxPortraitBytes+1 {
			return nil, "Ảnh đã tải lên bị hỏng; xin chọn lại tệp (re-select the file)."
		}
		return b, ""
	}
	return nil, ""
}

// clerkSubmit submits the form through intake.Service.Submit. Bad input comes back
// next to its field, with the values as typed; nothing is stored.
func (c *Console) clerkSubmit(p *Page) error {
	portrait, perr := readPortrait(p.R)
	app, values, err := applicationFromForm(p.R, p.User.Office, portrait)
	p.Form = &Form{Values: values}
	if perr != "" {
		p.Form.Fail("portrait", perr)
	}
	var sub intake.Submitted
	if err == nil && perr == "" {
		sub, err = c.intake.Submit(p.Ctx(), p.User, app)
	}
	if err == nil && perr == "" {
		return p.Redirect("/console/clerk/receipt/" + sub.Receipt)
	}
	if err != nil && !c.formErrors(p.Form, err) {
		return err
	}
	reg, lerr := c.intake.RegisterRecord(p.Ctx(), p.User, values["id_number"])
	if lerr != nil {
		if msg := lookupError(lerr); msg != "" {
			p.Form = &Form{Values: map[string]string{"id": values["id_number"]}}
			p.Form.Fail("id", msg)
			return c.clerkHome(p)
		}
		return lerr
	}
	return p.RenderStatus(http.StatusUnprocessableEntity, "clerk_form", L("Hồ sơ đề nghị cấp thẻ", "Card application"),
		c.formData(reg, p.Form, portrait))
}

// formErrors puts the field errors of a refused submission next to their fields and
// reports whether err was the user's to fix.
func (c *Console) formErrors(f *Form, err error) bool {
	var ve issuance.ValidationError
	var fe issuance.FieldError
	switch {
	case errors.As(err, &ve):
		for _, e := range ve {
			f.Fail(formField(e.Field), ruleMessage(e.Rule))
		}
	case errors.As(err, &fe) && fe.Field == "date_of_birth":
		f.Fail("date_of_birth", "Ngày không hợp lệ: nhập ngày có thật dạng dd/mm/yyyy (a real date as dd/mm/yyyy).")
	case errors.As(err, &fe):
		f.Fail(formField(fe.Field), ruleMessage(fe.Rule))
	case errors.Is(err, intake.ErrDuplicateApplication):
		f.Fail("id_number", "Công dân này đang có một hồ sơ chưa hoàn tất (the citizen already has an open application).")
	case errors.Is(err, intake.ErrNotInRegister), errors.Is(err, idnum.ErrFormat), errors.Is(err, idnum.ErrProvince), errors.Is(err, idnum.ErrRange):
		f.Fail("id_number", lookupError(err))
	case errors.Is(err, issuance.ErrTooLarge), errors.Is(err, issuance.ErrInvalidUTF8):
		f.Fail("form", "Biểu mẫu không hợp lệ: "+err.Error())
	default:
		if msg, ok := strings.CutPrefix(err.Error(), "issuance: "); ok {
			// A decoding error of DecodeApplication names its field first ("issuance: date_of_birth: ...").
			field, rule, _ := strings.Cut(msg, ": ")
			f.Fail(formField(field), ruleMessage(rule))
			return true
		}
		return false
	}
	return true
}

// formField maps an application field name to its form field.
func formField(field string) string {
	switch field {
	case "delivery.method":
		return "delivery_method"
	case "delivery.office":
		return "delivery_office"
	case "delivery.address":
		return "delivery_address"
	case "intake_office":
		return "form"
	}
	if slices.Contains(fieldNames(), field) || field == "portrait" || field == "reason" || field == "id_number" {
		return field
	}
	return "form"
}

// ruleMessage puts a Vietnamese sentence before a validation rule (which is in English).
func ruleMessage(rule string) string {
	vi := "Không hợp lệ"
	switch {
	case rule == "required", strings.HasPrefix(rule, "required"):
		vi = "Bắt buộc phải nhập"
	case strings.Contains(rule, "JPEG"), strings.Contains(rule, "pixels"), strings.Contains(rule, "KiB"), strings.Contains(rule, "orientation"):
		vi = "Ảnh không đạt yêu cầu"
	case strings.Contains(rule, "date"), strings.Contains(rule, "future"), strings.Contains(rule, "before"):
		vi = "Ngày không hợp lệ"
	case strings.Contains(rule, "character"), strings.Contains(rule, "letter"), strings.Contains(rule, "spaces"):
		vi = "Có ký tự không được phép"
	}
	return vi + " (" + rule + ")."
}

// portraitVerdict runs the intake rules on a portrait alone: "" when it passes.
func portraitVerdict(b []byte) string {
	app := issuance.Application{Portrait: b}
	var ve issuance.ValidationError
	if errors.As(app.Validate(issuance.Today(vietnam)), &ve) {
		for _, e := range ve {
			if e.Field == "portrait" {
				return e.Rule
			}
		}
	}
	return ""
}

// clerkPortraitCheck answers the form's script with the structural check's verdict on
// a portrait, before the form is submitted.
func (c *Console) clerkPortraitCheck(p *Page) error {
	b, perr := readPortrait(p.R)
	out := struct {
		OK      bool   `json:"ok"`
		Message string `json:"message"`
	}{}
	switch rule := portraitVerdict(b); {
	case perr != "":
		out.Message = perr
	case rule == "":
		out.OK, out.Message = true, "Ảnh đạt kiểm tra cấu trúc (portrait passes the structural check)."
	default:
		out.Message = ruleMessage(rule)
	}
	p.W.Header().Set("Content-Type", "application/json; charset=utf-8")
	p.W.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(p.W).Encode(out)
}

// clerkReceipt shows the receipt number of an application just submitted.
func (c *Console) clerkReceipt(p *Page) error {
	d, err := c.intake.Show(p.Ctx(), p.User, p.R.PathValue("receipt"))
	if err != nil {
		return err
	}
	p.Flash("Đã tiếp nhận hồ sơ (application submitted).")
	return p.Render("clerk_receipt", L("Biên nhận hồ sơ", "Receipt"), d)
}

// portrait serves an application's portrait to staff who may see the application.
func (c *Console) portrait(p *Page) error {
	d, err := c.intake.Show(p.Ctx(), p.User, p.R.PathValue("receipt"))
	if err != nil {
		return err
	}
	p.W.Header().Set("Content-Type", "image/jpeg")
	p.W.Header().Set("Cache-Control", "private, no-store")
	_, err = p.W.Write(d.Application.Portrait)
	return err
}
