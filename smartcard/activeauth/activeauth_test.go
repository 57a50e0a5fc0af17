package activeauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/osanderson/brainpool"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/sm"
)

// chip answers INTERNAL AUTHENTICATE with Sign, like the virtual chip.
type chip struct {
	key  crypto.Signer
	h    crypto.Hash
	last apdu.Command
}

func (c *chip) Transmit(_ context.Context, cmd apdu.Command) (apdu.Response, error) {
	c.last = cmd
	if cmd.INS != 0x88 || cmd.P1 != 0 || cmd.P2 != 0 {
		return apdu.Response{SW: apdu.SWINSNotSupported}, nil
	}
	sig, err := Sign(c.key, cmd.Data, c.h)
	if err != nil {
		return apdu.Response{SW: apdu.SWUnknown}, nil
	}
	return apdu.Response{Data: sig, SW: apdu.SWOK}, nil
}

func ecKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func rsaKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func aaInfo(alg []int) *securityinfo.ActiveAuthenticationInfo {
	return &securityinfo.ActiveAuthenticationInfo{Version: 1, SignatureAlgorithm: alg}
}

func TestTerminalVsChip(t *testing.T) {
	bp := ecKey(t, brainpool.P256r1())
	p256 := ecKey(t, elliptic.P256())
	p384 := ecKey(t, elliptic.P384())
	r2048 := rsaKey(t, 2048)
	r1024 := rsaKey(t, 1024)
	tests := []struct {
		name    string
		chipKey crypto.Signer
		pub     crypto.PublicKey // the DG15 key the terminal trusts
		h       crypto.Hash
		info    *securityinfo.ActiveAuthenticationInfo
		wantErr error
	}{
		{"brainpoolP256r1 sha256", bp, bp.Public(), crypto.SHA256, aaInfo(securityinfo.OIDECDSAPlainSHA256), nil},
		{"p256 default hash", p256, p256.Public(), crypto.SHA256, nil, nil},
		{"p384 sha384", p384, p384.Public(), crypto.SHA384, aaInfo(securityinfo.OIDECDSAPlainSHA384), nil},
		{"p256 sha1", p256, p256.Public(), crypto.SHA1, aaInfo(securityinfo.OIDECDSAPlainSHA1), nil},
		{"rsa2048 sha1 implicit trailer", r2048, r2048.Public(), crypto.SHA1, nil, nil},
		{"rsa2048 sha256", r2048, r2048.Public(), crypto.SHA256, nil, nil},
		{"rsa1024 sha1", r1024, r1024.Public(), crypto.SHA1, nil, nil},
		{"cloned chip ecdsa", p256, bp.Public(), crypto.SHA256, nil, ErrSignature},
		{"cloned chip other p256 key", ecKey(t, elliptic.P256()), p256.Public(), crypto.SHA256, nil, ErrSignature},
		{"cloned chip rsa", rsaKey(t, 2048), r2048.Public(), crypto.SHA1, nil, ErrSignature},
		{"hash mismatch", p256, p256.Public(), crypto.SHA384, aaInfo(securityinfo.OIDECDSAPlainSHA256), ErrSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &chip{key: tc.chipKey, h: tc.h}
			err := Authenticate(context.Background(), c, tc.pub, tc.info, rand.Reader)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Authenticate = %v, want %v", err, tc.wantErr)
			}
			b, _ := c.last.Bytes()
			want := []byte{0x00, 0x88, 0x00, 0x00, 0x08}
			le := []byte{0x00}
			if k, ok := tc.pub.(*rsa.PublicKey); ok && k.N.BitLen() > 1784 {
				want = []byte{0x00, 0x88, 0x00, 0x00, 0x00, 0x00, 0x08}
				le = []byte{0x00, 0x00}
			}
			if len(b) != len(want)+8+len(le) || !bytes.Equal(b[:len(want)], want) || !bytes.Equal(b[len(b)-len(le):], le) {
				t.Fatalf("INTERNAL AUTHENTICATE = %X, want %X <8 bytes> %X", b, want, le)
			}
		})
	}
}

