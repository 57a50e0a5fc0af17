package sm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/cmac"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// Errors of secure messaging. A chip answers ErrMAC, ErrMissingDO, ErrBadDO and ErrPadding
// with 6988 (or 6987 for a missing object) and ends the session; a terminal treats them as
// an attack or a broken link.
var (
	ErrMAC          = errors.New("sm: MAC verification failed")
	ErrMissingDO    = errors.New("sm: secure messaging data object missing")
	ErrBadDO        = errors.New("sm: malformed secure messaging data object")
	ErrNotProtected = errors.New("sm: command is not secure messaging (CLA bits 0C clear)")
	ErrProtected    = errors.New("sm: command already has secure messaging CLA bits")
)

// Data object tags of ICAO 9303-11 §9.8.
const (
	tagEncOdd  tlv.Tag = 0x85 // encrypted data, odd INS (no padding-content indicator)
	tagEnc     tlv.Tag = 0x87 // padding-content indicator 01 || encrypted data
	tagLe      tlv.Tag = 0x97 // expected length
	tagSW      tlv.Tag = 0x99 // processing status
	tagMAC     tlv.Tag = 0x8E // cryptographic checksum
	claSM      byte    = 0x0C // CLA bits: SM, header authenticated
	paddingInd byte    = 0x01 // padding-content indicator: ISO/IEC 9797-1 method 2
)

// Session holds the state of one secure messaging session, ICAO 9303-11 §9.8: the cipher,
// the session keys KSEnc and KSMAC and the send sequence counter SSC. Terminal and chip each
// keep their own Session with equal keys and SSC; every protect or unprotect step
// increments the SSC first. A Session is not safe for concurrent use (Channel serialises it).
type Session struct {
	cipher Cipher
	enc    cipher.Block
	mac    func(msg []byte) []byte // over msg already padded to the block size
	ssc    []byte
}

// NewSession returns a session for cipher c with session keys ksEnc and ksMAC (3DES: 16
// bytes; AES: 16, 24 or 32 bytes) and the initial SSC (8 bytes for 3DES, 16 for AES).
// The keys and SSC are copied.
func NewSession(c Cipher, ksEnc, ksMAC, ssc []byte) (*Session, error) {
	if len(ssc) != c.BlockSize() {
		return nil, fmt.Errorf("sm: SSC of %d bytes for %s, want %d", len(ssc), c, c.BlockSize())
	}
	enc, err := NewBlock(c, ksEnc)
	if err != nil {
		return nil, fmt.Errorf("sm: KSEnc: %w", err)
	}
	s := &Session{cipher: c, enc: enc, ssc: append([]byte(nil), ssc...)}
	switch c {
	case TDES:
		if len(ksMAC) != 16 {
			return nil, fmt.Errorf("sm: KSMAC of %d bytes, want 16", len(ksMAC))
		}
		k1, err := des.NewCipher(ksMAC[:8])
		if err != nil {
			return nil, fmt.Errorf("sm: KSMAC: %w", err)
		}
		k2, err := des.NewCipher(ksMAC[8:])
		if err != nil {
			return nil, fmt.Errorf("sm: KSMAC: %w", err)
		}
		s.mac = func(msg []byte) []byte { return retailMAC(k1, k2, msg) }
	case AES:
		mb, err := newAES(ksMAC)
		if err != nil {
			return nil, fmt.Errorf("sm: KSMAC: %w", err)
		}
		s.mac = func(msg []byte) []byte {
			t, _ := cmac.SumBlock(mb, msg) // AES has a 16-byte block: cannot fail
			return t[:MACSize]
		}
	}
	return s, nil
}

func newAES(key []byte) (cipher.Block, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sm: %w", err)
	}
	return b, nil
}

// Cipher returns the session's block cipher.
func (s *Session) Cipher() Cipher { return s.cipher }

// SSC returns a copy of the current send sequence counter.
func (s *Session) SSC() []byte { return append([]byte(nil), s.ssc...) }

// increment adds one to the SSC (big endian, wrapping).
func (s *Session) increment() {
	for i := len(s.ssc) - 1; i >= 0; i-- {
		s.ssc[i]++
		if s.ssc[i] != 0 {
			return
		}
	}
}

// iv is the CBC IV for the current SSC: zero for 3DES, E(KSEnc, SSC) for AES (§9.8).
func (s *Session) iv() []byte {
	iv := make([]byte, s.enc.BlockSize())
	if s.cipher == AES {
		s.enc.Encrypt(iv, s.ssc)
	}
	return iv
}

func (s *Session) encrypt(plain []byte) []byte {
	p := Pad(plain, s.enc.BlockSize())
	cipher.NewCBCEncrypter(s.enc, s.iv()).CryptBlocks(p, p)
	return p
}

func (s *Session) decrypt(ct []byte) ([]byte, error) {
	bs := s.enc.BlockSize()
	if len(ct) == 0 || len(ct)%bs != 0 {
		return nil, fmt.Errorf("%w: cryptogram of %d bytes is not a positive multiple of %d", ErrBadDO, len(ct), bs)
	}
	p := make([]byte, len(ct))
	cipher.NewCBCDecrypter(s.enc, s.iv()).CryptBlocks(p, ct)
	return Unpad(p)
}

