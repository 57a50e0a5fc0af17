package console

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cccd-project/cccd/issuance/workflow"
)

// chart is the shift's throughput and spoilage as an SVG bar chart drawn on the server:
// one bar per interval, good cards stacked on spoiled ones.
type chart struct {
	Width, Height int
	Base          int // y of the axis
	Bars          []chartBar
	Ticks         []chartTick
	Max           int // cards in the highest bar
	Good, Spoiled int // in the whole shift
	From, To      time.Time
}

type chartBar struct {
	X, W               int
	GoodY, GoodH       int
	SpoiledY, SpoiledH int
	Good, Spoiled      int
	Label              string
}

type chartTick struct {
	X     int
	Label string
}

// Chart geometry (SVG user units).
const (
	chartW, chartH = 960, 200
	chartLeft      = 36
	chartTop       = 10
	chartBottom    = 22
)

// newChart lays out buckets (equal intervals) as bars.
func newChart(bs []workflow.Bucket) chart {
	c := chart{Width: chartW, Height: chartH, Base: chartH - chartBottom}
	if len(bs) == 0 {
		return c
	}
	c.From = bs[0].Start
	step := time.Duration(0)
	if len(bs) > 1 {
		step = bs[1].Start.Sub(bs[0].Start)
	}
	c.To = bs[len(bs)-1].Start.Add(step)
	for _, b := range bs {
		c.Good += b.Good
		c.Spoiled += b.Spoiled
		c.Max = max(c.Max, b.Good+b.Spoiled)
	}
	scale := max(c.Max, 1)
	plotH := c.Base - chartTop
	slot := (chartW - chartLeft) / len(bs)
	for i, b := range bs {
		x := chartLeft + i*slot
		sh := b.Spoiled * plotH / scale
		gh := b.Good * plotH / scale
		if b.Spoiled > 0 && sh == 0 {
			sh = 1
		}
		if b.Good > 0 && gh == 0 {
			gh = 1
		}
		c.Bars = append(c.Bars, chartBar{X: x + 1, W: max(slot-2, 1), SpoiledY: c.Base - sh, SpoiledH: sh,
			GoodY: c.Base - sh - gh, GoodH: gh, Good: b.Good, Spoiled: b.Spoiled,
			Label: fmt.Sprintf("%s: %d tốt (good), %d hỏng (spoiled)", b.Start.In(vietnam).Format("15:04"), b.Good, b.Spoiled)})
		if i%6 == 0 {
			c.Ticks = append(c.Ticks, chartTick{X: x, Label: b.Start.In(vietnam).Format("15:04")})
		}
	}
	return c
}

// chartStep is the interval of the throughput chart.
const chartStep = 10 * time.Minute

// closedAfter is how long after its end an interval is taken as final: a card event is
// stamped when its transaction starts and may commit a little later.
const closedAfter = time.Minute

// shiftSeries keeps the shift's closed intervals, which no longer change, so a
// dashboard refresh reads only the intervals still open from the card events.
type shiftSeries struct {
	mu      sync.Mutex
	start   time.Time
	buckets []workflow.Bucket // closed intervals from start, in order
}

// series returns the throughput of the shift now falls in, one bucket per chartStep.
func (s *shiftSeries) series(ctx context.Context, e *workflow.Engine, now time.Time) ([]workflow.Bucket, error) {
	start, end := workflow.Shift(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.start.Equal(start) {
		s.start, s.buckets = start, nil
	}
	closed := int(now.Add(-closedAfter).Sub(start) / chartStep) // intervals that ended before now - closedAfter
	closed = max(0, min(closed, int(end.Sub(start)/chartStep)))
	if len(s.buckets) < closed {
		more, err := e.Throughput(ctx, start.Add(time.Duration(len(s.buckets))*chartStep), start.Add(time.Duration(closed)*chartStep), chartStep)
		if err != nil {
			return nil, err
		}
		s.buckets = append(s.buckets, more...)
	}
	out := append([]workflow.Bucket(nil), s.buckets...)
	if from := start.Add(time.Duration(len(out)) * chartStep); from.Before(end) {
		open, err := e.Throughput(ctx, from, end, chartStep)
		if err != nil {
			return nil, err
		}
		out = append(out, open...)
	}
	return out, nil
}
