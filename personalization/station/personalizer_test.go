package station_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/portrait"
	"github.com/cccd-project/cccd/issuance/registry"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/sod/sodtest"
	"github.com/cccd-project/cccd/personalization/station"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

// docPKI is a throwaway CSCA + Document Signer and the trust store that trusts them.
type docPKI struct {
	pki   *sodtest.PKI
	ds    *sodtest.DS
	trust *trust.Store
}

func newPKI(t testing.TB) *docPKI {
	t.Helper()
	now := time.Now()
	p, err := sodtest.NewPKI("VN", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := p.NewDS("station test", now.Add(-time.Hour), now.AddDate(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	ts := trust.New()
	if err := ts.AddCSCA(p.CSCA); err != nil {
		t.Fatal(err)
	}
	return &docPKI{pki: p, ds: ds, trust: ts}
}

// Acquire implements station.SignerSource.
func (d *docPKI) Acquire(context.Context) (crypto.Signer, *x509.Certificate, error) {
	return d.ds.Key, d.ds.Cert, nil
}

// apps is an in-memory application store built from the synthetic register.
type apps struct {
	mu   sync.Mutex
	byID map[int64]issuance.Application
}

func newApps(t testing.TB, n int) *apps {
	t.Helper()
	rs, err := registry.Generator{Seed: 42}.Residents(n)
	if err != nil {
		t.Fatal(err)
	}
	a := &apps{byID: map[int64]issuance.Application{}}
	for i := range rs {
		jpeg, err := portrait.Generate(int64(i))
		if err != nil {
			t.Fatal(err)
		}
		a.byID[int64(i+1)] = rs[i].Application(issuance.ReasonFirstIssue, jpeg)
	}
	return a
}

func (a *apps) Application(_ context.Context, id int64) (issuance.Application, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	app, ok := a.byID[id]
	if !ok {
		return app, fmt.Errorf("%w: %d", station.ErrNoApplication, id)
	}
	return app, nil
}

func blankChip(serial string) *vchip.Chip {
	c := vchip.New(serial, vchip.Options{})
	c.SetSleep(func(time.Duration) {})
	return c
}

func TestPersonalizer(t *testing.T) {
	d := newPKI(t)
	a := newApps(t, 3)
	cases := []struct {
		name    string
		profile station.Profile
		app     int64
	}{
		{"brainpool as issued", station.Profile{}, 1},
		{"nist p256", station.Profile{NISTP256: true}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chip := blankChip("VNTEST" + fmt.Sprint(tc.app))
			p := &station.Personalizer{Apps: a, Signers: d, Trust: d.trust, Profile: tc.profile, Transmitter: vchip.Transport{Chip: chip}}
			var started string
			mrzText, err := p.MakeCard(context.Background(), workflow.Job{ID: "j", ApplicationID: tc.app}, func(s string) error {
				started = s
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if started != chip.Serial() || !chip.Locked() {
				t.Fatalf("started %q locked %v", started, chip.Locked())
			}
			app, _ := a.Application(context.Background(), tc.app)
			dg1, err := lds.ParseDG1(mustRead(t, chip, app).DataGroups[1])
			if err != nil || dg1.MRZ != mrzText || dg1.Fields.OptionalData1 != app.IDNumber {
				t.Fatalf("dg1 %+v %v; MakeCard returned %q", dg1, err, mrzText)
			}
		})
	}
}

// mustRead reads a chip again as a counter with the CAN (the last 6 digits of the ID).
func mustRead(t *testing.T, chip *vchip.Chip, app issuance.Application) *emrtd.Document {
	t.Helper()
	chip.Reset()
	doc, err := emrtd.Read(context.Background(), vchip.Transport{Chip: chip}, emrtd.Credentials{CAN: app.IDNumber[6:]}, emrtd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// apduOf returns the number of the first APDU of step name on a good card, counted
// from the first APDU of the card (the numbering vchip.Faults.TearAfter uses).
func apduOf(t *testing.T, steps []station.Step, name string) int {
	t.Helper()
	n := 0
	for _, s := range steps {
		if s.Name == name {
			return n + 1
		}
		n += s.APDUs
	}
	t.Fatalf("no step %q in %+v", name, steps)
	return 0
}

func TestPersonalizerFailures(t *testing.T) {
	d := newPKI(t)
	a := newApps(t, 1)
	foreign, err := sodtest.NewPKI("XX", time.Now().Add(-time.Hour)) // a CSCA the trust store does not hold
	if err != nil {
		t.Fatal(err)
	}
	fds, err := foreign.NewDS("foreign", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	untrusted := &docPKI{ds: fds}

	// A good card first, to learn where each step's APDUs fall.
	good, err := (&station.Personalizer{Apps: a, Signers: d, Trust: d.trust}).Personalize(context.Background(),
		vchip.Transport{Chip: blankChip("VNGOOD")}, workflow.Job{ApplicationID: 1}, func(string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		tearAt  string // tear on the 2nd APDU of this step
		signers station.SignerSource
		startOK bool
		step    string
		is      error
	}{
		{"tear while writing DG2", "write DG2", d, true, "write DG2", vchip.ErrRemoved},
		{"tear during read-back", "read-back QC", d, true, "read-back QC", emrtd.ErrCardRemoved},
		{"untrusted document signer", "", untrusted, true, "read-back QC", station.ErrQC},
		{"start refused (chip used)", "", d, false, "start card", workflow.ErrChipUsed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chip := blankChip("VNFAIL")
			if tc.tearAt != "" {
				chip.SetFaults(vchip.Faults{TearAfter: apduOf(t, good.Steps, tc.tearAt) + 1})
			}
			p := &station.Personalizer{Apps: a, Signers: tc.signers, Trust: d.trust, Transmitter: vchip.Transport{Chip: chip}}
			_, err := p.MakeCard(context.Background(), workflow.Job{ID: "j", ApplicationID: 1}, func(s string) error {
				if !tc.startOK {
					return workflow.ErrChipUsed
				}
				return nil
			})
			var se *station.StepError
			if !errors.As(err, &se) || se.Step != tc.step || !errors.Is(err, tc.is) {
				t.Fatalf("got %v, want step %q wrapping %v", err, tc.step, tc.is)
			}
			// A card torn before the lock is left unlocked: it can never pass as issued.
			if tc.step == "write DG2" && chip.Locked() {
				t.Error("torn chip is locked")
			}
		})
	}
}