// checksum computes the MAC over SSC || parts, padded to the block size (§9.8).
func (s *Session) checksum(parts ...[]byte) []byte {
	n := len(s.ssc)
	for _, p := range parts {
		n += len(p)
	}
	m := make([]byte, 0, n+16)
	m = append(m, s.ssc...)
	for _, p := range parts {
		m = append(m, p...)
	}
	if s.cipher == AES {
		m = Pad(m, 16)
	} // the retail MAC pads itself
	return s.mac(m)
}

func (s *Session) paddedHeader(cla, ins, p1, p2 byte) []byte {
	return Pad([]byte{cla, ins, p1, p2}, s.enc.BlockSize())
}

// ProtectCommand wraps a plain command for the chip, ICAO 9303-11 §9.8 (terminal side):
// the data field encrypted into DO'87' (DO'85' for an odd INS), Ne into DO'97', and the MAC
// over SSC, the padded header and those objects into DO'8E'. The protected command asks for
// Le 00 (0000 when extended length is used). The SSC is incremented first (and left as it
// was when an error is returned).
func (s *Session) ProtectCommand(cmd apdu.Command) (apdu.Command, error) {
	if cmd.CLA&claSM == claSM {
		return apdu.Command{}, ErrProtected
	}
	if cmd.Ne < 0 || cmd.Ne > apdu.MaxExtendedLe {
		return apdu.Command{}, fmt.Errorf("sm: Ne %d out of range", cmd.Ne)
	}
	ext := cmd.IsExtended()
	saved := s.SSC()
	s.increment()
	out := apdu.Command{CLA: cmd.CLA | claSM, INS: cmd.INS, P1: cmd.P1, P2: cmd.P2}
	var body []byte
	if len(cmd.Data) > 0 {
		ct := s.encrypt(cmd.Data)
		if cmd.INS&1 == 1 {
			body = tlv.Encode(tagEncOdd, ct)
		} else {
			body = tlv.Encode(tagEnc, append([]byte{paddingInd}, ct...))
		}
	}
	if cmd.Ne > 0 {
		if ext {
			body = append(body, tlv.Encode(tagLe, []byte{byte(cmd.Ne >> 8), byte(cmd.Ne)})...)
		} else {
			body = append(body, tlv.Encode(tagLe, []byte{byte(cmd.Ne)})...)
		}
	}
	mac := s.checksum(s.paddedHeader(out.CLA, out.INS, out.P1, out.P2), body)
	out.Data = append(body, tlv.Encode(tagMAC, mac)...)
	if ext || len(out.Data) > apdu.MaxShortData {
		if len(out.Data) > apdu.MaxExtendedData {
			copy(s.ssc, saved) // nothing was sent: keep the counters in step
			return apdu.Command{}, fmt.Errorf("sm: protected data field of %d bytes exceeds %d", len(out.Data), apdu.MaxExtendedData)
		}
		out.Extended = true
		out.Ne = apdu.MaxExtendedLe
	} else {
		out.Ne = apdu.MaxShortLe
	}
	return out, nil
}

// smObjects are the data objects of a protected APDU body.
type smObjects struct {
	enc     []byte // DO'87' or DO'85' value
	encOdd  bool   // enc came from DO'85'
	le      []byte // DO'97' value
	le97    bool
	sw      []byte // DO'99' value
	sw99    bool
	mac     []byte // DO'8E' value
	macData []byte // the encoded objects before DO'8E'
}

// parseObjects splits a protected body into its data objects. DO'8E' must come last;
// each object may occur once; allowed lists the tags besides 8E that may appear.
func parseObjects(b []byte, allowed ...tlv.Tag) (smObjects, error) {
	var o smObjects
	full := b
	seen := map[tlv.Tag]bool{}
	for len(b) > 0 {
		tag, v, rest, err := tlv.Next(b)
		if err != nil {
			return o, fmt.Errorf("%w: %w", ErrBadDO, err)
		}
		if seen[tag] {
			return o, fmt.Errorf("%w: tag %s repeated", ErrBadDO, tag)
		}
		seen[tag] = true
		if tag == tagMAC {
			if len(rest) != 0 {
				return o, fmt.Errorf("%w: %d bytes after DO'8E'", ErrBadDO, len(rest))
			}
			o.mac = v
			o.macData = full[:len(full)-len(b)]
			return o, nil
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == tag
		}
		if !ok {
			return o, fmt.Errorf("%w: unexpected tag %s", ErrBadDO, tag)
		}
		switch tag {
		case tagEnc:
			if len(v) < 1 || v[0] != paddingInd {
				return o, fmt.Errorf("%w: DO'87' without padding-content indicator 01", ErrBadDO)
			}
			if seen[tagEncOdd] {
				return o, fmt.Errorf("%w: both DO'85' and DO'87'", ErrBadDO)
			}
			o.enc = v[1:]
		case tagEncOdd:
			if seen[tagEnc] {
				return o, fmt.Errorf("%w: both DO'85' and DO'87'", ErrBadDO)
			}
			o.enc, o.encOdd = v, true
		case tagLe:
			o.le, o.le97 = v, true
		case tagSW:
			o.sw, o.sw99 = v, true
		}
		b = rest
	}
	return o, fmt.Errorf("%w: DO'8E'", ErrMissingDO)
}

