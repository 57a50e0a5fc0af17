package workflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
)

// TestStageSetOutcomes checks how a set stage settles each event: a set that fails is
// retried one application at a time, so that only the bad record's event fails; paused
// applications are held; malformed events go to the dead-letter list.
func TestStageSetOutcomes(t *testing.T) {
	var calls [][]int64
	s := &StageWorker{Name: "print", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		DoSet: func(_ context.Context, ids []int64) ([]int64, error) {
			calls = append(calls, slices.Clone(ids))
			if slices.Contains(ids, 5) {
				return nil, errors.New("card of application 5 is not encoded")
			}
			if slices.Contains(ids, 4) {
				return []int64{4}, nil
			}
			return nil, nil
		}}
	event := func(id int64) Message {
		return Message{Subject: "cccd.app.personalized", Data: fmt.Appendf(nil, `{"event_id":"e%d","application_id":%d}`, id, id)}
	}
	msgs := []Message{event(1), event(4), {Subject: "cccd.app.personalized", Data: []byte("{")}, event(5), event(2)}
	errs := s.handleSet(context.Background(), msgs)
	if len(errs) != len(msgs) {
		t.Fatalf("%d outcomes for %d messages", len(errs), len(msgs))
	}
	if errs[0] != nil || errs[4] != nil {
		t.Errorf("good applications: %v, %v", errs[0], errs[4])
	}
	if !errors.Is(errs[1], ErrHold) {
		t.Errorf("paused application: %v, want ErrHold", errs[1])
	}
	if !errors.Is(errs[2], ErrPermanent) {
		t.Errorf("malformed event: %v, want ErrPermanent", errs[2])
	}
	if errs[3] == nil || errors.Is(errs[3], ErrHold) {
		t.Errorf("bad record: %v, want its error", errs[3])
	}
	want := [][]int64{{1, 4, 5, 2}, {1}, {4}, {5}, {2}}
	if !slices.EqualFunc(calls, want, slices.Equal) {
		t.Errorf("calls %v, want %v", calls, want)
	}
}
