package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/cccd-project/cccd/issuance/registry"
	"github.com/cccd-project/cccd/issuance/store/storetest"
)

// BenchmarkLookup is the cost of one register look-up by one user, with access records
// (and look-up limits) off and on: one statement either way, the recorded one writes the
// count and the audit entry and commits them.
//
//	go test -run XXX -bench Lookup -benchtime 3000x ./issuance/intake/
func BenchmarkLookup(b *testing.B) {
	ctx := context.Background()
	s := New(storetest.New(b))
	s.Limits = Limits{LookupsPerMinute: 1 << 30, LookupsPerDay: 1 << 30}
	var lines bytes.Buffer
	var ids []string
	gen := registry.Generator{Seed: 7}
	if err := gen.Each(2000, func(r *registry.Resident) error {
		line, err := json.Marshal(r.Person)
		ids = append(ids, r.Person.IDNumber)
		lines.Write(append(line, '\n'))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.ImportRegister(ctx, &lines, nil); err != nil {
		b.Fatal(err)
	}
	// A supervisor's look-ups (for an approval) hold nothing, so one user may look up
	// everyone in turn; a clerk's would each wait for an application (one at a time).
	clerk := User{Name: "bench.sup", Role: RoleSupervisor, Office: "001-BENCH"}
	if _, err := s.AddUser(ctx, clerk); err != nil {
		b.Fatal(err)
	}
	uctx := WithUser(ctx, clerk)
	for _, on := range []bool{false, true, false, true} {
		b.Run(fmt.Sprintf("access_records_%v", map[bool]string{false: "off", true: "on"}[on]), func(b *testing.B) {
			s.noAccessLog = !on
			for i := range b.N {
				if _, err := s.Lookup(uctx, ids[i%len(ids)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
