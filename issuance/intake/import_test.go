package intake_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/registry"
)

// line returns p as a register line, after edit changes its JSON object.
func line(t testing.TB, p issuance.Person, edit func(m map[string]any)) string {
	t.Helper()
	b, _ := json.Marshal(p)
	m := map[string]any{}
	json.Unmarshal(b, &m)
	if edit != nil {
		edit(m)
	}
	b, _ = json.Marshal(m)
	return string(b)
}

// TestImportRegisterStrict: each kind of dirty line is refused all-or-nothing, naming its line, field and
// rule in words (no SQLSTATE, no Go type name), and the register stays empty.
func TestImportRegisterStrict(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	good := line(t, resident(t, 20, false), nil)
	p := resident(t, 21, false)
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	for _, c := range []struct {
		name, bad, want string
	}{
		{"invalid UTF-8", strings.Replace(line(t, p, nil), "Phố Huế", "Ph\xf4 Hu\xe9", 1), "line 2: issuance: place_of_residence: must be valid UTF-8"},
		{"lone surrogate", strings.Replace(line(t, p, nil), "Phố Huế", `Ph\ud800`, 1), "line 2: issuance: place_of_residence: escaped lone surrogate"},
		{"born in the future", line(t, p, set("date_of_birth", "2090-03-15")), "line 2: issuance: id_number: century/sex digit does not match the century of date_of_birth; issuance: date_of_birth: in the future"},
		{"born after today", line(t, p, set("date_of_birth", "2026-12-25")), "issuance: id_number: birth year digits do not match date_of_birth; issuance: date_of_birth: in the future"},
		{"born before 1900", line(t, p, set("date_of_birth", "1899-12-31")), "date_of_birth: before 1900-01-01"},
		{"not a date", line(t, p, set("date_of_birth", strings.Repeat("9", 70000))), "line 2: issuance: line: longer than 16 KiB"},
		{"bad date", line(t, p, set("date_of_birth", "1990-02-30")), `date_of_birth: invalid date "1990-02-30"`},
		{"unknown key", line(t, p, set("full_nmae", "x")), "line 2: issuance: full_nmae: unknown field"},
		{"duplicate key", strings.Replace(line(t, p, nil), `{`, `{"full_name":"Trần Văn An",`, 1), "line 2: issuance: full_name: duplicate field"},
		{"number for a string", line(t, p, set("sex", 1)), "sex: want string, got JSON number"},
		{"html in a name", line(t, p, set("full_name", "<b>An</b>")), "full_name: must start with a letter"},
		{"emoji in a place", line(t, p, set("place_of_origin", "Hà Nội 😀")), "place_of_origin: only Vietnamese letters, digits"},
		{"bidi override", line(t, p, set("father", "Nguyễn\u202eVăn")), "father: only Vietnamese letters, spaces and ' - . allowed; found bidi or zero-width character U+202E"},
		{"tab", line(t, p, set("mother", "Trần\tThị Lan")), ""}, // a tab between words is white space: normalized to one space
		{"60 KB name", line(t, p, set("full_name", strings.Repeat("A", 10000))), "full_name: longer than 100 characters"},
		{"unknown ethnicity", line(t, p, set("ethnicity", "Klingon")), "ethnicity: must be one of the 54 ethnic groups"},
		{"not an object", "[1,2]", "line 2: issuance: line: must be one JSON object"},
		{"trailing data", line(t, p, nil) + " {}", "line: data after the JSON object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := f.svc.ImportRegister(ctx, strings.NewReader(good+"\n"+c.bad+"\n"), nil)
			var n int
			f.pool.QueryRow(ctx, "SELECT count(*) FROM residents").Scan(&n)
			if c.want == "" {
				if err != nil || res.Rows != 2 || n != 2 {
					t.Fatalf("import: %v, %d rows, %d in the register", err, res.Rows, n)
				}
				f.pool.Exec(ctx, "DELETE FROM residents")
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, c.want)
			}
			for _, leak := range []string{"SQLSTATE", "pgconn", "*json.", "reflect", "issuance.Person", "registry.Resident"} {
				if strings.Contains(err.Error(), leak) {
					t.Fatalf("error passes on %q: %v", leak, err)
				}
			}
			if n != 0 {
				t.Fatalf("failed import left %d rows", n)
			}
		})
	}
}

// TestImportRegisterNormalizes: NFD names are stored NFC, a byte-order mark is skipped, and pre-fill serves
// the register's record so that an untouched application is not flagged as changed.
func TestImportRegisterNormalizes(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	p := resident(t, 30, true)
	nfd := p
	nfd.FullName = norm.NFD.String(p.FullName)
	nfd.PlaceOfResidence = norm.NFD.String(p.PlaceOfResidence)
	if nfd.FullName == p.FullName {
		t.Fatal("test name has no decomposable letter")
	}
	file := "\xEF\xBB\xBF" + line(t, nfd, nil) + "\r\n"
	if _, err := f.svc.ImportRegister(ctx, strings.NewReader(file), nil); err != nil {
		t.Fatalf("import with BOM and NFD: %v", err)
	}
	got, err := f.svc.Lookup(intake.WithUser(ctx, f.clerk), p.IDNumber)
	if err != nil {
		t.Fatal(err)
	}
	if got.FullName != p.FullName || got.PlaceOfResidence != p.PlaceOfResidence {
		t.Fatalf("stored %q / %q, want NFC %q / %q", got.FullName, got.PlaceOfResidence, p.FullName, p.PlaceOfResidence)
	}
	sub, err := f.svc.Submit(ctx, f.clerk, application(t, got))
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.ChangedFields) != 0 {
		t.Fatalf("untouched pre-filled application flagged as changed: %v", sub.ChangedFields)
	}
}

