package registry

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/idnum"
	"github.com/cccd-project/cccd/issuance/portrait"
)

func TestPlacesData(t *testing.T) {
	if len(places) != 63 {
		t.Fatalf("places.tsv has %d provinces, want 63", len(places))
	}
	seen := map[string]bool{}
	for _, p := range places {
		if seen[p.code] {
			t.Errorf("province %s twice", p.code)
		}
		seen[p.code] = true
		if len(p.districts) < 3 {
			t.Errorf("province %s: %d districts, want >= 3", p.code, len(p.districts))
		}
		for _, d := range p.districts {
			if !utf8.ValidString(d.name) || strings.ContainsAny(d.name, "\u2028\u2029\"\\") {
				t.Errorf("district %q: not plain UTF-8", d.name)
			}
			if !issuance.ValidOfficeCode(d.office) {
				t.Errorf("district %s: office %q invalid", d.name, d.office)
			}
			if !norm.NFC.IsNormalString(d.name) {
				t.Errorf("district %q not NFC", d.name)
			}
		}
	}
	for name, w := range pools {
		for _, v := range w.values {
			if !utf8.ValidString(v) || strings.ContainsAny(v, "\u2028\u2029") || !norm.NFC.IsNormalString(v) {
				t.Errorf("%s: %q not NFC", name, v)
			}
		}
	}
}

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGolden pins the output of seed 1: a change to the data files or the generator that alters the
// register shows up here (regenerate with go test -update after checking the diff).
func TestGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := (Generator{Seed: 1}).WriteJSONL(&buf, 5); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "seed1.jsonl.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("output of seed 1 changed:\n got %s\nwant %s", buf.Bytes(), want)
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	var a, b, c bytes.Buffer
	if err := (Generator{Seed: 7}).WriteJSONL(&a, 500); err != nil {
		t.Fatal(err)
	}
	if err := (Generator{Seed: 7}).WriteJSONL(&b, 500); err != nil {
		t.Fatal(err)
	}
	if err := (Generator{Seed: 8}).WriteJSONL(&c, 500); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("same seed gave different output")
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Errorf("different seeds gave the same output")
	}
	// A prefix of a longer run is the shorter run.
	var d bytes.Buffer
	if err := (Generator{Seed: 7}).WriteJSONL(&d, 1000); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(d.Bytes(), a.Bytes()) {
		t.Errorf("first 500 of 1000 differ from a run of 500")
	}
}

// TestJSONLMatchesEncodingJSON checks the hand-written encoder against encoding/json, line by line.
func TestJSONLMatchesEncodingJSON(t *testing.T) {
	g := Generator{Seed: 3}
	rs, err := g.Residents(2000)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := g.WriteJSONL(&buf, len(rs)); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	i := 0
	for ; sc.Scan(); i++ {
		want, err := json.Marshal(rs[i])
		if err != nil {
			t.Fatal(err)
		}
		if got := sc.Text(); got != string(want) {
			t.Fatalf("line %d:\n got %s\nwant %s", i, got, want)
		}
	}
	if i != len(rs) {
		t.Errorf("%d lines, want %d", i, len(rs))
	}
}

