package broker_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cccd-project/cccd/issuance/broker"
	"github.com/cccd-project/cccd/issuance/site"
	"github.com/cccd-project/cccd/issuance/workflow"
)

// securedSite is an embedded broker listening with TLS and the site's roles, and the
// identities of its clients.
type securedSite struct {
	ca    *site.CA
	url   string
	serve *broker.Broker
	ids   map[string]site.Identity
	rogue site.Identity // a "station-L1" certificate of another CA
}

func newSecuredSite(t *testing.T, ctx context.Context) *securedSite {
	t.Helper()
	t.Setenv("CCCD_NATS_URL", "")
	ca, err := site.OpenCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &securedSite{ca: ca, ids: map[string]site.Identity{}}
	for _, role := range site.Roles([]string{"L1", "L2"}) {
		if s.ids[role], err = ca.Issue(role, nil); err != nil {
			t.Fatal(err)
		}
	}
	srvID, err := ca.Issue("nats-1", []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := site.OpenCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if s.rogue, err = other.Issue("station-L1", nil); err != nil {
		t.Fatal(err)
	}
	serve := s.ids[site.RoleServe]
	s.serve, err = broker.Connect(ctx, broker.Config{StoreDir: t.TempDir(), Listen: true, Name: "serve",
		CAFile: ca.CAFile(), CertFile: serve.CertFile, KeyFile: serve.KeyFile,
		ServerCertFile: srvID.CertFile, ServerKeyFile: srvID.KeyFile, Lines: []string{"L1", "L2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.serve.Close)
	s.url = s.serve.ClientURL()
	if err := workflow.EnsureStreams(ctx, s.serve.JS); err != nil {
		t.Fatal(err)
	}
	return s
}

// client connects with a role's certificate and collects the asynchronous errors (the
// server's permission violations).
func (s *securedSite) client(t *testing.T, role string) (*nats.Conn, jetstream.JetStream, func() []string) {
	t.Helper()
	id := s.ids[role]
	tc, err := site.ClientTLS(s.ca.CAFile(), id.CertFile, id.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var errs []string
	nc, err := nats.Connect(s.url, nats.Secure(tc), nats.CustomInboxPrefix(site.InboxPrefix(role)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			mu.Lock()
			errs = append(errs, err.Error())
			mu.Unlock()
		}))
	if err != nil {
		t.Fatalf("%s: %v", role, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js, func() []string {
		nc.Flush()
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

func violated(errs []string, subject string) bool {
	for _, e := range errs {
		if strings.Contains(strings.ToLower(e), "permissions violation") && strings.Contains(e, subject) {
			return true
		}
	}
	return false
}

func jobConsumer(line string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{Durable: "perso-" + line, FilterSubject: workflow.JobSubject + line, AckPolicy: jetstream.AckExplicitPolicy}
}

// TestStationTakesOnlyItsLine: a station of line L1 takes and acknowledges L1's job;
// with its L1 credentials it can neither create nor read line L2's consumer, and L2's
// job stays queued.
func TestStationTakesOnlyItsLine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := newSecuredSite(t, ctx)
	for _, line := range []string{"L1", "L2"} {
		if _, err := s.serve.JS.Publish(ctx, workflow.JobSubject+line, []byte(`{"job":"`+line+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	_, js, errs := s.client(t, site.StationRole("L1"))
	cons, err := js.CreateOrUpdateConsumer(ctx, workflow.JobsStream, jobConsumer("L1"))
	if err != nil {
		t.Fatalf("station-L1 creating its own consumer: %v", err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for m := range batch.Messages() {
		if string(m.Data()) != `{"job":"L1"}` {
			t.Fatalf("station-L1 got %s", m.Data())
		}
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatalf("station-L1 acknowledging its job: %v", err)
		}
		got++
	}
	if got != 1 {
		t.Fatalf("station-L1 took %d jobs of its line, want 1", got)
	}

	short, done := context.WithTimeout(ctx, 3*time.Second)
	_, err = js.CreateOrUpdateConsumer(short, workflow.JobsStream, jobConsumer("L2"))
	done()
	if err == nil {
		t.Fatal("station-L1 created line L2's consumer")
	}
	if _, err := s.serve.JS.CreateOrUpdateConsumer(ctx, workflow.JobsStream, jobConsumer("L2")); err != nil {
		t.Fatal(err)
	}
	short, done = context.WithTimeout(ctx, 3*time.Second)
	_, err = js.Consumer(short, workflow.JobsStream, "perso-L2")
	done()
	if err == nil {
		t.Fatal("station-L1 read line L2's consumer")
	}
	if !violated(errs(), "$JS.API.CONSUMER.INFO.CCCD_JOBS.perso-L2") {
		t.Fatalf("no permissions violation reported for L2's consumer: %v", errs())
	}
	info, err := s.serve.JS.Stream(ctx, workflow.JobsStream)
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("%d jobs left on the work queue, want line L2's one", n)
	}
}

// TestCounterReadsNoProductionSubject: a counter's certificate reaches the broker, but
// subscribing to the work queue or the application events, or making a consumer on
// them, is refused.
func TestCounterReadsNoProductionSubject(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := newSecuredSite(t, ctx)
	nc, js, errs := s.client(t, site.RoleCounter)
	if _, err := js.AccountInfo(ctx); err != nil {
		t.Fatalf("counter cannot reach the broker at all: %v", err)
	}
	for _, subj := range []string{workflow.JobSubject + "L1", "cccd.app.approved", "cccd.>"} {
		sub, err := nc.SubscribeSync(subj)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.serve.JS.Publish(ctx, workflow.JobSubject+"L1", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if m, err := sub.NextMsg(500 * time.Millisecond); err == nil {
			t.Fatalf("counter read %s on %s", m.Data, subj)
		}
		if !violated(errs(), subj) {
			t.Fatalf("subscription to %s: no permissions violation: %v", subj, errs())
		}
	}
	short, done := context.WithTimeout(ctx, 3*time.Second)
	defer done()
	if _, err := js.CreateOrUpdateConsumer(short, workflow.JobsStream, jobConsumer("L1")); err == nil {
		t.Fatal("counter made a consumer on the work queue")
	}
}

// TestClientWithoutValidCertificateRefused: no TLS, TLS without a client certificate,
// and a certificate of another CA are all refused; the site's certificate is accepted.
func TestClientWithoutValidCertificateRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := newSecuredSite(t, ctx)
	station := s.ids[site.StationRole("L1")]
	cases := []struct {
		name       string
		tls        bool
		cert, key  string
		wantRefuse bool
	}{
		{"site certificate", true, station.CertFile, station.KeyFile, false},
		{"plain connection", false, "", "", true},
		{"TLS without a client certificate", true, "", "", true},
		{"certificate of another CA", true, s.rogue.CertFile, s.rogue.KeyFile, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := []nats.Option{nats.Timeout(3 * time.Second)}
			if c.tls {
				tc, err := site.ClientTLS(s.ca.CAFile(), c.cert, c.key)
				if err != nil {
					t.Fatal(err)
				}
				opts = append(opts, nats.Secure(tc))
			}
			nc, err := nats.Connect(s.url, opts...)
			if err == nil {
				// A refused certificate may surface on the first round trip.
				err = nc.FlushTimeout(3 * time.Second)
				nc.Close()
			}
			if refused := err != nil; refused != c.wantRefuse {
				t.Fatalf("refused = %v (%v), want %v", refused, err, c.wantRefuse)
			}
			if err != nil && errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("refusal by timeout, not by the server: %v", err)
			}
		})
	}
}
