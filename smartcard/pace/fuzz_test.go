package pace

import (
	"errors"
	"testing"
)

// FuzzSetAT feeds arbitrary MSE:Set AT data to the parser and to a chip: no panic, and
// every rejection is one of the documented sentinels.
func FuzzSetAT(f *testing.F) {
	for _, s := range []string{
		"800A04007F0007020204020283010184010D", // G.1 with parameter id
		"800A04007F00070202040202830101",       // G.1 as printed
		"800A04007F000702020402028301027F4C0E060904007F000703010202530103",
		"800A04007F0007020204020283010183010101",
		"",
	} {
		f.Add(unhex(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _, _ = ParseSetAT(data)
		chip, _, _ := g1Chip(t)
		err := chip.SetAT(data)
		switch {
		case err == nil:
			if chip.Step() != StepNonce {
				t.Fatalf("accepted MSE:Set AT left the chip at step %d", chip.Step())
			}
		case !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrNoPassword):
			t.Fatalf("SetAT error without a sentinel: %v", err)
		}
	})
}

// FuzzGeneralAuthenticate brings a chip to step 1-4 of appendix G.1 and feeds it arbitrary
// GENERAL AUTHENTICATE data: no panic, no hang, and an error resets the chip.
func FuzzGeneralAuthenticate(f *testing.F) {
	_, _, data := g1Chip(f)
	for step := 1; step <= 4; step++ {
		f.Add(byte(step), data[step])
	}
	f.Add(byte(2), unhex("7C438141"+"04"+g1.hx+g1.hy))
	f.Add(byte(3), unhex("7C0A85080000000000000000"))
	f.Add(byte(4), unhex("7C0A8508C2B0BD78D94BA867"))
	f.Fuzz(func(t *testing.T, step byte, in []byte) {
		chip, rnd, data := g1Chip(t)
		if err := chip.SetAT(data[0]); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < 1+int(step%4); i++ {
			if _, _, err := chip.GeneralAuthenticate(data[i], rnd); err != nil {
				t.Fatal(err)
			}
		}
		resp, done, err := chip.GeneralAuthenticate(in, rnd)
		if err != nil {
			if resp != nil || done != nil || chip.Step() != StepIdle {
				t.Fatalf("error %v with response %X, session %v, step %d", err, resp, done != nil, chip.Step())
			}
			if StatusWord(err) == 0x6F00 {
				t.Fatalf("error without a sentinel: %v", err)
			}
		}
	})
}
