package vchip

import (
	"crypto/ecdsa"
	"crypto/rand"
	"io"
	"sync"
	"time"

	"github.com/cccd-project/cccd/smartcard/apdu"
)

// AID is the eMRTD application identifier (ICAO 9303-10 §3.6.2).
var AID = []byte{0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01}

// File identifiers of the eMRTD files (ICAO 9303-10 §4.6, §4.7).
const (
	FIDMF         uint16 = 0x3F00
	FIDCardAccess uint16 = 0x011C
	FIDCOM        uint16 = 0x011E
	FIDSOD        uint16 = 0x011D
	FIDDG1        uint16 = 0x0101 // DGn is FIDDG1 + n - 1, up to DG16 (0110)
)

// Slow-down after failed authentication attempts (ICAO 9303-11 §4.2 asks chips to
// rate-limit guessing of low-entropy passwords such as the CAN).
const (
	FirstFailureDelay = 100 * time.Millisecond
	MaxFailureDelay   = 10 * time.Second
)

// DefaultCapacity is the EEPROM space, in bytes, available to files.
const DefaultCapacity = 128 << 10

// Options are the chip options fixed at manufacture; they are saved with the card.
type Options struct {
	// SelectMFUnsupported makes SELECT MF answer 6D00, as some issued CCCD chips do.
	SelectMFUnsupported bool `json:"selectMFUnsupported,omitempty"`
	// ShortOnly makes the chip refuse extended length APDUs with 6700.
	ShortOnly bool `json:"shortOnly,omitempty"`
	// Capacity is the file space in bytes; zero means DefaultCapacity.
	Capacity int `json:"capacity,omitempty"`
}

// Faults are injected failures for tests. Counting starts at the first APDU after
// SetFaults; zero disables a fault.
type Faults struct {
	// TearAfter makes the Nth APDU fail as a card removal: a write is left half done,
	// Process returns nothing, and the chip stays silent until Reset.
	TearAfter int
	// CorruptResponse flips a bit in the first byte of the Nth response.
	CorruptResponse int
	// SlowWrite delays every write command (UPDATE BINARY, CREATE FILE) by this long.
	SlowWrite time.Duration
}

// Chip is a virtual CCCD chip: an ISO 7816-4 card with the ICAO 9303 eMRTD application
// and this project's personalization profile (see the package documentation). All
// methods are safe for concurrent use; commands are processed one at a time.
type Chip struct {
	mu sync.Mutex

	// Persistent state (the chip's EEPROM), written by Save.
	serial   string
	opts     Options
	locked   bool
	mf, app  map[uint16]*file
	mrzKey   []byte // SHA-1(MRZ information): BAC K_seed is its first 16 bytes, PACE f(pi) all of it
	can      string
	aaKey    *ecdsa.PrivateKey
	caKey    *caKey
	failures int

	// Volatile state, cleared by Reset.
	inApp    bool
	current  *file
	sess     session
	auth     authState
	removed  bool
	apduSeen int

	// Test hooks.
	faults Faults
	torn   bool // a tear happened (Torn)
	sleep  func(time.Duration)
	rand   io.Reader
}

// file is a transparent EF.
type file struct {
	size int
	data []byte // len(data) == size; unwritten bytes are zero
}

// New returns a blank chip (creation state): an MF and an empty eMRTD application,
// no files, no keys, not locked.
func New(serial string, opts Options) *Chip {
	if opts.Capacity <= 0 {
		opts.Capacity = DefaultCapacity
	}
	return &Chip{
		serial: serial,
		opts:   opts,
		mf:     map[uint16]*file{},
		app:    map[uint16]*file{},
		sleep:  time.Sleep,
		rand:   rand.Reader,
	}
}

// Serial returns the chip serial number.
func (c *Chip) Serial() string { return c.serial }

// Locked reports whether the chip has left personalization.
func (c *Chip) Locked() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.locked
}

// Blank reports whether the chip is still as it left the factory: not locked, no
// files written, no keys generated or stored.
func (c *Chip) Blank() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.locked && len(c.mf) == 0 && len(c.app) == 0 && c.aaKey == nil && c.caKey == nil && c.mrzKey == nil && c.can == ""
}

// Failures returns the number of consecutive failed authentication attempts.
func (c *Chip) Failures() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failures
}

// SetFaults installs injected faults and restarts the APDU count.
func (c *Chip) SetFaults(f Faults) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = f
	c.apduSeen = 0
}

// SetSleep replaces the function used for the slow-down and SlowWrite delays, so tests
// can observe delays without sleeping (nil restores time.Sleep).
func (c *Chip) SetSleep(f func(time.Duration)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f == nil {
		f = time.Sleep
	}
	c.sleep = f
}

// SetRand replaces the chip's random source (nil restores crypto/rand).
func (c *Chip) SetRand(r io.Reader) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r == nil {
		r = rand.Reader
	}
	c.rand = r
}

// ATR returns the Answer To Reset: T=1, with historical bytes announcing extended
// length support unless the chip is ShortOnly (ISO 7816-4 §12.1.1.9).
func (c *Chip) ATR() []byte {
	// TS TO TD1 TD2 then historical bytes: category 80, card capabilities 73 (3 bytes).
	caps := byte(0x40) // byte 3 of card capabilities: b7 = extended Lc/Le
	if c.opts.ShortOnly {
		caps = 0
	}
	hist := []byte{0x80, 0x73, 0x00, 0x00, caps}
	atr := []byte{0x3B, 0x80 | byte(len(hist)), 0x80, 0x01}
	atr = append(atr, hist...)
	var tck byte
	for _, b := range atr[1:] {
		tck ^= b
	}
	return append(atr, tck)
}

