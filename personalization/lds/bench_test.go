package lds_test

import (
	"testing"

	"github.com/cccd-project/cccd/personalization/lds/ldstest"
)

// BenchmarkEncodeCard encodes every file of the sample card (EF.COM, EF.CardAccess, DG1,
// DG2 with an 8 KB JPEG, DG13, DG14, DG15).
func BenchmarkEncodeCard(b *testing.B) {
	card := ldstest.Sample()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := card.Files(); err != nil {
			b.Fatal(err)
		}
	}
}
