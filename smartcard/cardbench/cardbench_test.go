package cardbench

import (
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/smartcard/emrtd"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" for valid
	}{
		{"zero value", Config{}, ""},
		{"explicit", Config{N: 5, Slot: 11, DG2Size: 18000, RoundTrips: 10}, ""},
		{"negative n", Config{N: -1}, "n -1"},
		{"negative round trips", Config{RoundTrips: -2}, "round trips"},
		{"negative dg2", Config{DG2Size: -1}, "dg2 size"},
		{"dg2 too big", Config{DG2Size: 70000}, "exceeds"},
		{"slot too high", Config{Slot: 16}, "slot 16"},
		{"negative slot", Config{Slot: -1}, "slot -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Validate() = %v, want an error naming %q", err, tc.wantErr)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	got := Config{}.withDefaults()
	want := Config{N: DefaultN, Slot: DefaultSlot, DG2Size: 18000, RoundTrips: DefaultRoundTrips}
	if got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
	if kept := (Config{N: 3, Slot: 12, DG2Size: 1000, RoundTrips: 7}); kept.withDefaults() != kept {
		t.Errorf("set fields changed: %+v", kept.withDefaults())
	}
}

func ms(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestStat(t *testing.T) {
	tests := []struct {
		name     string
		samples  []time.Duration
		p50, p95 time.Duration
	}{
		{"empty", nil, 0, 0},
		{"one", ms(7), 7 * time.Millisecond, 7 * time.Millisecond},
		{"two", ms(9, 1), 1 * time.Millisecond, 9 * time.Millisecond},
		{"unsorted ten", ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), 5 * time.Millisecond, 10 * time.Millisecond},
		// Nearest rank over 20: p50 is the 10th, p95 the 19th.
		{"twenty", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20), 10 * time.Millisecond, 19 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := stat("x", tc.samples)
			if s.Name != "x" || s.P50 != tc.p50 || s.P95 != tc.p95 {
				t.Errorf("stat = %+v, want p50 %v p95 %v", s, tc.p50, tc.p95)
			}
		})
	}
}

func TestGroup(t *testing.T) {
	steps := []emrtd.Step{
		{Name: "select MF", Duration: 1}, {Name: "read EF.CardAccess", Duration: 2}, {Name: "PACE", Duration: 100}, {Name: "select application", Duration: 4},
		{Name: "read EF.COM", Duration: 8}, {Name: "read DG14", Duration: 16}, {Name: "chip authentication", Duration: 200}, {Name: "read EF.SOD", Duration: 32},
		{Name: "read DG1", Duration: 64}, {Name: "read DG2", Duration: 128}, {Name: "active authentication", Duration: 300},
	}
	got := group(steps)
	want := map[string]time.Duration{StepPACE: 100, StepCA: 200, StepAA: 300, StepRead: 1 + 2 + 4 + 8 + 16 + 32 + 64 + 128}
	if len(got) != len(want) {
		t.Fatalf("group = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestComplete(t *testing.T) {
	tests := []struct {
		name string
		doc  emrtd.Document
		ok   bool
	}{
		{"all", emrtd.Document{Access: emrtd.AccessPACECAN, ChipAuthenticated: true, ActiveAuthenticated: true}, true},
		{"BAC", emrtd.Document{Access: emrtd.AccessBAC, ChipAuthenticated: true, ActiveAuthenticated: true}, false},
		{"no CA", emrtd.Document{Access: emrtd.AccessPACECAN, ActiveAuthenticated: true}, false},
		{"no AA", emrtd.Document{Access: emrtd.AccessPACECAN, ChipAuthenticated: true}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := complete(&tc.doc); (err == nil) != tc.ok {
				t.Errorf("complete = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
