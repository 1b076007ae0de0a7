package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/stack/stackfile"
)

const testStack = `stack: t
key: test-key-0123
cabinets:
  - {bia: 1, model: cpsmc1800}
  - {bia: 2, model: cpsmc1300}
modules:
  - {name: m1, cabinet: 1, slot: 1, mac: "00:c0:f2:00:00:01", ip: 192.0.2.11, mask: 255.255.255.0, gateway: 192.0.2.1, snmp: "127.0.0.1:1"}
  - {name: m2, cabinet: 2, slot: 2, mac: "00:c0:f2:00:00:02", ip: 192.0.2.12, mask: 255.255.255.0, gateway: 192.0.2.1, snmp: "127.0.0.1:2"}
devices:
  - {cabinet: 1, slot: 4, type: cettf100, serial: 200001, conn_a: rj-45, conn_b: scmm}
`

// rowsJSON is a status as `cpsstack status --json` prints it (the stack
// address held by the Primary, m1's trap managers), with fields this page
// does not know (a newer status's).
func rowsJSON(primary string) []byte {
	role := func(m string) string {
		if m == primary {
			return "primary"
		}
		return "standby"
	}
	return fmt.Appendf(nil, `[
 {"module": "m1", "cabinet": 1, "slot": 1, "snmp": "127.0.0.1:1", "role": %q, "can_primary": "yes", "want_primary": "yes",
  "stack_address": "127.0.0.1:16100", "holds_address": %t, "future_field": {"x": "later"},
  "trap_managers": {"keepalive": "5s", "active": 2, "queued": 0, "dropped": 0, "managers": [
   {"manager": 1, "address": "127.0.0.2", "state": "failed", "consecutive_misses": 3, "notifications_sent": 4, "notifications_acknowledged": 2},
   {"manager": 2, "address": "127.0.0.3", "state": "active", "last_ack": "2026-01-01T10:00:05Z", "notifications_sent": 7, "notifications_acknowledged": 7}]},
  "negotiation": {"role": %q, "can_primary": true, "want_primary": "yes", "last_reason": "because", "last_change": "2026-01-01T10:00:00Z",
   "peers": [{"mac": "00:c0:f2:00:00:02", "cabinet": 2, "slot": 2, "alive": true, "role": %q, "link_failure": true,
              "backplane": {"ok": false}, "ethernet": {"ok": true}}],
   "ip_monitor": {"verdict": {"failed": false, "degraded": true, "reason": "a peer unreachable"},
    "hosts": [{"kind": "target", "name": "192.0.2.1", "up": true, "misses": 0},
              {"kind": "peer", "name": "00:c0:f2:00:00:02", "up": false, "misses": 5}]},
   "rule": "vendor"}},
 {"module": "m2", "cabinet": 2, "slot": 2, "snmp": "127.0.0.1:1", "role": %q, "can_primary": "yes", "want_primary": "no",
  "stack_address": "127.0.0.1:16100", "holds_address": %t}
]`, role("m1"), primary == "m1", role("m1"), role("m2"), role("m2"), primary == "m2")
}

// calls records what the page's controls asked.
type calls struct {
	mu  sync.Mutex
	got []string
}

func (c *calls) add(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, s)
	return nil
}

func (c *calls) Fail(_ context.Context, ops []string) error {
	return c.add("fail " + strings.Join(ops, " "))
}
func (c *calls) Restore(_ context.Context, ops []string) error {
	return c.add("restore " + strings.Join(ops, " "))
}
func (c *calls) SetWant(_ context.Context, m, w string) error { return c.add("want " + m + " " + w) }
func (c *calls) Faults() (module, device, cabinet []string) {
	return []string{"kill", "hang"}, []string{"link-down"}, []string{"ps1-off"}
}

type fixture struct {
	srv     *Server
	loop    *loop
	ts      *httptest.Server
	mu      sync.Mutex
	primary string
}

