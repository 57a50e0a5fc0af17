package ecparams_test

import (
	"testing"

	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/hsm/pki/ecparams/ecparamstest"
)

func BenchmarkParseGerman(b *testing.B) {
	de := ecparamstest.ReadInterop(b, ecparamstest.GermanCSCA)
	for b.Loop() {
		if _, err := ecparams.ParseCertificate(de); err != nil {
			b.Fatal(err)
		}
	}
}
