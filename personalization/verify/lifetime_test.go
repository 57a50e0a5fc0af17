package verify_test

import (
	"context"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/sod"
	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/personalization/verify/verifytest"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

var ict = time.FixedZone("ICT", 7*3600)

// TestVerifyAtLifetime judges cards of the default signing profile (verifytest issues its
// CSCA and DS with pki's defaults) as of dates far ahead, as `cccd verify --at` does:
//   - a card issued today to a 38-year-old expires on the 60th birthday: GENUINE on that
//     day (the DS still valid: shell model), card-expired the day after;
//   - a card issued today to a 58-year-old never expires: GENUINE as of 2080, long after its
//     DS and CSCA expired, by the chain model, named in the report.
func TestVerifyAtLifetime(t *testing.T) {
	fx := newFixture(t)
	today := issuance.DateOf(time.Now().In(ict))
	at := func(t *testing.T, day string) time.Time {
		v, err := verify.ParseAt(day)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	judge := func(t *testing.T, seed int64, age int, day string) verify.Report {
		app, err := verifytest.ApplicationAged(seed, age, today)
		if err != nil {
			t.Fatal(err)
		}
		chip, card := issue(t, "VNLIFE"+day[:4], verifytest.Spec{App: app, DS: fx.vn.DS, DSKey: fx.vn.DSKey, NISTP256: true})
		when := at(t, day)
		r := verify.Verify(context.Background(), vchip.Transport{Chip: chip}, card.Credentials(),
			verify.Options{Trust: fx.trust, Now: func() time.Time { return when }})
		if !r.JudgedAt.Equal(when) {
			t.Errorf("report judged at %s, want %s", r.JudgedAt, when)
		}
		var text strings.Builder
		if err := r.WriteText(&text); err != nil || !strings.Contains(text.String(), "judged as of "+day) {
			t.Errorf("text report does not state the date judged (%v):\n%s", err, text.String())
		}
		return r
	}
	expiry := today.AddYears(22) // the 60th birthday of a 38-year-old
	dayAfter := issuance.DateOf(expiry.Time().AddDate(0, 0, 1))

	t.Run("38 on the expiry day", func(t *testing.T) {
		r := judge(t, 31, 38, expiry.String())
		if r.Verdict != verify.Genuine || r.ValidationModel != verify.ModelShell {
			t.Fatalf("%s by %q: %v", r.Verdict, r.ValidationModel, r.Err())
		}
		if r.Holder.ExpiryDate != expiry.DDMMYYYY() {
			t.Fatalf("card expires %s, want %s", r.Holder.ExpiryDate, expiry.DDMMYYYY())
		}
	})
	t.Run("38 the day after", func(t *testing.T) {
		r := judge(t, 31, 38, dayAfter.String())
		if r.Verdict != verify.NotGenuine || r.Code != verify.CodeExpired || len(r.Failures()) != 1 {
			t.Fatalf("%s %q %+v, want only %s", r.Verdict, r.Code, r.Failures(), verify.CodeExpired)
		}
	})
	for _, day := range []string{dayAfter.String(), "2080-01-01"} {
		t.Run("58 as of "+day, func(t *testing.T) {
			r := judge(t, 32, 58, day)
			if r.Holder.ExpiryDate != "Không thời hạn" {
				t.Fatalf("card expires %q, want no expiry", r.Holder.ExpiryDate)
			}
			if r.Verdict != verify.Genuine || r.ValidationModel != verify.ModelChain || !strings.Contains(r.ModelDetail, "chain model") {
				t.Fatalf("%s by %q (%s): %v", r.Verdict, r.ValidationModel, r.ModelDetail, r.Err())
			}
			if when := at(t, day); !when.After(fx.vn.DS.NotAfter) && day == "2080-01-01" {
				t.Fatalf("the DS (until %s) is still valid in 2080: the test proves nothing", fx.vn.DS.NotAfter)
			}
			t.Logf("%s: %s", day, r.ModelDetail)
		})
	}
	t.Run("58 before it was signed", func(t *testing.T) {
		r := judge(t, 32, 58, issuance.DateOf(time.Now().In(ict).AddDate(0, 0, -2)).String())
		if r.Verdict != verify.NotGenuine || r.Code != verify.CodeDSExpired {
			t.Fatalf("%s %q, want %s: %v", r.Verdict, r.Code, verify.CodeDSExpired, r.Err())
		}
	})
}

func TestParseAt(t *testing.T) {
	d, err := verify.ParseAt("2048-12-04")
	if want := time.Date(2048, 12, 4, 23, 59, 59, 0, ict); err != nil || !d.Equal(want) {
		t.Errorf("ParseAt(2048-12-04) = %s %v, want %s", d, err, want)
	}
	if d, err := verify.ParseAt("2080-01-01T00:00:00Z"); err != nil || d.Year() != 2080 {
		t.Errorf("RFC 3339: %s %v", d, err)
	}
	for _, bad := range []string{"", "04/12/2048", "2048-13-01", "2048-02-30", "tomorrow", "2048-12-04 "} {
		if _, err := verify.ParseAt(bad); err == nil || !strings.Contains(err.Error(), "--at") {
			t.Errorf("ParseAt(%q) = %v, want an error naming --at", bad, err)
		}
	}
}

func FuzzParseAt(f *testing.F) {
	for _, s := range []string{"2048-12-04", "2080-01-01T00:00:00Z", "", "2048-02-30"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := verify.ParseAt(s)
		if err == nil && d.IsZero() {
			t.Fatalf("%q: zero time without error", s)
		}
	})
}

// TestOpenSSLAtExpiry: openssl, knowing nothing of this code, accepts the EF.SOD of a card
// issued today to a 38-year-old as of the last second of its expiry day (the 60th birthday),
// with the CSCA as the only trust anchor (`openssl cms -verify -attime`), and rejects it once
// the Document Signer certificate has ended: the signing profile, not luck, covers the card.
func TestOpenSSLAtExpiry(t *testing.T) {
	fx := newFixture(t)
	today := issuance.DateOf(time.Now().In(ict))
	app, err := verifytest.ApplicationAged(33, 38, today)
	if err != nil {
		t.Fatal(err)
	}
	_, card := issue(t, "VNOPENSSL1", verifytest.Spec{App: app, DS: fx.vn.DS, DSKey: fx.vn.DSKey, NISTP256: true})
	dir := t.TempDir()
	sodFile, cscaFile := filepath.Join(dir, "sod.der"), filepath.Join(dir, "csca.pem")
	s, err := sod.Parse(card.Files[lds.FIDSOD])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sodFile, s.CMS, 0o644); err != nil { // the ContentInfo inside the EF.SOD tag 77
		t.Fatal(err)
	}
	if err := os.WriteFile(cscaFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fx.vn.CSCA.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	expiryEnd, err := verify.ParseAt(card.Prep.ExpiryDate.String())
	if err != nil {
		t.Fatal(err)
	}
	run := func(at time.Time) (string, error) {
		cmd := exec.Command("openssl", "cms", "-verify", "-inform", "DER", "-in", sodFile, "-CAfile", cscaFile,
			"-purpose", "any", "-attime", strconv.FormatInt(at.Unix(), 10), "-out", os.DevNull)
		out, err := cmd.CombinedOutput()
		t.Logf("%s (%s)\n%s", strings.Join(cmd.Args, " "), at.In(ict).Format(time.DateTime+" MST"), out)
		return string(out), err
	}
	if out, err := run(expiryEnd); err != nil || !strings.Contains(out, "Verification successful") {
		t.Fatalf("openssl rejects the SOD on the card's expiry day %s: %v", card.Prep.ExpiryDate, err)
	}
	if out, err := run(fx.vn.DS.NotAfter.Add(24 * time.Hour)); err == nil || !strings.Contains(out, "expired") {
		t.Fatalf("openssl accepts the SOD after its DS ended (%s): %v", fx.vn.DS.NotAfter, err)
	}
}
