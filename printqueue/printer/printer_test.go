package printer_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/printqueue/layout"
	"github.com/cccd-project/cccd/printqueue/printer"
	"github.com/cccd-project/cccd/printqueue/render"
)

// samplePDF renders one synthetic card (front and back).
func samplePDF(t *testing.T) []byte {
	t.Helper()
	d, err := layout.Lookup(layout.DefaultDesign)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := render.Render(&buf, d, render.Sample(3)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSpool(t *testing.T) {
	pdf := samplePDF(t)
	tests := []struct {
		name    string
		job     string
		missing bool
		wantErr error
		want    string
	}{
		{name: "writes job", job: "R001-CHIP000001", want: "R001-CHIP000001.pdf"},
		{name: "keeps pdf suffix once", job: "R002-CHIP2.pdf", want: "R002-CHIP2.pdf"},
		{name: "path in name", job: "../x", wantErr: printer.ErrInvalidName},
		{name: "hidden name", job: ".x", wantErr: printer.ErrInvalidName},
		{name: "no directory", job: "R3", missing: true, wantErr: printer.ErrNoPrinter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.missing {
				dir = filepath.Join(dir, "absent")
			}
			err := printer.Spool{Dir: dir}.Print(context.Background(), tt.job, pdf)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 || entries[0].Name() != tt.want {
				t.Fatalf("spool holds %v, want only %s (no temporary files)", entries, tt.want)
			}
			got, _ := os.ReadFile(filepath.Join(dir, tt.want))
			if !bytes.Equal(got, pdf) {
				t.Fatal("spooled bytes differ from the job")
			}
		})
	}
}

// cupsd is a private CUPS scheduler for one test, listening on a socket in a
// temporary directory, with a cups-pdf queue.
type cupsd struct {
	dir, socket string
	cmd         *exec.Cmd
}

func startCUPS(t *testing.T) *cupsd {
	t.Helper()
	for _, bin := range []string{"cupsd", "lpadmin", "lp", "lpstat"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, err2 := os.Stat("/usr/sbin/" + bin); err2 != nil {
				t.Fatalf("%s not installed (Debian packages cups, cups-client, printer-driver-cups-pdf): %v", bin, err)
			}
		}
	}
	if _, err := os.Stat("/usr/lib/cups/backend/cups-pdf"); err != nil {
		t.Fatalf("cups-pdf backend missing (Debian package printer-driver-cups-pdf): %v", err)
	}
	dir, err := os.MkdirTemp("", "cccd-cups-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Filters run as the unprivileged user lp: the spool must be reachable.
	os.Chmod(dir, 0o755)
	for _, d := range []string{"root", "cache", "state", "spool/tmp", "log", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c := &cupsd{dir: dir, socket: filepath.Join(dir, "run", "cups.sock")}
	conf := fmt.Sprintf(`Listen %s
LogLevel info
Browsing No
WebInterface No
DefaultAuthType None
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
`, c.socket)
	files := fmt.Sprintf(`ServerRoot %[1]s/root
CacheDir %[1]s/cache
StateDir %[1]s/state
RequestRoot %[1]s/spool
TempDir %[1]s/spool/tmp
ErrorLog %[1]s/log/error_log
AccessLog %[1]s/log/access_log
PageLog %[1]s/log/page_log
Printcap %[1]s/printcap
ServerBin /usr/lib/cups
DataDir /usr/share/cups
SystemGroup root
`, dir)
	for name, body := range map[string]string{"cupsd.conf": conf, "cups-files.conf": files} {
		if err := os.WriteFile(filepath.Join(dir, "root", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.cmd = exec.Command(sbin("cupsd"), "-f", "-c", filepath.Join(dir, "root", "cupsd.conf"), "-s", filepath.Join(dir, "root", "cups-files.conf"))
	var out bytes.Buffer
	c.cmd.Stdout, c.cmd.Stderr = &out, &out
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start cupsd: %v", err)
	}
	t.Cleanup(func() { c.cmd.Process.Kill(); c.cmd.Wait() })
	for i := 0; ; i++ {
		if _, err := os.Stat(c.socket); err == nil {
			break
		}
		if i == 100 {
			log, _ := os.ReadFile(filepath.Join(dir, "log", "error_log"))
			t.Fatalf("cupsd did not open %s: %s\n%s", c.socket, out.String(), log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

func sbin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return "/usr/sbin/" + name
}

// addPDFPrinter creates a cups-pdf queue (Debian printer-driver-cups-pdf).
func (c *cupsd) addPDFPrinter(t *testing.T, name string) {
	t.Helper()
	ppds, _ := filepath.Glob("/usr/share/ppd/cups-pdf/CUPS-PDF*.ppd")
	if len(ppds) == 0 {
		t.Fatal("no cups-pdf PPD under /usr/share/ppd/cups-pdf (Debian package printer-driver-cups-pdf)")
	}
	cmd := exec.Command(sbin("lpadmin"), "-p", name, "-v", "cups-pdf:/", "-E", "-P", ppds[len(ppds)-1])
	cmd.Env = append(os.Environ(), "CUPS_SERVER="+c.socket)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lpadmin: %v: %s", err, out)
	}
}

// cupsPDFOut is where cups-pdf writes the jobs of the current user: the Out setting
// of /etc/cups/cups-pdf.conf with ${HOME} replaced.
func cupsPDFOut(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	out := "${HOME}/PDF"
	if f, err := os.Open("/etc/cups/cups-pdf.conf"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if fs := strings.Fields(s.Text()); len(fs) == 2 && fs[0] == "Out" {
				out = fs[1]
			}
		}
		f.Close()
	}
	return strings.ReplaceAll(out, "${HOME}", u.HomeDir)
}

func TestCUPS(t *testing.T) {
	c := startCUPS(t)
	c.addPDFPrinter(t, "CCCD-PDF")
	ctx := context.Background()
	pdf := samplePDF(t)

	t.Run("unknown queue", func(t *testing.T) {
		p := printer.CUPS{Printer: "NO-SUCH-PRINTER", Server: c.socket}
		if err := p.Check(ctx); !errors.Is(err, printer.ErrNoPrinter) {
			t.Fatalf("Check = %v, want ErrNoPrinter", err)
		}
		if err := p.Print(ctx, "R1-X", pdf); err == nil {
			t.Fatal("lp to a missing queue succeeded")
		}
	})
	t.Run("prints to cups-pdf", func(t *testing.T) {
		p := printer.CUPS{Printer: "CCCD-PDF", Server: c.socket}
		if err := p.Check(ctx); err != nil {
			t.Fatal(err)
		}
		title := fmt.Sprintf("cccdtest%d", time.Now().UnixNano())
		if err := p.Print(ctx, title, pdf); err != nil {
			t.Fatal(err)
		}
		out := cupsPDFOut(t)
		var found string
		for i := 0; i < 300 && found == ""; i++ {
			m, _ := filepath.Glob(filepath.Join(out, title+"*.pdf"))
			if len(m) == 1 {
				if fi, err := os.Stat(m[0]); err == nil && fi.Size() > 0 && !c.jobActive() {
					found = m[0]
				}
			}
			if found == "" {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if found == "" {
			log, _ := os.ReadFile(filepath.Join(c.dir, "log", "error_log"))
			t.Fatalf("cups-pdf wrote no %s*.pdf under %s; cupsd log:\n%s", title, out, log)
		}
		t.Cleanup(func() { os.Remove(found) })
		text, err := exec.Command("pdftotext", found, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext %s: %v", found, err)
		}
		want := render.Sample(3)
		for _, s := range append([]string{want.IDNumber}, want.MRZ[:]...) {
			if !strings.Contains(string(text), s) {
				t.Errorf("printed PDF lacks %q", s)
			}
		}
	})
}

// jobActive reports whether the scheduler still has an unfinished job.
func (c *cupsd) jobActive() bool {
	cmd := exec.Command("lpstat", "-o")
	cmd.Env = append(os.Environ(), "CUPS_SERVER="+c.socket)
	out, err := cmd.Output()
	return err != nil || strings.TrimSpace(string(out)) != ""
}
