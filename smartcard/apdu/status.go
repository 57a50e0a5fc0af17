package apdu

import "fmt"

// Status words used by this project (ISO/IEC 7816-4 §5.6, ICAO 9303-11).
const (
	SWOK                     uint16 = 0x9000
	SWEndOfFile              uint16 = 0x6282 // end of file reached before reading Ne bytes
	SWWrongLength            uint16 = 0x6700
	SWSMDataMissing          uint16 = 0x6987 // expected secure messaging data objects missing
	SWSMDataIncorrect        uint16 = 0x6988 // incorrect secure messaging data objects
	SWSecurityNotSatisfied   uint16 = 0x6982
	SWAuthMethodBlocked      uint16 = 0x6983
	SWConditionsNotSatisfied uint16 = 0x6985
	SWCommandNotAllowed      uint16 = 0x6986
	SWWrongData              uint16 = 0x6A80
	SWFuncNotSupported       uint16 = 0x6A81
	SWFileNotFound           uint16 = 0x6A82
	SWNotEnoughMemory        uint16 = 0x6A84
	SWIncorrectP1P2          uint16 = 0x6A86
	SWRefDataNotFound        uint16 = 0x6A88
	SWFileExists             uint16 = 0x6A89
	SWWrongP1P2              uint16 = 0x6B00
	SWINSNotSupported        uint16 = 0x6D00
	SWCLANotSupported        uint16 = 0x6E00
	SWUnknown                uint16 = 0x6F00
	SWMemoryFailure          uint16 = 0x6581
)

var swText = map[uint16]string{
	SWOK:                     "success",
	SWEndOfFile:              "end of file reached",
	SWWrongLength:            "wrong length",
	SWSMDataMissing:          "secure messaging data objects missing",
	SWSMDataIncorrect:        "secure messaging data objects incorrect",
	SWSecurityNotSatisfied:   "security status not satisfied",
	SWAuthMethodBlocked:      "authentication method blocked",
	SWConditionsNotSatisfied: "conditions of use not satisfied",
	SWCommandNotAllowed:      "command not allowed",
	SWWrongData:              "incorrect data field",
	SWFuncNotSupported:       "function not supported",
	SWFileNotFound:           "file not found",
	SWNotEnoughMemory:        "not enough memory",
	SWIncorrectP1P2:          "incorrect P1/P2",
	SWRefDataNotFound:        "referenced data not found",
	SWFileExists:             "file already exists",
	SWWrongP1P2:              "wrong P1/P2",
	SWINSNotSupported:        "instruction not supported",
	SWCLANotSupported:        "class not supported",
	SWUnknown:                "no precise diagnosis",
	SWMemoryFailure:          "memory failure",
}

// StatusError is a status word other than 9000. errors.Is matches two StatusErrors
// with the same SW, so callers can write errors.Is(err, apdu.StatusError{SW: apdu.SWFileNotFound}).
type StatusError struct {
	SW uint16
}

func (e StatusError) Error() string {
	if t, ok := swText[e.SW]; ok {
		return fmt.Sprintf("card status %04X: %s", e.SW, t)
	}
	if e.SW&0xFFF0 == 0x63C0 {
		return fmt.Sprintf("card status %04X: verification failed, %d tries left", e.SW, e.SW&0x0F)
	}
	return fmt.Sprintf("card status %04X", e.SW)
}

// Is matches another StatusError with the same status word.
func (e StatusError) Is(target error) bool {
	t, ok := target.(StatusError)
	return ok && t.SW == e.SW
}
