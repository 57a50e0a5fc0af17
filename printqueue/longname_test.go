package printqueue_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/idnum"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/portrait"
	"github.com/cccd-project/cccd/issuance/store/storetest"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/printqueue"
	"github.com/cccd-project/cccd/printqueue/layout"
	"github.com/cccd-project/cccd/printqueue/qc"
)

// TestLongNamesIntakeToDelivery: citizens with a 51- and a 100-character name are taken at
// intake (the fitting rule accepts them), approved, personalized, printed with the name on
// two lines, pass print QC (the face read back equals the chip), are dispatched, received and
// handed over. A name that cannot fit the face even on two lines at the smallest size is
// refused at intake with the field and the rule, before anything is written. The fronts are
// written as PNG (pdftoppm) next to the test's output for a person to look at
// (CCCD_FACES_DIR keeps them).
func TestLongNamesIntakeToDelivery(t *testing.T) {
	ctx := context.Background()
	pool := storetest.New(t)
	svc := intake.New(pool)
	svc.Today = func() issuance.Date { return issueDay }
	clerk := intake.User{Name: "lan.clerk", Role: intake.RoleClerk, Office: "001-HK01"}
	sup := intake.User{Name: "hoa.sup", Role: intake.RoleSupervisor, Office: "001-HK01"}
	for _, u := range []intake.User{clerk, sup} {
		if _, err := svc.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{
		"Công Tôn Nữ Thị Hoàng Hạ Uyên Phương Thảo Ngọc Bích",
		"Đặng Thị Hồng Nhung Phương Thảo Ngọc Bích Diễm Quỳnh Hương Giang Bảo Ngọc Ánh Dương Tuyết Mai Lan Vy",
		strings.Repeat("MMMMMMMMM ", 10)[:99] + "M", // 100 characters, all wide: needs more than two lines
	}
	var people []issuance.Person
	var register bytes.Buffer
	for i, name := range names {
		id, err := idnum.Make("001", 1990, true, 700+i)
		if err != nil {
			t.Fatal(err)
		}
		if n := len([]rune(name)); n != 51 && n != 100 {
			t.Fatalf("name %d has %d characters", i, n)
		}
		p := issuance.Person{IDNumber: id, FullName: name, DateOfBirth: issuance.MustParseDate("1990-03-15"), Sex: issuance.SexFemale,
			Nationality: "Việt Nam", Ethnicity: "Kinh", Religion: "Không", PlaceOfOrigin: "Xã Yên Sở, Hoài Đức, Hà Nội",
			PlaceOfResidence: "Số 12 Phố Huế, Phường Hàng Bài, Hoàn Kiếm, Hà Nội", Father: "Nguyễn Văn Hùng", Mother: "Trần Thị Lan"}
		people = append(people, p)
		b, _ := json.Marshal(p)
		register.Write(append(b, '\n'))
	}
	if _, err := svc.ImportRegister(ctx, &register, nil); err != nil {
		t.Fatal(err)
	}
	var receipts []string
	for i, p := range people {
		jpeg, err := portrait.Generate(int64(i))
		if err != nil {
			t.Fatal(err)
		}
		app := issuance.Application{Person: p, Portrait: jpeg, Reason: issuance.ReasonFirstIssue, IntakeOffice: "001-HK01",
			Delivery: issuance.Delivery{Method: issuance.DeliveryOffice, Office: "001-HK01"}}
		sub, err := svc.Submit(ctx, clerk, app)
		if i == 2 {
			var fe issuance.FieldError
			if !errors.As(err, &fe) || fe.Field != "full_name" || !strings.Contains(fe.Rule, "too long to print on the card face") {
				t.Fatalf("unprintable name: %v, want a full_name FieldError (422)", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", p.FullName, err)
		}
		if err := svc.Decide(ctx, sup, intake.Decision{Receipt: sub.Receipt, Approve: true}); err != nil {
			t.Fatal(err)
		}
		receipts = append(receipts, sub.Receipt)
	}
	var apps int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM applications").Scan(&apps); err != nil || apps != 2 {
		t.Fatalf("%d applications recorded (%v), want 2: the refused one wrote nothing", apps, err)
	}

	w := newWorldOn(t, pool, printqueue.Config{}, 0)
	w.start()
	w.waitFor("both applications qc_passed", 2, "SELECT count(*) FROM applications WHERE state = 'qc_passed'")

	d, _ := layout.Lookup(layout.DefaultDesign)
	faces := os.Getenv("CCCD_FACES_DIR")
	if faces == "" {
		faces = t.TempDir()
	}
	for i, receipt := range receipts {
		var id int64
		if err := pool.QueryRow(ctx, "SELECT id FROM applications WHERE receipt = $1", receipt).Scan(&id); err != nil {
			t.Fatal(err)
		}
		_, _, dg13raw, err := w.engine.Readback(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		jobs, err := printqueue.List(ctx, pool, printqueue.Filter{Receipt: receipt})
		if err != nil || len(jobs) != 1 || jobs[0].State != printqueue.Printed {
			t.Fatalf("%s: print jobs %+v %v, want one printed at the first attempt", receipt, jobs, err)
		}
		pdf, err := os.ReadFile(jobs[0].PDF)
		if err != nil {
			t.Fatal(err)
		}
		pages, err := qc.Extract(ctx, pdf)
		if err != nil {
			t.Fatal(err)
		}
		face, err := qc.ReadFace(pages, d)
		if err != nil {
			t.Fatal(err)
		}
		dg13, err := lds.ParseDG13(dg13raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := qc.Normalize(face.Fields["FullName"]); got != strings.ToUpper(names[i]) || dg13.FullName != names[i] {
			t.Errorf("%s: face %q, chip %q, want %q", receipt, got, dg13.FullName, names[i])
		}
		png := filepath.Join(faces, fmt.Sprintf("longname-%d-front", len([]rune(names[i]))))
		if out, err := exec.Command("pdftoppm", "-png", "-r", "300", "-f", "1", "-l", "1", "-singlefile", jobs[0].PDF, png).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm: %v: %s", err, out)
		}
		t.Logf("%d-character name: front face %s.png", len([]rune(names[i])), png)
	}

	office := ledger.Actor{Name: "staff1", Role: "office", Office: "001-HK01"}
	sh, err := w.engine.Dispatch(ctx, operator, "001-HK01", 0)
	if err != nil || len(sh.Items) != 2 {
		t.Fatalf("dispatch %+v %v", sh, err)
	}
	if _, err := w.engine.Receive(ctx, office, sh.ID); err != nil {
		t.Fatal(err)
	}
	for _, it := range sh.Items {
		if err := w.engine.Hand(ctx, office, workflow.Handover{Receipt: it.Receipt, Serial: it.Serial, Outcome: "delivered", ReceivedBy: "Chủ thẻ"}); err != nil {
			t.Fatal(err)
		}
	}
	w.waitFor("both delivered", 2, "SELECT count(*) FROM applications WHERE state = 'delivered'")
	w.reconcile()
}
