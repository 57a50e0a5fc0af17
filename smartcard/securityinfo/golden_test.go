package securityinfo

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// vnCardAccess is EF.CardAccess as seen on issued Vietnamese cards (REFERENCE §5): PACE ECDH
// GM AES-128 on brainpoolP256r1, Chip Authentication ECDH AES-128, Terminal Authentication.
var vnCardAccess = SecurityInfos{
	&PACEInfo{Protocol: OIDPACEECDHGMAES128, Version: 2, ParameterID: ParamBrainpoolP256r1, HasParameterID: true},
	&ChipAuthenticationInfo{Protocol: OIDCAECDHAES128, Version: 1},
	&TerminalAuthenticationInfo{Version: 1},
}

func TestGolden(t *testing.T) {
	tests := []struct {
		file  string
		infos SecurityInfos
	}{
		{"cardaccess-vn.der", vnCardAccess},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			der, err := tc.infos.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, der, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("golden file missing (run go test -update): %v", err)
			}
			if !bytes.Equal(der, want) {
				t.Fatalf("Marshal = %X\nwant %X (golden %s)", der, want, path)
			}
			got, err := Parse(want)
			if err != nil {
				t.Fatal(err)
			}
			for _, info := range tc.infos {
				found := false
				for _, g := range got {
					found = found || reflect.DeepEqual(g, info)
				}
				if !found {
					t.Errorf("%#v missing from parsed golden file", info)
				}
			}
		})
	}
}
