package browsertest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"roster/internal/testserver"
)

// One headless Chromium serves every test of the run; each test gets its
// own browser context (cookies, storage and cache of its own) in it.

// axePath is where "npm ci" in this directory puts axe-core.
const axePath = "node_modules/axe-core/axe.min.js"

var (
	chromiumOnce sync.Once
	chromiumCtx  context.Context // the running browser
	chromiumStop context.CancelFunc
	chromiumErr  error
	axeSource    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if chromiumStop != nil {
		chromiumStop()
	}
	testserver.Cleanup()
	os.Exit(code)
}

// inCI reports whether the tests run in CI (CI=true, as CI services and
// .ci/run set it), where a missing browser or axe-core fails the tests
// instead of skipping them.
func inCI() bool {
	v, err := strconv.ParseBool(os.Getenv("CI"))
	return v || (err != nil && os.Getenv("CI") != "")
}

// unavailable skips the test for a missing tool, or fails it in CI.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if inCI() {
		t.Fatal(msg + " (CI is set, so the browser tests may not skip)")
	}
	t.Skip(msg)
}

// chromiumPath finds Chromium or Chrome on PATH; ROSTER_CHROMIUM names
// another binary.
func chromiumPath() string {
	if p := os.Getenv("ROSTER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// chromium returns the context of the shared browser, starting it on first
// use, and loads axe-core. It skips the test (fails it in CI) when either
// is missing.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		unavailable(t, "browser tests need Chromium: apt-get install chromium (or set ROSTER_CHROMIUM)")
	}
	if axeSource == "" {
		src, err := os.ReadFile(axePath)
		if errors.Is(err, fs.ErrNotExist) {
			unavailable(t, "browser tests need axe-core: run npm ci in internal/browsertest")
		} else if err != nil {
			t.Fatal(err)
		}
		axeSource = string(src)
	}
	chromiumOnce.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			// Tests often run as root in a container, where Chromium's
			// sandbox cannot start; the pages are our own.
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			// The machine has no internet: without these Chromium keeps
			// trying to reach Google's services.
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.WindowSize(int(desktop.width), int(desktop.height)),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		chromiumCtx = ctx
		chromiumStop = func() { cancel(); cancelAlloc() }
		if err := chromedp.Do(ctx); err != nil { // starts the browser
			chromiumErr = fmt.Errorf("start %s: %w", path, err)
		}
	})
	if chromiumErr != nil {
		t.Fatal(chromiumErr)
	}
	return chromiumCtx
}
