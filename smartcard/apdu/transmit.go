package apdu

import "context"

// Transmitter sends one command APDU to a card and returns its response. Every card
// transport (PC/SC reader, in-process virtual chip) and every protection layer
// (secure messaging) implements it. A card pulled out mid-command is an error, never
// a nil response.
type Transmitter interface {
	Transmit(ctx context.Context, cmd Command) (Response, error)
}

// Run transmits cmd and returns the response data, or a StatusError for any status
// word other than 9000.
func Run(ctx context.Context, t Transmitter, cmd Command) ([]byte, error) {
	r, err := t.Transmit(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if err := r.Err(); err != nil {
		return r.Data, err
	}
	return r.Data, nil
}