// Reset is a warm reset or a re-insertion: the selection, the secure messaging session
// and any half-done authentication are dropped; a torn card answers again. Persistent
// state (files, keys, lock, failure counter) is kept.
func (c *Chip) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inApp, c.current = false, nil
	c.sess = nil
	c.auth = authState{}
	c.removed = false
}

// Process handles one command APDU and returns data||SW1SW2. It returns nil when the
// card is torn (see Faults). Process never panics, whatever the bytes.
func (c *Chip) Process(command []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return nil
	}
	c.apduSeen++
	tear := c.faults.TearAfter > 0 && c.apduSeen == c.faults.TearAfter
	resp := c.process(command, tear)
	if tear {
		c.removed, c.torn = true, true
		c.sess = nil
		c.auth = authState{}
		return nil
	}
	out := resp.Bytes()
	if c.faults.CorruptResponse > 0 && c.apduSeen == c.faults.CorruptResponse {
		out[0] ^= 0x01
	}
	return out
}

func sw(code uint16) apdu.Response { return apdu.Response{SW: code} }

// process parses the command, unwraps secure messaging and dispatches.
func (c *Chip) process(raw []byte, tear bool) apdu.Response {
	cmd, err := apdu.ParseCommand(raw)
	if err != nil {
		return sw(apdu.SWWrongLength)
	}
	if cmd.IsExtended() && c.opts.ShortOnly {
		return sw(apdu.SWWrongLength)
	}
	if cmd.CLA == 0xFF {
		return sw(apdu.SWCLANotSupported)
	}
	if cmd.CLA&0x0C == 0x0C {
		return c.processSecure(cmd, tear)
	}
	if c.sess != nil {
		// ICAO 9303-11 §9.8.6.1: a plain command ends the secure messaging session, and
		// with it any Chip Authentication begun under it.
		c.sess = nil
		c.auth = authState{}
	}
	return c.dispatch(cmd, false, tear)
}

// dispatch runs a plain (or unwrapped) command. secure says whether it arrived under
// secure messaging.
func (c *Chip) dispatch(cmd apdu.Command, secure, tear bool) apdu.Response {
	switch cmd.CLA &^ 0x1C {
	case 0x00, 0x80:
	default:
		return sw(apdu.SWCLANotSupported)
	}
	proprietary := cmd.CLA&0x80 != 0
	if proprietary {
		return c.dispatchProprietary(cmd)
	}
	if cmd.CLA&0x10 != 0 && cmd.INS != insGeneralAuthenticate {
		return sw(0x6884) // command chaining not supported
	}
	switch cmd.INS {
	case insSelect:
		return c.selectFile(cmd)
	case insReadBinary, insReadBinaryOdd:
		return c.readBinary(cmd, secure)
	case insGetChallenge:
		return c.getChallenge(cmd)
	case insExternalAuthenticate:
		return c.externalAuthenticate(cmd, secure)
	case insMSE:
		return c.manageSecurityEnvironment(cmd, secure)
	case insGeneralAuthenticate:
		return c.generalAuthenticate(cmd, secure)
	case insInternalAuthenticate:
		return c.internalAuthenticate(cmd, secure)
	case insCreateFile:
		return c.createFile(cmd)
	case insUpdateBinary, insUpdateBinaryOdd:
		return c.updateBinary(cmd, tear)
	case insGenerateKeyPair:
		return c.generateKeyPair(cmd)
	case insActivateFile:
		return c.lock(cmd)
	}
	return sw(apdu.SWINSNotSupported)
}

// Instruction codes (ISO 7816-4 §5.4, ISO 7816-8, ISO 7816-9).
const (
	insSelect               = 0xA4
	insReadBinary           = 0xB0
	insReadBinaryOdd        = 0xB1
	insGetChallenge         = 0x84
	insExternalAuthenticate = 0x82
	insInternalAuthenticate = 0x88
	insMSE                  = 0x22
	insGeneralAuthenticate  = 0x86
	insCreateFile           = 0xE0
	insUpdateBinary         = 0xD6
	insUpdateBinaryOdd      = 0xD7
	insGenerateKeyPair      = 0x47
	insActivateFile         = 0x44
	insPutData              = 0xDA
	insGetData              = 0xCA
)

// dispatchProprietary runs class-80 commands of the personalization profile.
func (c *Chip) dispatchProprietary(cmd apdu.Command) apdu.Response {
	switch cmd.INS {
	case insPutData:
		return c.putData(cmd)
	case insGetData:
		return c.getData(cmd)
	}
	return sw(apdu.SWINSNotSupported)
}

// penalize records a failed authentication and applies the slow-down: 100 ms for the
// first consecutive failure, doubling up to MaxFailureDelay.
func (c *Chip) penalize() {
	d := FirstFailureDelay
	for i := 0; i < c.failures && d < MaxFailureDelay; i++ {
		d *= 2
	}
	if d > MaxFailureDelay {
		d = MaxFailureDelay
	}
	c.failures++
	c.sleep(d)
}

// slowWrite applies the injected SlowWrite delay.
func (c *Chip) slowWrite() {
	if c.faults.SlowWrite > 0 {
		c.sleep(c.faults.SlowWrite)
	}
}
