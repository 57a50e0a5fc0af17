// Package pgcluster runs a private PostgreSQL cluster from the system's PostgreSQL
// binaries, so that cccd needs no database set-up on a fresh machine: the first use
// runs initdb, later uses start the server if it is not running. The server listens on
// a Unix socket inside the cluster directory only (no TCP port, so it never collides
// with another server on the machine).
//
// PostgreSQL refuses to run as root. When cccd runs as root, the cluster is run as the
// "postgres" system user (or "nobody"), and its directory lives under
// /var/lib/cccd/clusters, because a root home directory is not reachable by that user.
package pgcluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cluster is a private PostgreSQL cluster in a directory.
type Cluster struct {
	Dir string // cluster root: data/, sock/, log
	// Network, when set, makes the server listen on TCP for other hosts, TLS only.
	Network *Network
	// Wrap, when set, prefixes every command of the cluster (e.g. `ip netns exec HOST`
	// to run the server on a host of a test site); the server's user is then taken on
	// inside it with setpriv.
	Wrap []string
	bin  string
	cred *syscall.Credential // nil unless running as root
}

// Database is the name of the database cccd uses inside a private cluster.
const Database = "cccd"

// ErrNoBinaries means no PostgreSQL server binaries were found.
var ErrNoBinaries = errors.New("pgcluster: PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian package postgresql")

// BinDir finds the newest /usr/lib/postgresql/N/bin holding initdb, or the directory of
// an initdb on PATH.
func BinDir() (string, error) {
	if d := os.Getenv("CCCD_PG_BINDIR"); d != "" {
		return d, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	if len(matches) > 0 {
		return filepath.Dir(matches[0]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", ErrNoBinaries
}

func version(p string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
	return n
}

// ForDataDir returns the cluster that belongs to a cccd data directory.
func ForDataDir(dataDir string) (*Cluster, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	dir := filepath.Join(abs, "postgres")
	if os.Geteuid() == 0 {
		sum := sha256.Sum256([]byte(abs))
		dir = filepath.Join("/var/lib/cccd/clusters", hex.EncodeToString(sum[:6]))
	}
	return New(dir)
}

// New returns the cluster in dir (not yet created or started).
func New(dir string) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			u, err = user.Lookup("nobody")
		}
		if err != nil {
			return nil, fmt.Errorf("pgcluster: running as root and no postgres or nobody user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	return c, nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.Dir, "data") }
func (c *Cluster) sockDir() string { return filepath.Join(c.Dir, "sock") }

// URL is the connection string for database name inside the cluster.
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", name, c.sockDir(), c.port())
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) (string, error) {
	argv := append([]string{filepath.Join(c.bin, name)}, args...)
	if len(c.Wrap) > 0 && c.cred != nil {
		argv = append([]string{"setpriv", "--reuid", strconv.Itoa(int(c.cred.Uid)), "--regid", strconv.Itoa(int(c.cred.Gid)),
			"--clear-groups", "--"}, argv...)
	}
	argv = append(append([]string(nil), c.Wrap...), argv...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil && len(c.Wrap) == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("pgcluster: %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

func (c *Cluster) mkdir(p string) error {
	if err := os.MkdirAll(p, 0o700); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if c.cred != nil {
		if err := os.Chown(p, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
	}
	return nil
}

// Ensure creates the cluster on first use, starts it if it is not running, creates the
// cccd database, and returns its connection URL. Concurrent callers (several cccd
// processes) are serialised with a lock file.
func (c *Cluster) Ensure(ctx context.Context) (string, error) {
	if err := os.MkdirAll(filepath.Dir(c.Dir), 0o755); err != nil {
		return "", fmt.Errorf("pgcluster: %w", err)
	}
	if err := c.mkdir(c.Dir); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(c.Dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", fmt.Errorf("pgcluster: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("pgcluster: lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.mkdir(c.dataDir()); err != nil {
			return "", err
		}
		if _, err := c.run(ctx, "initdb", "-D", c.dataDir(), "--auth=trust", "-U", "postgres",
			"-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
			return "", err
		}
	}
	if !c.Running(ctx) {
		if err := c.mkdir(c.sockDir()); err != nil {
			return "", err
		}
		opts := fmt.Sprintf("-k %s -c listen_addresses='' -c fsync=%s -c max_connections=200 -c shared_buffers=128MB",
			c.sockDir(), fsync())
		if c.Network != nil {
			more, err := c.networkOptions()
			if err != nil {
				return "", err
			}
			opts += more
		}
		if _, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-l", filepath.Join(c.Dir, "server.log"),
			"-o", opts, "-w", "-t", "60", "start"); err != nil {
			return "", err
		}
	}
	if err := c.createDatabase(ctx, Database); err != nil {
		return "", err
	}
	return c.URL(Database), nil
}

// fsync keeps durability on by default; CCCD_PG_FSYNC=off trades it for speed in
// throwaway test clusters.
func fsync() string {
	if os.Getenv("CCCD_PG_FSYNC") == "off" {
		return "off"
	}
	return "on"
}

func (c *Cluster) createDatabase(ctx context.Context, name string) error {
	psql := filepath.Join(c.bin, "psql")
	q := fmt.Sprintf("SELECT 1 FROM pg_database WHERE datname = '%s'", name)
	out, err := c.run(ctx, filepath.Base(psql), "-h", c.sockDir(), "-p", strconv.Itoa(c.port()), "-U", "postgres", "-d", "postgres", "-tAc", q)
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) == "1" {
		return nil
	}
	_, err = c.run(ctx, "createdb", "-h", c.sockDir(), "-p", strconv.Itoa(c.port()), "-U", "postgres", name)
	return err
}

// Running reports whether the server of this cluster is running.
func (c *Cluster) Running(ctx context.Context) bool {
	if _, err := os.Stat(filepath.Join(c.dataDir(), "postmaster.pid")); err != nil {
		return false
	}
	_, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "status")
	return err == nil
}

// Stop stops the server (fast shutdown) if it is running.
func (c *Cluster) Stop(ctx context.Context) error {
	if !c.Running(ctx) {
		return nil
	}
	_, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-m", "fast", "-w", "-t", "60", "stop")
	return err
}

// Kill stops the server immediately (used by crash tests).
func (c *Cluster) Kill(ctx context.Context) error {
	_, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-m", "immediate", "-w", "stop")
	return err
}

// Remove stops the server and deletes the cluster directory.
func (c *Cluster) Remove(ctx context.Context) error {
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 90*time.Second)
	defer cancel()
	err := c.Stop(stopCtx)
	if rerr := os.RemoveAll(c.Dir); err == nil && rerr != nil {
		err = fmt.Errorf("pgcluster: %w", rerr)
	}
	return err
}
