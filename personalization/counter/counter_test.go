package counter_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/personalization/counter"
	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/pcsc"
)

// readers is a PC/SC stand-in: cards arrive in reader "R2" one after another (each
// WaitForCard returns once per card), none ever connects.
type readers struct {
	names []string
	cards chan struct{}
}

func (r *readers) Readers(context.Context) ([]string, error) { return r.names, nil }

func (r *readers) WaitForCard(ctx context.Context, name string) error {
	if name != "R2" {
		<-ctx.Done()
		return ctx.Err()
	}
	select {
	case <-r.cards:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *readers) WaitForRemoval(context.Context, string) error { return nil }

func (r *readers) Connect(_ context.Context, name string) (*pcsc.Card, error) {
	return nil, fmt.Errorf("pcsc: connect %s: card is mute", name)
}

// TestWatch: a watch with no reader named takes the first reader a card is put in and
// stays on it, reports every card (here unreadable: the connection fails, with the
// reason) and every removal, and returns nil when its context ends; Once stops after
// the first card; a failing Setup ends the watch with its error.
func TestWatch(t *testing.T) {
	pc := &readers{names: []string{"R1", "R2"}, cards: make(chan struct{}, 2)}
	pc.cards <- struct{}{}
	pc.cards <- struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []string
	setups := 0
	w := counter.Watch{PC: pc,
		Setup: func(context.Context, string) (emrtd.Credentials, verify.Options, error) {
			setups++
			return emrtd.Credentials{CAN: "123456"}, verify.Options{}, nil
		},
		On: func(ev counter.Event) {
			s := ev.Kind + ":" + ev.Reader
			if ev.Report != nil {
				s += ":" + string(ev.Report.Verdict) + ":" + ev.Report.Code
				if !strings.Contains(ev.Report.Reasons[0].Detail, "card is mute") {
					t.Errorf("reason %+v", ev.Report.Reasons)
				}
			}
			got = append(got, s)
			if len(got) == 6 {
				cancel()
			}
		}}
	r, err := w.Run(ctx)
	want := "waiting: result:R2:unreadable:read-failed removed:R2 waiting:R2 result:R2:unreadable:read-failed removed:R2 waiting:R2"
	if err != nil || strings.Join(got, " ") != want || setups != 2 || r.Verdict != verify.Unreadable {
		t.Fatalf("err %v, setups %d, events\n%s\nwant\n%s", err, setups, strings.Join(got, " "), want)
	}

	pc.cards <- struct{}{}
	w.On, w.Once, w.Reader = nil, true, "R2"
	if r, err := w.Run(context.Background()); err != nil || r.Verdict != verify.Unreadable {
		t.Fatalf("once: %v %v", r.Verdict, err)
	}

	pc.cards <- struct{}{}
	boom := errors.New("no trust store")
	w.Setup = func(context.Context, string) (emrtd.Credentials, verify.Options, error) {
		return emrtd.Credentials{}, verify.Options{}, boom
	}
	if _, err := w.Run(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("setup error: %v", err)
	}

	// No reader at all.
	none := &readers{}
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if _, err := counter.PickReader(ctx2, none, ""); !errors.Is(err, counter.ErrNoReader) {
		t.Fatalf("no readers: %v", err)
	}
}
