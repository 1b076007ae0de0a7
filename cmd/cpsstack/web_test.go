package main

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startWeb runs `cpsstack web` on the test stack, on a free port, and
// returns the page's URL.
func (s *testStack) startWeb(t *testing.T, flags ...string) string {
	t.Helper()
	args := append([]string{"web", "-run", s.run, "-listen", "127.0.0.1:0"}, flags...)
	cmd := exec.Command(filepath.Join(s.bin, "cpsstack"), append(args, s.file)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "web.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	_, u, ok := strings.Cut(strings.TrimSpace(line), ": ")
	if err != nil || !ok || !strings.HasPrefix(u, "http://") {
		t.Fatalf("cpsstack web printed %q: %v", line, err)
	}
	return u
}

// TestWebPageFollowsFailover: `cpsstack web` on the example stack, opened
// in headless chromium, draws both cabinets with their 18 slots, the
// converters' LEDs and the Primary on the module whose agent says so;
// after `cpsstack fail PRIMARY kill` the same page (no reload: a mark set
// in it stays) shows the new Primary and the killed module not answering.
func TestWebPageFollowsFailover(t *testing.T) {
	chromium(t)
	s := startExampleStack(t, 200*time.Millisecond, 600*time.Millisecond, 100*time.Millisecond)
	p, _ := s.waitPrimary(-1, 15*time.Second)
	s.waitOnly(p, "after up")
	u := s.startWeb(t, "-controls")
	b := openBrowser(t)
	b.navigate(u)

	shows := func(what string, within time.Duration, expr, want string) time.Duration {
		t.Helper()
		var last string
		var lastErr error
		start := time.Now()
		for {
			last, lastErr = b.eval(expr)
			if lastErr == nil && last == want {
				return time.Since(start)
			}
			if time.Since(start) > within {
				dom, _ := b.eval(`document.getElementById('live') ? document.getElementById('live').innerText : document.documentElement.outerHTML`)
				t.Fatalf("%s: %s is %q (%v), want %q; the page shows:\n%s", what, expr, last, lastErr, want, dom)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	primaryOnPage := `Array.from(document.querySelectorAll('[data-role="primary"]')).map(e => e.dataset.module).join(',')`
	roleOf := func(m string) string {
		return fmt.Sprintf(`(document.querySelector('[data-module="%s"]') || {dataset: {}}).dataset.role || ''`, m)
	}
	name := fmt.Sprintf("m%d", p+1)
	shows("the Primary after up", 15*time.Second, primaryOnPage, name)
	holder := `(document.querySelector('[data-address]') || {dataset: {}}).dataset.holder || ''`
	shows("the stack address's holder after up", 10*time.Second, holder, name)
	// The picture: 18 slots a cabinet, a module element per module in its
	// slot, converters with their LEDs in words, the supplies.
	for _, c := range []struct{ expr, want string }{
		{`String(document.querySelectorAll('[data-cabinet="1"] [data-slot]').length)`, "18"},
		{`String(document.querySelectorAll('[data-cabinet="2"] [data-slot]').length)`, "18"},
		{`document.querySelector('[data-slot="1/1"] [data-module]').dataset.module`, "m1"},
		{`document.querySelector('[data-slot="2/1"] [data-module]').dataset.module`, "m3"},
		{`String(document.querySelector('[data-slot="1/4"]').innerText.includes('TP link up'))`, "true"},
		{`String(document.querySelector('[data-slot="2/3"]').innerText.includes('CFETF100'))`, "true"},
		{`String(document.querySelector('[data-slot="1/7"]').innerText.includes('empty'))`, "true"},
		{`String(document.querySelector('[data-cabinet="1"] .supplies').innerText.includes('PS1: power on'))`, "true"},
	} {
		shows("the picture after up", 5*time.Second, c.expr, c.want)
	}
	// A mark in the page: a reload would lose it.
	if _, err := b.eval(`window.cpsMark = 'same page'`); err != nil {
		t.Fatal(err)
	}

	if out, err := s.cli("fail", name, "kill"); err != nil {
		t.Fatalf("fail %s kill: %v\n%s", name, err, out)
	}
	q, _ := s.waitPrimary(p, 15*time.Second)
	seen := time.Now()
	took := shows("the new Primary after the kill", 15*time.Second, primaryOnPage, fmt.Sprintf("m%d", q+1))
	shows("the killed module", 5*time.Second, roleOf(name), "not-answering")
	shows("the stack address's holder after the kill", 10*time.Second, holder, fmt.Sprintf("m%d", q+1))
	shows("no reload", time.Second, `window.cpsMark || 'reloaded'`, "same page")
	shows("the role change among the events", 5*time.Second,
		fmt.Sprintf(`String(document.querySelector('.events').innerText.includes('m%d role: standby → primary'))`, q+1), "true")
	t.Logf("the page showed m%d as Primary %s after its agent did (%s since the poll saw it)", q+1, took, time.Since(seen).Round(time.Millisecond))

	// The page's control sets m3's WantPrimary to always through the
	// Primary (the command's own code): m3 shows it, and takes the role.
	res, err := http.PostForm(u+"control", url.Values{"action": {"want"}, "name": {"m3"}, "want": {"always"}})
	if err != nil || res.StatusCode != http.StatusOK { // redirected to the page
		t.Fatalf("the page's WantPrimary control: %v %v", res, err)
	}
	res.Body.Close()
	shows("m3's WantPrimary after the page's control", 10*time.Second,
		`String(document.querySelector('[data-module="m3"]').innerText.includes('Want: always'))`, "true")
	shows("m3 Primary after WantPrimary always", 15*time.Second, primaryOnPage, "m3")
	shows("no reload", time.Second, `window.cpsMark || 'reloaded'`, "same page")
}
