// Package e2e holds the end-to-end tests of the smartcard layer on the real PC/SC stack:
// a blank virtual CCCD chip (package vchip) sits in a vpcd reader of the local pcscd, is
// personalized and locked through pcscd with extended length APDUs (package perso, via
// vchiptest.Issue), moves to a second reader (saved and loaded like a card carried from
// the station to the counter) and is read back with package emrtd: PACE-CAN, PACE-MRZ
// and BAC (ICAO 9303-11 §4.3, §4.4), Chip and Active Authentication (§6.1, §6.2), every
// file EF.COM lists (ICAO 9303-10 §4.6). Fault injection (vchip.Faults) checks that a
// card torn out mid-write or mid-read is an error wrapping pcsc.ErrCardRemoved and that a
// corrupted protected answer is a secure messaging error (§9.8), never a silent result.
//
// The tests use reader slots 12 and 13 of the shared pcscd (see package pcsctest; start
// it with `sudo scripts/pcscd.sh start 14`). A missing pcscd fails the tests. The package
// has no non-test code.
package e2e
