package web

import (
	"bytes"
	"os"
	"strings"
	"time"
)

// LogFile is a process log the page reads events from: the modules' (role
// changes with their reasons, faults injected, notifications sent) and the
// chassis's (device and cabinet faults).
type LogFile struct {
	Name string // the process, as the page names it
	Path string
}

// tail follows one log file: each read returns the complete lines added
// since the last.
type tail struct {
	LogFile
	off  int64
	part []byte
	// skipPartial: the first line read starts inside the backlog.
	skipPartial bool
}

// backlog is how much of an existing log the page reads at start.
const backlog = 32 << 10

func newTail(f LogFile) *tail {
	t := &tail{LogFile: f}
	if fi, err := os.Stat(f.Path); err == nil && fi.Size() > backlog {
		t.off, t.skipPartial = fi.Size()-backlog, true
	}
	return t
}

// lines returns the complete lines added since the last call (up to
// 256 KiB of the file per call; the rest comes next time).
func (t *tail) lines() []string {
	f, err := os.Open(t.Path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() < t.off {
		t.off, t.part = 0, nil // truncated or replaced
	}
	buf := make([]byte, 256<<10)
	n, _ := f.ReadAt(buf, t.off)
	if n == 0 {
		return nil
	}
	t.off += int64(n)
	data := append(t.part, buf[:n]...)
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		t.part = data
		return nil
	}
	t.part = append([]byte(nil), data[end+1:]...)
	out := strings.Split(string(data[:end]), "\n")
	if t.skipPartial {
		t.skipPartial = false
		out = out[1:]
	}
	return out
}

// logEvent turns one log line of a module or the chassis into an event,
// if it is one the page lists.
func logEvent(process, line string) (Event, bool) {
	f := parseLogfmt(line)
	at, err := time.Parse(time.RFC3339Nano, f["time"])
	if err != nil {
		return Event{}, false
	}
	src := process + "'s log"
	msg := f["msg"]
	switch {
	case msg == "negotiation event":
		text := process + ": " + f["event"] + ", now " + f["role"]
		if f["peer"] != "" {
			text += ", peer " + f["peer"]
		}
		if f["reason"] != "" {
			text += ": " + f["reason"]
		}
		return Event{Time: at, Text: text, Source: src}, true
	case msg == "fault injected":
		return Event{Time: at, Text: process + ": fault injected: " + f["command"], Source: src}, true
	case msg == "notification sent":
		return Event{Time: at, Text: process + ": notification sent: " + f["notification"], Source: src}, true
	case strings.HasPrefix(msg, "chassis control: "):
		return Event{Time: at, Text: "chassis: " + f["command"] + ": " + strings.TrimPrefix(msg, "chassis control: "), Source: src}, true
	}
	return Event{}, false
}

// parseLogfmt reads logrus's text format: key=value pairs, a value bare
// or double-quoted with backslash escapes. It never fails: what it cannot
// read it leaves out.
func parseLogfmt(line string) map[string]string {
	m := map[string]string{}
	i := 0
	for i < len(line) && len(m) < 64 {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		k := i
		for i < len(line) && line[i] != '=' && line[i] != ' ' {
			i++
		}
		key := line[k:i]
		if i >= len(line) || line[i] != '=' {
			continue
		}
		i++ // '='
		var val strings.Builder
		if i < len(line) && line[i] == '"' {
			i++
			for i < len(line) && line[i] != '"' {
				if line[i] == '\\' && i+1 < len(line) {
					i++
					switch line[i] {
					case 'n':
						val.WriteByte('\n')
					case 't':
						val.WriteByte('\t')
					default:
						val.WriteByte(line[i])
					}
				} else {
					val.WriteByte(line[i])
				}
				i++
			}
			i++ // closing quote
		} else {
			for i < len(line) && line[i] != ' ' {
				val.WriteByte(line[i])
				i++
			}
		}
		if key != "" {
			m[key] = val.String()
		}
	}
	return m
}
