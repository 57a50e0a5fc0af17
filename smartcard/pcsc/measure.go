package pcsc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cccd-project/cccd/smartcard/apdu"
)

// selectEMRTD is the command MeasureRoundTrip repeats: SELECT the eMRTD application
// by AID, no response data (ICAO 9303-10 §3.6.2). Every card answers it at once, with
// 9000 or an error status, and it changes nothing on the card but the selected file.
var selectEMRTD = apdu.Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: []byte{0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01}}

// MeasureRoundTrip connects to the card in reader, sends n short APDUs (after one
// warm-up) and returns the mean wall time of one command-response round trip. Any
// status word counts as an answer; a transport error ends the measurement.
func MeasureRoundTrip(ctx context.Context, reader string, n int) (perAPDU time.Duration, err error) {
	if n < 1 {
		return 0, fmt.Errorf("pcsc: measure round trip: n = %d, want at least 1", n)
	}
	c, err := Open()
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, c.Close()) }()
	card, err := c.Connect(ctx, reader)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, card.Close()) }()
	if _, err := card.Transmit(ctx, selectEMRTD); err != nil {
		return 0, err
	}
	start := time.Now()
	for range n {
		if _, err := card.Transmit(ctx, selectEMRTD); err != nil {
			return 0, err
		}
	}
	return time.Since(start) / time.Duration(n), nil
}