// TestOverSecureMessaging runs AA through an sm.Channel, as after BAC or PACE.
func TestOverSecureMessaging(t *testing.T) {
	key := ecKey(t, brainpool.P256r1())
	kEnc, kMAC, ssc := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16), make([]byte, 16)
	term, err := sm.NewSession(sm.AES, kEnc, kMAC, ssc)
	if err != nil {
		t.Fatal(err)
	}
	chipS, err := sm.NewSession(sm.AES, kEnc, kMAC, ssc)
	if err != nil {
		t.Fatal(err)
	}
	inner := &chip{key: key, h: crypto.SHA256}
	card := transmitFunc(func(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
		plain, err := chipS.UnprotectCommand(cmd)
		if err != nil {
			return apdu.Response{SW: apdu.SWSMDataIncorrect}, nil
		}
		r, err := inner.Transmit(ctx, plain)
		if err != nil {
			return apdu.Response{}, err
		}
		return chipS.ProtectResponse(r)
	})
	if err := Authenticate(context.Background(), sm.NewChannel(card, term), key.Public(), nil, rand.Reader); err != nil {
		t.Fatal(err)
	}
}

// TestRSA2048OverSecureMessaging checks that a 256-byte RSA signature comes back through
// AES secure messaging (it needs extended length).
func TestRSA2048OverSecureMessaging(t *testing.T) {
	key := rsaKey(t, 2048)
	kEnc, kMAC, ssc := bytes.Repeat([]byte{3}, 16), bytes.Repeat([]byte{4}, 16), make([]byte, 16)
	term, err := sm.NewSession(sm.AES, kEnc, kMAC, ssc)
	if err != nil {
		t.Fatal(err)
	}
	chipS, err := sm.NewSession(sm.AES, kEnc, kMAC, ssc)
	if err != nil {
		t.Fatal(err)
	}
	inner := &chip{key: key, h: crypto.SHA256}
	card := transmitFunc(func(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
		b, err := cmd.Bytes()
		if err != nil {
			return apdu.Response{}, err
		}
		if cmd, err = apdu.ParseCommand(b); err != nil {
			return apdu.Response{}, err
		}
		plain, err := chipS.UnprotectCommand(cmd)
		if err != nil {
			return apdu.Response{SW: apdu.SWSMDataIncorrect}, nil
		}
		r, err := inner.Transmit(ctx, plain)
		if err != nil {
			return apdu.Response{}, err
		}
		pr, err := chipS.ProtectResponse(r)
		if err == nil && len(pr.Data) > cmd.Ne {
			t.Errorf("protected response of %d bytes exceeds Ne %d", len(pr.Data), cmd.Ne)
		}
		return pr, err
	})
	if err := Authenticate(context.Background(), sm.NewChannel(card, term), key.Public(), nil, rand.Reader); err != nil {
		t.Fatal(err)
	}
}

type transmitFunc func(context.Context, apdu.Command) (apdu.Response, error)

func (f transmitFunc) Transmit(ctx context.Context, c apdu.Command) (apdu.Response, error) {
	return f(ctx, c)
}