func newFixture(t *testing.T, ctl Controls) *fixture {
	t.Helper()
	st, err := stackfile.Parse("t.yaml", []byte(testStack))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{primary: "m1"}
	f.srv, err = New(Config{Stack: st, Controls: ctl, SNMPTimeout: 50 * time.Millisecond, Status: func(context.Context) ([]byte, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return rowsJSON(f.primary), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.loop = f.srv.newLoop()
	f.step()
	f.ts = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.ts.Close)
	return f
}

// step takes one reading, as the loop does.
func (f *fixture) step() { f.srv.step(context.Background(), f.loop) }

func get(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %s\n%s", u, res.Status, b)
	}
	return string(b)
}

func TestPage(t *testing.T) {
	f := newFixture(t, nil)
	page := get(t, f.ts.URL+"/")
	for _, want := range []string{
		`data-module="m1" data-role="primary"`, `data-module="m2" data-role="standby"`,
		`data-slot="1/18"`, `data-slot="2/13"`, // a cpsmc1800's 18 slots, a cpsmc1300's 13
		`Cabinet 1 · cpsmc1800 · 18 slots`, `Cabinet 2 · cpsmc1300 · 13 slots`,
		"Can: yes", "Want: no", "LINK FAILURE", "because",
		// The stack address and who serves it; m1's trap managers' states.
		`data-address="127.0.0.1:16100" data-holder="m1"`, "served by <b>m1</b>",
		"1 127.0.0.2: FAILED, 3 missed, 4 sent / 2 acked", "2 127.0.0.3: ACTIVE, last ack 10:00:05, 7 sent / 7 acked",
		// The IP monitor in words, a peer by its name.
		"IP monitor: degraded: a peer unreachable", "target 192.0.2.1 up", "peer m2 DOWN (5 missed)",
		// Fields of a newer status, as they come.
		"future_field.x: later", "negotiation.rule: vendor",
		"CETTF100", "stack file (not in SNMP via", // no agent answers: the declared device, said so
		// No agent answers the walk: the last one tried, and why it failed.
		"SNMP walk of m2&#39;s agent (127.0.0.1:1) — <span class=\"warn\">",
		`new EventSource('events')`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, `data-slot="1/19"`) || strings.Contains(page, `data-slot="2/14"`) {
		t.Error("a slot beyond the model's count")
	}
	if strings.Contains(page, "stack_address:") || strings.Contains(page, "trap_managers.") || strings.Contains(page, "ip_monitor.") {
		t.Error("the stack address or the trap managers shown again as unknown fields")
	}
	if strings.Contains(page, `id="controls"`) {
		t.Error("controls shown without -controls")
	}
	var v View
	if err := json.Unmarshal([]byte(get(t, f.ts.URL+"/state")), &v); err != nil || v.Primary != "m1" {
		t.Fatalf("state: %v %+v", err, v)
	}
	if live := get(t, f.ts.URL+"/live"); !strings.Contains(live, `data-role="primary"`) || strings.Contains(live, "<html") {
		t.Errorf("/live is not the live part:\n%s", live)
	}
}

// The event stream sends the live part at once, and again on a change,
// with the change among the events.
func TestEventStream(t *testing.T) {
	f := newFixture(t, nil)
	res, err := http.Get(f.ts.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	rd := bufio.NewReader(res.Body)
	next := func() string {
		t.Helper()
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				var m struct{ HTML string }
				if err := json.Unmarshal([]byte(d), &m); err != nil {
					t.Fatal(err)
				}
				return m.HTML
			}
		}
	}
	if first := next(); !strings.Contains(first, `data-module="m1" data-role="primary"`) {
		t.Fatalf("first message:\n%s", first)
	}
	f.mu.Lock()
	f.primary = "m2"
	f.mu.Unlock()
	f.step()
	second := next()
	for _, want := range []string{`data-module="m2" data-role="primary"`, `data-module="m1" data-role="standby"`, "m2 role: standby → primary"} {
		if !strings.Contains(second, want) {
			t.Errorf("after the change, the stream's message lacks %q", want)
		}
	}
}

func TestControls(t *testing.T) {
	post := func(ts *httptest.Server, form url.Values, origin string) (int, string) {
		req, _ := http.NewRequest("POST", ts.URL+"/control", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Cpsstack", "fetch")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	off := newFixture(t, nil)
	if code, _ := post(off.ts, url.Values{"action": {"fail"}, "target": {"module"}, "name": {"m1"}, "fault": {"kill"}}, ""); code != http.StatusForbidden {
		t.Errorf("a control without -controls: %d", code)
	}
	c := &calls{}
	on := newFixture(t, c)
	if page := get(t, on.ts.URL+"/"); !strings.Contains(page, `id="controls"`) || !strings.Contains(page, "<option>ps1-off</option>") {
		t.Error("controls not offered")
	}
	for _, tc := range []struct {
		form url.Values
		code int
	}{
		{url.Values{"action": {"fail"}, "target": {"module"}, "name": {"m1"}, "fault": {"kill"}}, 200},
		{url.Values{"action": {"fail"}, "target": {"device"}, "name": {"1/4"}, "fault": {"link-down"}}, 200},
		{url.Values{"action": {"restore"}, "target": {"device"}, "name": {"1/4"}}, 200},
		{url.Values{"action": {"fail"}, "target": {"cabinet"}, "name": {"2"}, "fault": {"ps1-off"}}, 200},
		{url.Values{"action": {"restore"}, "target": {"module"}, "name": {"m1"}}, 200},
		{url.Values{"action": {"want"}, "name": {"m2"}, "want": {"always"}}, 200},
		{url.Values{"action": {"fail"}, "target": {"module"}, "name": {"m9"}, "fault": {"kill"}}, 400},
		{url.Values{"action": {"fail"}, "target": {"module"}, "name": {"m1"}, "fault": {"melt"}}, 400},
		{url.Values{"action": {"fail"}, "target": {"device"}, "name": {"1/5"}, "fault": {"link-down"}}, 400},
		{url.Values{"action": {"want"}, "name": {"m2"}, "want": {"maybe"}}, 400},
		{url.Values{"action": {"explode"}}, 400},
	} {
		if code, body := post(on.ts, tc.form, ""); code != tc.code {
			t.Errorf("%v: %d %s, want %d", tc.form, code, body, tc.code)
		}
	}
	if code, _ := post(on.ts, url.Values{"action": {"want"}, "name": {"m1"}, "want": {"no"}}, "http://evil.example"); code != http.StatusForbidden {
		t.Errorf("a cross-origin control: %d", code)
	}
	want := []string{"fail m1 kill", "fail device 1/4 link-down", "restore device 1/4", "fail cabinet 2 ps1-off", "restore m1", "want m2 always"}
	if strings.Join(c.got, "; ") != strings.Join(want, "; ") {
		t.Errorf("controls called:\n%q\nwant\n%q", c.got, want)
	}
}
