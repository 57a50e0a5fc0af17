package issuance

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		name, in string
		want     Date
		wantErr  bool
	}{
		{"ordinary", "1990-03-07", Date{1990, time.March, 7}, false},
		{"leap day", "2000-02-29", Date{2000, time.February, 29}, false},
		{"empty is zero", "", Date{}, false},
		{"not leap", "2023-02-29", Date{}, true},
		{"century not leap", "1900-02-29", Date{}, true},
		{"month 13", "2020-13-01", Date{}, true},
		{"day 0", "2020-01-00", Date{}, true},
		{"day 32", "2020-01-32", Date{}, true},
		{"april 31", "2020-04-31", Date{}, true},
		{"year 0", "0000-01-01", Date{}, true},
		{"short", "2020-1-1", Date{}, true},
		{"slashes", "2020/01/01", Date{}, true},
		{"dmy", "07-03-1990", Date{}, true},
		{"letters", "19a0-01-01", Date{}, true},
		{"time suffix", "1990-03-07T00:00:00Z", Date{}, true},
		{"sign", "+990-03-07", Date{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseDate(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			var de *DateError
			if err != nil && !errors.As(err, &de) {
				t.Errorf("error %v is not a *DateError", err)
			}
			if got != tt.want {
				t.Errorf("ParseDate(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if err == nil && got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestDateJSON(t *testing.T) {
	type wrap struct {
		D Date `json:"d"`
	}
	tests := []struct {
		name, in, out string
		wantErr       bool
	}{
		{"date", `{"d":"1985-12-31"}`, `{"d":"1985-12-31"}`, false},
		{"null", `{"d":null}`, `{"d":null}`, false},
		{"empty string", `{"d":""}`, `{"d":null}`, false},
		{"number", `{"d":19851231}`, "", true},
		{"bad date", `{"d":"1985-02-30"}`, "", true},
		{"escaped", `{"d":"1985\u002d12-31"}`, `{"d":"1985-12-31"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w wrap
			err := json.Unmarshal([]byte(tt.in), &w)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%s) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			out, err := json.Marshal(w)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.out {
				t.Errorf("round trip = %s, want %s", out, tt.out)
			}
		})
	}
}

func TestDateArithmetic(t *testing.T) {
	leap := MustParseDate("2000-02-29")
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"AddYears leap to common", leap.AddYears(1), MustParseDate("2001-02-28")},
		{"AddYears leap to leap", leap.AddYears(4), MustParseDate("2004-02-29")},
		{"AddYears negative", MustParseDate("2020-05-01").AddYears(-20), MustParseDate("2000-05-01")},
		{"AgeOn day before birthday", MustParseDate("2000-06-15").AgeOn(MustParseDate("2014-06-14")), 13},
		{"AgeOn birthday", MustParseDate("2000-06-15").AgeOn(MustParseDate("2014-06-15")), 14},
		{"AgeOn leap birthday on 28 Feb", leap.AgeOn(MustParseDate("2014-02-28")), 14},
		{"AgeOn leap birthday on 27 Feb", leap.AgeOn(MustParseDate("2014-02-27")), 13},
		{"Before", MustParseDate("1999-12-31").Before(MustParseDate("2000-01-01")), true},
		{"not Before self", leap.Before(leap), false},
		{"Time is UTC midnight", leap.Time(), time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"DateOf keeps the zone's day", DateOf(time.Date(2024, 1, 1, 23, 30, 0, 0, time.FixedZone("ICT", 7*3600))), MustParseDate("2024-01-01")},
		{"DDMMYYYY", MustParseDate("1990-03-07").DDMMYYYY(), "07/03/1990"},
		{"zero String", Date{}.String(), ""},
		{"zero IsZero", Date{}.IsZero(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestDateSQL(t *testing.T) {
	d := MustParseDate("1990-03-07")
	v, err := d.Value()
	if err != nil || v != time.Date(1990, 3, 7, 0, 0, 0, 0, time.UTC) {
		t.Errorf("Value() = %v, %v", v, err)
	}
	if v, _ := (Date{}).Value(); v != nil {
		t.Errorf("zero Value() = %v, want nil", v)
	}
	tests := []struct {
		name    string
		src     any
		want    Date
		wantErr bool
	}{
		{"time", time.Date(1990, 3, 7, 0, 0, 0, 0, time.FixedZone("ICT", 7*3600)), d, false},
		{"string", "1990-03-07", d, false},
		{"bytes", []byte("1990-03-07"), d, false},
		{"null", nil, Date{}, false},
		{"bad string", "1990-3-7", Date{}, true},
		{"int", 19900307, Date{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Date
			err := got.Scan(tt.src)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("Scan(%v) = %v, %v; want %v, err %v", tt.src, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"1990-03-07", "2000-02-29", "1900-02-29", "", "9999-12-31", "0001-01-01", "2020-13-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			if !d.IsZero() {
				t.Errorf("ParseDate(%q) returned %v with error %v", s, d, err)
			}
			return
		}
		if d.String() != s {
			t.Errorf("ParseDate(%q).String() = %q", s, d.String())
		}
		if !d.IsZero() && DateOf(d.Time()) != d {
			t.Errorf("ParseDate(%q) = %v is not a real day", s, d)
		}
	})
}
