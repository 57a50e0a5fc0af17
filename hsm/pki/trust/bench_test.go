package trust_test

import (
	"os"
	"testing"

	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/hsm/pki/ecparams/ecparamstest"
	"github.com/cccd-project/cccd/hsm/pki/trust"
)

// germanStore trusts the German CSCA and imports the German master list.
func germanStore(b *testing.B) *trust.Store {
	csca, err := ecparams.ParseCertificate(ecparamstest.ReadInterop(b, ecparamstest.GermanCSCA))
	if err != nil {
		b.Fatal(err)
	}
	s := trust.New()
	if err := s.AddCSCA(csca); err != nil {
		b.Fatal(err)
	}
	if _, err := s.ImportList(ecparamstest.ReadInterop(b, ecparamstest.GermanMasterList), germanListTime, "ml"); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkImportGermanMasterList: trust the German CSCA and import the real German
// master list (588 certificates, every signature checked).
func BenchmarkImportGermanMasterList(b *testing.B) {
	for b.Loop() {
		germanStore(b)
	}
}

// BenchmarkLoadGermanStore: load a saved trust store holding the German list's 523
// certificates (what `cccd verify` does at start).
func BenchmarkLoadGermanStore(b *testing.B) {
	dir := b.TempDir()
	if err := germanStore(b).Save(dir); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := trust.Load(os.DirFS(dir)); err != nil {
			b.Fatal(err)
		}
	}
}
