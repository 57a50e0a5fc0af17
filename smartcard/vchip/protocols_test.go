package vchip_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/cccd-project/cccd/smartcard/activeauth"
	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/chipauth"
	"github.com/cccd-project/cccd/smartcard/pace"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/sm"
	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vchip/vchiptest"
)

// issued returns a locked sample chip, reset as on insertion.
func issued(t *testing.T) (*vchip.Chip, *vchiptest.Card) {
	t.Helper()
	chip := vchip.New("VN-PROTO-0001", vchip.Options{})
	chip.SetSleep(func(time.Duration) {})
	card, err := vchiptest.Issue(context.Background(), vchip.Transport{Chip: chip}, vchiptest.Profile{DG2Size: 500})
	if err != nil {
		t.Fatal(err)
	}
	chip.Reset()
	return chip, card
}

// openPACE runs PACE-CAN and selects the application; it returns the SM channel.
func openPACE(t *testing.T, chip *vchip.Chip) *sm.Channel {
	t.Helper()
	ctx := context.Background()
	tr := vchip.Transport{Chip: chip}
	res, err := pace.Authenticate(ctx, tr, vchiptest.PACEInfo, pace.Password{Kind: pace.CAN, Value: []byte(vchiptest.CAN)}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ch := sm.NewChannel(tr, res.Session)
	if _, err := apdu.Run(ctx, ch, apdu.Command{INS: 0xA4, P1: 4, P2: 0x0C, Data: vchip.AID}); err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestChipAuthenticationMethods(t *testing.T) {
	for _, m := range []struct {
		name   string
		method chipauth.Method
	}{{"MSE:Set KAT", chipauth.MethodKAT}, {"MSE:Set AT + GENERAL AUTHENTICATE", chipauth.MethodGA}} {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			chip, card := issued(t)
			ch := openPACE(t, chip)
			curve, x, y, err := securityinfo.ParseECPublicKey(card.CAPublic)
			if err != nil {
				t.Fatal(err)
			}
			info := securityinfo.ChipAuthenticationInfo{Protocol: securityinfo.OIDCAECDHAES128, Version: 1}
			res, err := chipauth.Terminal{Method: m.method}.Authenticate(ctx, ch, info, chipauth.PublicKey{Curve: curve, X: x, Y: y})
			if err != nil {
				t.Fatal(err)
			}
			newCh := res.Channel(vchip.Transport{Chip: chip})
			got, err := apdu.Run(ctx, newCh, apdu.Command{INS: 0xB0, P1: 0x81, Ne: 256})
			if err != nil || !newCh.Verified() || !bytes.Equal(got, card.DG(1)) {
				t.Fatalf("DG1 under the CA session: %X, %v", got, err)
			}
			// The old session is gone.
			if r, err := ch.Transmit(ctx, apdu.Command{INS: 0xB0, P1: 0x81, Ne: 4}); err == nil && r.SW == apdu.SWOK {
				t.Error("the PACE session still works after Chip Authentication")
			}
		})
	}
}

func TestActiveAuthentication(t *testing.T) {
	ctx := context.Background()
	chip, card := issued(t)
	pub, err := x509.ParsePKIXPublicKey(card.AAPublic)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("needs secure messaging when locked", func(t *testing.T) {
		err := activeauth.Authenticate(ctx, vchip.Transport{Chip: chip}, pub, nil, rand.Reader)
		if !errors.Is(err, apdu.StatusError{SW: apdu.SWSecurityNotSatisfied}) {
			t.Errorf("plain INTERNAL AUTHENTICATE: %v, want 6982", err)
		}
	})
	t.Run("signs under PACE", func(t *testing.T) {
		ch := openPACE(t, chip)
		info := &securityinfo.ActiveAuthenticationInfo{Version: 1, SignatureAlgorithm: securityinfo.OIDECDSAPlainSHA256}
		if err := activeauth.Authenticate(ctx, ch, pub, info, rand.Reader); err != nil {
			t.Fatal(err)
		}
	})
}