// TestImportRegisterRejects loads a 100,000-line register with 1 % bad lines with a rejects file: the good
// lines load, and the rejects file lists each bad line with its rule and a summary by rule.
func TestImportRegisterRejects(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	var file bytes.Buffer
	if err := (registry.Generator{Seed: 20}).WriteJSONL(&file, 100_000); err != nil {
		t.Fatal(err)
	}
	damage := []struct{ rule, from, to string }{
		{"date_of_birth: in the future", `"date_of_birth":"`, ""}, // the year becomes 28xx
		{"x: unknown field", `"phone":`, `"x":"1","phone":`},
		{"full_name: duplicate field", `"sex":`, `"full_name":"An","sex":`},
		{"place_of_origin: must be valid UTF-8", `"place_of_origin":"`, "\"place_of_origin\":\"\xff"},
		{"ethnicity: must be one of the 54 ethnic groups", `"ethnicity":"`, `"ethnicity":"Z`},
	}
	var out bytes.Buffer
	wantBad := map[int64]string{}
	sc := bufio.NewScanner(&file)
	n := int64(0)
	var first string
	for sc.Scan() {
		n++
		l := sc.Text()
		if n == 1 {
			first = l
		}
		switch {
		case n%100 == 50:
			d := damage[(n/100)%int64(len(damage))]
			if d.from == `"date_of_birth":"` {
				i := strings.Index(l, d.from) + len(d.from)
				l = l[:i] + "28" + l[i+2:]
			} else {
				l = strings.Replace(l, d.from, d.to, 1)
			}
			wantBad[n] = d.rule
		case n == 99_999: // the first line again
			l = first
			wantBad[n] = "id_number: also on line 1 of this file"
		}
		out.WriteString(l + "\n")
	}
	var rejects bytes.Buffer
	res, err := f.svc.ImportRegisterWith(ctx, &out, intakeOptions(&rejects))
	if err != nil {
		t.Fatal(err)
	}
	var stored int64
	f.pool.QueryRow(ctx, "SELECT count(*) FROM residents").Scan(&stored)
	if int64(len(wantBad)) != 1001 || res.Refused != 1001 || res.Rows != 100_000-1001 || stored != res.Rows {
		t.Fatalf("loaded %d (stored %d), refused %d; want %d and %d", res.Rows, stored, res.Refused, 100_000-len(wantBad), len(wantBad))
	}
	sc = bufio.NewScanner(&rejects)
	sc.Buffer(nil, 1<<20)
	got := 0
	var summary struct {
		Summary *struct {
			Loaded, Refused int64
			ByRule          []struct {
				Rule  string
				Lines int64
			} `json:"by_rule"`
		}
	}
	for sc.Scan() {
		var rec struct {
			Line       int64
			Errors     []struct{ Field, Rule string }
			Text       *string
			TextBase64 string `json:"text_base64"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("rejects line %q: %v", sc.Text(), err)
		}
		if rec.Line == 0 {
			json.Unmarshal(sc.Bytes(), &summary)
			continue
		}
		want, ok := wantBad[rec.Line]
		found := false
		for _, e := range rec.Errors {
			found = found || strings.HasPrefix(e.Field+": "+e.Rule, want)
		}
		if !ok || !found {
			t.Fatalf("rejects: line %d %+v; want %q", rec.Line, rec.Errors, want)
		}
		if rec.Text == nil && rec.TextBase64 == "" {
			t.Fatalf("rejects: line %d without its text", rec.Line)
		}
		got++
	}
	if got != len(wantBad) || summary.Summary == nil || summary.Summary.Refused != 1001 || summary.Summary.Loaded != res.Rows {
		t.Fatalf("rejects file: %d lines, summary %+v", got, summary.Summary)
	}
	byRule := map[string]int64{}
	for _, r := range summary.Summary.ByRule {
		byRule[r.Rule] = r.Lines
	}
	if byRule["id_number: also on another line of this file"] != 1 || byRule["date_of_birth: in the future"] != 200 {
		t.Fatalf("summary by rule: %v", byRule)
	}

	// A second import into the now non-empty register: lines already there are refused, new ones load.
	again := line(t, resident(t, 40, false), nil) + "\n" + first + "\n"
	rejects.Reset()
	res, err = f.svc.ImportRegisterWith(ctx, strings.NewReader(again), intakeOptions(&rejects))
	if err != nil || res.Rows != 1 || res.Refused != 1 || !strings.Contains(rejects.String(), `"line":2,"errors":[{"field":"id_number","rule":"already in the register"}]`) {
		t.Fatalf("merge import: %+v %v\n%s", res, err, rejects.String())
	}
}

func intakeOptions(rejects io.Writer) intake.ImportOptions {
	return intake.ImportOptions{Rejects: rejects}
}
