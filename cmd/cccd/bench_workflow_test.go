package main

import (
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance/workflow"
)

func TestSpreadOfRuns(t *testing.T) {
	run := func(line float64, hand time.Duration) workflow.BenchResult {
		return workflow.BenchResult{Apps: 1000, LineRate: line, HandTime: hand}
	}
	hand := rate(func(r workflow.BenchResult) time.Duration { return r.HandTime })
	for _, tc := range []struct {
		name        string
		runs        []workflow.BenchResult
		f           func(workflow.BenchResult) float64
		med, lo, hi float64
	}{
		{"one run", []workflow.BenchResult{run(600, time.Second)}, line, 600, 600, 600},
		{"odd: the middle one", []workflow.BenchResult{run(700, 0), run(500, 0), run(650, 0)}, line, 650, 500, 700},
		{"even: between the middle two", []workflow.BenchResult{run(700, 0), run(500, 0), run(650, 0), run(550, 0)}, line, 600, 500, 700},
		{"rates from times", []workflow.BenchResult{run(0, 2*time.Second), run(0, time.Second/2), run(0, time.Second)}, hand, 1000, 500, 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			med, lo, hi := spread(tc.runs, tc.f)
			if med != tc.med || lo != tc.lo || hi != tc.hi {
				t.Errorf("spread = %v, %v, %v; want %v, %v, %v", med, lo, hi, tc.med, tc.lo, tc.hi)
			}
		})
	}
}
