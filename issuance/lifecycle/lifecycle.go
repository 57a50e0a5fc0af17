// Package lifecycle defines the two state machines of issuance: the application (from
// submission to hand-over) and the card (the physical document, from blank chip to
// issued, spoiled or revoked). It is pure: the one place that says which transition is
// legal. The ledger package applies transitions to the database.
package lifecycle

import (
	"errors"
	"fmt"
)

// AppState is the state of an application.
type AppState string

// Application states in their normal order.
const (
	Submitted     AppState = "submitted"
	Approved      AppState = "approved"
	Rejected      AppState = "rejected"
	Queued        AppState = "queued"
	Personalizing AppState = "personalizing"
	Personalized  AppState = "personalized"
	Printed       AppState = "printed"
	QCPassed      AppState = "qc_passed"
	Dispatched    AppState = "dispatched"
	AtOffice      AppState = "at_office"
	Delivered     AppState = "delivered"
	Returned      AppState = "returned"
)

// AppStates lists every application state in lifecycle order.
var AppStates = []AppState{Submitted, Approved, Rejected, Queued, Personalizing, Personalized,
	Printed, QCPassed, Dispatched, AtOffice, Delivered, Returned}

// appNext is the normal flow; a card spoiled at personalization, printing or QC sends
// the application back to Queued for a new card.
var appNext = map[AppState][]AppState{
	Submitted:     {Approved, Rejected},
	Approved:      {Queued},
	Queued:        {Personalizing},
	Personalizing: {Personalized, Queued},
	Personalized:  {Printed, Queued},
	Printed:       {QCPassed, Queued},
	QCPassed:      {Dispatched, Queued},
	Dispatched:    {AtOffice},
	AtOffice:      {Delivered, Returned},
}

// rerunTargets are the stages an administrator may re-run an application from, and
// rerunFrom the states it may be in: production at the centre, before its card leaves.
var (
	rerunTargets = map[AppState]bool{Approved: true, Queued: true}
	rerunFrom    = map[AppState]bool{Queued: true, Personalizing: true, Personalized: true, Printed: true, QCPassed: true}
)

// Terminal reports whether no further transition leaves s.
func (s AppState) Terminal() bool { return s == Rejected || s == Delivered || s == Returned }

// Valid reports whether s is a known state.
func (s AppState) Valid() bool {
	for _, v := range AppStates {
		if v == s {
			return true
		}
	}
	return false
}

// ErrIllegalTransition is wrapped by every refused transition.
var ErrIllegalTransition = errors.New("lifecycle: illegal transition")

// CheckApp returns nil when from -> to is a legal step of the normal flow.
func CheckApp(from, to AppState) error {
	for _, n := range appNext[from] {
		if n == to {
			return nil
		}
	}
	return fmt.Errorf("%w: application %s -> %s", ErrIllegalTransition, from, to)
}

// CheckRerun returns nil when an administrator may send an application in state from
// back to stage to: only backwards, only to approval or the queue, and only while its
// card is still at the production centre.
func CheckRerun(from, to AppState) error {
	if !rerunFrom[from] || !rerunTargets[to] || order(to) >= order(from) {
		return fmt.Errorf("%w: re-run of application in %s from stage %s", ErrIllegalTransition, from, to)
	}
	return nil
}

func order(s AppState) int {
	for i, v := range AppStates {
		if v == s {
			return i
		}
	}
	return -1
}

// CardState is the state of a physical card.
type CardState string

// Card states.
const (
	Blank          CardState = "blank"
	Encoded        CardState = "encoded"
	CardPrinted    CardState = "printed"
	QCFailed       CardState = "qc_failed"
	Spoiled        CardState = "spoiled"
	CardDispatched CardState = "dispatched"
	InStock        CardState = "in_stock" // at the receiving office, not yet handed over
	Issued         CardState = "issued"
	CardReturned   CardState = "returned"
	Revoked        CardState = "revoked"
)

var cardNext = map[CardState][]CardState{
	Blank:          {Encoded, Spoiled},
	Encoded:        {CardPrinted, Spoiled},
	CardPrinted:    {CardDispatched, QCFailed, Spoiled},
	QCFailed:       {Spoiled},
	CardDispatched: {InStock},
	InStock:        {Issued, CardReturned},
	Issued:         {Revoked},
}

// CheckCard returns nil when from -> to is a legal card transition.
func CheckCard(from, to CardState) error {
	for _, n := range cardNext[from] {
		if n == to {
			return nil
		}
	}
	return fmt.Errorf("%w: card %s -> %s", ErrIllegalTransition, from, to)
}
