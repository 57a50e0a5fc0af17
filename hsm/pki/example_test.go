package pki_test

import (
	"fmt"
	"time"

	"github.com/cccd-project/cccd/hsm/pki"
)

// ExampleCRLSchedule: a DS revoked one hour after the last CRL is published 48 hours after
// that CRL, still within 48 hours of the revocation (ICAO 9303-12 §7.1.4).
func ExampleCRLSchedule() {
	last := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	earliest, deadline := pki.CRLSchedule(last, last.Add(time.Hour))
	fmt.Println(earliest.Format(time.RFC3339), deadline.Format(time.RFC3339))
	_, quiet := pki.CRLSchedule(last, time.Time{})
	fmt.Println(quiet.Format(time.RFC3339))
	// Output:
	// 2026-11-03T09:00:00Z 2026-11-03T09:00:00Z
	// 2027-01-30T09:00:00Z
}
