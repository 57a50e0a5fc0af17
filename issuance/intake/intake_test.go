package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/idnum"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const office = "001-HK01"

// testPortrait draws a plain 300x400 JPEG (a stand-in for a captured portrait).
func testPortrait(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 300, 400))
	for y := 0; y < 400; y++ {
		for x := 0; x < 300; x++ {
			img.Set(x, y, color.RGBA{uint8(200 - y/4), uint8(180 + x/10), 220, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 70}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func resident(t testing.TB, serial int, female bool) issuance.Person {
	t.Helper()
	id, err := idnum.Make("001", 1990, female, serial)
	if err != nil {
		t.Fatal(err)
	}
	sex, name := issuance.SexMale, "Nguyễn Văn Đức"
	if female {
		sex, name = issuance.SexFemale, "Nguyễn Thị Ngọc Ánh"
	}
	return issuance.Person{IDNumber: id, FullName: name, DateOfBirth: issuance.MustParseDate("1990-03-15"), Sex: sex,
		Nationality: "Việt Nam", Ethnicity: "Kinh", Religion: "Không", PlaceOfOrigin: "Xã Yên Sở, Hoài Đức, Hà Nội",
		PlaceOfResidence: "Số 12 Phố Huế, Phường Hàng Bài, Hoàn Kiếm, Hà Nội", Father: "Nguyễn Văn Hùng", Mother: "Trần Thị Lan"}
}

type fixture struct {
	pool                 *pgxpool.Pool
	svc                  *intake.Service
	clerk, clerk2, sup   intake.User
	otherSup, supAsClerk intake.User
	tokens               map[string]string
}

func setup(t *testing.T, residents ...issuance.Person) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{pool: storetest.New(t), tokens: map[string]string{}}
	f.svc = intake.New(f.pool)
	f.svc.Today = func() issuance.Date { return issuance.MustParseDate("2026-11-20") }
	users := []*intake.User{&f.clerk, &f.clerk2, &f.sup, &f.otherSup}
	specs := []intake.User{{"lan.clerk", "clerk", office}, {"minh.clerk", "clerk", office},
		{"hoa.sup", "supervisor", office}, {"tuan.sup", "supervisor", "079-Q1"}}
	for i, u := range specs {
		tok, err := f.svc.AddUser(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[u.Name] = tok
		*users[i] = u
	}
	var lines bytes.Buffer
	for _, r := range residents {
		b, _ := json.Marshal(r)
		lines.Write(append(b, '\n'))
	}
	if _, err := f.svc.ImportRegister(ctx, &lines, nil); err != nil {
		t.Fatal(err)
	}
	return f
}

func application(t testing.TB, p issuance.Person) issuance.Application {
	return issuance.Application{Person: p, Portrait: testPortrait(t), Reason: issuance.ReasonFirstIssue,
		IntakeOffice: office, Delivery: issuance.Delivery{Method: issuance.DeliveryOffice, Office: office}}
}

func TestSubmitApproveDualControl(t *testing.T) {
	ctx := context.Background()
	p := resident(t, 1, true)
	f := setup(t, p)
	sub, err := f.svc.Submit(ctx, f.clerk, application(t, p))
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.ChangedFields) != 0 {
		t.Fatalf("unchanged record flagged %v", sub.ChangedFields)
	}
	tests := []struct {
		name string
		who  intake.User
		want error
	}{
		{"clerk cannot decide", f.clerk, intake.ErrForbidden},
		{"supervisor of another office", f.otherSup, intake.ErrWrongOffice},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.svc.Decide(ctx, tc.who, intake.Decision{Receipt: sub.Receipt, Approve: true}); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if err := f.svc.Decide(ctx, f.sup, intake.Decision{Receipt: sub.Receipt, Approve: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Decide(ctx, f.sup, intake.Decision{Receipt: sub.Receipt, Approve: true}); !errors.Is(err, intake.ErrNotSubmitted) {
		t.Fatalf("second approval: got %v, want ErrNotSubmitted", err)
	}
	st, err := f.svc.Status(ctx, sub.Receipt)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "approved" || len(st.Timeline) != 2 {
		t.Fatalf("status %+v", st)
	}
	b, _ := json.Marshal(st)
	for _, secret := range []string{p.IDNumber, "Nguyễn", "hoa.sup", "lan.clerk"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("public status reveals %q: %s", secret, b)
		}
	}
}

func TestSupervisorWhoTookItCannotApprove(t *testing.T) {
	ctx := context.Background()
	p := resident(t, 2, false)
	f := setup(t, p)
	// A user who is a supervisor cannot submit (only clerks take applications), so dual
	// control is checked on the name: make the clerk's name match by a second account.
	sub, err := f.svc.Submit(ctx, f.clerk, application(t, p))
	if err != nil {
		t.Fatal(err)
	}
	same := intake.User{Name: f.clerk.Name, Role: "supervisor", Office: office}
	if err := f.svc.Decide(ctx, same, intake.Decision{Receipt: sub.Receipt, Approve: true}); !errors.Is(err, intake.ErrSameClerk) {
		t.Fatalf("got %v, want ErrSameClerk", err)
	}
}

func TestOneOpenApplicationPerCitizen(t *testing.T) {
	ctx := context.Background()
	p := resident(t, 3, false)
	f := setup(t, p)
	first, err := f.svc.Submit(ctx, f.clerk, application(t, p))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Submit(ctx, f.clerk2, application(t, p)); !errors.Is(err, intake.ErrDuplicateApplication) {
		t.Fatalf("second open application: got %v, want ErrDuplicateApplication", err)
	}
	if err := f.svc.Decide(ctx, f.sup, intake.Decision{Receipt: first.Receipt, Reason: "ảnh không đạt"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Submit(ctx, f.clerk2, application(t, p)); err != nil {
		t.Fatalf("after rejection a new application must be accepted: %v", err)
	}
}

func TestRejectNeedsReason(t *testing.T) {
	ctx := context.Background()
	p := resident(t, 4, true)
	f := setup(t, p)
	sub, _ := f.svc.Submit(ctx, f.clerk, application(t, p))
	if err := f.svc.Decide(ctx, f.sup, intake.Decision{Receipt: sub.Receipt, Reason: "  "}); !errors.Is(err, intake.ErrReasonRequired) {
		t.Fatalf("got %v", err)
	}
}

func TestChangedFieldsFlagged(t *testing.T) {
	ctx := context.Background()
	p := resident(t, 5, true)
	f := setup(t, p)
	changed := p
	changed.PlaceOfResidence = "Số 5 Đường Láng, Đống Đa, Hà Nội"
	changed.Spouse = "Lê Văn Tâm"
	sub, err := f.svc.Submit(ctx, f.clerk, application(t, changed))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(sub.ChangedFields, ",") != "place_of_residence,spouse" {
		t.Fatalf("changed fields %v", sub.ChangedFields)
	}
}

func TestNotInRegister(t *testing.T) {
	f := setup(t)
	if _, err := f.svc.Submit(context.Background(), f.clerk, application(t, resident(t, 6, false))); !errors.Is(err, intake.ErrNotInRegister) {
		t.Fatalf("got %v", err)
	}
}

func TestImportRegisterBadLineChangesNothing(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	good, _ := json.Marshal(resident(t, 7, false))
	bad := resident(t, 8, false)
	bad.Sex = issuance.SexFemale // disagrees with the century/sex digit
	badLine, _ := json.Marshal(bad)
	tests := []struct {
		name, input, want string
	}{
		{"inconsistent sex", string(good) + "\n" + string(badLine) + "\n", "line 2"},
		{"not json", string(good) + "\n{\"id_number\": \n", "line 2"},
		{"duplicate", string(good) + "\n" + string(good) + "\n", "register line 2: issuance: id_number: also on line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.ImportRegister(ctx, strings.NewReader(tc.input), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
			var n int
			f.pool.QueryRow(ctx, "SELECT count(*) FROM residents").Scan(&n)
			if n != 0 {
				t.Fatalf("failed import left %d rows", n)
			}
		})
	}
}

func TestImportRegisterLargeFileNamesBadLine(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	var b strings.Builder
	for i := 1; i <= 5000; i++ {
		p := resident(t, 1000+i, i%2 == 0)
		if i == 4321 {
			p.DateOfBirth = issuance.MustParseDate("1991-03-15") // disagrees with the year digits
		}
		line, _ := json.Marshal(p)
		b.Write(append(line, '\n'))
	}
	_, err := f.svc.ImportRegister(ctx, strings.NewReader(b.String()), nil)
	if err == nil || !strings.Contains(err.Error(), "line 4321:") {
		t.Fatalf("got %v, want an error naming line 4321", err)
	}
	good := strings.Replace(b.String(), `"date_of_birth":"1991-03-15"`, `"date_of_birth":"1990-03-15"`, 1)
	res, err := f.svc.ImportRegister(ctx, strings.NewReader(good), nil)
	if err != nil || res.Rows != 5000 {
		t.Fatalf("import: %+v %v", res, err)
	}
	if _, err := f.svc.Lookup(intake.WithUser(ctx, f.clerk), resident(t, 1000+4321, false).IDNumber); err != nil {
		t.Fatal(err)
	}
}
