package dsrotation_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/hsm"
	"github.com/cccd-project/cccd/hsm/dsrotation"
	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/hsm/softkey"
	"github.com/cccd-project/cccd/issuance/store"
	"github.com/cccd-project/cccd/issuance/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var (
	fastKDF   = softkey.KDF{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}
	authority = pki.Authority{Country: "VN", Organization: "Bo Cong an", CRLURL: "http://pki.example.vn/csca.crl"}
)

const passphrase = "test passphrase"

// fixture creates a CSCA row and n Document Signers (keys in a softkey store under dir) with
// the given limit and usage end.
func fixture(t testing.TB, db *pgxpool.Pool, dir string, limits []int64, usageEnd []time.Time) *softkey.Store {
	t.Helper()
	ctx := context.Background()
	keys, err := softkey.Open(dir, passphrase, fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	cscaKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	csca, err := pki.NewCSCA(cscaKey, pki.CSCAOptions{Authority: authority})
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range []string{"admin-a", "admin-b"} {
		if _, err := db.Exec(ctx, "INSERT INTO users (name, role, office, token_hash) VALUES ($1, 'admin', 'C06', $2)",
			u, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var cscaID int64
	if err := db.QueryRow(ctx, `INSERT INTO pki_csca (sequence, key_label, algorithm, cert, serial, usage_start, usage_end, not_after,
		requested_by, confirmed_by) VALUES (1, 'csca-x', 'ecdsa-p384', $1, 1, now(), now() + interval '5 years', now() + interval '15 years',
		'admin-a', 'admin-b') RETURNING id`, csca.Raw).Scan(&cscaID); err != nil {
		t.Fatal(err)
	}
	for i, limit := range limits {
		label := fmt.Sprintf("ds-%d", i)
		k, err := keys.Generate(ctx, label, hsm.ECDSAP256)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := pki.IssueDocumentSigner(csca, cscaKey, k.Public(), pki.DSOptions{Authority: authority})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO pki_document_signer (csca_id, key_label, algorithm, cert, serial, usage_start, usage_end,
			doc_limit, auto_issued) VALUES ($1, $2, 'ecdsa-p256', $3, $4::numeric, now() - interval '1 hour' + $5 * interval '1 second', $6, $7, true)`,
			cscaID, label, ds.Raw, ds.SerialNumber.String(), i, usageEnd[i], limit); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// drain calls Acquire from n goroutines until ErrNoSigner and counts the grants per DS
// certificate serial; every grant's signer is used once and checked against its certificate.
func drain(ctx context.Context, p *dsrotation.Pool, n int) (map[string]int64, error) {
	var mu sync.Mutex
	counts := map[string]int64{}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				s, cert, err := p.Acquire(ctx)
				if errors.Is(err, dsrotation.ErrNoSigner) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				if i%50 == 0 { // sign now and then: the pair must work
					d := sha256.Sum256([]byte{byte(i)})
					sig, err := s.Sign(rand.Reader, d[:], nil)
					if err != nil || !ecdsa.VerifyASN1(cert.PublicKey.(*ecdsa.PublicKey), d[:], sig) {
						errs <- fmt.Errorf("signer does not match certificate: %v", err)
						return
					}
				}
				mu.Lock()
				counts[cert.SerialNumber.String()]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return counts, <-errs
}

func usedCounts(t testing.TB, db *pgxpool.Pool) map[string][2]int64 {
	rows, err := db.Query(context.Background(), "SELECT serial::text, used, doc_limit FROM pki_document_signer")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][2]int64{}
	for rows.Next() {
		var s string
		var used, limit int64
		if err := rows.Scan(&s, &used, &limit); err != nil {
			t.Fatal(err)
		}
		out[s] = [2]int64{used, limit}
	}
	return out
}

func TestAcquireGoroutinesNeverExceedLimit(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	future := time.Now().Add(24 * time.Hour)
	keys := fixture(t, db, t.TempDir(), []int64{150, 90, 60}, []time.Time{future, future, time.Now().Add(-time.Minute)})
	counts, err := drain(ctx, dsrotation.New(db, keys, nil), 16)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for serial, u := range usedCounts(t, db) {
		got := counts[serial]
		total += got
		switch u[1] {
		case 60: // usage period over: never used
			if got != 0 || u[0] != 0 {
				t.Errorf("expired DS granted %d (used %d)", got, u[0])
			}
		default:
			if got != u[1] || u[0] != u[1] {
				t.Errorf("DS limit %d: granted %d, counter %d", u[1], got, u[0])
			}
		}
	}
	if total != 240 {
		t.Errorf("granted %d in total, want 240", total)
	}
}

// TestAcquireChild is the body of the child processes of TestAcquireProcessesNeverExceedLimit.
func TestAcquireChild(t *testing.T) {
	url := os.Getenv("CCCD_DSROTATION_CHILD_DB")
	if url == "" {
		return // only meaningful as a child process
	}
	ctx := context.Background()
	db, err := store.Connect(ctx, url, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys, err := softkey.Open(os.Getenv("CCCD_DSROTATION_CHILD_KEYS"), passphrase, fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := drain(ctx, dsrotation.New(db, keys, nil), 6)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(counts)
	fmt.Printf("COUNTS %s\n", b)
}

func TestAcquireProcessesNeverExceedLimit(t *testing.T) {
	ctx := context.Background()
	url := storetest.URL(t)
	db, err := store.Connect(ctx, url, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()
	future := time.Now().Add(24 * time.Hour)
	keys := fixture(t, db, dir, []int64{400, 250}, []time.Time{future, future})
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		counts map[string]int64
		err    error
	}
	results := make(chan result, 3)
	for c := 0; c < 2; c++ {
		go func() {
			cmd := exec.Command(self, "-test.run=^TestAcquireChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "CCCD_DSROTATION_CHILD_DB="+url, "CCCD_DSROTATION_CHILD_KEYS="+dir)
			out, err := cmd.CombinedOutput()
			if err != nil {
				results <- result{err: fmt.Errorf("child: %v\n%s", err, out)}
				return
			}
			var counts map[string]int64
			var line []byte
			for _, l := range bytes.Split(out, []byte("\n")) {
				if len(l) > 7 && string(l[:7]) == "COUNTS " {
					line = l[7:]
				}
			}
			if err := json.Unmarshal(line, &counts); err != nil {
				results <- result{err: fmt.Errorf("child output: %v\n%s", err, out)}
				return
			}
			results <- result{counts: counts}
		}()
	}
	go func() {
		c, err := drain(ctx, dsrotation.New(db, keys, nil), 6)
		results <- result{c, err}
	}()
	total := map[string]int64{}
	for i := 0; i < 3; i++ {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		for k, v := range r.counts {
			total[k] += v
		}
	}
	for serial, u := range usedCounts(t, db) {
		if total[serial] != u[1] || u[0] != u[1] {
			t.Errorf("DS limit %d: granted %d across 3 processes, counter %d", u[1], total[serial], u[0])
		}
	}
}

func TestAcquireRejectsMismatchedKey(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	keys := fixture(t, db, t.TempDir(), []int64{5}, []time.Time{time.Now().Add(time.Hour)})
	// Replace the DS key with another one under the same label.
	if err := keys.Destroy(ctx, "ds-0"); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Generate(ctx, "ds-0", hsm.ECDSAP256); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dsrotation.New(db, keys, nil).Acquire(ctx); err == nil {
		t.Fatal("Acquire returned a signer that does not match the DS certificate")
	}
}

// BenchmarkAcquire measures one Acquire (one UPDATE round trip) per card, in parallel.
func BenchmarkAcquire(b *testing.B) {
	ctx := context.Background()
	db := storetest.New(b)
	keys := fixture(b, db, b.TempDir(), []int64{1 << 40}, []time.Time{time.Now().Add(time.Hour)})
	p := dsrotation.New(db, keys, nil)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := p.Acquire(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
