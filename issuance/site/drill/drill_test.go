package drill_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cccd-project/cccd/issuance/site/drill"
)

// TestPlan: a seed gives one plan; with five faults or more every kind is in it, the
// database restarts once, the first NATS kill takes the work queue's leader, a network
// cut lasts 10-30 s, and the faults come in order.
func TestPlan(t *testing.T) {
	if !reflect.DeepEqual(drill.Plan(42, 8), drill.Plan(42, 8)) {
		t.Fatal("one seed, two plans")
	}
	if reflect.DeepEqual(drill.Plan(42, 8), drill.Plan(43, 8)) {
		t.Fatal("two seeds, one plan")
	}
	for seed := int64(1); seed < 200; seed++ {
		plan := drill.Plan(seed, 8)
		kinds := map[string]int{}
		leader := false
		for i, f := range plan {
			kinds[f.Kind]++
			if i > 0 && f.At <= plan[i-1].At || f.At <= 0 || f.At >= 1 {
				t.Fatalf("seed %d: fault %d at %.2f after %.2f", seed, i, f.At, plan[max(i-1, 0)].At)
			}
			if f.Kind == drill.CutNetwork && (f.Secs < 10 || f.Secs > 30) {
				t.Fatalf("seed %d: cut of %d s", seed, f.Secs)
			}
			if f.Kind == drill.KillNATS && !leader {
				if f.Pick != 0 {
					t.Fatalf("seed %d: the first NATS kill is not the leader's", seed)
				}
				leader = true
			}
		}
		if len(kinds) != 5 || kinds[drill.RestartDB] != 1 {
			t.Fatalf("seed %d: kinds %v", seed, kinds)
		}
	}
}

// TestSmallDrill runs the drill as `make test` does on every run: scripts/site.sh makes
// the test site, 100 applications go from approval to delivered while 3 faults are
// injected and chips are torn, and every invariant must hold. The site is removed
// afterwards, also when the drill fails.
func TestSmallDrill(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the drill's test site needs root (network namespaces); run `make test` as root")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "cccd")
	build := exec.Command("go", "build", "-o", bin, "./cmd/cccd")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	name := fmt.Sprintf("cccd-t%d", os.Getpid()%100000)
	script := filepath.Join(root, "scripts", "site.sh")
	t.Cleanup(func() {
		cmd := exec.Command(script, "down")
		cmd.Env = append(os.Environ(), "CCCD_SITE="+name)
		cmd.Run()
	})
	work := filepath.Join(dir, "drill")
	cmd := exec.Command(script, "drill", "--dir", work, "--apps", "100", "--faults", "3", "--seed", "20261204",
		"--tear-rate", "0.1", "--timeout", "8m")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CCCD_SITE="+name, "CCCD="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("drill: %v\n%s", err, tail(out, 6000))
	}
	b, err := os.ReadFile(filepath.Join(work, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep drill.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rep.Faults) != 3 || rep.TornCards == 0 || len(rep.Invariants) < 8 {
		t.Fatalf("faults %d, torn cards %d, invariants %d", len(rep.Faults), rep.TornCards, len(rep.Invariants))
	}
	t.Logf("%s", tail(out, 3000))
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
