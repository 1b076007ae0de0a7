package negotiation

import (
	"fmt"
	"github.com/cpsmm/cpsmm/internal/scenario"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/stack/ident"
)

// Scenario files (testdata/*.txt) are data-driven tests in the style of
// etcd-io/raft's: a command per line, and after a command whose output is
// checked, the expected output between "----" and a blank line.
//
//	config hello=1s holdtime=3s [rule=vendor|incumbent]
//	                                timers and rule for the nodes booted after it
//	                                (default: VendorRule)
//	boot a id=1 [want=yes|no|always] [at=CABINET/SLOT]
//	                                (roles then shows at= for it; default 0/0)
//	tick 2s                         advance the clock (10 steps per hello)
//	kill a | hang a | restart a
//	pause a / resume a              pause (like hang: no ticks, nothing in or out;
//	                                what reaches it is queued) and resume it
//	                                (its clock jumps; it reads its queue, then ticks)
//	cut a backplane|ethernet  / uncut a backplane|ethernet
//	partition a b | c  / heal
//	link a down|up  / ip a invalid|valid  / want a always
//	monitor a failed|ok             the IP monitor's verdict
//	force-active a / force-standby a / shutdown a   (print ok or the error)
//	drop a>b 3                      drop a's next 3 adverts to b
//	roles / peers a / events a      (print)
//	max-primaries                   the most live Primaries at any instant
//	                                (after every tick and delivery) since the
//	                                last max-primaries (print)
//	conflict a                      a's AlwaysConflict (print)
//
// REWRITE=1 go test ./negotiation rewrites the expected outputs.
func TestScenarios(t *testing.T) {
	scenario.Run(t, "testdata/*.txt", func() scenario.Exec {
		s := newSim(time.Second, 3*time.Second)
		ids := map[string]ID{}
		wants := map[string]Want{}
		return func(cmd string) (string, error) { return s.exec(cmd, ids, wants) }
	})
}

func parseWant(s string) (Want, error) {
	switch s {
	case "yes":
		return WantYes, nil
	case "no":
		return WantNo, nil
	case "always":
		return WantAlways, nil
	}
	return 0, fmt.Errorf("want %q", s)
}

func parsePath(s string) (Path, error) {
	switch s {
	case "backplane":
		return Backplane, nil
	case "ethernet":
		return Ethernet, nil
	}
	return 0, fmt.Errorf("path %q", s)
}

