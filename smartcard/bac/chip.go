package bac

import (
	"bytes"
	"fmt"
	"io"

	"github.com/cccd-project/cccd/smartcard/sm"
)

// Chip is the chip side of BAC (ICAO 9303-11 §4.3) for one document: it issues
// challenges and answers EXTERNAL AUTHENTICATE. The virtual chip drives it and owns the
// policy around it (status words, slowing down after failures). A Chip is not safe for
// concurrent use.
type Chip struct {
	k     keys
	rndIC []byte // outstanding challenge, nil when none
}

// NewChip returns the chip side for the document whose K_seed is seed.
func NewChip(seed []byte) (*Chip, error) {
	k, err := newKeys(seed)
	if err != nil {
		return nil, err
	}
	return &Chip{k: k}, nil
}

// GetChallenge reads a fresh RND.IC from rnd, remembers it for the next
// ExternalAuthenticate and returns it (the GET CHALLENGE response data).
func (c *Chip) GetChallenge(rnd io.Reader) ([]byte, error) {
	ch := make([]byte, ChallengeSize)
	if _, err := io.ReadFull(rnd, ch); err != nil {
		c.rndIC = nil
		return nil, fmt.Errorf("bac: random: %w", err)
	}
	c.rndIC = ch
	return append([]byte(nil), ch...), nil
}

// ExternalAuthenticate checks the terminal's E.IFD || M.IFD against the outstanding
// challenge and returns E.IC || M.IC (the response data, K.IC read from rnd) with the
// chip's secure messaging session. The challenge is used up by every call, so each attempt
// needs a new GET CHALLENGE. A cryptogram that does not verify gives ErrAuthentication;
// the caller answers 6300.
func (c *Chip) ExternalAuthenticate(data []byte, rnd io.Reader) (resp []byte, s *sm.Session, err error) {
	rndIC := c.rndIC
	c.rndIC = nil
	if rndIC == nil {
		return nil, nil, ErrNoChallenge
	}
	if len(data) != authSize {
		return nil, nil, fmt.Errorf("%w: data of %d bytes, want %d", ErrAuthentication, len(data), authSize)
	}
	plain, ok, err := c.k.open(data)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("%w: MAC", ErrAuthentication)
	}
	// S = RND.IFD || RND.IC || K.IFD
	rndIFD, kIFD := plain[:8], plain[16:]
	if !bytes.Equal(plain[8:16], rndIC) {
		return nil, nil, fmt.Errorf("%w: RND.IC does not match the challenge", ErrAuthentication)
	}
	kIC := make([]byte, keySize)
	if _, err := io.ReadFull(rnd, kIC); err != nil {
		return nil, nil, fmt.Errorf("bac: random: %w", err)
	}
	r := make([]byte, 0, cryptoSize)
	r = append(append(append(r, rndIC...), rndIFD...), kIC...)
	if resp, err = c.k.seal(r); err != nil {
		return nil, nil, err
	}
	if s, err = session(kIFD, kIC, rndIC, rndIFD); err != nil {
		return nil, nil, err
	}
	return resp, s, nil
}
