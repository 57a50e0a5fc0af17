package vchiptest

import (
	"context"
	"testing"

	"github.com/cccd-project/cccd/smartcard/emrtd"
)

func TestBench(t *testing.T) {
	tests := []struct {
		name string
		cfg  BenchConfig
	}{
		{"PACE-CAN extended", BenchConfig{Cards: 1}},
		{"BAC short", BenchConfig{Cards: 1, Access: emrtd.AccessBAC, Short: true, DG2Size: 1000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Bench(context.Background(), tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Cards != 1 || !res.ChipAuth || !res.ActiveAuth || res.ReadAPDUs == 0 || res.PersoAPDUs == 0 || len(res.Steps) == 0 {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func TestBenchConfigValidate(t *testing.T) {
	for _, cfg := range []BenchConfig{{Cards: -1}, {DG2Size: -1}, {Access: "EAC"}} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}
