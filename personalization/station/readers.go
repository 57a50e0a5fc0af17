package station

import (
	"context"
	"time"

	"github.com/cccd-project/cccd/issuance/workflow"
)

// ReaderRecorder keeps the state of a station's readers for the operator's dashboard
// (*workflow.Engine implements it).
type ReaderRecorder interface {
	RecordReader(ctx context.Context, r workflow.ReaderState) error
}

// RecordReaders makes the station write the state of each of its readers to rec: waiting
// now, the outcome and serial of every card (after OnCard, which it keeps), waiting again
// once the card is taken out (before OnRemoved, which it keeps). The returned function
// records the readers stopped; call it when the station stops. name is the station's
// name in the records, line its production line. A failed write is logged: the
// dashboard falling behind never stops production.
func (s *Station) RecordReaders(ctx context.Context, rec ReaderRecorder, name, line string) (stopped func()) {
	write := func(ctx context.Context, i int, state string, ev *Event) {
		r := workflow.ReaderState{Station: name, Reader: s.readers[i], Line: line, Position: i, State: state}
		if ev != nil {
			r.Serial, r.ApplicationID = ev.Serial, ev.Job.ApplicationID
			r.Detail = "ok in " + ev.Duration.Round(time.Millisecond).String()
			if ev.Err != nil {
				r.Detail = ev.Err.Error()
			}
		}
		if err := rec.RecordReader(ctx, r); err != nil {
			s.logger().Warn("station: reader state not recorded", "reader", r.Reader, "err", err)
		}
	}
	for i := range s.readers {
		write(ctx, i, workflow.ReaderWaiting, nil)
	}
	onCard, onRemoved := s.OnCard, s.OnRemoved
	s.OnCard = func(ev Event) {
		state := workflow.ReaderGood
		if ev.Err != nil {
			state = workflow.ReaderSpoiled
		}
		write(ctx, ev.Reader, state, &ev)
		if onCard != nil {
			onCard(ev)
		}
	}
	s.OnRemoved = func(i int) {
		write(ctx, i, workflow.ReaderWaiting, nil)
		if onRemoved != nil {
			onRemoved(i)
		}
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for i := range s.readers {
			write(ctx, i, workflow.ReaderStopped, nil)
		}
	}
}