// exec runs one command and returns its output.
func (s *sim) exec(cmd string, ids map[string]ID, wants map[string]Want) (string, error) {
	f := strings.Fields(cmd)
	arg := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	node := func(name string) (*simNode, error) {
		sn, ok := s.nodes[name]
		if !ok {
			return nil, fmt.Errorf("no node %q", name)
		}
		return sn, nil
	}
	result := func(err error) string {
		if err != nil {
			return err.Error()
		}
		return "ok"
	}
	switch f[0] {
	case "config":
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			if k == "rule" {
				switch v {
				case "vendor":
					s.cfg.Rule = VendorRule
				case "incumbent":
					s.cfg.Rule = IncumbentRule
				default:
					return "", fmt.Errorf("rule %q", v)
				}
				continue
			}
			d, err := time.ParseDuration(v)
			if err != nil {
				return "", err
			}
			switch k {
			case "hello":
				s.cfg.Hello, s.step = d, d/10
			case "holdtime":
				s.cfg.Holdtime = d
			}
		}
	case "boot":
		want := WantYes
		var id ID
		for _, kv := range f[2:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "id":
				n, err := strconv.ParseUint(v, 10, 48)
				if err != nil {
					return "", err
				}
				id = ident.MACFromUint64(n)
			case "want":
				w, err := parseWant(v)
				if err != nil {
					return "", err
				}
				want = w
			case "at":
				at, err := ident.ParseSlot(v)
				if err != nil {
					return "", err
				}
				s.at[arg(1)] = at
			}
		}
		ids[arg(1)], wants[arg(1)] = id, want
		return "", s.boot(arg(1), id, want)
	case "restart":
		if _, ok := ids[arg(1)]; !ok {
			return "", fmt.Errorf("never booted %q", arg(1))
		}
		return "", s.boot(arg(1), ids[arg(1)], wants[arg(1)])
	case "tick":
		d, err := time.ParseDuration(arg(1))
		if err != nil {
			return "", err
		}
		s.advance(d)
	case "kill":
		s.kill(arg(1))
	case "hang", "pause":
		sn, err := node(arg(1))
		if err != nil {
			return "", err
		}
		s.pause(sn)
	case "resume":
		sn, err := node(arg(1))
		if err != nil {
			return "", err
		}
		if !sn.hung {
			return "", fmt.Errorf("%s is not paused", arg(1))
		}
		s.resume(sn)
	case "cut", "uncut":
		p, err := parsePath(arg(2))
		if err != nil {
			return "", err
		}
		if s.cut[arg(1)] == nil {
			s.cut[arg(1)] = map[Path]bool{}
		}
		s.cut[arg(1)][p] = f[0] == "cut"
	case "partition":
		g := 0
		for _, name := range f[1:] {
			if name == "|" {
				g++
				continue
			}
			s.group[name] = g
		}
	case "heal":
		s.group = map[string]int{}
	case "link":
		sn, err := node(arg(1))
		if err != nil {
			return "", err
		}
		sn.link = arg(2) == "up"
		sn.n.SetLink(s.now, sn.link)
		s.flush()
	case "ip":
		sn, err := node(arg(1))
		if err != nil {
			return "", err
		}
		sn.n.SetIPValid(s.now, arg(2) == "valid")
		s.flush()
	case "monitor":
		sn, err := node(arg(1))
		if err != nil {
			return "", err
		}
		sn.n.SetMonitorFailed(s.now, arg(2) == "failed")
		s.flush()
	case "want":
		sn, err := node(arg(1))
		if err != nil {
			return "", err
		}
		w, err := parseWant(arg(2))
		if err != nil {
			return "", err
		}
		wants[arg(1)] = w
		sn.n.SetWant(s.now, w)
		s.flush()
	case "force-active", "force-standby":
		sn, err := node(arg(1))
		if err != nil {
			return "", err
		}
		if f[0] == "force-active" {
			err = sn.n.ForceActive(s.now)
		} else {
			err = sn.n.ForceStandby(s.now)
		}
		s.flush()
		return result(err) + "\n", nil
	case "shutdown":
		sn, err := node(arg(1))
		if err != nil {
			return "", err
		}
		sn.n.Shutdown(s.now)
		s.flush()
		s.kill(arg(1))
	case "drop":
		n, err := strconv.Atoi(arg(2))
		if err != nil {
			return "", err
		}
		s.drop[arg(1)] += n
	case "roles":
		return s.roles(), nil
	case "max-primaries":
		m := s.maxPrimaries
		s.countPrimaries()
		s.maxPrimaries = 0
		s.countPrimaries()
		return fmt.Sprintf("%d\n", m), nil
	case "conflict":
		sn, err := node(arg(1))
		if err != nil {
			return "", err
		}
		var ns []string
		for _, id := range sn.n.AlwaysConflict() {
			ns = append(ns, s.nameOf(id))
		}
		if len(ns) == 0 {
			return "none\n", nil
		}
		return strings.Join(ns, " ") + "\n", nil
	case "peers":
		if _, err := node(arg(1)); err != nil {
			return "", err
		}
		return s.peers(arg(1)), nil
	case "events":
		if _, err := node(arg(1)); err != nil {
			return "", err
		}
		return s.events(arg(1)), nil
	default:
		return "", fmt.Errorf("unknown command %q", f[0])
	}
	return "", nil
}
