package chipauth

import (
	"testing"

	"github.com/osanderson/brainpool"

	"github.com/cccd-project/cccd/smartcard/sm"
)

// fuzzKey is a fixed chip private key for the fuzzers.
var fuzzKey = unhex("107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A")

func FuzzParseSetKAT(f *testing.F) {
	f.Add(unhex("9141" + samplePoint))
	f.Add(unhex("9141" + samplePoint + "840101"))
	f.Add(unhex("840101"))
	f.Fuzz(func(t *testing.T, data []byte) {
		point, _, err := ParseSetKAT(data)
		if err != nil {
			return
		}
		_, _ = Agree(fuzzKey, brainpool.P256r1(), point, sm.AES, 128)
	})
}

func FuzzParseSetAT(f *testing.F) {
	f.Add(unhex("800A04007F00070202030202"))
	f.Add(unhex("800A04007F00070202030204840109"))
	f.Add(unhex("800280"))
	f.Fuzz(func(t *testing.T, data []byte) {
		oid, _, err := ParseSetAT(data)
		if err != nil {
			return
		}
		_, _, _ = Suite(oid)
	})
}

func FuzzParseGeneralAuthenticate(f *testing.F) {
	f.Add(unhex("7C438041" + samplePoint))
	f.Add(unhex("7C00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		point, err := ParseGeneralAuthenticate(data)
		if err != nil {
			return
		}
		_, _ = Agree(fuzzKey, brainpool.P256r1(), point, sm.TDES, 112)
	})
}
