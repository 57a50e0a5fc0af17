package vpcd

import (
	"fmt"
	"net"
	"strconv"
)

// Reader slot layout written by scripts/pcscd.sh (keep the two in step).
const (
	// BasePort is the TCP port of slot 0; slot i listens on BasePort+i (vpcd's default
	// CHANNELID 0x8C7B).
	BasePort = 35963
	// MaxSlots is the number of readers pcsc-lite 1.9 can hold (PCSCLITE_MAX_READERS_CONTEXTS).
	MaxSlots = 16
)

// Port returns the TCP port on which the vpcd driver waits for the card of slot.
func Port(slot int) int { return BasePort + slot }

// Addr returns the address Attach connects to for slot (the driver runs in the local pcscd).
func Addr(slot int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(Port(slot))) }

// ReaderName returns the PC/SC reader name pcscd gives slot. The vpcd driver serves two
// slots per reader.conf entry; scripts/pcscd.sh names the entry of slots 2k and 2k+1
// "CCCD vpcd %02d-%02d" and pcscd appends " 00 00" and " 00 01":
// slot 0 is "CCCD vpcd 00-01 00 00", slot 7 is "CCCD vpcd 06-07 00 01".
func ReaderName(slot int) string {
	p := slot &^ 1
	return fmt.Sprintf("CCCD vpcd %02d-%02d 00 %02d", p, p+1, slot&1)
}
