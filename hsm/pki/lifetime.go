package pki

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Span is a calendar period, added to a time with time.AddDate: "22y1d" is 22 years and a day.
type Span struct {
	Years, Months, Days int
}

// After returns t moved forward by s.
func (s Span) After(t time.Time) time.Time { return t.AddDate(s.Years, s.Months, s.Days) }

// Plus returns the span s followed by o.
func (s Span) Plus(o Span) Span {
	return Span{s.Years + o.Years, s.Months + o.Months, s.Days + o.Days}
}

// Shorter reports whether s, counted from at, ends before o does.
func (s Span) Shorter(o Span, at time.Time) bool { return s.After(at).Before(o.After(at)) }

// IsZero reports whether s is empty.
func (s Span) IsZero() bool { return s == Span{} }

// String writes s as ParseSpan reads it ("22y3m2d"; "0d" when empty).
func (s Span) String() string {
	var b strings.Builder
	for _, p := range []struct {
		n    int
		unit string
	}{{s.Years, "y"}, {s.Months, "m"}, {s.Days, "d"}} {
		if p.n != 0 {
			b.WriteString(strconv.Itoa(p.n) + p.unit)
		}
	}
	if b.Len() == 0 {
		return "0d"
	}
	return b.String()
}

// ErrSpan reports a span that is not of the form "22y3m2d".
var ErrSpan = errors.New("pki: span must be years, months and days such as 22y1d or 27y3m2d (each part at most 100, in the order y m d)")

// ParseSpan reads a span written as years, months and days, each part optional but in that
// order: "22y1d", "3m", "27y3m2d".
func ParseSpan(text string) (Span, error) {
	var s Span
	rest := text
	order := "ymd"
	if rest == "" {
		return s, fmt.Errorf("%w: empty", ErrSpan)
	}
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 3 || i == len(rest) {
			return Span{}, fmt.Errorf("%w: %q", ErrSpan, text)
		}
		n, _ := strconv.Atoi(rest[:i])
		k := strings.IndexByte(order, rest[i])
		if k < 0 || n > 100 {
			return Span{}, fmt.Errorf("%w: %q", ErrSpan, text)
		}
		switch order[k] {
		case 'y':
			s.Years = n
		case 'm':
			s.Months = n
		case 'd':
			s.Days = n
		}
		order, rest = order[k+1:], rest[i+1:]
	}
	return s, nil
}

// LongestCardValidity is the longest a card of this country stays valid (Law on Identification
// 26/2023/QH15 art. 21): a card issued on the 38th birthday falls in the two-year grace window
// before 40 and runs to the 60th birthday, 22 years; for a holder born on 29 February it is
// issued on 28 February and runs to 29 February, a day more. A card issued at 58 or later has
// no expiry at all: see the validation model in personalization/verify.
var LongestCardValidity = Span{Years: 22, Days: 1}

// lastDay covers the card's expiry day itself: a card is valid through the end of its expiry
// date in Vietnam time, whatever the hour its SOD was signed.
var lastDay = Span{Days: 1}

// Lifetime is the lifetime profile of the document PKI (ICAO 9303-12 §5): how long each key is
// used and how long each certificate must stay valid so that every card verifies for as long
// as it is legally valid. Zero values take the defaults noted.
//
//	DS certificate validity   = DS key usage period + the longest card validity + its last day
//	                          = 3m + 22y1d + 1d = 22y3m2d
//	CSCA certificate validity = CSCA key usage period + the longest DS certificate validity
//	                          = 5y + 22y3m2d = 27y3m2d
type Lifetime struct {
	CSCAKeyYears  int  // CSCA private key usage period; default 5 (9303-12 §5.1: 3-5 years)
	CSCAValidity  Span // CSCA certificate validity; default exactly what its DS need (RequiredCSCAValidity)
	DSUsageMonths int  // DS private key usage period; default 3 (9303-12 §5.1: at most 3 months)
	CardValidity  Span // longest validity of a card a DS may sign; default LongestCardValidity
}

// WithDefaults fills the zero fields.
func (l Lifetime) WithDefaults() Lifetime {
	if l.CSCAKeyYears == 0 {
		l.CSCAKeyYears = DefaultCSCAKeyYears
	}
	if l.DSUsageMonths == 0 {
		l.DSUsageMonths = DefaultDSUsageMonths
	}
	if l.CardValidity.IsZero() {
		l.CardValidity = LongestCardValidity
	}
	if l.CSCAValidity.IsZero() {
		l.CSCAValidity = l.RequiredCSCAValidity()
	}
	return l
}

// DSValidity is the validity of a DS certificate: its key usage period, then the longest
// validity of a card it signs on the last day of that period, then that card's last day.
func (l Lifetime) DSValidity() Span {
	return Span{Months: l.DSUsageMonths}.Plus(l.CardValidity).Plus(lastDay)
}

// RequiredCSCAValidity is the shortest CSCA validity that covers a DS issued on the last day
// of the CSCA key usage period.
func (l Lifetime) RequiredCSCAValidity() Span {
	return Span{Years: l.CSCAKeyYears}.Plus(l.DSValidity())
}

// Arithmetic shows how the validities follow from the key usage periods.
func (l Lifetime) Arithmetic() string {
	l = l.WithDefaults()
	return fmt.Sprintf("DS validity = %s key usage + %s longest card + %s last day = %s; "+
		"CSCA validity needed = %s key usage + %s DS validity = %s; CSCA validity chosen %s",
		Span{Months: l.DSUsageMonths}, l.CardValidity, lastDay, l.DSValidity(),
		Span{Years: l.CSCAKeyYears}, l.DSValidity(), l.RequiredCSCAValidity(), l.CSCAValidity)
}

// Check refuses a profile whose certificates cannot cover the cards they sign, showing the
// arithmetic: a card validity shorter than LongestCardValidity, a CSCA validity shorter than
// its key usage plus the longest DS validity, key usage periods outside ICAO 9303-12 §5.1.
func (l Lifetime) Check() error {
	l = l.WithDefaults()
	ref := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC) // a leap day, where AddDate is shortest
	switch {
	case l.CSCAKeyYears < 1 || l.CSCAKeyYears > 5:
		return fmt.Errorf("%w: CSCA key usage %d years (ICAO 9303-12 §5.1: 1-5)", ErrProfile, l.CSCAKeyYears)
	case l.DSUsageMonths < 1 || l.DSUsageMonths > 3:
		return fmt.Errorf("%w: DS key usage %d months (ICAO 9303-12 §5.1: 1-3)", ErrProfile, l.DSUsageMonths)
	case l.CardValidity.Shorter(LongestCardValidity, ref):
		return fmt.Errorf("%w: card validity %s is shorter than the longest card of Law 26/2023 art. 21 (%s: issued at 38, valid to 60, born 29 February): %s",
			ErrProfile, l.CardValidity, LongestCardValidity, l.Arithmetic())
	case l.CSCAValidity.Shorter(l.RequiredCSCAValidity(), ref):
		return fmt.Errorf("%w: CSCA validity %s cannot cover the Document Signers it issues: %s",
			ErrProfile, l.CSCAValidity, l.Arithmetic())
	case Span{Years: 40}.Shorter(l.CSCAValidity, ref):
		return fmt.Errorf("%w: CSCA validity %s is longer than 40 years", ErrProfile, l.CSCAValidity)
	}
	return nil
}
