package console

import (
	"fmt"
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
