package site

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// NATSCluster runs the nodes of a NATS JetStream cluster as nats-server processes (the
// Debian package), each with its configuration from NATSServerConfig and a certificate
// of the site CA. Wrap, when set, gives the command prefix that runs a node on its host
// (e.g. `ip netns exec HOST` on a test site).
type NATSCluster struct {
	Dir   string
	Nodes []NATSNode
	CA    *CA
	Roles []string
	Wrap  func(n NATSNode) []string

	mu    sync.Mutex
	procs map[string]*exec.Cmd
}

// URLs is the client URL list of every node, comma separated (CCCD_NATS_URL).
func (c *NATSCluster) URLs() string {
	u := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		u[i] = "tls://" + net.JoinHostPort(n.Host, strconv.Itoa(n.Port))
	}
	return strings.Join(u, ",")
}

// Node returns the node of that name.
func (c *NATSCluster) Node(name string) (NATSNode, bool) {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return NATSNode{}, false
}

// Start writes every node's configuration and certificate and starts the nodes.
func (c *NATSCluster) Start(ctx context.Context) error {
	for _, n := range c.Nodes {
		if err := c.StartNode(ctx, n.Name); err != nil {
			c.Stop()
			return err
		}
	}
	return nil
}

// StartNode (re)starts one node with its store kept and waits until its client port
// accepts connections.
func (c *NATSCluster) StartNode(ctx context.Context, name string) error {
	n, ok := c.Node(name)
	if !ok {
		return fmt.Errorf("site: no NATS node %q", name)
	}
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		return fmt.Errorf("site: nats-server (Debian package nats-server, scripts/deps.sh): %w", err)
	}
	id, err := c.CA.Issue("nats-"+n.Name, []string{n.Host})
	if err != nil {
		return err
	}
	conf, err := NATSServerConfig(n, c.Nodes, c.Roles, c.CA.CAFile(), id.CertFile, id.KeyFile)
	if err != nil {
		return err
	}
	file := filepath.Join(c.Dir, "nats-"+n.Name+".conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("site: %w", err)
	}
	args := []string{bin, "-c", file}
	if c.Wrap != nil {
		args = append(c.Wrap(n), args...)
	}
	log, err := os.OpenFile(filepath.Join(c.Dir, "nats-"+n.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("site: %w", err)
	}
	defer log.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("site: start NATS node %s: %w", n.Name, err)
	}
	go cmd.Wait()
	c.mu.Lock()
	if c.procs == nil {
		c.procs = map[string]*exec.Cmd{}
	}
	c.procs[n.Name] = cmd
	c.mu.Unlock()
	return c.waitPort(ctx, n)
}

func (c *NATSCluster) waitPort(ctx context.Context, n NATSNode) error {
	addr := net.JoinHostPort(n.Host, strconv.Itoa(n.Port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("site: NATS node %s not listening on %s within 30s (log %s): %w", n.Name, addr,
				filepath.Join(c.Dir, "nats-"+n.Name+".log"), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Kill stops a node at once (SIGKILL to its process group), as a machine failure would.
func (c *NATSCluster) Kill(name string) error {
	c.mu.Lock()
	cmd := c.procs[name]
	delete(c.procs, name)
	c.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return fmt.Errorf("site: NATS node %s is not running", name)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("site: kill NATS node %s: %w", name, err)
	}
	for i := 0; i < 100 && syscall.Kill(cmd.Process.Pid, 0) == nil; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// Stop kills every node.
func (c *NATSCluster) Stop() {
	for _, n := range c.Nodes {
		c.Kill(n.Name)
	}
}
