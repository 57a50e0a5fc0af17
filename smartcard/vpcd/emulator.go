package vpcd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// SocketName is the control socket's file name inside the emulator directory.
const SocketName = "emulator.sock"

// attachTimeout bounds how long Insert waits for the vpcd reader to listen.
const attachTimeout = 5 * time.Second

// maxRequest bounds one control request line.
const maxRequest = 64 << 10

// Emulator is the card emulator daemon behind `cccd card emulate`: it holds virtual chips
// in the vpcd reader slots 0..Slots-1 and takes insert, remove and list requests on a
// unix socket (Dir/emulator.sock, one JSON Request per line, one JSON Reply per line).
// Chips live in files; a removed chip is saved back to its file, so the "physical card"
// can be inserted into another reader later. Blank chips are created in Dir/chips.
type Emulator struct {
	// Slots is the number of reader slots served (1..MaxSlots).
	Slots int
	// Dir holds the control socket and the chips directory.
	Dir string
	// Load reads a chip from its file.
	Load func(path string) (Card, error)
	// NewBlank creates a blank chip with a fresh serial in dir and returns it with the
	// path of its file (which Save then writes).
	NewBlank func(dir string) (card Card, path string, err error)
	// Save writes a chip back to its file.
	Save func(card Card, path string) error
	// Addr returns the vpcd address of a slot; nil means Addr (127.0.0.1:35963+slot).
	Addr func(slot int) string
	// Log receives one line per insert, removal and failure; nil means slog.Default().
	Log *slog.Logger
	// Finished, when set, makes the emulator a card feeder, as a production line's
	// hopper is: when a reader powers off a chip for which Finished reports true (it was
	// personalized, or spoiled), the chip is taken out, saved and moved to Dir/out, and a
	// new blank chip is put into the slot.
	Finished func(Card) bool

	mu    sync.Mutex
	slots map[int]*held
}

// removalGap is how long a feeder leaves a slot empty after a chip dropped out: longer
// than pcscd's polling of the vpcd readers (about 0.4 s).
const removalGap = 1500 * time.Millisecond

// held is a chip in a reader slot.
type held struct {
	card Card
	path string
	slot *Slot
	ctx  context.Context // of the insertion: a feeder refills the slot under it
}

// SlotInfo describes one reader slot of the emulator.
type SlotInfo struct {
	Slot   int    `json:"slot"`
	Reader string `json:"reader"`
	Port   int    `json:"port"`
	Chip   string `json:"chip,omitempty"` // file of the chip in the slot; empty when the slot is empty
}

// Request is one control request: Op is "insert" (with File or Blank), "remove" or "list".
type Request struct {
	Op    string `json:"op"`
	Slot  int    `json:"slot"`
	File  string `json:"file,omitempty"`
	Blank bool   `json:"blank,omitempty"`
}

// Reply answers a Request: the slots concerned (all of them for list), or an error.
type Reply struct {
	Error string     `json:"error,omitempty"`
	Slots []SlotInfo `json:"slots,omitempty"`
}

// Validate checks the configuration.
func (e *Emulator) Validate() error {
	switch {
	case e.Slots < 1 || e.Slots > MaxSlots:
		return fmt.Errorf("vpcd: emulator: slots = %d, want 1..%d", e.Slots, MaxSlots)
	case e.Dir == "":
		return errors.New("vpcd: emulator: dir is empty")
	case e.Load == nil || e.NewBlank == nil || e.Save == nil:
		return errors.New("vpcd: emulator: Load, NewBlank and Save are required")
	}
	return nil
}

func (e *Emulator) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

func (e *Emulator) addr(slot int) string {
	if e.Addr != nil {
		return e.Addr(slot)
	}
	return Addr(slot)
}

// SocketPath returns the control socket's path.
func (e *Emulator) SocketPath() string { return filepath.Join(e.Dir, SocketName) }

// Serve listens on the control socket and answers requests until ctx ends; then it
// removes every chip (saving it) and the socket. It refuses to start when another
// emulator answers on the socket.
func (e *Emulator) Serve(ctx context.Context) (err error) {
	if err := e.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(e.Dir, "chips"), 0o755); err != nil {
		return fmt.Errorf("vpcd: emulator: %w", err)
	}
	sock := e.SocketPath()
	if c, err := net.Dial("unix", sock); err == nil {
		c.Close()
		return fmt.Errorf("vpcd: emulator: another emulator serves %s", sock)
	}
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("vpcd: emulator: remove stale socket: %w", err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("vpcd: emulator: %w", err)
	}
	e.log().Info("card emulator listening", "socket", sock, "slots", e.Slots)
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		err = errors.Join(err, e.removeAll())
	}()
	for {
		conn, aerr := ln.Accept()
		if aerr != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("vpcd: emulator: accept: %w", aerr)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.serveConn(ctx, conn)
		}()
	}
}

