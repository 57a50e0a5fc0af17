package drill

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The hosts of the test site and their addresses: the table of scripts/site.sh.
const subnet = "10.77.0."

var hostAddr = map[string]string{
	"nats1": subnet + "11", "nats2": subnet + "12", "nats3": subnet + "13",
	"db": subnet + "20", "serve": subnet + "30", "st1": subnet + "41", "st2": subnet + "42", "office": subnet + "50",
}

// netns is the network namespace of a host of the site.
func (d *drill) netns(host string) string { return d.cfg.Site + "-" + host }

// onHost is the command prefix that runs a command on a host.
func (d *drill) onHost(host string) []string { return []string{"ip", "netns", "exec", d.netns(host)} }

// proc is a long-running process of the site that the drill kills and restarts.
type proc struct {
	name string
	argv func() []string // the command, computed at each start (a station enters its host's mount namespace)
	env  []string
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	argv := p.argv()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("drill: %w", err)
	}
	defer f.Close()
	fmt.Fprintf(f, "\n=== drill: start %s at %s\n", p.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("drill: start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	p.cmd, p.done = cmd, done
	return nil
}

// pid is the process's id (0 when not running).
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// running reports whether the process is alive.
func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL to the process group (kill -9) and waits for the end.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
}

// stop ends the process politely (SIGTERM), then with SIGKILL.
func (p *proc) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	p.kill()
}

// stationHost is a station host: its own pcscd (in a private mount namespace, so that
// its socket /run/pcscd/pcscd.comm is its own), a card feeder serving virtual chips in
// its two vpcd readers, and `cccd station`.
type stationHost struct {
	name     string
	pidFile  string // pcscd's process id, written by the shell that becomes pcscd
	pcscd    *proc
	emulator *proc
	station  *proc
}

// pcscdPID is the process id of the host's pcscd (0 until it wrote it).
func (h *stationHost) pcscdPID() int {
	b, err := os.ReadFile(h.pidFile)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// pcscdReady reports whether the host's pcscd runs in a mount namespace of its own
// (so that its stations can never reach the machine's pcscd) and has its socket.
func (h *stationHost) pcscdReady() bool {
	pid := h.pcscdPID()
	if pid == 0 {
		return false
	}
	own, err1 := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	mine, err2 := os.Readlink("/proc/self/ns/mnt")
	if err1 != nil || err2 != nil || own == mine {
		return false
	}
	_, err := os.Stat(fmt.Sprintf("/proc/%d/root/run/pcscd/pcscd.comm", pid))
	return err == nil
}

// pcscdConf writes pcscd's reader configuration for two vpcd slots (ports 35963 and
// 35964 of the host's own network) and a copy of pcscd named cccd-site-pcscd, so that
// the machine's own pcscd tooling (pidof pcscd, scripts/pcscd.sh) never takes a site's
// pcscd for the machine's.
func pcscdConf(dir string) (conf, bin string, err error) {
	lib := "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
	if _, err := os.Stat(lib); err != nil {
		return "", "", fmt.Errorf("drill: %s (Debian package vsmartcard-vpcd): %w", lib, err)
	}
	pcscd, err := exec.LookPath("pcscd")
	if err != nil {
		return "", "", fmt.Errorf("drill: pcscd (Debian package pcscd): %w", err)
	}
	b, err := os.ReadFile(pcscd)
	if err != nil {
		return "", "", fmt.Errorf("drill: %w", err)
	}
	bin = filepath.Join(dir, "cccd-site-pcscd")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		return "", "", fmt.Errorf("drill: %w", err)
	}
	conf = filepath.Join(dir, "reader.conf")
	text := "FRIENDLYNAME \"CCCD vpcd 00-01\"\nDEVICENAME   /dev/null:35963\nLIBPATH      " + lib + "\nCHANNELID    35963\n"
	return conf, bin, os.WriteFile(conf, []byte(text), 0o644)
}

// readers are the names pcscd gives the two slots.
var readers = []string{"CCCD vpcd 00-01 00 00", "CCCD vpcd 00-01 00 01"}

// waitFor polls cond every 200 ms until it holds or the timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("drill: %s: not within %v", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// inMountNS is the prefix that runs a command in the mount and network namespaces of a
// running process (a station host's pcscd).
func inMountNS(pid int) []string {
	return []string{"nsenter", "-t", strconv.Itoa(pid), "-m", "-n", "--"}
}
