package station_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/station"
)

func TestEventLine(t *testing.T) {
	job := workflow.Job{ID: "j1", ApplicationID: 42}
	cases := []struct {
		name string
		ev   station.Event
		want string
	}{
		{"good card", station.Event{Reader: 0, Job: job, Serial: "CHIP123", Duration: 212 * time.Millisecond},
			"reader 0: card CHIP123 for application 42: written+locked+verified in 212ms"},
		{"failed card", station.Event{Reader: 1, Job: job, Serial: "CHIP124", Duration: 1500 * time.Microsecond,
			Err: &station.StepError{Step: "write DG2", Err: errors.New("card removed")}},
			"reader 1: card CHIP124 for application 42: FAILED after 2ms: station: write DG2: card removed"},
		{"card not opened", station.Event{Reader: 2, Err: &station.StepError{Step: "connect", Err: errors.New("sharing violation")}},
			"reader 2: card (unread) (no job): FAILED after 0s: station: connect: sharing violation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ev.Line(); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