func (e *Emulator) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4096), maxRequest)
	enc := json.NewEncoder(conn)
	for sc.Scan() {
		var req Request
		var rep Reply
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			rep.Error = fmt.Sprintf("vpcd: emulator: bad request: %v", err)
		} else {
			rep = e.Handle(ctx, req)
		}
		if err := enc.Encode(rep); err != nil {
			return
		}
	}
}

// Handle carries out one control request.
func (e *Emulator) Handle(ctx context.Context, req Request) Reply {
	var infos []SlotInfo
	var err error
	switch req.Op {
	case "insert":
		var info SlotInfo
		info, err = e.Insert(ctx, req.Slot, req.File, req.Blank)
		infos = []SlotInfo{info}
	case "remove":
		var info SlotInfo
		info, err = e.Remove(req.Slot)
		infos = []SlotInfo{info}
	case "list":
		infos = e.List()
	default:
		err = fmt.Errorf("vpcd: emulator: unknown op %q, want insert, remove or list", req.Op)
	}
	if err != nil {
		e.log().Warn("card emulator request failed", "op", req.Op, "slot", req.Slot, "err", err)
		return Reply{Error: err.Error()}
	}
	return Reply{Slots: infos}
}

func (e *Emulator) checkSlot(slot int) error {
	if slot < 0 || slot >= e.Slots {
		return fmt.Errorf("vpcd: emulator: slot %d out of range 0..%d", slot, e.Slots-1)
	}
	return nil
}

func (e *Emulator) info(slot int) SlotInfo {
	si := SlotInfo{Slot: slot, Reader: ReaderName(slot), Port: Port(slot)}
	if h := e.slots[slot]; h != nil {
		si.Chip = h.path
	}
	return si
}

