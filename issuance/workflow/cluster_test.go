package workflow_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cccd-project/cccd/issuance/broker"
	"github.com/cccd-project/cccd/issuance/site"
	"github.com/cccd-project/cccd/issuance/workflow"
)

// loopbackPorts returns n loopback TCP ports free at the time of the call (nats-server
// processes cannot be handed listeners).
func loopbackPorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// startCluster runs a 3-node NATS JetStream cluster on loopback with TLS and the
// site's roles, and returns it with the broker configuration of `cccd serve`.
func startCluster(t *testing.T) (*site.NATSCluster, broker.Config) {
	t.Helper()
	dir := t.TempDir()
	ca, err := site.OpenCA(filepath.Join(dir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	ports := loopbackPorts(t, 6)
	c := &site.NATSCluster{Dir: dir, CA: ca, Roles: site.Roles([]string{"L1"})}
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("n%d", i+1)
		c.Nodes = append(c.Nodes, site.NATSNode{Name: name, Host: "127.0.0.1", Port: ports[2*i], Cluster: ports[2*i+1],
			StoreDir: filepath.Join(dir, name)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("sh", "-c", "grep -v 'Error trying to connect' "+dir+"/nats-n[13].log | tail -n 40").CombinedOutput()
			t.Logf("%s", out)
		}
	})
	serve, err := ca.Issue(site.RoleServe, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, broker.Config{URL: c.URLs(), Name: "serve", CAFile: ca.CAFile(), CertFile: serve.CertFile, KeyFile: serve.KeyFile}
}

// leader is the server leading a stream.
func leader(t *testing.T, js jetstream.JetStream, stream string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		try, done := context.WithTimeout(ctx, 2*time.Second)
		s, err := js.Stream(try, stream)
		done()
		if err == nil && s.CachedInfo().Cluster != nil && s.CachedInfo().Cluster.Leader != "" {
			return s.CachedInfo().Cluster.Leader
		}
		if ctx.Err() != nil {
			t.Fatalf("no leader for %s: %v %+v", stream, err, s)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestClusterLeaderChange: with the streams kept on three replicas, the node leading the
// work queue is killed (SIGKILL) while the line runs, brought back, and then the node
// leading the events stream is killed too. Every application is still delivered exactly
// once, with no chip bound twice, no dead letter and no message left unacknowledged.
func TestClusterLeaderChange(t *testing.T) {
	const n = 300
	cluster, bcfg := startCluster(t)
	w := newWorld(t, n)
	w.bcfg, w.maker.failEvery, w.maker.delay, w.streams = bcfg, 11, 20*time.Millisecond, workflow.Streams{Replicas: 3}
	svc := w.start(nil)
	defer svc.stop()
	info, err := svc.b.JS.Stream(context.Background(), workflow.JobsStream)
	if err != nil || info.CachedInfo().Config.Replicas != 3 {
		t.Fatalf("work queue not kept on 3 replicas: %v", err)
	}
	batch := w.startBatch()

	waitMade(t, w, n/5)
	first := leader(t, svc.b.JS, workflow.JobsStream)
	if err := cluster.Kill(first); err != nil {
		t.Fatal(err)
	}
	if next := leader(t, svc.b.JS, workflow.JobsStream); next == first {
		t.Fatalf("leader still %s after it was killed", first)
	}
	waitMade(t, w, n/2)
	if err := cluster.StartNode(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	second := leader(t, svc.b.JS, workflow.EventsStream)
	if err := cluster.Kill(second); err != nil {
		t.Fatal(err)
	}
	w.waitFor("qc_passed", n, 3*time.Minute)
	w.deliverAndCheck(batch, n)
	noneUnacked(t, svc.b.JS, map[string][]string{workflow.JobsStream: {"perso-L1"}, workflow.EventsStream: {"stage-print", "stage-qc"}})
	t.Logf("killed the work queue's leader %s and the events' leader %s", first, second)
}

// waitMade waits until the station has made n cards.
func waitMade(t *testing.T, w *world, n int) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); w.maker.made.Load() < int64(n); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the station made %d cards in 2 minutes, want %d", w.maker.made.Load(), n)
		}
	}
}

// noneUnacked waits until no consumer has a message pending or unacknowledged.
func noneUnacked(t *testing.T, js jetstream.JetStream, consumers map[string][]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for stream, names := range consumers {
		for _, name := range names {
			for {
				try, done := context.WithTimeout(ctx, 2*time.Second)
				c, err := js.Consumer(try, stream, name)
				var ci *jetstream.ConsumerInfo
				if err == nil {
					ci, err = c.Info(try)
				}
				done()
				if err == nil && ci.NumAckPending == 0 && ci.NumPending == 0 {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("consumer %s/%s: %+v %v", stream, name, ci, err)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
}
