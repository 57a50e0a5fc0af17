package qc_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/cccd-project/cccd/printqueue/layout"
	"github.com/cccd-project/cccd/printqueue/qc"
	"github.com/cccd-project/cccd/printqueue/render"
)

// BenchmarkQCCard measures reading one printed card (front and back) back through
// pdftotext and comparing it with its chip: the QC stage's cost per card.
func BenchmarkQCCard(b *testing.B) {
	d, _ := layout.Lookup(layout.DefaultDesign)
	c := render.Sample(1)
	c.PlaceOfBirth = c.PlaceOfOrigin
	var buf bytes.Buffer
	if err := render.Render(&buf, d, c); err != nil {
		b.Fatal(err)
	}
	dg1, dg13 := chipOf(c)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		pages, err := qc.Extract(ctx, buf.Bytes())
		if err != nil {
			b.Fatal(err)
		}
		face, err := qc.ReadFace(pages, d)
		if err != nil {
			b.Fatal(err)
		}
		if err := qc.Check(face, dg1, dg13); err != nil {
			b.Fatal(err)
		}
	}
}
