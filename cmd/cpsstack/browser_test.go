package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// browser is a headless Debian chromium driven over the DevTools protocol:
// one page, kept open, whose DOM the test reads with Runtime.evaluate.
type browser struct {
	t    testing.TB
	cmd  *exec.Cmd
	conn net.Conn
	rd   *bufio.Reader
	id   int
}

// chromiumArgs are the flags every headless run here needs: root has no
// sandbox, and the machine has no GPU.
func chromiumArgs(profile string) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--hide-scrollbars", "--user-data-dir=" + profile}
}

// chromium returns the browser's path, or skips the test when it is not
// installed (scripts/install-deps.sh installs it for make test).
func chromium(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("Debian's chromium is not installed (scripts/install-deps.sh installs it): no browser test")
	}
	return p
}

// openBrowser starts chromium on about:blank with a DevTools port of its
// choosing and attaches to its page.
func openBrowser(t testing.TB) *browser {
	t.Helper()
	bin := chromium(t)
	profile := t.TempDir()
	cmd := exec.Command(bin, append(chromiumArgs(profile), "--remote-debugging-port=0", "about:blank")...)
	logf, err := os.Create(filepath.Join(profile, "chromium.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, cmd: cmd}
	t.Cleanup(func() {
		if b.conn != nil {
			b.conn.Close()
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	// chromium writes the port it took into the profile.
	var port string
	eventually(t.(*testing.T), 20*time.Second, "chromium's DevToolsActivePort", func() bool {
		data, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort"))
		if err != nil {
			return false
		}
		port, _, _ = strings.Cut(string(data), "\n")
		return port != ""
	})
	var targets []struct {
		Type, URL, WebSocketDebuggerURL string
	}
	eventually(t.(*testing.T), 10*time.Second, "chromium's page target", func() bool {
		res, err := http.Get("http://127.0.0.1:" + port + "/json/list")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		targets = nil
		if json.NewDecoder(res.Body).Decode(&targets) != nil {
			return false
		}
		for _, tg := range targets {
			if tg.Type == "page" {
				return true
			}
		}
		return false
	})
	for _, tg := range targets {
		if tg.Type == "page" {
			if err := b.dial(tg.WebSocketDebuggerURL); err != nil {
				t.Fatalf("DevTools websocket: %v", err)
			}
			return b
		}
	}
	t.Fatal("no page target")
	return nil
}

// dial opens the DevTools websocket (RFC 6455, client side).
func (b *browser) dial(wsURL string) error {
	u, err := url.Parse(wsURL)
	if err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		return err
	}
	var k [16]byte
	_, _ = rand.Read(k[:])
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host, base64.StdEncoding.EncodeToString(k[:]))
	rd := bufio.NewReader(c)
	res, err := http.ReadResponse(rd, nil)
	if err != nil {
		c.Close()
		return err
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return fmt.Errorf("websocket upgrade: %s", res.Status)
	}
	b.conn, b.rd = c, rd
	return nil
}

// send writes one masked text frame.
func (b *browser) send(payload []byte) error {
	hdr := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	masked := make([]byte, len(payload))
	for i, c := range payload {
		masked[i] = c ^ mask[i%4]
	}
	_, err := b.conn.Write(append(hdr, masked...))
	return err
}

// recv reads one message (continuation frames joined; control frames
// skipped).
func (b *browser) recv() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(b.rd, h[:]); err != nil {
			return nil, err
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var e [2]byte
			if _, err := io.ReadFull(b.rd, e[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(e[:]))
		case 127:
			var e [8]byte
			if _, err := io.ReadFull(b.rd, e[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(e[:])
		}
		if n > 64<<20 {
			return nil, fmt.Errorf("websocket frame of %d bytes", n)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(b.rd, p); err != nil {
			return nil, err
		}
		switch op := h[0] & 0x0f; op {
		case 0x8:
			return nil, errors.New("websocket closed by chromium")
		case 0x9, 0xa:
			continue
		}
		msg = append(msg, p...)
		if h[0]&0x80 != 0 {
			return msg, nil
		}
	}
}

// call sends one DevTools command and returns its result.
func (b *browser) call(method string, params any) (json.RawMessage, error) {
	b.id++
	req, _ := json.Marshal(map[string]any{"id": b.id, "method": method, "params": params})
	_ = b.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := b.send(req); err != nil {
		return nil, err
	}
	for {
		data, err := b.recv()
		if err != nil {
			return nil, err
		}
		var res struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &res) != nil || res.ID != b.id {
			continue // an event
		}
		if res.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, res.Error.Message)
		}
		return res.Result, nil
	}
}

// eval evaluates a JavaScript expression in the page and returns its value
// as a string (JSON for non-strings).
func (b *browser) eval(expr string) (string, error) {
	raw, err := b.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err != nil {
		return "", err
	}
	var r struct {
		Result struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", err
	}
	if r.Exception != nil {
		return "", fmt.Errorf("%s: %s", expr, r.Exception.Text)
	}
	var s string
	if json.Unmarshal(r.Result.Value, &s) == nil {
		return s, nil
	}
	return string(r.Result.Value), nil
}

// navigate opens u in the page.
func (b *browser) navigate(u string) {
	b.t.Helper()
	if _, err := b.call("Page.navigate", map[string]any{"url": u}); err != nil {
		b.t.Fatal(err)
	}
}

// evalInt is eval for a number.
func (b *browser) evalInt(expr string) (int, error) {
	s, err := b.eval(expr)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(s)
}
