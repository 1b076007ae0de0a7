package ipmon

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"time"
)

// sim is a simulated stack of modules, each with its monitor, the
// gateways they poll, and their Ethernet sides that tests can cut. Probes
// are answered, and reports delivered, in the step they are sent (zero
// latency); reports travel on the backplane, which an ip-down does not
// cut. The clock moves in steps of a tenth of the interval.
type sim struct {
	start, now time.Time
	step       time.Duration
	cfg        Config
	mods       map[string]*simMod
	order      []string
	gws        map[string]*gateway
	rng        *rand.Rand
	// onAnswer, if set, is told of every poll's outcome as the sim decides
	// it: whether the host will answer it.
	onPoll func(mod string, h Host, answered bool)
}

type simMod struct {
	name    string
	m       *Monitor
	ipdown  bool
	events  []Event
	targets []string
	sent    map[string]int // polls sent to each gateway
}

// gateway answers a poll unless down; pattern, if set, says per poll (of
// each module, cyclically) whether it answers ('1') or not ('0'); loss is
// the chance of each probe being lost.
type gateway struct {
	down    bool
	pattern string
	loss    float64
}

func newSim(cfg Config, seed int64) *sim {
	now := time.Unix(1000, 0)
	return &sim{start: now, now: now, step: cfg.Interval / 10, cfg: cfg, mods: map[string]*simMod{}, gws: map[string]*gateway{},
		rng: rand.New(rand.NewSource(seed))}
}

// boot starts modules, each with the targets given and the other modules
// of the same boot (and earlier ones) as peers when peers is set.
func (s *sim) boot(names []string, targets []string, peers bool) error {
	all := append(append([]string(nil), s.order...), names...)
	for _, n := range names {
		cfg := s.cfg
		cfg.Targets = targets
		cfg.Peers = nil
		if peers {
			for _, o := range all {
				if o != n {
					cfg.Peers = append(cfg.Peers, o)
				}
			}
		}
		for _, t := range targets {
			if s.gws[t] == nil {
				s.gws[t] = &gateway{}
			}
		}
		m, err := New(cfg, s.now)
		if err != nil {
			return err
		}
		s.mods[n] = &simMod{name: n, m: m, targets: targets, sent: map[string]int{}}
		s.order = append(s.order, n)
	}
	sort.Strings(s.order)
	s.flush()
	return nil
}

// answers decides whether a poll from mod to h is answered.
func (s *sim) answers(mod *simMod, h Host) bool {
	if mod.ipdown {
		return false
	}
	if h.Kind == Peer {
		p := s.mods[h.Name]
		return p != nil && !p.ipdown
	}
	g := s.gws[h.Name]
	if g == nil || g.down {
		return false
	}
	i := mod.sent[h.Name]
	mod.sent[h.Name]++
	if g.pattern != "" {
		return g.pattern[i%len(g.pattern)] == '1'
	}
	if g.loss > 0 {
		for k := 0; k < s.cfg.Probes || (s.cfg.Probes == 0 && k < DefaultProbes); k++ {
			if s.rng.Float64() >= g.loss {
				return true
			}
		}
		return false
	}
	return true
}

// flush delivers what every monitor has to send until nothing is left.
func (s *sim) flush() {
	for again := true; again; {
		again = false
		for _, n := range s.order {
			mod := s.mods[n]
			rd := mod.m.Ready()
			mod.events = append(mod.events, rd.Events...)
			for _, p := range rd.Probes {
				ok := s.answers(mod, p.Host)
				if s.onPoll != nil {
					s.onPoll(n, p.Host, ok)
				}
				if ok {
					mod.m.Answer(s.now, p.Host, p.Seq)
					again = true
				}
			}
			if rd.Report != nil {
				for _, o := range s.order {
					if o != n {
						s.mods[o].m.Report(s.now, n, *rd.Report)
						again = true
					}
				}
			}
		}
	}
}

func (s *sim) advance(d time.Duration) {
	end := s.now.Add(d)
	for s.now.Before(end) {
		s.now = s.now.Add(s.step)
		if s.now.After(end) {
			s.now = end
		}
		for _, n := range s.order {
			s.mods[n].m.Tick(s.now)
		}
		s.flush()
	}
}

func (s *sim) verdicts() string {
	var b strings.Builder
	for _, n := range s.order {
		fmt.Fprintf(&b, "%s: %s\n", n, s.mods[n].m.Verdict())
	}
	return b.String()
}

func (s *sim) hosts(name string) string {
	var b strings.Builder
	for _, h := range s.mods[name].m.Status() {
		state := "up"
		if !h.Up {
			state = "down"
		}
		last := "never"
		if !h.LastAnswer.IsZero() {
			last = h.LastAnswer.Sub(s.start).String()
		}
		fmt.Fprintf(&b, "%s %s %s misses=%d successes=%d last-answer=%s polls=%d answered=%d\n", h.Kind, h.Name, state, h.Misses, h.Successes, last, h.Polls, h.Answered)
	}
	return b.String()
}

func (s *sim) events(name string) string {
	mod := s.mods[name]
	var b strings.Builder
	for _, e := range mod.events {
		what := e.Kind.String()
		if e.Host.Kind != 0 {
			what += " " + e.Host.String()
		}
		fmt.Fprintf(&b, "%s %s: %s\n", e.Time.Sub(s.start), what, e.Reason)
	}
	mod.events = nil
	return b.String()
}
