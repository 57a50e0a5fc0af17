package verify_test

import (
	"slices"
	"testing"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/prep"
	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/personalization/verify/verifytest"
)

// FuzzCompare feeds DG1 and DG13 files as a chip could return them to the parsers and
// to Compare: no panic, and a DG13 re-encoded from its own parse compares the same.
func FuzzCompare(f *testing.F) {
	for _, seed := range []int64{1, 2, 3} {
		app, err := verifytest.Application(seed)
		if err != nil {
			f.Fatal(err)
		}
		c, err := prep.Prepare(app, issuance.MustParseDate("2026-01-15"), "VNFUZZ0001")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c.DG1, c.DG13Raw)
		f.Add(c.DG1, c.DG13Raw[:len(c.DG13Raw)/2])
	}
	f.Fuzz(func(t *testing.T, dg1b, dg13b []byte) {
		dg1, err1 := lds.ParseDG1(dg1b)
		dg13, err13 := lds.ParseDG13(dg13b)
		if err1 != nil || err13 != nil {
			return
		}
		diff := verify.Compare(dg1, dg13)
		again, err := dg13.Encode()
		if err != nil {
			return // a parse the encoder refuses (e.g. an invalid field): nothing more to compare
		}
		back, err := lds.ParseDG13(again)
		if err != nil {
			t.Fatalf("DG13 re-encoded from its parse does not parse: %v", err)
		}
		if d2 := verify.Compare(dg1, back); !slices.Equal(diff, d2) {
			t.Fatalf("Compare %v, after re-encoding %v", diff, d2)
		}
	})
}