func TestAppendStringEscapes(t *testing.T) {
	for _, s := range []string{"plain", `quo"te`, `back\slash`, "tab\tnl\n", "\x00\x1f", "<a&b>", "bad\xffutf8", "\u2028\u2029", "H'Mông Đức"} {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s, false); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

// TestResidentsAreValid makes intake applications out of generated residents and validates them with the
// real intake rules.
func TestResidentsAreValid(t *testing.T) {
	photo, err := portrait.Generate(1)
	if err != nil {
		t.Fatal(err)
	}
	g := Generator{Seed: 11}
	err = g.Each(800, func(r *Resident) error {
		a := r.Application(issuance.ReasonFirstIssue, photo)
		if err := a.Validate(DefaultAsOf); err != nil {
			t.Errorf("resident %s (%s, born %v): %v", r.IDNumber, r.FullName, r.DateOfBirth, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestResidentsConsistent(t *testing.T) {
	const n = 200_000
	ids := make(map[string]struct{}, n)
	cmnds := map[string]struct{}{}
	var nguyen, kinh, female, married, minors, withCMND, huynh, hoang int
	err := Generator{Seed: 5}.Each(n, func(r *Resident) error {
		if _, dup := ids[r.IDNumber]; dup {
			t.Fatalf("duplicate ID number %s", r.IDNumber)
		}
		ids[r.IDNumber] = struct{}{}
		if r.PreviousIDNumber != "" {
			if _, dup := cmnds[r.PreviousIDNumber]; dup {
				t.Fatalf("duplicate CMND %s", r.PreviousIDNumber)
			}
			cmnds[r.PreviousIDNumber] = struct{}{}
			withCMND++
		}
		num, err := idnum.Parse(r.IDNumber)
		if err != nil {
			t.Fatalf("%s: %v", r.IDNumber, err)
		}
		if err := idnum.CheckBirth(num, r.DateOfBirth.Year, r.Sex == issuance.SexFemale); err != nil {
			t.Fatalf("%s born %v %s: %v", r.IDNumber, r.DateOfBirth, r.Sex, err)
		}
		if r.DateOfBirth.Compare(DefaultAsOf) > 0 || r.DateOfBirth.Year < 1900 {
			t.Fatalf("birth %v out of range", r.DateOfBirth)
		}
		surname, _, _ := strings.Cut(r.FullName, " ")
		if father, _, _ := strings.Cut(r.Father, " "); father != surname {
			t.Fatalf("%s: father %s has another surname", r.FullName, r.Father)
		}
		age := r.DateOfBirth.AgeOn(DefaultAsOf)
		if r.Spouse != "" {
			married++
			if age < 20 {
				t.Fatalf("%s married at %d", r.FullName, age)
			}
		}
		if age < 14 {
			minors++
		}
		switch surname {
		case "Nguyễn":
			nguyen++
		case "Huỳnh":
			huynh++
		case "Hoàng":
			hoang++
		}
		if r.Ethnicity == "Kinh" {
			kinh++
		}
		if r.Sex == issuance.SexFemale {
			female++
		}
		if !strings.HasPrefix(r.RegisteredOffice, r.ResidenceProvince+"-") || !strings.HasSuffix(r.PlaceOfResidence, provinceName(r.ResidenceProvince)) {
			t.Fatalf("residence %q / office %s / province %s disagree", r.PlaceOfResidence, r.RegisteredOffice, r.ResidenceProvince)
		}
		if len(r.Phone) != 10 || r.Phone[0] != '0' {
			t.Fatalf("phone %q", r.Phone)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	share := func(k int) float64 { return float64(k) / n }
	checks := []struct {
		name     string
		got      float64
		min, max float64
	}{
		{"Nguyễn", share(nguyen), 0.35, 0.41},
		{"Kinh", share(kinh), 0.82, 0.92},
		{"female", share(female), 0.48, 0.53},
		{"married", share(married), 0.40, 0.65},
		{"under 14", share(minors), 0.20, 0.26},
		{"with CMND", share(withCMND), 0.45, 0.70},
		{"Huỳnh", share(huynh), 0.01, 0.05},
		{"Hoàng", share(hoang), 0.01, 0.05},
	}
	for _, c := range checks {
		if c.got < c.min || c.got > c.max {
			t.Errorf("%s share %.3f outside [%.2f, %.2f]", c.name, c.got, c.min, c.max)
		}
	}
}

func provinceName(code string) string {
	p, _ := idnum.Lookup(code)
	return p.Name
}

func TestEachLimits(t *testing.T) {
	if err := (Generator{}).Each(MaxResidents+1, func(*Resident) error { return nil }); !errors.Is(err, ErrTooMany) {
		t.Errorf("Each(MaxResidents+1) = %v, want ErrTooMany", err)
	}
	stop := errors.New("stop")
	calls := 0
	err := Generator{}.Each(10, func(*Resident) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Each did not stop at the callback's error: %v after %d calls", err, calls)
	}
	if err := (Generator{}).WriteJSONL(failWriter{}, 100_000); err == nil {
		t.Errorf("WriteJSONL to a failing writer succeeded")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestNamesLookVietnamese(t *testing.T) {
	rs, err := Generator{Seed: 9}.Residents(5000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		for _, s := range []string{r.FullName, r.Father, r.Mother, r.PlaceOfOrigin, r.PlaceOfResidence} {
			if !utf8.ValidString(s) || !norm.NFC.IsNormalString(s) || s != strings.TrimSpace(s) {
				t.Fatalf("%q is not clean NFC text", s)
			}
		}
		if n := len(strings.Fields(r.FullName)); n < 3 || n > 4 {
			t.Errorf("name %q has %d words", r.FullName, n)
		}
	}
}

// BenchmarkWriteJSONL reports wall time and CPU time (user+system, all threads, from getrusage) per
// resident: on a shared machine the CPU figure is the stable one. 1,000,000 rows take 10^6 x ns/resident.
func BenchmarkWriteJSONL(b *testing.B) {
	const rows = 10_000
	var bytes int64
	cpu0 := cpuTime()
	for b.Loop() {
		cw := &countWriter{}
		if err := (Generator{Seed: 1}).WriteJSONL(cw, rows); err != nil {
			b.Fatal(err)
		}
		bytes = cw.n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/resident")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/rows, "cpu-ns/resident")
	b.ReportMetric(float64(bytes)/rows, "bytes/resident")
}

func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// FuzzAppendString checks the hand-written JSON string encoder against encoding/json.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"Nguyễn Văn Đức", `"\<>&`, "\x00\x7f\xff", "\u2028x\u2029", "H'Mông", "\xe2\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s, false); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
		if utf8.ValidString(s) && !strings.ContainsAny(s, "\u2028\u2029") {
			if got := appendString(nil, s, true); string(got) != string(want) {
				t.Errorf("appendString(%q, known) = %s, want %s", s, got, want)
			}
		}
	})
}
