package lifecycle

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// unknownApp are strings that are not application states.
var unknownApp = []AppState{"", "SUBMITTED", "cancelled", "qc-passed"}

// allApp is every application state plus some that are not states.
func allApp() []AppState { return append(append([]AppState(nil), AppStates...), unknownApp...) }

// legalApp is the application flow written out by hand, independent of appNext: the
// normal path, rejection at approval, a spoiled card sending the application back to
// the queue from personalization, printing and QC, and return from the office.
var legalApp = map[[2]AppState]bool{
	{Submitted, Approved}:         true,
	{Submitted, Rejected}:         true,
	{Approved, Queued}:            true,
	{Queued, Personalizing}:       true,
	{Personalizing, Personalized}: true,
	{Personalizing, Queued}:       true,
	{Personalized, Printed}:       true,
	{Personalized, Queued}:        true,
	{Printed, QCPassed}:           true,
	{Printed, Queued}:             true,
	{QCPassed, Dispatched}:        true,
	{QCPassed, Queued}:            true,
	{Dispatched, AtOffice}:        true,
	{AtOffice, Delivered}:         true,
	{AtOffice, Returned}:          true,
}

func TestAppStatesComplete(t *testing.T) {
	want := []AppState{"submitted", "approved", "rejected", "queued", "personalizing", "personalized",
		"printed", "qc_passed", "dispatched", "at_office", "delivered", "returned"}
	if fmt.Sprint(AppStates) != fmt.Sprint(want) {
		t.Fatalf("AppStates = %v, want %v", AppStates, want)
	}
}

func TestCheckApp(t *testing.T) {
	for _, from := range allApp() {
		for _, to := range allApp() {
			t.Run(fmt.Sprintf("%q->%q", from, to), func(t *testing.T) {
				err := CheckApp(from, to)
				if legalApp[[2]AppState{from, to}] {
					if err != nil {
						t.Fatalf("CheckApp: %v, want nil", err)
					}
					return
				}
				if !errors.Is(err, ErrIllegalTransition) {
					t.Fatalf("CheckApp = %v, want ErrIllegalTransition", err)
				}
				if !strings.HasPrefix(err.Error(), "lifecycle: ") {
					t.Errorf("error %q lacks the lifecycle: prefix", err)
				}
			})
		}
	}
}

// legalRerun is every re-run an administrator may order, written out by hand: back to
// approval or to the queue, strictly backwards, from a state in queued..qc_passed.
var legalRerun = map[[2]AppState]bool{
	{Queued, Approved}:        true,
	{Personalizing, Approved}: true,
	{Personalizing, Queued}:   true,
	{Personalized, Approved}:  true,
	{Personalized, Queued}:    true,
	{Printed, Approved}:       true,
	{Printed, Queued}:         true,
	{QCPassed, Approved}:      true,
	{QCPassed, Queued}:        true,
}

func TestCheckRerun(t *testing.T) {
	for _, from := range allApp() {
		for _, to := range allApp() {
			t.Run(fmt.Sprintf("%q->%q", from, to), func(t *testing.T) {
				err := CheckRerun(from, to)
				if legalRerun[[2]AppState{from, to}] {
					if err != nil {
						t.Fatalf("CheckRerun: %v, want nil", err)
					}
					return
				}
				if !errors.Is(err, ErrIllegalTransition) {
					t.Fatalf("CheckRerun = %v, want ErrIllegalTransition", err)
				}
			})
		}
	}
}

func TestTerminal(t *testing.T) {
	terminal := map[AppState]bool{Rejected: true, Delivered: true, Returned: true}
	for _, s := range allApp() {
		t.Run(fmt.Sprintf("%q", s), func(t *testing.T) {
			if got := s.Terminal(); got != terminal[s] {
				t.Fatalf("Terminal = %v, want %v", got, terminal[s])
			}
			if !s.Valid() {
				return
			}
			// A valid state is terminal exactly when no step and no re-run leaves it.
			leaves := false
			for _, to := range AppStates {
				leaves = leaves || CheckApp(s, to) == nil || CheckRerun(s, to) == nil
			}
			if leaves == s.Terminal() {
				t.Fatalf("Terminal = %v but a transition leaves it = %v", s.Terminal(), leaves)
			}
		})
	}
}

func TestValid(t *testing.T) {
	for _, s := range AppStates {
		t.Run(string(s), func(t *testing.T) {
			if !s.Valid() {
				t.Fatalf("%q not Valid", s)
			}
		})
	}
	for _, s := range unknownApp {
		t.Run(fmt.Sprintf("unknown %q", s), func(t *testing.T) {
			if s.Valid() {
				t.Fatalf("%q Valid", s)
			}
		})
	}
}

// cardStates lists every card state (the package exports no list) plus non-states.
var cardStates = []CardState{Blank, Encoded, CardPrinted, QCFailed, Spoiled, CardDispatched, InStock,
	Issued, CardReturned, Revoked, "", "lost", "BLANK"}

// legalCard is the card flow written out by hand, independent of cardNext.
var legalCard = map[[2]CardState]bool{
	{Blank, Encoded}:              true,
	{Blank, Spoiled}:              true,
	{Encoded, CardPrinted}:        true,
	{Encoded, Spoiled}:            true,
	{CardPrinted, CardDispatched}: true,
	{CardPrinted, QCFailed}:       true,
	{CardPrinted, Spoiled}:        true,
	{QCFailed, Spoiled}:           true,
	{CardDispatched, InStock}:     true,
	{InStock, Issued}:             true,
	{InStock, CardReturned}:       true,
	{Issued, Revoked}:             true,
}

func TestCardStateValues(t *testing.T) {
	want := "blank encoded printed qc_failed spoiled dispatched in_stock issued returned revoked"
	if got := fmt.Sprint(cardStates[:10]); got != "["+want+"]" {
		t.Fatalf("card states = %s, want [%s]", got, want)
	}
}

func TestCheckCard(t *testing.T) {
	for _, from := range cardStates {
		for _, to := range cardStates {
			t.Run(fmt.Sprintf("%q->%q", from, to), func(t *testing.T) {
				err := CheckCard(from, to)
				if legalCard[[2]CardState{from, to}] {
					if err != nil {
						t.Fatalf("CheckCard: %v, want nil", err)
					}
					return
				}
				if !errors.Is(err, ErrIllegalTransition) {
					t.Fatalf("CheckCard = %v, want ErrIllegalTransition", err)
				}
			})
		}
	}
}
