// Package browsertest drives a headless Chromium for the web console's tests, through
// chromedriver and the W3C WebDriver protocol (https://www.w3.org/TR/webdriver2/) over
// plain net/http: no browser framework.
//
// It needs Debian's chromium and chromium-driver (scripts/deps.sh installs them); when
// either is missing the test fails, it never skips. Each Browser saves a PNG of every
// screen it is asked to (Shot) into a folder named after the test: the directory given
// with -screens (e.g. `go test ./issuance/console -screens testdata/screens`), else
// <os.TempDir()>/cccd-screens/<TestName>, which the test logs.
package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var screensFlag = flag.String("screens", "", "save console screenshots into this directory (default: a temporary folder per test)")

// Paths of the Debian packages' binaries.
const (
	Chromium     = "/usr/bin/chromium"
	Chromedriver = "/usr/bin/chromedriver"
)

// Timeout is how long Find and Wait* wait for the page.
var Timeout = 15 * time.Second

// Browser is one headless Chromium window of 1366x768 (a counter screen).
type Browser struct {
	t       testing.TB
	base    string // chromedriver's URL of this session
	hc      *http.Client
	dir     string
	shots   int
	cmd     *exec.Cmd
	stopped chan struct{}
}

// Start starts chromedriver and a headless Chromium, and ends both when the test ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	for _, bin := range []string{Chromium, Chromedriver} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("browsertest: %s missing (Debian packages chromium and chromium-driver; run scripts/deps.sh): %v", bin, err)
		}
	}
	CloseInheritedFiles()
	cmd := exec.Command(Chromedriver, "--port=0")
	// chromedriver and the Chromium it starts form one process group, killed as one at
	// the end, and chromedriver dies with the test binary even when cleanup cannot run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("browsertest: start chromedriver: %v", err)
	}
	b := &Browser{t: t, hc: &http.Client{Timeout: 60 * time.Second}, cmd: cmd, stopped: make(chan struct{})}
	portc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`started successfully on port (\d+)`)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				portc <- m[1]
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() { cmd.Wait(); close(b.stopped) }()
	t.Cleanup(b.close)
	var port string
	select {
	case port = <-portc:
	case <-b.stopped:
		t.Fatal("browsertest: chromedriver exited at start")
	case <-time.After(20 * time.Second):
		t.Fatal("browsertest: chromedriver did not start in 20 s")
	}
	driver := "http://127.0.0.1:" + port
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName":      "chrome",
		"pageLoadStrategy": "normal",
		"goog:chromeOptions": map[string]any{
			"binary": Chromium,
			"args": []string{"--headless=new", "--no-sandbox", "--disable-background-networking",
				"--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--disable-gpu",
				"--no-first-run", "--window-size=1366,768", "--lang=vi", "--force-device-scale-factor=1",
				"--user-data-dir=" + t.TempDir()},
		},
	}}}
	var sess struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(http.MethodPost, driver+"/session", caps, &sess); err != nil {
		t.Fatalf("browsertest: new session: %v", err)
	}
	b.base = driver + "/session/" + sess.SessionID
	b.dir = *screensFlag
	if b.dir == "" {
		b.dir = filepath.Join(os.TempDir(), "cccd-screens", safeName(t.Name()))
	}
	if *screensFlag == "" {
		os.RemoveAll(b.dir) // the previous run's screens of this test
	}
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("browsertest: screenshots in %s", b.dir)
	return b
}

func safeName(s string) string {
	return regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(s, "_")
}

func (b *Browser) close() {
	if b.base != "" {
		b.call(http.MethodDelete, b.base, nil, nil)
	}
	if b.cmd.Process != nil {
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL) // chromedriver and every Chromium process
	}
	select {
	case <-b.stopped:
	case <-time.After(10 * time.Second):
	}
}

