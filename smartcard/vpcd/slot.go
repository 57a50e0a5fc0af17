package vpcd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Card is a virtual chip served in a reader slot. Its methods are only ever called from
// one goroutine at a time (the Slot's).
type Card interface {
	// ATR returns the answer-to-reset (ISO/IEC 7816-3 §8).
	ATR() []byte
	// Reset drops the volatile state, as a power cycle or warm reset does.
	Reset()
	// Process answers one command APDU with data||SW1SW2.
	Process(command []byte) []byte
}

// quickAck is switched off only by the QUICKACK benchmark (export_test.go).
var quickAck = true

// retryDelay is the pause between connection attempts while the driver does not listen.
const retryDelay = 50 * time.Millisecond

// Slot is a virtual card inserted in a vpcd reader slot.
type Slot struct {
	addr string
	conn *net.TCPConn
	raw  syscall.RawConn
	card Card

	done    chan struct{} // closed when the serving goroutine has returned
	once    sync.Once
	mu      sync.Mutex
	err     error // why serving stopped, if not Detach
	closing bool
}

// Attach inserts card into the vpcd reader slot listening on addr (e.g. Addr(3)): it
// connects to the driver, retrying while nothing listens there, until ctx ends. The card is
// then served in the background until Detach is called or ctx ends. pcscd notices the
// card on its next presence poll (vpcd polls about every 400 ms).
func Attach(ctx context.Context, addr string, card Card) (*Slot, error) {
	return attach(ctx, ctx, addr, card)
}

// attach connects within dialCtx and serves until serveCtx ends or Detach.
func attach(dialCtx, serveCtx context.Context, addr string, card Card) (*Slot, error) {
	if card == nil {
		return nil, errors.New("vpcd: attach: nil card")
	}
	conn, err := dial(dialCtx, addr)
	if err != nil {
		return nil, err
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("vpcd: %s: %w", addr, err)
	}
	s := &Slot{addr: addr, conn: conn, raw: raw, card: card, done: make(chan struct{})}
	// TCP_NODELAY: our answers go out at once (Go sets it by default; say so explicitly).
	if err := conn.SetNoDelay(true); err != nil {
		conn.Close()
		return nil, fmt.Errorf("vpcd: %s: set TCP_NODELAY: %w", addr, err)
	}
	if err := s.setQuickAck(); err != nil {
		conn.Close()
		return nil, err
	}
	go s.serve()
	go func() {
		select {
		case <-serveCtx.Done():
			_ = s.Detach() // only a failing close(2) errs; Done() reports the end
		case <-s.done:
		}
	}()
	return s, nil
}

func dial(ctx context.Context, addr string) (*net.TCPConn, error) {
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.(*net.TCPConn), nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("vpcd: no vpcd reader listens on %s: %w", addr, errors.Join(ctx.Err(), err))
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("vpcd: connect %s: %w", addr, err)
		}
		t := time.NewTimer(retryDelay)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// setQuickAck asks Linux to acknowledge the next segments at once. The vpcd driver writes
// the length prefix and the APDU as two small segments without TCP_NODELAY, so with
// delayed ACKs (40 ms) Nagle holds back the APDU on every command; Linux clears the
// flag again by itself, so it is set before every read.
func (s *Slot) setQuickAck() error {
	if !quickAck {
		return nil
	}
	var serr error
	err := s.raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("vpcd: %s: set TCP_QUICKACK: %w", s.addr, err)
	}
	return nil
}

// quickAckReader sets TCP_QUICKACK before every read of the connection.
type quickAckReader struct{ s *Slot }

func (r quickAckReader) Read(p []byte) (int, error) {
	if err := r.s.setQuickAck(); err != nil {
		return 0, err
	}
	return r.s.conn.Read(p)
}

func (s *Slot) serve() {
	defer close(s.done)
	in := bufio.NewReaderSize(quickAckReader{s}, 4096)
	var buf, out []byte
	for {
		msg, err := ReadMessage(in, buf)
		if err != nil {
			s.stop(fmt.Errorf("vpcd: %s: read: %w", s.addr, err))
			return
		}
		buf = msg[:0]
		rsp, reply := Answer(s.card, msg)
		if !reply {
			continue
		}
		if len(rsp) == 0 {
			s.stop(fmt.Errorf("vpcd: %s: %w", s.addr, ErrSilent))
			return
		}
		out, err = AppendMessage(out[:0], rsp)
		if err != nil {
			s.stop(fmt.Errorf("vpcd: %s: answer: %w", s.addr, err))
			return
		}
		if _, err := s.conn.Write(out); err != nil { // one write per message
			s.stop(fmt.Errorf("vpcd: %s: write: %w", s.addr, err))
			return
		}
	}
}

// stop records why serving ended (unless Detach ended it) and drops the connection.
func (s *Slot) stop(err error) {
	s.mu.Lock()
	if !s.closing && s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.conn.Close()
}

// Addr returns the address of the reader slot the card is in.
func (s *Slot) Addr() string { return s.addr }

// Done is closed when the card has left the reader: after Detach, when ctx of Attach
// ended, or when the driver dropped the connection (pcscd stopped).
func (s *Slot) Done() <-chan struct{} { return s.done }

// Err returns why the card left the reader other than by Detach or the end of the
// Attach context (nil while it is inserted or after those).
func (s *Slot) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Detach removes the card from the reader by closing the connection. It is safe in the
// middle of an APDU: a command being processed completes inside the card, its answer is
// dropped, and the reader sees the card vanish. Detach returns after the card's last
// method call has returned, so the caller may then save or reuse the card. Calling it
// again is a no-op.
func (s *Slot) Detach() error {
	var err error
	s.once.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		if cerr := s.conn.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
			err = fmt.Errorf("vpcd: %s: detach: %w", s.addr, cerr)
		}
	})
	<-s.done
	return err
}