func TestVerifyRejects(t *testing.T) {
	ec := ecKey(t, elliptic.P256())
	rk := rsaKey(t, 1024)
	challenge := []byte("12345678")
	ecSig, err := Sign(ec, challenge, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	rsaSig, err := Sign(rk, challenge, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, i int) []byte {
		b = append([]byte(nil), b...)
		b[i] ^= 0x40
		return b
	}
	tests := []struct {
		name      string
		pub       crypto.PublicKey
		challenge []byte
		sig       []byte
	}{
		{"ecdsa flipped r", ec.Public(), challenge, flip(ecSig, 3)},
		{"ecdsa flipped s", ec.Public(), challenge, flip(ecSig, 40)},
		{"ecdsa short", ec.Public(), challenge, ecSig[:63]},
		{"ecdsa other challenge", ec.Public(), []byte("87654321"), ecSig},
		{"ecdsa zeros", ec.Public(), challenge, make([]byte, 64)},
		{"rsa flipped", rk.Public(), challenge, flip(rsaSig, 10)},
		{"rsa other challenge", rk.Public(), []byte("87654321"), rsaSig},
		{"rsa short", rk.Public(), challenge, rsaSig[1:]},
		{"rsa above modulus", rk.Public(), challenge, bytes.Repeat([]byte{0xFF}, 128)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Verify(tc.pub, tc.challenge, tc.sig, crypto.SHA256); !errors.Is(err, ErrSignature) {
				t.Fatalf("Verify = %v, want ErrSignature", err)
			}
		})
	}
	t.Run("accepts its own signatures", func(t *testing.T) {
		if err := Verify(ec.Public(), challenge, ecSig, crypto.SHA256); err != nil {
			t.Fatal(err)
		}
		if err := Verify(rk.Public(), challenge, rsaSig, crypto.SHA256); err != nil {
			t.Fatal(err)
		}
	})
}

func TestUnsupported(t *testing.T) {
	if err := Authenticate(context.Background(), &chip{}, "not a key", nil, rand.Reader); err == nil || errors.Is(err, ErrSignature) {
		t.Fatalf("Authenticate with a string key = %v", err)
	}
	info := aaInfo([]int{1, 2, 3})
	k := ecKey(t, elliptic.P256())
	if err := Authenticate(context.Background(), &chip{key: k}, k.Public(), info, rand.Reader); err == nil {
		t.Fatal("Authenticate accepted an unknown signature algorithm")
	}
	if _, err := Sign(k, nil, crypto.SHA256); err == nil {
		t.Fatal("Sign accepted an empty challenge")
	}
}

func TestChipStatusError(t *testing.T) {
	k := ecKey(t, elliptic.P256())
	card := transmitFunc(func(context.Context, apdu.Command) (apdu.Response, error) {
		return apdu.Response{SW: apdu.SWSecurityNotSatisfied}, nil
	})
	err := Authenticate(context.Background(), card, k.Public(), nil, rand.Reader)
	if !errors.Is(err, apdu.StatusError{SW: apdu.SWSecurityNotSatisfied}) || errors.Is(err, ErrSignature) {
		t.Fatalf("Authenticate = %v, want the 6982 status error", err)
	}
}

// FuzzVerify feeds arbitrary signatures to both verifiers: no panics, no false accepts.
func FuzzVerify(f *testing.F) {
	ec := ecKey(f, brainpool.P256r1())
	rk := rsaKey(f, 1024)
	challenge := []byte("ABCDEFGH")
	for _, k := range []crypto.Signer{ec, rk} {
		sig, err := Sign(k, challenge, crypto.SHA256)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sig)
	}
	f.Fuzz(func(t *testing.T, sig []byte) {
		for _, pub := range []crypto.PublicKey{ec.Public(), rk.Public()} {
			_ = Verify(pub, challenge, sig, crypto.SHA256)
		}
	})
}

// BenchmarkAuthenticate measures one Active Authentication (chip signature + terminal
// verification) per key type.
func BenchmarkAuthenticate(b *testing.B) {
	keys := []struct {
		name string
		key  crypto.Signer
	}{
		{"brainpoolP256r1", ecKey(b, brainpool.P256r1())},
		{"P-256", ecKey(b, elliptic.P256())},
		{"RSA-2048", rsaKey(b, 2048)},
	}
	for _, k := range keys {
		b.Run(k.name, func(b *testing.B) {
			c := &chip{key: k.key, h: crypto.SHA256}
			for b.Loop() {
				if err := Authenticate(context.Background(), c, k.key.Public(), nil, rand.Reader); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
