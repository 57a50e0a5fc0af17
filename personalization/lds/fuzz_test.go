package lds_test

import (
	"reflect"
	"testing"

	"github.com/cccd-project/cccd/personalization/lds"
)

// seeds adds the sample card's file and the spec vectors to f.
func seeds(f *testing.F, file string, extra ...string) {
	f.Add(sampleFiles(f)[file])
	for _, h := range extra {
		f.Add(mustHex(f, h))
	}
}

func FuzzParseCOM(f *testing.F) {
	seeds(f, "com", "60185F0104303130375F36063034303030305C066175636D6E6F", "60")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := lds.ParseCOM(b)
		if err != nil {
			return
		}
		// BER allows long-form lengths, so compare values, not bytes.
		again, err := c.Encode()
		if err != nil {
			t.Fatalf("parsed EF.COM does not encode: %v", err)
		}
		if c2, err := lds.ParseCOM(again); err != nil || !reflect.DeepEqual(c, c2) {
			t.Errorf("round trip changed EF.COM: %+v, %v", c2, err)
		}
	})
}

func FuzzParseDG1(f *testing.F) {
	seeds(f, "dg1")
	b, _ := lds.EncodeDG1(icaoTD1)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		dg1, err := lds.ParseDG1(b)
		if err != nil {
			return
		}
		again, err := lds.EncodeDG1(dg1.MRZ)
		if err != nil {
			t.Fatalf("parsed DG1 does not encode: %v", err)
		}
		if d2, err := lds.ParseDG1(again); err != nil || d2 != dg1 {
			t.Errorf("round trip changed DG1: %+v, %v", d2, err)
		}
	})
}

func FuzzParseDG2(f *testing.F) {
	seeds(f, "dg2")
	f.Fuzz(func(t *testing.T, b []byte) {
		face, err := lds.ParseDG2(b)
		if err != nil {
			return
		}
		if face.Width > 0xFFFF || face.Height > 0xFFFF || len(face.JPEG) >= len(b) {
			t.Errorf("ParseDG2 returned impossible values %dx%d, %d image bytes", face.Width, face.Height, len(face.JPEG))
		}
	})
}

func FuzzParseDG13(f *testing.F) {
	seeds(f, "dg13")
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := lds.ParseDG13(b)
		if err != nil {
			return
		}
		if d.Validate() != nil {
			return // contents the encoder would refuse (a parser does not check them)
		}
		again, err := d.Encode()
		if err != nil {
			t.Fatalf("valid DG13 does not encode: %v", err)
		}
		d2, err := lds.ParseDG13(again)
		if err != nil || !reflect.DeepEqual(d, d2) {
			t.Errorf("round trip changed DG13: %+v, %v", d2, err)
		}
	})
}

func FuzzParseDG14(f *testing.F) {
	seeds(f, "dg14", "6E1631143012060A04007F0007020204020202010202010D")
	f.Fuzz(func(t *testing.T, b []byte) {
		infos, err := lds.ParseDG14(b)
		if err != nil {
			return
		}
		again, err := lds.EncodeDG14(infos)
		if err != nil {
			t.Fatalf("parsed DG14 does not encode: %v", err)
		}
		if infos2, err := lds.ParseDG14(again); err != nil || len(infos2) != len(infos) {
			t.Errorf("round trip changed the SecurityInfos: %+v, %v", infos2, err)
		}
	})
}

func FuzzParseCardAccess(f *testing.F) {
	seeds(f, "cardaccess", "31143012060A04007F0007020204020202010202010D")
	f.Fuzz(func(t *testing.T, b []byte) {
		infos, err := lds.ParseCardAccess(b)
		if err != nil {
			return
		}
		if _, err := lds.EncodeCardAccess(infos); err != nil {
			t.Errorf("parsed EF.CardAccess does not encode: %v", err)
		}
	})
}

func FuzzParseDG15(f *testing.F) {
	seeds(f, "dg15")
	f.Fuzz(func(t *testing.T, b []byte) {
		pub, err := lds.ParseDG15(b)
		if err != nil {
			return
		}
		if _, err := lds.EncodeDG15(pub); err != nil {
			t.Errorf("parsed DG15 key does not encode: %v", err)
		}
	})
}
