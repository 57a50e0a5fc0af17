package sod_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cccd-project/cccd/personalization/sod"
)

func FuzzParse(f *testing.F) {
	if ef, err := os.ReadFile(filepath.Join("testdata", "sample", "sod.bin")); err == nil {
		f.Add(ef)
	}
	_, ds := newDS(f, "VN")
	ef, err := sod.Sign(sampleDGs(f), ds.Cert, ds.Key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ef)
	f.Add([]byte{0x77, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := sod.Parse(b)
		if err != nil {
			return
		}
		_, _ = s.Verify() // must not panic on any parsed structure
		if len(s.DataGroupHashes) < 2 || len(s.DataGroupHashes) > 16 {
			t.Errorf("Parse accepted %d hashes", len(s.DataGroupHashes))
		}
	})
}

func FuzzParseLDSSecurityObject(f *testing.F) {
	so, err := sod.NewLDSSecurityObject(sampleDGs(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mustMarshal(f, so))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := sod.ParseLDSSecurityObject(b)
		if err != nil {
			return
		}
		again, err := o.Marshal()
		if err != nil {
			t.Fatalf("parsed object does not marshal: %v", err)
		}
		o2, err := sod.ParseLDSSecurityObject(again)
		if err != nil || len(o2.DataGroupHashes) != len(o.DataGroupHashes) || o2.Version != o.Version || o2.HashAlgorithm != o.HashAlgorithm {
			t.Errorf("round trip changed the object: %+v, %v", o2, err)
		}
	})
}
