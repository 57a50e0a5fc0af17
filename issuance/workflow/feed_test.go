package workflow_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance/workflow"
)

// TestFeed: a feed on the events stream tells every watcher each state change of a
// running batch, once, without a durable consumer of its own (an ordered consumer
// acknowledges nothing); a watcher that does not read is told it lost events.
func TestFeed(t *testing.T) {
	w := newWorld(t, 3)
	b := running(t, w, jobWorker(w))
	ctx, cancel := context.WithCancel(context.Background())
	feed := &workflow.Feed{JS: b.JS, Log: quiet}
	done := make(chan struct{})
	go func() { defer close(done); feed.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	reader, idle := feed.Watch(0), feed.Watch(1)
	defer idle.Close()

	// The feed starts at the newest event: wait until its consumer exists.
	stream, err := b.JS.Stream(ctx, workflow.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Consumers >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the feed's consumer never appeared")
		}
	}
	w.startBatch()
	w.waitFor("personalized", 3, time.Minute)

	var got []string
	for deadline := time.After(30 * time.Second); len(got) < 9; {
		select {
		case ev := <-reader.C:
			got = append(got, fmt.Sprintf("%d:%s>%s", ev.ApplicationID, ev.From, ev.To))
		case <-deadline:
			t.Fatalf("events %v, want 9", got)
		}
	}
	sort.Strings(got)
	var want []string
	for app := 1; app <= 3; app++ {
		want = append(want, fmt.Sprintf("%d:approved>queued", app), fmt.Sprintf("%d:personalizing>personalized", app),
			fmt.Sprintf("%d:queued>personalizing", app))
	}
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("events\n%v\nwant\n%v", got, want)
	}
	select {
	case ev := <-reader.C:
		t.Fatalf("extra event %+v", ev)
	case <-time.After(200 * time.Millisecond):
	}
	if reader.Lost() || !idle.Lost() {
		t.Fatalf("lost: reader %v, idle watcher %v; want false, true", reader.Lost(), idle.Lost())
	}
	reader.Close()
	if n := feed.Watchers(); n != 1 {
		t.Fatalf("%d watchers after one closed, want 1", n)
	}

	// The events stream has no durable consumer of the feed's.
	lister := stream.ListConsumers(ctx)
	for info := range lister.Info() {
		if info.Config.Durable != "" && !strings.HasPrefix(info.Config.Durable, "stage-") && !strings.HasPrefix(info.Config.Durable, "perso-") {
			t.Errorf("durable consumer %q on the events stream", info.Config.Durable)
		}
	}
	if err := lister.Err(); err != nil {
		t.Fatal(err)
	}
}
