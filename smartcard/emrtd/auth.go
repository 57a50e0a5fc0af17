package emrtd

import (
	"context"
	"errors"
	"fmt"

	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/smartcard/activeauth"
	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/chipauth"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// dg14Infos parses the SecurityInfos of DG14 (tag 6E, ICAO 9303-10 §4.7.14).
func dg14Infos(dg14 []byte) (securityinfo.SecurityInfos, error) {
	o, err := tlv.Decode(dg14)
	if err != nil || o.Tag != 0x6E {
		return nil, fmt.Errorf("%w: DG14 is not one 6E object", ErrMalformed)
	}
	infos, err := securityinfo.Parse(o.Value)
	if err != nil {
		return nil, fmt.Errorf("%w: DG14: %w", ErrMalformed, err)
	}
	return infos, nil
}

// chipAuthenticate runs Chip Authentication (ICAO 9303-11 §6.2) with the first key of
// DG14 and switches to the new session, proving it with a read of EF.COM's header: a
// chip without the private key fails that read (ErrChipAuthentication).
func (r *reader) chipAuthenticate(ctx context.Context) error {
	dg14 := r.doc.DataGroups[14]
	if dg14 == nil {
		return nil // DG14 denied: nothing to run
	}
	infos, err := dg14Infos(dg14)
	if err != nil {
		return err
	}
	keys := infos.ChipAuthenticationPublicKeys()
	if len(keys) == 0 {
		return fmt.Errorf("%w: DG14 has no ChipAuthenticationPublicKeyInfo", ErrMalformed)
	}
	pk := keys[0]
	info := securityinfo.ChipAuthenticationInfo{Protocol: securityinfo.OIDCAECDH3DES, Version: 1}
	for _, ci := range infos.ChipAuthentication() {
		if !pk.HasKeyID || !ci.HasKeyID || ci.KeyID == pk.KeyID {
			info = *ci
			break
		}
	}
	curve, x, y, err := pk.ECPublicKey()
	if err != nil {
		return fmt.Errorf("%w: DG14 chip authentication key: %w", ErrMalformed, err)
	}
	res, err := chipauth.Authenticate(ctx, r.ch, info, chipauth.PublicKey{Curve: curve, X: x, Y: y}, r.rnd())
	if err != nil {
		if r.link.err != nil {
			return err
		}
		return fmt.Errorf("%w: %w", ErrChipAuthentication, err)
	}
	ch := res.Channel(r.raw)
	r.ch = ch
	// The first answer under the new keys is the proof (ICAO 9303-11 §6.2.3).
	_, err = apdu.Run(ctx, ch, apdu.Command{INS: 0xB0, P1: 0x9E, Ne: headerSize})
	switch {
	case err != nil && r.link.err != nil:
		return err
	case err != nil:
		return fmt.Errorf("%w: %w", ErrChipAuthentication, err)
	case !ch.Verified():
		return fmt.Errorf("%w: the chip answered without secure messaging", ErrChipAuthentication)
	}
	r.doc.ChipAuthenticated = true
	return nil
}

// activeAuthenticate runs Active Authentication (ICAO 9303-11 §6.1) with the public key
// of DG15 and the hash DG14 names. A signature that does not verify is
// ErrActiveAuthentication: the chip is possibly a clone.
func (r *reader) activeAuthenticate(ctx context.Context) error {
	o, err := tlv.Decode(r.doc.DataGroups[15])
	if err != nil || o.Tag != 0x6F {
		return fmt.Errorf("%w: DG15 is not one 6F object", ErrMalformed)
	}
	pub, err := ecparams.ParsePKIXPublicKey(o.Value) // explicit EC parameters too
	if err != nil {
		return fmt.Errorf("%w: DG15 public key: %w", ErrMalformed, err)
	}
	var info *securityinfo.ActiveAuthenticationInfo
	if dg14 := r.doc.DataGroups[14]; dg14 != nil {
		infos, err := dg14Infos(dg14)
		if err != nil {
			return err
		}
		info = infos.ActiveAuthentication()
	}
	err = activeauth.Authenticate(ctx, r.ch, pub, info, r.rnd())
	if errors.Is(err, activeauth.ErrSignature) {
		return fmt.Errorf("%w: %w", ErrActiveAuthentication, err)
	}
	if err != nil {
		return err
	}
	r.doc.ActiveAuthenticated = true
	return nil
}