// Insert puts a chip into slot: the one in file, or a new blank one (saved at once in
// Dir/chips). A file already in another slot is refused: one card, one reader.
func (e *Emulator) Insert(ctx context.Context, slot int, file string, blank bool) (SlotInfo, error) {
	if err := e.checkSlot(slot); err != nil {
		return SlotInfo{}, err
	}
	if blank == (file != "") {
		return SlotInfo{}, errors.New("vpcd: emulator: insert needs exactly one of a chip file or blank")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.slots == nil {
		e.slots = make(map[int]*held)
	}
	if h := e.slots[slot]; h != nil {
		return SlotInfo{}, fmt.Errorf("vpcd: emulator: slot %d already holds %s; remove it first", slot, h.path)
	}
	var card Card
	var err error
	if blank {
		if err := os.MkdirAll(filepath.Join(e.Dir, "chips"), 0o700); err != nil {
			return SlotInfo{}, fmt.Errorf("vpcd: emulator: %w", err)
		}
		card, file, err = e.NewBlank(filepath.Join(e.Dir, "chips"))
		if err == nil {
			err = e.Save(card, file)
		}
	} else {
		if file, err = filepath.Abs(file); err != nil {
			return SlotInfo{}, fmt.Errorf("vpcd: emulator: %w", err)
		}
		for s, h := range e.slots {
			if h.path == file {
				return SlotInfo{}, fmt.Errorf("vpcd: emulator: %s is in slot %d; remove it first", file, s)
			}
		}
		card, err = e.Load(file)
	}
	if err != nil {
		return SlotInfo{}, fmt.Errorf("vpcd: emulator: slot %d: %w", slot, err)
	}
	actx, cancel := context.WithTimeout(ctx, attachTimeout)
	defer cancel()
	served := card
	if e.Finished != nil {
		served = &fed{Card: card, off: func() {
			if e.Finished(card) {
				go e.refeed(context.WithoutCancel(ctx), slot, card)
			}
		}}
	}
	s, err := attach(actx, context.WithoutCancel(ctx), e.addr(slot), served) // served until Remove
	if err != nil {
		return SlotInfo{}, fmt.Errorf("vpcd: emulator: slot %d (is pcscd running? scripts/pcscd.sh start %d): %w", slot, e.Slots, err)
	}
	h := &held{card: card, path: file, slot: s, ctx: context.WithoutCancel(ctx)}
	e.slots[slot] = h
	go e.watch(slot, h)
	e.log().Info("card inserted", "slot", slot, "reader", ReaderName(slot), "chip", file)
	return e.info(slot), nil
}

// watch frees the slot and saves the chip when the reader drops the card by itself
// (pcscd stopped).
func (e *Emulator) watch(slot int, h *held) {
	<-h.slot.Done()
	err := h.slot.Err()
	if err == nil {
		return // Detach: Remove or removeAll saves
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.slots[slot] != h {
		return
	}
	delete(e.slots, slot)
	if serr := e.Save(h.card, h.path); serr != nil {
		err = errors.Join(err, serr)
	}
	e.log().Warn("card dropped by the reader; chip saved", "slot", slot, "chip", h.path, "err", err)
	if e.Finished != nil && e.Finished(h.card) {
		// A chip pulled out mid-write (torn) is spoiled: the feeder takes it away and
		// puts a blank one in, as a hopper would.
		go func() {
			// The reader must see the slot empty before the next chip arrives, or the
			// station waiting for the torn card's removal never sees it go.
			time.Sleep(removalGap)
			out := filepath.Join(e.Dir, "out")
			if err := os.MkdirAll(out, 0o700); err == nil {
				os.Rename(h.path, filepath.Join(out, filepath.Base(h.path)))
			}
			if _, err := e.Insert(h.ctx, slot, "", true); err != nil {
				e.log().Warn("card feeder", "slot", slot, "err", err)
				return
			}
			e.log().Info("card feeder: dropped chip out, blank chip in", "slot", slot)
		}()
	}
}

// Remove takes the chip out of slot and saves it to its file.
func (e *Emulator) Remove(slot int) (SlotInfo, error) {
	if err := e.checkSlot(slot); err != nil {
		return SlotInfo{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	h := e.slots[slot]
	if h == nil {
		return SlotInfo{}, fmt.Errorf("vpcd: emulator: slot %d is empty", slot)
	}
	info := e.info(slot)
	delete(e.slots, slot)
	err := errors.Join(h.slot.Detach(), e.Save(h.card, h.path))
	if err != nil {
		return info, fmt.Errorf("vpcd: emulator: remove slot %d: %w", slot, err)
	}
	e.log().Info("card removed", "slot", slot, "chip", h.path)
	return info, nil
}

// fed is a chip in a feeder slot: it reports power-off to the emulator.
type fed struct {
	Card
	off func()
}

func (f *fed) PoweredOff() { f.off() }

// refeed replaces a finished chip with a blank one.
func (e *Emulator) refeed(ctx context.Context, slot int, card Card) {
	e.mu.Lock()
	h := e.slots[slot]
	e.mu.Unlock()
	if h == nil || h.card != card {
		return // already taken out
	}
	info, err := e.Remove(slot)
	if err == nil {
		out := filepath.Join(e.Dir, "out")
		if err = os.MkdirAll(out, 0o700); err == nil {
			err = os.Rename(info.Chip, filepath.Join(out, filepath.Base(info.Chip)))
		}
	}
	if err == nil {
		_, err = e.Insert(ctx, slot, "", true)
	}
	if err != nil {
		e.log().Warn("card feeder", "slot", slot, "err", err)
		return
	}
	e.log().Info("card feeder: finished chip out, blank chip in", "slot", slot, "chip", filepath.Join(e.Dir, "out", filepath.Base(info.Chip)))
}

// List describes every slot.
func (e *Emulator) List() []SlotInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]SlotInfo, e.Slots)
	for i := range out {
		out[i] = e.info(i)
	}
	return out
}

func (e *Emulator) removeAll() error {
	var errs []error
	for _, si := range e.List() {
		if si.Chip == "" {
			continue
		}
		if _, err := e.Remove(si.Slot); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Control sends one request to the emulator whose directory is dir and returns its reply;
// a Reply.Error becomes an error.
func Control(ctx context.Context, dir string, req Request) ([]SlotInfo, error) {
	if req.Op == "insert" && req.File != "" {
		abs, err := filepath.Abs(req.File) // the daemon's working directory is not ours
		if err != nil {
			return nil, fmt.Errorf("vpcd: %w", err)
		}
		req.File = abs
	}
	sock := filepath.Join(dir, SocketName)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, fmt.Errorf("vpcd: no card emulator at %s (start one with `cccd card emulate`): %w", sock, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return nil, fmt.Errorf("vpcd: %w", err)
		}
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return nil, fmt.Errorf("vpcd: send to emulator: %w", err)
	}
	var rep Reply
	if err := json.NewDecoder(conn).Decode(&rep); err != nil {
		return nil, fmt.Errorf("vpcd: reply from emulator: %w", errors.Join(ctx.Err(), err))
	}
	if rep.Error != "" {
		return nil, errors.New(rep.Error)
	}
	return rep.Slots, nil
}
