package sm

import (
	"testing"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/icaotest"
)

// FuzzUnprotectResponse feeds arbitrary response bytes to a terminal session: no panics,
// and an accepted response must carry a status word.
func FuzzUnprotectResponse(f *testing.F) {
	for _, st := range appendixD {
		f.Add(icaotest.Unhex(f, st.protResp))
	}
	f.Add(icaotest.Unhex(f, "8709019FF0EC34F992265199029000"))
	f.Add(icaotest.Unhex(f, "870201019000"))
	f.Add(icaotest.Unhex(f, "87210142e919c115faf69350b01813d77a9e8d91912a7f717afd073f199070e61b79c6990290008e0800000000000000009000"))
	f.Add([]byte{0x90, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := apdu.ParseResponse(b)
		if err != nil {
			return
		}
		for _, s := range []*Session{bacSession(t), aesSession(t)} {
			_, _ = s.UnprotectResponse(r)
		}
	})
}

// FuzzUnprotectCommand feeds arbitrary command bytes to a chip session.
func FuzzUnprotectCommand(f *testing.F) {
	for _, st := range appendixD {
		f.Add(icaotest.Unhex(f, st.protCmd))
	}
	f.Add(icaotest.Unhex(f, "0CB1000010850800112233445566778E0800000000000000000000"))
	f.Add(icaotest.Unhex(f, "0CB0000000000497020000"))
	f.Add(icaotest.Unhex(f, "0c2241a41d871101980953d37f67558690045d78a853b18a8e08929767a2cef172e200"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := apdu.ParseCommand(b)
		if err != nil {
			return
		}
		for _, s := range []*Session{bacSession(t), aesSession(t)} {
			if p, err := s.UnprotectCommand(c); err == nil {
				if _, err := p.Bytes(); err != nil {
					t.Fatalf("unprotected command does not encode: %v", err)
				}
			}
		}
	})
}

func aesSession(t testing.TB) *Session {
	t.Helper()
	s, err := NewSession(AES, make([]byte, 16), make([]byte, 16), make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
