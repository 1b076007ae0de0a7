package trapmgr

import (
	"fmt"
	"github.com/cpsmm/cpsmm/internal/scenario"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Scenario files (testdata/*.txt), as in negotiation/: a command per
// line, and after a command whose output is checked, the expected output
// between "----" and a blank line.
//
//	config interval=1s [timeout=500ms] [capacity=N] [window=N] [rtt=5ms]
//	manager 1 127.0.0.2        configure slot 1 (0.0.0.0: none); applied by "interval"
//	interval 1s                Configure with the managers and this interval
//	primary yes|no
//	up 1 / down 1              manager 1 acknowledges / is silent
//	notify NAME [NAME…]        enqueue notifications
//	tick 2s                    advance the clock
//	log                        print what happened since the last log
//	status                     print the managers
//
// REWRITE=1 go test ./trapmgr rewrites the expected outputs.
func TestScenarios(t *testing.T) {
	scenario.Run(t, "testdata/*.txt", func() scenario.Exec {
		var s *sim
		return func(cmd string) (string, error) { return exec(&s, cmd) }
	})
}

func slotArg(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > Slots {
		return 0, fmt.Errorf("manager %q: want 1…%d", s, Slots)
	}
	return n - 1, nil
}

func exec(sp **sim, cmd string) (string, error) {
	f := strings.Fields(cmd)
	if f[0] == "config" {
		var cfg Config
		rtt := 5 * time.Millisecond
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			var err error
			switch k {
			case "interval":
				cfg.Interval, err = time.ParseDuration(v)
			case "timeout":
				cfg.Timeout, err = time.ParseDuration(v)
			case "rtt":
				rtt, err = time.ParseDuration(v)
			case "capacity":
				cfg.Capacity, err = strconv.Atoi(v)
			case "window":
				cfg.Window, err = strconv.Atoi(v)
			default:
				err = fmt.Errorf("unknown key %q", k)
			}
			if err != nil {
				return "", err
			}
		}
		interval := cfg.Interval
		cfg.Interval = 0
		*sp = newSim(cfg, rtt)
		(*sp).m.base.Interval = 0
		if interval > 0 {
			(*sp).configure(interval)
		}
		return "", nil
	}
	s := *sp
	if s == nil {
		return "", fmt.Errorf("config first")
	}
	switch f[0] {
	case "manager":
		if len(f) != 3 {
			return "", fmt.Errorf("manager N ADDR")
		}
		i, err := slotArg(f[1])
		if err != nil {
			return "", err
		}
		a, err := netip.ParseAddr(f[2])
		if err != nil {
			return "", err
		}
		s.addrs[i] = a
	case "interval":
		d, err := time.ParseDuration(f[1])
		if err != nil {
			return "", err
		}
		s.configure(d)
		s.drain()
	case "primary":
		s.m.SetPrimary(s.now, f[1] == "yes")
		s.drain()
	case "up", "down":
		i, err := slotArg(f[1])
		if err != nil {
			return "", err
		}
		s.setUp(i, f[0] == "up")
	case "notify":
		for _, n := range f[1:] {
			s.m.Enqueue(s.now, n)
		}
		s.drain()
	case "tick":
		d, err := time.ParseDuration(f[1])
		if err != nil {
			return "", err
		}
		s.advance(d)
	case "log":
		out := strings.Join(s.log, "\n")
		if out == "" {
			out = "(nothing)"
		}
		s.log = nil
		return out, nil
	case "status":
		return s.status(), nil
	default:
		return "", fmt.Errorf("unknown command")
	}
	return "", nil
}
