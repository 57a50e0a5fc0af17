package console

import (
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// formFields are the fields an error may stand next to on the intake form.
var formFields = append(fieldNames(), "id_number", "portrait", "reason", "delivery_method", "delivery_office", "delivery_address", "form")

// FuzzApplicationForm feeds arbitrary form values through the intake form's decoding
// (applicationFromForm, then issuance's own validation): it must never panic, and every
// error it reports must stand next to a field of the form.
func FuzzApplicationForm(f *testing.F) {
	f.Add("Nguyễn Văn Đức", "15/03/1990", "M", "first_issue", "office", "001-HK01", "")
	f.Add("<script>alert(1)</script>", "31/02/1990", "X", "because", "post", "", "")
	f.Add("", "", "", "", "", "", "\xff\xfe")
	f.Add(strings.Repeat("Ữ", 300), "1990-03-15", "F", "renewal_age", "post", "nowhere", "Số 1 \x00 phố")
	f.Fuzz(func(t *testing.T, name, dob, sex, reason, method, office, address string) {
		v := url.Values{"id_number": {"001190000001"}, "full_name": {name}, "date_of_birth": {dob}, "sex": {sex},
			"nationality": {"Việt Nam"}, "ethnicity": {"Kinh"}, "religion": {"Không"}, "place_of_origin": {address},
			"place_of_residence": {address}, "reason": {reason}, "delivery_method": {method},
			"delivery_office": {office}, "delivery_address": {address}}
		r := httptest.NewRequest("POST", "/console/clerk/new", strings.NewReader(v.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		app, _, err := applicationFromForm(r, "001-HK01", nil)
		if err == nil {
			err = app.Validate(app.DateOfBirth)
			if err == nil {
				t.Fatal("an application without a portrait passed validation")
			}
		}
		form := &Form{}
		if !(&Console{}).formErrors(form, err) {
			t.Fatalf("error not shown next to a field: %v", err)
		}
		for field := range form.Errors {
			if !slices.Contains(formFields, field) {
				t.Fatalf("error for %q, not a field of the form", field)
			}
		}
	})
}

// FuzzCheckPassword checks that a stored hash of any shape is refused without a panic.
func FuzzCheckPassword(f *testing.F) {
	f.Add(hashPassword("mật khẩu đủ dài"), "mật khẩu đủ dài")
	f.Add("$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA", "x")
	f.Add("$argon2id$v=19$m=8,t=1,p=255$$", "")
	f.Fuzz(func(t *testing.T, phc, password string) {
		if len(phc) > 200 {
			return
		}
		checkPassword(phc, password)
	})
}
