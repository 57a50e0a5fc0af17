package authority_test

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"encoding/pem"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/hsm"
	"github.com/cccd-project/cccd/hsm/authority"
	"github.com/cccd-project/cccd/hsm/dsrotation"
	"github.com/cccd-project/cccd/hsm/pkcs11"
	"github.com/cccd-project/cccd/hsm/pkcs11/softhsmtest"
	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/hsm/pki/masterlist"
	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var cfg = authority.Config{
	Authority: pki.Authority{Country: "VN", Organization: "Bo Cong an", CRLURL: "http://pki.example.vn/csca.crl"},
}

func setup(t *testing.T, c authority.Config) (*authority.Authority, *pgxpool.Pool, *pkcs11.Store) {
	t.Helper()
	db := storetest.New(t)
	for i, u := range [][2]string{{"alice", "admin"}, {"bob", "admin"}, {"carol", "clerk"}} {
		if _, err := db.Exec(context.Background(), "INSERT INTO users (name, role, office, token_hash) VALUES ($1, $2, 'C06', $3)",
			u[0], u[1], []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	keys := softhsmtest.New(t)
	a, err := authority.New(db, keys, c)
	if err != nil {
		t.Fatal(err)
	}
	return a, db, keys
}

func confirm(t *testing.T, a *authority.Authority, action authority.Action, p authority.Params) *authority.Result {
	t.Helper()
	ctx := context.Background()
	id, err := a.Request(ctx, "alice", action, p)
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.Confirm(ctx, id, "bob")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDualControl(t *testing.T) {
	ctx := context.Background()
	a, db, keys := setup(t, cfg)
	if _, err := a.Request(ctx, "carol", authority.ActionCreateCSCA, authority.Params{}); !errors.Is(err, authority.ErrNotAdmin) {
		t.Errorf("clerk request: %v, want ErrNotAdmin", err)
	}
	id, err := a.Request(ctx, "alice", authority.ActionCreateCSCA, authority.Params{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		by   string
		want error
	}{
		{"same admin", "alice", authority.ErrSameAdmin},
		{"not an admin", "carol", authority.ErrNotAdmin},
		{"unknown user", "mallory", authority.ErrNotAdmin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := a.Confirm(ctx, id, tt.by); !errors.Is(err, tt.want) {
				t.Errorf("Confirm by %s: %v, want %v", tt.by, err, tt.want)
			}
		})
	}
	if labels, _ := keys.List(ctx); len(labels) != 0 {
		t.Errorf("refused confirmations left keys %v", labels)
	}
	r, err := a.Confirm(ctx, id, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Confirm(ctx, id, "bob"); !errors.Is(err, authority.ErrRequest) {
		t.Errorf("second confirmation: %v, want ErrRequest", err)
	}
	var req, conf string
	if err := db.QueryRow(ctx, "SELECT requested_by, confirmed_by FROM pki_csca").Scan(&req, &conf); err != nil {
		t.Fatal(err)
	}
	if req != "alice" || conf != "bob" {
		t.Errorf("CSCA recorded %s/%s, want alice/bob", req, conf)
	}
	if r.CSCA == nil || r.CSCA.Subject.SerialNumber != "001" {
		t.Fatalf("result %+v", r)
	}
	id2, _ := a.Request(ctx, "bob", authority.ActionCreateCSCA, authority.Params{})
	if _, err := a.Confirm(ctx, id2, "alice"); !errors.Is(err, authority.ErrCSCAExists) {
		t.Errorf("second CSCA: %v, want ErrCSCAExists", err)
	}
	if rep, err := ledger.VerifyAudit(ctx, db); err != nil || !rep.OK() || rep.Rows == 0 {
		t.Errorf("audit chain %+v %v", rep, err)
	}
}

func TestIssueChainRolloverAndMasterList(t *testing.T) {
	ctx := context.Background()
	a, _, _ := setup(t, cfg)
	csca := confirm(t, a, authority.ActionCreateCSCA, authority.Params{}).CSCA
	ds := confirm(t, a, authority.ActionIssueDS, authority.Params{DocumentLimit: 10}).DS
	if ds.CheckSignatureFrom(csca) != nil {
		t.Fatal("DS not signed by the CSCA")
	}
	if types, _ := pki.DocumentTypes(ds); len(types) != 1 || types[0] != "ID" {
		t.Errorf("DocumentTypeList %v", types)
	}
	opensslVerify(t, csca, ds)

	roll := confirm(t, a, authority.ActionRollover, authority.Params{})
	if roll.Link == nil || roll.Link.CheckSignatureFrom(csca) != nil || roll.CSCA.Subject.SerialNumber != "002" {
		t.Fatal("rollover did not produce a link signed by the old CSCA")
	}
	ds2 := confirm(t, a, authority.ActionIssueDS, authority.Params{}).DS
	if ds2.CheckSignatureFrom(roll.CSCA) != nil {
		t.Fatal("DS after rollover not signed by the new CSCA")
	}

	der, err := a.ExportMasterList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ml, err := masterlist.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(ml.Certificates) != 3 { // CSCA 1, CSCA 2, link
		t.Errorf("master list holds %d certificates, want 3", len(ml.Certificates))
	}
	// A verifier that trusts only the first CSCA learns the new one from the master list.
	s := trust.New()
	s.AddCSCA(csca)
	if _, err := s.ImportMasterList(der, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifySigner(ds2, time.Now().Add(time.Minute)); err != nil {
		t.Errorf("DS of the new CSCA after master list import: %v", err)
	}
}

func TestAutoIssueRevokeCRLAndRetire(t *testing.T) {
	ctx := context.Background()
	c := cfg
	c.DSDocumentLimit = 3
	c.RetireGrace = time.Nanosecond
	a, db, keys := setup(t, c)
	csca := confirm(t, a, authority.ActionCreateCSCA, authority.Params{}).CSCA
	pool := dsrotation.New(db, keys, a)
	serials := map[string]int{}
	var last *x509.Certificate
	for i := 0; i < 7; i++ {
		_, cert, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		serials[cert.SerialNumber.String()]++
		last = cert
	}
	if len(serials) != 3 {
		t.Errorf("7 documents with limit 3 used %d DS, want 3", len(serials))
	}
	for s, n := range serials {
		if n > 3 {
			t.Errorf("DS %s signed %d documents", s, n)
		}
	}
	var autoIssued int
	db.QueryRow(ctx, "SELECT count(*) FROM pki_document_signer WHERE auto_issued").Scan(&autoIssued)
	if autoIssued != 3 {
		t.Errorf("%d auto-issued DS, want 3", autoIssued)
	}

	// Revoke the DS in use; the next CRL lists it and the verifier rejects it.
	var dsID int64
	db.QueryRow(ctx, "SELECT id FROM pki_document_signer WHERE serial = $1::numeric", last.SerialNumber.String()).Scan(&dsID)
	if err := a.Revoke(ctx, dsID, 1, "carol"); !errors.Is(err, authority.ErrNotAdmin) {
		t.Errorf("revoke by clerk: %v", err)
	}
	if err := a.Revoke(ctx, dsID, 1, "alice"); err != nil {
		t.Fatal(err)
	}
	crls, err := a.PublishCRLs(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(crls) != 1 {
		t.Fatalf("%d CRLs published, want 1", len(crls))
	}
	if again, err := a.PublishCRLs(ctx, true); err != nil || len(again) != 0 {
		t.Errorf("second CRL within 48h: %d, %v", len(again), err)
	}
	s := trust.New()
	s.AddCSCA(csca)
	if err := s.AddCRL(crls[0].DER); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifySigner(last, time.Now()); !errors.Is(err, trust.ErrRevoked) {
		t.Errorf("revoked DS: %v, want ErrRevoked", err)
	}
	opensslCRL(t, crls[0].DER)

	// Exhausted and revoked DS keys are destroyed, with an audit record each.
	n, err := a.RetireDocumentSigners(ctx) // first pass starts the grace period
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	m, err := a.RetireDocumentSigners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n+m != 3 {
		t.Errorf("destroyed %d keys, want 3 (2 exhausted + 1 revoked)", n+m)
	}
	labels, _ := keys.List(ctx)
	for _, l := range labels {
		if strings.HasPrefix(l, "ds-") {
			var state string
			db.QueryRow(ctx, "SELECT state FROM pki_document_signer WHERE key_label = $1", l).Scan(&state)
			if state != "active" {
				t.Errorf("key %s of a %s DS still in the HSM", l, state)
			}
		}
	}
	var events int
	db.QueryRow(ctx, "SELECT count(*) FROM pki_key_event WHERE event = 'destroyed'").Scan(&events)
	if events != 3 {
		t.Errorf("%d destruction records, want 3", events)
	}
	if _, _, err := pool.Acquire(ctx); err != nil {
		t.Errorf("Acquire after revocation: %v", err)
	}
	_ = hsm.ECDSAP256
}

func openssl(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is required: %v", err)
	}
	return bin
}

func opensslVerify(t *testing.T, csca, ds *x509.Certificate) {
	t.Helper()
	dir := t.TempDir()
	ca, leaf := filepath.Join(dir, "csca.pem"), filepath.Join(dir, "ds.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: csca.Raw}), 0o600)
	os.WriteFile(leaf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ds.Raw}), 0o600)
	out, err := exec.Command(openssl(t), "verify", "-CAfile", ca, leaf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}

func opensslCRL(t *testing.T, der []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "csca.crl")
	os.WriteFile(p, der, 0o600)
	out, err := exec.Command(openssl(t), "crl", "-inform", "DER", "-in", p, "-noout", "-text").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Revoked Certificates") {
		t.Fatalf("openssl crl: %v\n%s", err, out)
	}
}
