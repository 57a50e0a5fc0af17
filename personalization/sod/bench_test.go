package sod_test

import (
	"testing"

	"github.com/cccd-project/cccd/personalization/lds/ldstest"
	"github.com/cccd-project/cccd/personalization/sod"
)

// BenchmarkSign signs the sample card's six data groups with an in-memory P-256 Document
// Signer key (hashing, CMS SignedData, and the self-check parse + verify).
func BenchmarkSign(b *testing.B) {
	dgs := sampleDGs(b)
	_, ds := newDS(b, "VN")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sod.Sign(dgs, ds.Cert, ds.Key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPersonalizeCard encodes every file of the sample card and signs its EF.SOD:
// the pure part of personalizing one card.
func BenchmarkPersonalizeCard(b *testing.B) {
	card := ldstest.Sample()
	_, ds := newDS(b, "VN")
	b.ReportAllocs()
	for b.Loop() {
		_, _, dgs, err := card.Files()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sod.Sign(dgs, ds.Cert, ds.Key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseVerify parses an EF.SOD and verifies its signature.
func BenchmarkParseVerify(b *testing.B) {
	_, ds := newDS(b, "VN")
	ef, err := sod.Sign(sampleDGs(b), ds.Cert, ds.Key)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := sod.Parse(ef)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}
