package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/cccd-project/cccd/hsm/pki/ecparams/ecparamstest"
	"github.com/cccd-project/cccd/hsm/pki/trust"
)

// captureStdout runs f with os.Stdout redirected and returns what it printed.
func captureStdout(t *testing.T, f func() error) []byte {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		done <- b
	}()
	ferr := f()
	os.Stdout = old
	w.Close()
	out := <-done
	if ferr != nil {
		t.Fatalf("%v\n%s", ferr, out)
	}
	return out
}

// TestMasterListImportCommand: `cccd pki trust add-csca DE_ROOT_CA_CSCA07.cer`, then
// `cccd pki masterlist import DE_ML_2026-05-28-08-28-45.ml --json`, then `cccd pki trust
// list --json`, on the real German files: the counts of the import and the listing.
func TestMasterListImportCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "trust")
	in := ecparamstest.InteropDir(t)
	oldJSON := global.json
	t.Cleanup(func() { global.json = oldJSON })
	global.json = false
	captureStdout(t, func() error {
		cmd := newTrustCmd()
		cmd.SetArgs([]string{"add-csca", filepath.Join(in, ecparamstest.GermanCSCA), "--trust-dir", dir})
		return cmd.Execute()
	})
	global.json = true
	out := captureStdout(t, func() error { return importMasterList(filepath.Join(in, ecparamstest.GermanMasterList), dir) })
	var r struct {
		trust.ImportReport
		Added    []trustedCert `json:"added"`
		ImportNS int64         `json:"import_ns"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Total != 588 || len(r.Added) != 522 || r.AlreadyTrusted != 1 || len(r.Refused) != 65 || r.ImportNS <= 0 {
		t.Errorf("total %d added %d already %d refused %d", r.Total, len(r.Added), r.AlreadyTrusted, len(r.Refused))
	}
	if r.ByReason[trust.ReasonInsecure] != 22 || r.ByReason[trust.ReasonLinkUntrusted] != 30 ||
		r.ByReason[trust.ReasonNotCSCA] != 9 || r.ByReason[trust.ReasonUnparsable] != 4 {
		t.Errorf("by reason %v", r.ByReason)
	}
	t.Logf("German master list: %d added, %d refused %v, import %.2f s", len(r.Added), len(r.Refused), r.ByReason, float64(r.ImportNS)/1e9)
	out = captureStdout(t, func() error {
		cmd := newTrustCmd()
		cmd.SetArgs([]string{"list", "--trust-dir", dir})
		return cmd.Execute()
	})
	var list []trustedCert
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(list) != 523 {
		t.Fatalf("%d listed, want 523", len(list))
	}
	found := false
	for _, c := range list {
		if c.Country == "" || c.Key == "" || c.Source == "" || c.NotAfter.Before(c.NotBefore) {
			t.Errorf("incomplete entry %+v", c)
		}
		if c.Subject == "CN=csca-germany,OU=bsi,O=bund,C=DE" && c.Key == "brainpoolP512r1 (explicit parameters)" &&
			c.Source == "add-csca "+ecparamstest.GermanCSCA && c.Kind == "self-signed" {
			found = true
		}
	}
	if !found || !bytes.Contains(out, []byte("master list "+ecparamstest.GermanMasterList)) {
		t.Errorf("the German CSCA (explicit brainpoolP512r1, from add-csca) or the list's source is missing")
	}
}
