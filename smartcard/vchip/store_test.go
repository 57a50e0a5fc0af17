package vchip_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vchip/vchiptest"
)

func TestSaveLoad(t *testing.T) {
	for _, locked := range []bool{false, true} {
		name := map[bool]string{false: "in personalization", true: "locked"}[locked]
		t.Run(name, func(t *testing.T) {
			chip := vchip.New("VN-SAVE-0001", vchip.Options{SelectMFUnsupported: true})
			chip.SetSleep(func(time.Duration) {})
			if _, err := vchiptest.Issue(context.Background(), vchip.Transport{Chip: chip}, vchiptest.Profile{NoLock: !locked}); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "card.json")
			if err := chip.Save(path); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", st.Mode().Perm())
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("%d files in the directory, want only the card", len(entries))
			}
			loaded, err := vchip.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if loaded.Locked() != locked || loaded.Serial() != "VN-SAVE-0001" {
				t.Errorf("loaded: locked %v serial %q", loaded.Locked(), loaded.Serial())
			}
			again := filepath.Join(dir, "again.json")
			if err := loaded.Save(again); err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(path)
			b, _ := os.ReadFile(again)
			if !bytes.Equal(a, b) {
				t.Error("Save(Load(card)) differs from card: state lost in the round trip")
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	chip := vchip.New("VN-SAVE-0002", vchip.Options{})
	chip.SetSleep(func(time.Duration) {})
	if _, err := vchiptest.Issue(context.Background(), vchip.Transport{Chip: chip}, vchiptest.Profile{DG2Size: 100}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := chip.Save(good); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	file0 := func(m map[string]any) map[string]any { return m["files"].([]any)[0].(map[string]any) }
	tests := []struct {
		name string
		data []byte
	}{
		{"not JSON", []byte("{")},
		{"wrong version", edit(func(m map[string]any) { m["version"] = 99 })},
		{"bad FID", edit(func(m map[string]any) { file0(m)["fid"] = "3F00" })},
		{"size mismatch", edit(func(m map[string]any) { file0(m)["size"] = 3 })},
		{"MRZ key length", edit(func(m map[string]any) { m["mrzKey"] = "AAAA" })},
		{"AA key garbage", edit(func(m map[string]any) { m["aaKey"] = "AAAA" })},
		{"CA key zero", edit(func(m map[string]any) { m["caKey"].(map[string]any)["d"] = "AA==" })},
		{"CA curve unknown", edit(func(m map[string]any) { m["caKey"].(map[string]any)["curve"] = "1.2.3" })},
		{"negative failures", edit(func(m map[string]any) { m["failures"] = -1 })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.json")
			if err := os.WriteFile(p, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := vchip.Load(p); !errors.Is(err, vchip.ErrFormat) {
				t.Errorf("err %v, want ErrFormat", err)
			}
		})
	}
}
