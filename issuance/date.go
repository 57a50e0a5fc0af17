package issuance

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"time"
)

// Date is a civil date without time zone: a birth date, an issue date, an expiry date.
// The zero Date means "none". Its JSON form is the string "YYYY-MM-DD" (null or "" for the zero Date).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateError reports a string that is not a real calendar date in the form YYYY-MM-DD.
type DateError struct {
	Input string
}

func (e *DateError) Error() string {
	return "issuance: invalid date " + strconv.Quote(e.Input) + ": want a real date as YYYY-MM-DD"
}

// ParseDate parses "YYYY-MM-DD" (four-digit year, two-digit month and day) and rejects dates that do not exist,
// such as 2023-02-29. The empty string gives the zero Date.
func ParseDate(s string) (Date, error) {
	if s == "" {
		return Date{}, nil
	}
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, &DateError{Input: s}
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, &DateError{Input: s}
	}
	out := Date{Year: y, Month: time.Month(m), Day: d}
	if y == 0 || !out.real() {
		return Date{}, &DateError{Input: s}
	}
	return out, nil
}

// MustParseDate is ParseDate that panics on error; for tests and constants.
func MustParseDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// real reports whether d names an existing day of the proleptic Gregorian calendar.
func (d Date) real() bool {
	if d.Month < time.January || d.Month > time.December || d.Day < 1 || d.Day > 31 {
		return false
	}
	return DateOf(d.Time()) == d
}

// DateOf returns the civil date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, dd := t.Date()
	return Date{Year: y, Month: m, Day: dd}
}

// Today returns the current civil date in loc (Vietnam is UTC+7: pass time.FixedZone("ICT", 7*3600)).
func Today(loc *time.Location) Date { return DateOf(time.Now().In(loc)) }

// Time returns midnight UTC at the start of d.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// String returns "YYYY-MM-DD", or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	b := make([]byte, 0, 10)
	return string(d.AppendFormat(b))
}

// AppendFormat appends d as "YYYY-MM-DD" to b without allocating more than b needs.
func (d Date) AppendFormat(b []byte) []byte {
	y := d.Year
	if y < 0 || y > 9999 {
		return fmt.Appendf(b, "%04d-%02d-%02d", y, int(d.Month), d.Day)
	}
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append(b, byte('0'+int(d.Month)/10), byte('0'+int(d.Month)%10), '-')
	return append(b, byte('0'+d.Day/10), byte('0'+d.Day%10))
}

// DDMMYYYY returns d as "dd/mm/yyyy", the form printed on the card and stored in DG13 (REFERENCE.md §5).
func (d Date) DDMMYYYY() string {
	return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year)
}

// AddYears returns the same day n years later (earlier for n < 0). 29 February becomes 28 February in a
// non-leap year, as birthdays are counted in Vietnamese practice (the card never expires on a non-existent day).
func (d Date) AddYears(n int) Date {
	out := Date{Year: d.Year + n, Month: d.Month, Day: d.Day}
	if out.Month == time.February && out.Day == 29 && !isLeap(out.Year) {
		out.Day = 28
	}
	return out
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// Before reports whether d is strictly earlier than o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return cmpInt(d.Year, o.Year)
	case d.Month != o.Month:
		return cmpInt(int(d.Month), int(o.Month))
	}
	return cmpInt(d.Day, o.Day)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// AgeOn returns the age in whole years of someone born on d, on day t. Birthdays are those of AddYears, so
// someone born on 29 February turns a year older on 28 February of common years.
func (d Date) AgeOn(t Date) int {
	age := t.Year - d.Year
	if t.Before(d.AddYears(age)) {
		age--
	}
	return age
}

// MarshalJSON encodes d as "YYYY-MM-DD", or null for the zero Date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 12)
	b = append(b, '"')
	b = d.AppendFormat(b)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts "YYYY-MM-DD", "" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	s, err := strconv.Unquote(string(b))
	if err != nil || len(b) < 2 || b[0] != '"' {
		return &DateError{Input: string(b)}
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText encodes d as "YYYY-MM-DD" (for map keys, SQL text and flags).
// The zero Date encodes as "".
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	return d.AppendFormat(nil), nil
}

// UnmarshalText parses "YYYY-MM-DD".
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Value implements driver.Valuer for SQL DATE columns: UTC midnight of d, or NULL for the zero Date.
func (d Date) Value() (driver.Value, error) {
	if d.IsZero() {
		return nil, nil
	}
	return d.Time(), nil
}

// Scan implements sql.Scanner: it accepts a time.Time (its civil date is kept as is), "YYYY-MM-DD" as
// string or []byte, and NULL (the zero Date).
func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = Date{}
	case time.Time:
		*d = DateOf(v)
	case string:
		return d.UnmarshalText([]byte(v))
	case []byte:
		return d.UnmarshalText(v)
	default:
		return fmt.Errorf("issuance: cannot scan %T into a Date", src)
	}
	return nil
}
