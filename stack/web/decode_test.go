package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseLogfmt(t *testing.T) {
	line := `time="2026-01-01T10:00:00Z" level=info msg="negotiation event" event=role-changed reason="no \"Primary\" heard" role=primary`
	m := parseLogfmt(line)
	for k, v := range map[string]string{"level": "info", "msg": "negotiation event", "event": "role-changed",
		"reason": `no "Primary" heard`, "role": "primary"} {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	e, ok := logEvent("m1", line)
	if !ok || e.Text != `m1: role-changed, now primary: no "Primary" heard` || e.Source != "m1's log" {
		t.Errorf("event %+v %v", e, ok)
	}
	for _, l := range []string{
		`time="2026-01-01T10:00:00Z" level=info msg="notification sent" notification=pSError role=primary`,
		`time="2026-01-01T10:00:00Z" level=info msg="fault injected" command="link down" reason="fault injection"`,
		`time="2026-01-01T10:00:00Z" level=info msg="chassis control: ok" command="device 1/4 fault"`,
	} {
		if _, ok := logEvent("p", l); !ok {
			t.Errorf("no event from %s", l)
		}
	}
	if _, ok := logEvent("p", `time="2026-01-01T10:00:00Z" level=info msg="polling the stack devices"`); ok {
		t.Error("an event from a line the page does not list")
	}
}

// A log followed from its middle starts at a whole line, and a line
// written in two parts comes out once, whole.
func TestTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.log")
	first := strings.Repeat("old line\n", backlog/9+10)
	if err := os.WriteFile(p, []byte(first), 0o600); err != nil {
		t.Fatal(err)
	}
	tl := newTail(LogFile{Name: "x", Path: p})
	got := tl.lines()
	if len(got) == 0 || len(got) > backlog/9 {
		t.Fatalf("%d lines from the backlog", len(got))
	}
	for _, l := range got {
		if l != "old line" {
			t.Fatalf("partial line %q", l)
		}
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("new ")
	if got := tl.lines(); len(got) != 0 {
		t.Fatalf("an unfinished line came out: %q", got)
	}
	f.WriteString("line\n")
	if got := tl.lines(); len(got) != 1 || got[0] != "new line" {
		t.Fatalf("got %q", got)
	}
}

func FuzzParseLogfmt(f *testing.F) {
	f.Add(`time="2026-01-01T10:00:00Z" level=info msg="negotiation event" reason="a \"b\"" x=`)
	f.Add(`a="unterminated \`)
	f.Add(`==== "" = a=b=c`)
	f.Fuzz(func(t *testing.T, line string) {
		m := parseLogfmt(line)
		if len(m) > 64 {
			t.Fatalf("%d fields", len(m))
		}
		for k, v := range m {
			if k == "" || len(k) > len(line) || len(v) > len(line) {
				t.Fatalf("field %q=%q from %q", k, v, line)
			}
		}
		_, _ = logEvent("p", line)
	})
}

func FuzzDecodeRows(f *testing.F) {
	f.Add(string(rowsJSON("m1")))
	f.Add(`[{"module":"m","x":{"a":[1,{"b":null}]}}]`)
	f.Add(`[{"negotiation":{"peers":[{}],"z":[[[[[[1]]]]]]}}]`)
	f.Fuzz(func(t *testing.T, data string) {
		rows, err := DecodeRows([]byte(data))
		if err != nil {
			return
		}
		for _, r := range rows {
			if len(r.Extra) > maxExtra {
				t.Fatalf("%d extra fields", len(r.Extra))
			}
			for _, e := range r.Extra {
				if !utf8.ValidString(e.Key) {
					t.Fatalf("key %q", e.Key)
				}
			}
		}
	})
}
