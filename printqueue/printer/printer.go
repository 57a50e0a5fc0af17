// Package printer sends rendered card faces (PDF) to a card printer.
//
// Two back-ends exist: Spool, the default, writes each job atomically as a file into
// a directory that a printer driver (or an operator) picks up; CUPS hands the job
// to a CUPS queue with `lp`, as any card printer with a CUPS driver is driven.
// Both implement the Printer interface that package printqueue uses.
package printer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Printer prints one document. name identifies the job (the spool file name or the
// CUPS job title); pdf is the complete document.
type Printer interface {
	Print(ctx context.Context, name string, pdf []byte) error
}

// ErrNoPrinter means the named printer does not exist (or its directory is missing).
var ErrNoPrinter = errors.New("printer: no such printer")

// ErrInvalidName means a job name cannot be used as a file name or title.
var ErrInvalidName = errors.New("printer: job name: 1-128 of A-Z a-z 0-9 . _ -")

// ValidName reports whether name is a usable job name: it becomes a file name in a
// spool directory, so it carries no path separators.
func ValidName(name string) bool {
	if name == "" || len(name) > 128 || name[0] == '.' {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// Spool is a directory printer: each job becomes <Dir>/<name>.pdf, written to a
// temporary file in the same directory, synced and renamed, so that a reader of the
// directory never sees half a job.
type Spool struct {
	Dir string
}

// Print implements Printer.
func (s Spool) Print(ctx context.Context, name string, pdf []byte) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if fi, err := os.Stat(s.Dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%w: spool directory %q", ErrNoPrinter, s.Dir)
	}
	return WriteFileAtomic(filepath.Join(s.Dir, strings.TrimSuffix(name, ".pdf")+".pdf"), pdf)
}

// WriteFileAtomic writes b to path through a temporary file in the same directory,
// synced and renamed over path.
func WriteFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("printer: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("printer: write %s: %w", path, err)
	}
	return nil
}

// CUPS prints through a CUPS queue with the `lp` command (CUPS client). Server, when
// set, is the CUPS server (host:port or socket path), passed as CUPS_SERVER; empty
// means the client's default.
type CUPS struct {
	Printer string // CUPS queue name, e.g. "CCCD-PDF"
	Server  string
	LP      string // path of lp; default "lp" from PATH
	LPStat  string // path of lpstat; default "lpstat" from PATH
}

// Check asks the server (lpstat -p) whether the queue exists and accepts jobs.
func (c CUPS) Check(ctx context.Context) error {
	out, err := c.run(ctx, or(c.LPStat, "lpstat"), nil, "-p", c.Printer)
	if err != nil {
		return fmt.Errorf("%w: cups %q: %v", ErrNoPrinter, c.Printer, err)
	}
	if !strings.Contains(out, c.Printer) {
		return fmt.Errorf("%w: cups %q: lpstat: %s", ErrNoPrinter, c.Printer, strings.TrimSpace(out))
	}
	return nil
}

// Print implements Printer: `lp -d PRINTER -t NAME -` with the PDF on standard input.
func (c CUPS) Print(ctx context.Context, name string, pdf []byte) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	if c.Printer == "" {
		return fmt.Errorf("%w: no CUPS queue named", ErrNoPrinter)
	}
	out, err := c.run(ctx, or(c.LP, "lp"), pdf, "-d", c.Printer, "-t", name, "-")
	if err != nil {
		return fmt.Errorf("printer: cups %q: %w", c.Printer, err)
	}
	if !strings.Contains(out, "request id is") {
		return fmt.Errorf("printer: cups %q: lp gave no request id: %s", c.Printer, strings.TrimSpace(out))
	}
	return nil
}

func (c CUPS) run(ctx context.Context, bin string, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	if c.Server != "" {
		cmd.Env = append(os.Environ(), "CUPS_SERVER="+c.Server)
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", filepath.Base(bin), err, strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
