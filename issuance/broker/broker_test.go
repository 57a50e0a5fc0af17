package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cccd-project/cccd/issuance/broker"
)

// TestEmbeddedListensForLocalStations: an embedded broker that listens writes its URL,
// another client finds it with DiscoverURL, and JetStream messages pass between them.
func TestEmbeddedListensForLocalStations(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.Setenv("CCCD_NATS_URL", "")
	dir := t.TempDir()
	srv, err := broker.Connect(ctx, broker.Config{StoreDir: dir, Listen: true, Name: "serve"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !srv.Embedded() {
		t.Fatal("no CCCD_NATS_URL, yet the broker is not embedded")
	}
	url, err := broker.DiscoverURL(dir)
	if err != nil || url != srv.ClientURL() {
		t.Fatalf("DiscoverURL = %q, %v; want %q", url, err, srv.ClientURL())
	}
	st, err := broker.Connect(ctx, broker.Config{URL: url, Name: "station"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Embedded() {
		t.Fatal("a client of a URL reports an embedded server")
	}
	if _, err := srv.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.JS.Publish(ctx, "t.x", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	s, err := srv.JS.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := s.GetLastMsgForSubject(ctx, "t.x"); err != nil || string(m.Data) != "hello" {
		t.Fatalf("message across clients: %v %v", m, err)
	}
}

// TestDiscoverWithoutServer names what is missing.
func TestDiscoverWithoutServer(t *testing.T) {
	t.Setenv("CCCD_NATS_URL", "")
	if _, err := broker.DiscoverURL(t.TempDir()); err == nil {
		t.Fatal("found a broker in an empty directory")
	}
	t.Setenv("CCCD_NATS_URL", "nats://127.0.0.1:14222")
	if u, err := broker.DiscoverURL(t.TempDir()); err != nil || u != "nats://127.0.0.1:14222" {
		t.Fatalf("CCCD_NATS_URL not preferred: %q %v", u, err)
	}
}