// UnprotectResponse checks and opens a protected response, ICAO 9303-11 §9.8 (terminal
// side): it verifies DO'8E' over SSC || DO'87' || DO'99' (ErrMAC), decrypts DO'87' and
// returns the plain data with the status word from DO'99'. The SSC is incremented first.
// A response with no data and a status other than 9000 is a chip that answered in plain
// (an SM error such as 6987/6988, after which the chip has ended the session): it is
// returned unchanged so the caller sees the status word.
func (s *Session) UnprotectResponse(r apdu.Response) (apdu.Response, error) {
	s.increment()
	if len(r.Data) == 0 {
		if r.SW == apdu.SWOK {
			return apdu.Response{}, fmt.Errorf("%w: 9000 without DO'99' and DO'8E'", ErrMissingDO)
		}
		return apdu.Response{SW: r.SW}, nil
	}
	o, err := parseObjects(r.Data, tagEnc, tagEncOdd, tagSW)
	if err != nil {
		return apdu.Response{}, err
	}
	if subtle.ConstantTimeCompare(o.mac, s.checksum(o.macData)) != 1 {
		return apdu.Response{}, ErrMAC
	}
	if !o.sw99 {
		return apdu.Response{}, fmt.Errorf("%w: DO'99'", ErrMissingDO)
	}
	if len(o.sw) != 2 {
		return apdu.Response{}, fmt.Errorf("%w: DO'99' of %d bytes, want 2", ErrBadDO, len(o.sw))
	}
	out := apdu.Response{SW: uint16(o.sw[0])<<8 | uint16(o.sw[1])}
	if o.enc != nil {
		if out.Data, err = s.decrypt(o.enc); err != nil {
			return apdu.Response{}, err
		}
	}
	return out, nil
}

// UnprotectCommand checks and opens a protected command, ICAO 9303-11 §9.8 (chip side):
// it verifies DO'8E' over SSC, the padded header and DO'87'/DO'85'/DO'97' (ErrMAC),
// decrypts the data and restores Ne from DO'97'. The SSC is incremented first (not for a
// command without the SM CLA bits, which gets ErrNotProtected).
func (s *Session) UnprotectCommand(cmd apdu.Command) (apdu.Command, error) {
	if cmd.CLA&claSM != claSM {
		return apdu.Command{}, ErrNotProtected
	}
	s.increment()
	o, err := parseObjects(cmd.Data, tagEnc, tagEncOdd, tagLe)
	if err != nil {
		return apdu.Command{}, err
	}
	mac := s.checksum(s.paddedHeader(cmd.CLA, cmd.INS, cmd.P1, cmd.P2), o.macData)
	if subtle.ConstantTimeCompare(o.mac, mac) != 1 {
		return apdu.Command{}, ErrMAC
	}
	out := apdu.Command{CLA: cmd.CLA &^ claSM, INS: cmd.INS, P1: cmd.P1, P2: cmd.P2}
	if o.le97 {
		switch len(o.le) {
		case 1:
			out.Ne = int(o.le[0])
			if out.Ne == 0 {
				out.Ne = apdu.MaxShortLe
			}
		case 2:
			out.Extended = true
			out.Ne = int(o.le[0])<<8 | int(o.le[1])
			if out.Ne == 0 {
				out.Ne = apdu.MaxExtendedLe
			}
		default:
			return apdu.Command{}, fmt.Errorf("%w: DO'97' of %d bytes", ErrBadDO, len(o.le))
		}
	}
	if o.enc != nil {
		if out.Data, err = s.decrypt(o.enc); err != nil {
			return apdu.Command{}, err
		}
		if len(out.Data) == 0 {
			out.Data = nil
		}
	}
	return out, nil
}

// ProtectResponse wraps a plain response for the terminal, ICAO 9303-11 §9.8 (chip side):
// DO'87' with the encrypted data (if any), DO'99' with the status word and DO'8E' with the
// MAC; the outer status word is the plain one. The SSC is incremented first.
func (s *Session) ProtectResponse(r apdu.Response) (apdu.Response, error) {
	s.increment()
	var body []byte
	if len(r.Data) > 0 {
		body = tlv.Encode(tagEnc, append([]byte{paddingInd}, s.encrypt(r.Data)...))
	}
	body = append(body, tlv.Encode(tagSW, []byte{byte(r.SW >> 8), byte(r.SW)})...)
	mac := s.checksum(body)
	body = append(body, tlv.Encode(tagMAC, mac)...)
	if len(body) > apdu.MaxExtendedLe {
		return apdu.Response{}, fmt.Errorf("sm: protected response of %d bytes exceeds %d", len(body), apdu.MaxExtendedLe)
	}
	return apdu.Response{Data: body, SW: r.SW}, nil
}