// webdriverError is an error answer of the WebDriver protocol (§6.6).
type webdriverError struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *webdriverError) Error() string { return "webdriver: " + e.Code + ": " + firstLine(e.Message) }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// call does one WebDriver command and decodes its "value" into out.
func (b *Browser) call(method, url string, body, out any) error {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("webdriver: %s %s: status %d: %w", method, url, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		we := &webdriverError{}
		json.Unmarshal(env.Value, we)
		return we
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(env.Value, out)
}

func (b *Browser) must(err error, what string) {
	b.t.Helper()
	if err != nil {
		b.Shot("failed")
		b.t.Fatalf("browsertest: %s: %v", what, err)
	}
}

// Go opens url and waits for it to load.
func (b *Browser) Go(url string) {
	b.t.Helper()
	b.must(b.call(http.MethodPost, b.base+"/url", map[string]string{"url": url}, nil), "open "+url)
}

// URL returns the address of the current page.
func (b *Browser) URL() string {
	b.t.Helper()
	var u string
	b.must(b.call(http.MethodGet, b.base+"/url", nil, &u), "url")
	return u
}

// Element is an element of the current page.
type Element struct {
	b   *Browser
	id  string
	css string
}

// elementKey is the key of a web element reference (WebDriver §12).
const elementKey = "element-6066-11e4-a52e-4f735466cecf"

// find looks css up once.
func (b *Browser) find(css string) (Element, error) {
	var ref map[string]string
	err := b.call(http.MethodPost, b.base+"/element", map[string]string{"using": "css selector", "value": css}, &ref)
	if err != nil {
		return Element{}, err
	}
	return Element{b: b, id: ref[elementKey], css: css}, nil
}

// Find waits until an element matches css and returns it.
func (b *Browser) Find(css string) Element {
	b.t.Helper()
	var last error
	for deadline := time.Now().Add(Timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		e, err := b.find(css)
		if err == nil {
			return e
		}
		last = err
	}
	b.must(last, "find "+css)
	return Element{}
}

// Has reports whether an element matches css now.
func (b *Browser) Has(css string) bool {
	_, err := b.find(css)
	return err == nil
}

// WaitText waits until the element matching css contains text, and returns its text.
func (b *Browser) WaitText(css, text string) string {
	b.t.Helper()
	var got string
	for deadline := time.Now().Add(Timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		e, err := b.find(css)
		if err != nil {
			continue
		}
		if got, err = e.text(); err == nil && strings.Contains(got, text) {
			return got
		}
	}
	b.must(fmt.Errorf("%s says %q, want %q", css, got, text), "wait for text")
	return ""
}

// WaitURL waits until the current address contains part.
func (b *Browser) WaitURL(part string) string {
	b.t.Helper()
	var u string
	for deadline := time.Now().Add(Timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := b.call(http.MethodGet, b.base+"/url", nil, &u); err == nil && strings.Contains(u, part) {
			return u
		}
	}
	b.must(fmt.Errorf("at %s, want an address containing %q", u, part), "wait for address")
	return ""
}

// Script runs JavaScript in the page and returns its result (WebDriver §13.2.1).
func (b *Browser) Script(js string, args ...any) any {
	b.t.Helper()
	if args == nil {
		args = []any{}
	}
	var out any
	b.must(b.call(http.MethodPost, b.base+"/execute/sync", map[string]any{"script": js, "args": args}, &out), "script")
	return out
}

// Title returns the page's title.
func (b *Browser) Title() string {
	b.t.Helper()
	var s string
	b.must(b.call(http.MethodGet, b.base+"/title", nil, &s), "title")
	return s
}

// Shot saves a PNG of the window as <dir>/<NN>-<name>.png and returns its path.
func (b *Browser) Shot(name string) string {
	b.t.Helper()
	var data string
	if err := b.call(http.MethodGet, b.base+"/screenshot", nil, &data); err != nil {
		b.t.Errorf("browsertest: screenshot %s: %v", name, err)
		return ""
	}
	png, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		b.t.Errorf("browsertest: screenshot %s: %v", name, err)
		return ""
	}
	b.shots++
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shots, safeName(name)))
	if *screensFlag != "" {
		path = filepath.Join(b.dir, safeName(name)+".png")
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("browsertest: %v", err)
	}
	return path
}

func (e Element) url(cmd string) string { return e.b.base + "/element/" + e.id + cmd }

// Click clicks the element.
func (e Element) Click() {
	e.b.t.Helper()
	e.b.must(e.b.call(http.MethodPost, e.url("/click"), map[string]any{}, nil), "click "+e.css)
}

// Type sends keys to the element (for a file input: the path of the file to upload).
func (e Element) Type(text string) {
	e.b.t.Helper()
	e.b.must(e.b.call(http.MethodPost, e.url("/value"), map[string]any{"text": text}, nil), "type into "+e.css)
}

// Clear empties an input.
func (e Element) Clear() {
	e.b.t.Helper()
	e.b.must(e.b.call(http.MethodPost, e.url("/clear"), map[string]any{}, nil), "clear "+e.css)
}

// Fill replaces the input's value with text.
func (e Element) Fill(text string) {
	e.b.t.Helper()
	e.Clear()
	e.Type(text)
}

func (e Element) text() (string, error) {
	var s string
	err := e.b.call(http.MethodGet, e.url("/text"), nil, &s)
	return s, err
}

// Text returns the element's rendered text.
func (e Element) Text() string {
	e.b.t.Helper()
	s, err := e.text()
	e.b.must(err, "text of "+e.css)
	return s
}

// Prop returns a DOM property of the element (value, checked, className, ...).
func (e Element) Prop(name string) any {
	e.b.t.Helper()
	var v any
	e.b.must(e.b.call(http.MethodGet, e.url("/property/"+name), nil, &v), "property "+name+" of "+e.css)
	return v
}

// Select chooses the option of a <select> whose value is value.
func (e Element) Select(value string) {
	e.b.t.Helper()
	opt, err := e.b.find(e.css + ` option[value="` + value + `"]`)
	e.b.must(err, "option "+value+" of "+e.css)
	opt.Click()
}

// CloseInheritedFiles marks close-on-exec every descriptor above stderr the test binary
// inherited (Go opens its own files close-on-exec), so that the processes a test starts
// (browsers, database servers) do not hold them: a lock its caller took (`flock LOCK go
// test`) would otherwise outlive the test in any process left behind. Start calls it; a
// TestMain may call it first thing, before other helpers start processes.
func CloseInheritedFiles() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
