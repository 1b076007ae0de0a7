package ipmon

import (
	"fmt"
	"github.com/cpsmm/cpsmm/internal/scenario"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Scenario files (testdata/*.txt), as in negotiation: a command per line,
// and after a command whose output is checked, the expected output
// between "----" and a blank line.
//
//	config interval=1s misses=4 successes=4 probes=3   for the modules booted after it
//	boot a b c targets=gw [peers=off]    modules; peers: every other module booted
//	gateway gw down|up|pattern=0111|loss=30   (pattern: per poll of each module, 1 answers)
//	ipdown a / ipup a                    no IP traffic in or out of a's Ethernet side
//	tick 3s
//	verdicts / hosts a / events a        (print)
//
// REWRITE=1 go test ./stack/ipmon rewrites the expected outputs.
func TestScenarios(t *testing.T) {
	scenario.Run(t, "testdata/*.txt", func() scenario.Exec {
		s := newSim(Config{Interval: time.Second}, 1)
		return func(cmd string) (string, error) { return s.exec(cmd) }
	})
}

func (s *sim) exec(cmd string) (string, error) {
	f := strings.Fields(cmd)
	arg := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	mod := func(name string) (*simMod, error) {
		m, ok := s.mods[name]
		if !ok {
			return nil, fmt.Errorf("no module %q", name)
		}
		return m, nil
	}
	switch f[0] {
	case "config":
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			if k == "interval" {
				d, err := time.ParseDuration(v)
				if err != nil {
					return "", err
				}
				s.cfg.Interval, s.step = d, d/10
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				return "", err
			}
			switch k {
			case "misses":
				s.cfg.Misses = n
			case "successes":
				s.cfg.Successes = n
			case "probes":
				s.cfg.Probes = n
			default:
				return "", fmt.Errorf("config %q", k)
			}
		}
	case "boot":
		var names, targets []string
		peers := true
		for _, a := range f[1:] {
			switch k, v, ok := strings.Cut(a, "="); {
			case !ok:
				names = append(names, a)
			case k == "targets":
				targets = strings.Split(v, ",")
			case k == "peers":
				peers = v != "off"
			default:
				return "", fmt.Errorf("boot %q", k)
			}
		}
		return "", s.boot(names, targets, peers)
	case "gateway":
		g := s.gws[arg(1)]
		if g == nil {
			return "", fmt.Errorf("no gateway %q", arg(1))
		}
		k, v, _ := strings.Cut(arg(2), "=")
		switch k {
		case "down", "up":
			g.down, g.pattern, g.loss = k == "down", "", 0
		case "pattern":
			g.down, g.pattern, g.loss = false, v, 0
		case "loss":
			n, err := strconv.Atoi(v)
			if err != nil {
				return "", err
			}
			g.down, g.pattern, g.loss = false, "", float64(n)/100
		default:
			return "", fmt.Errorf("gateway %q", k)
		}
	case "ipdown", "ipup":
		m, err := mod(arg(1))
		if err != nil {
			return "", err
		}
		m.ipdown = f[0] == "ipdown"
	case "tick":
		d, err := time.ParseDuration(arg(1))
		if err != nil {
			return "", err
		}
		s.advance(d)
	case "verdicts":
		return s.verdicts(), nil
	case "hosts", "events":
		if _, err := mod(arg(1)); err != nil {
			return "", err
		}
		if f[0] == "hosts" {
			return s.hosts(arg(1)), nil
		}
		return s.events(arg(1)), nil
	default:
		return "", fmt.Errorf("unknown command %q", f[0])
	}
	return "", nil
}
