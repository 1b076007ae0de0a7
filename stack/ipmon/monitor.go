// Package ipmon is a module's IP monitor of its Ethernet side, as a pure
// state machine in the style of negotiation: no goroutines, clocks or I/O.
// The application feeds it the time (Tick), the answers to its probes
// (Answer) and what the other modules report of their own monitors
// (Report), and collects a Ready: the probes to send, its own report for
// the other modules, events, and the verdict.
//
// Polling (HP Serviceguard's IP monitor): every Interval the monitor polls
// each host it watches — its targets (typically the gateway: a break
// beyond the first switch) and its peers (the other modules' Ethernet
// sides: the local segment) — with Probes probes of one sequence number.
// A poll is answered if any of its probes is answered before the next
// poll, and missed otherwise: with 3 probes a host that loses 30 % of its
// packets misses a poll 2.7 % of the time, and 4 misses in a row about
// once in two million polls. A host is down after Misses (4) consecutive
// missed polls and up again after Successes (4) consecutive answered
// polls; hosts start up.
//
// How the results combine (the verdict):
//
//  1. A module is "up" when one of its targets is up (with no target
//     configured: one of its peers; with neither, the monitor watches
//     nothing and never fails).
//  2. A module with an answering target never fails: peers it cannot
//     reach while its target answers are a problem of theirs or of the
//     segment, not of this module's subnet (Degraded, with the reason).
//  3. A module whose targets are all down fails only when another module
//     is better placed: a module that reports, within ReportTTL, that it is
//     up and not failed, in a report sent at least half an interval after
//     this module's targets went down. Then its subnet is failed ("IP
//     monitor: subnet failed"): it is ineligible and a Primary steps down.
//     The wait (one poll: the others report every poll) is what keeps a
//     shared gateway's failure from failing the first module to count its
//     4th miss while the others, a few milliseconds behind on the same
//     polls, still say up.
//  4. When no module is better placed — every module lost a shared
//     gateway — no module fails: failing them all would leave the stack
//     with no Primary for no gain. Each is Degraded, and the stack keeps
//     its Primary.
//
// Reports travel on both paths (the backplane still carries them when a
// module's Ethernet side is cut); a module sends its own every poll and at
// once when it changes.
package ipmon

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kind is what a monitored host is.
type Kind uint8

// Kinds of host.
const (
	Target Kind = 1 // an address beyond the module's subnet: the gateway by default
	Peer   Kind = 2 // another module's Ethernet side
)

func (k Kind) String() string {
	switch k {
	case Target:
		return "target"
	case Peer:
		return "peer"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Host is one monitored host: a target by its IP address, a peer by its
// name (the application's: a MAC address in a stack).
type Host struct {
	Kind Kind
	Name string
}

func (h Host) String() string { return h.Kind.String() + " " + h.Name }

// Defaults.
const (
	DefaultMisses    = 4
	DefaultSuccesses = 4
	DefaultProbes    = 3
)

// FailedReason is the reason a failed subnet gives (and the role change
// it causes).
const FailedReason = "IP monitor: subnet failed"

// Config configures a Monitor.
type Config struct {
	Interval  time.Duration // between polls (required)
	Misses    int           // consecutive missed polls for down (default 4)
	Successes int           // consecutive answered polls for up (default 4)
	Probes    int           // probes per poll; any answer counts (default 3)
	Targets   []string
	Peers     []string
	// ReportTTL is how long another module's report counts (default 3 ×
	// Interval).
	ReportTTL time.Duration
	// Next, if set, places the polls: the poll after one at t (default
	// t + Interval). A stack puts them on its hello grid.
	Next func(t time.Time) time.Time
}

// Validate fills the defaults and checks the configuration.
func (c *Config) Validate() error {
	if c.Interval <= 0 {
		return errors.New("ipmon: interval must be positive")
	}
	if c.Misses == 0 {
		c.Misses = DefaultMisses
	}
	if c.Successes == 0 {
		c.Successes = DefaultSuccesses
	}
	if c.Probes == 0 {
		c.Probes = DefaultProbes
	}
	if c.Misses < 1 || c.Successes < 1 || c.Probes < 1 {
		return fmt.Errorf("ipmon: misses %d, successes %d, probes %d: each must be at least 1", c.Misses, c.Successes, c.Probes)
	}
	if c.ReportTTL == 0 {
		c.ReportTTL = 3 * c.Interval
	}
	seen := map[Host]bool{}
	for _, h := range c.hosts() {
		if h.Name == "" || seen[h] {
			return fmt.Errorf("ipmon: %s: empty or given twice", h)
		}
		seen[h] = true
	}
	return nil
}

func (c *Config) hosts() []Host {
	var hs []Host
	for _, t := range c.Targets {
		hs = append(hs, Host{Target, t})
	}
	for _, p := range c.Peers {
		hs = append(hs, Host{Peer, p})
	}
	return hs
}

// Report is what a module tells the others of its monitor.
type Report struct {
	Up     bool // one of its targets (or, without targets, peers) is up
	Failed bool // its verdict: subnet failed
}

// Verdict is the monitor's judgement of the module's Ethernet side.
type Verdict struct {
	Failed   bool   `json:"failed"`   // ineligible: FailedReason
	Degraded bool   `json:"degraded"` // something is down, but the module stays eligible
	Reason   string `json:"reason,omitempty"`
}

func (v Verdict) String() string {
	s := "ok"
	switch {
	case v.Failed:
		s = "failed"
	case v.Degraded:
		s = "degraded"
	}
	if v.Reason != "" {
		s += " (" + v.Reason + ")"
	}
	return s
}

// HostStatus is what the monitor knows of one host.
type HostStatus struct {
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	Up         bool      `json:"up"`
	Misses     int       `json:"misses"`    // consecutive missed polls
	Successes  int       `json:"successes"` // consecutive answered polls
	LastAnswer time.Time `json:"last_answer,omitzero"`
	LastChange time.Time `json:"last_change,omitzero"` // of Up
	Polls      uint64    `json:"polls"`                // polls sent…
	Answered   uint64    `json:"answered"`             // …and answered
}

// Probe is one poll of a host: the application sends Config.Probes
// datagrams carrying Seq, and calls Answer for any that comes back.
type Probe struct {
	Host Host
	Seq  uint32
}

// EventKind says what happened.
type EventKind uint8

// Event kinds.
const (
	HostDown EventKind = iota + 1
	HostUp
	VerdictChanged
)

func (k EventKind) String() string {
	return [...]string{"", "host-down", "host-up", "verdict-changed"}[k]
}

// Event is something the application may log.
type Event struct {
	Time   time.Time
	Kind   EventKind
	Host   Host // HostDown, HostUp
	Reason string
}

// Ready is what the application must act on.
type Ready struct {
	Probes  []Probe
	Report  *Report // to send to the other modules, when set
	Events  []Event
	Verdict Verdict
}

type host struct {
	h          Host
	up         bool
	misses     int
	successes  int
	seq        uint32 // of the outstanding poll (0: none)
	answered   bool
	lastAnswer time.Time
	lastChange time.Time
	polls      uint64
	nanswered  uint64
}

type report struct {
	at time.Time
	r  Report
}

// Monitor is one module's IP monitor.
type Monitor struct {
	cfg      Config
	now      time.Time
	hosts    []*host
	nextPoll time.Time
	seq      uint32
	reports  map[string]report
	verdict  Verdict
	own      Report
	downAt   time.Time // when the module's own targets (or peers) went down
	ready    Ready
}

// New returns a monitor whose first poll is at now, every host up.
func New(cfg Config, now time.Time) (*Monitor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Monitor{cfg: cfg, now: now, nextPoll: now, reports: map[string]report{}}
	for _, h := range cfg.hosts() {
		m.hosts = append(m.hosts, &host{h: h, up: true})
	}
	m.own = m.report()
	m.ready.Verdict = m.verdict
	return m, nil
}

// Config returns the monitor's configuration, defaults filled.
func (m *Monitor) Config() Config { return m.cfg }

// Verdict returns the current verdict.
func (m *Monitor) Verdict() Verdict { return m.verdict }

// Own returns what the module reports of itself.
func (m *Monitor) Own() Report { return m.own }

// Status returns what the monitor knows of every host, targets first.
func (m *Monitor) Status() []HostStatus {
	out := make([]HostStatus, 0, len(m.hosts))
	for _, h := range m.hosts {
		out = append(out, HostStatus{Kind: h.h.Kind.String(), Name: h.h.Name, Up: h.up, Misses: h.misses, Successes: h.successes,
			LastAnswer: h.lastAnswer, LastChange: h.lastChange, Polls: h.polls, Answered: h.nanswered})
	}
	return out
}

// Ready returns and clears what the application must act on.
func (m *Monitor) Ready() Ready {
	r := m.ready
	m.ready = Ready{Verdict: m.verdict}
	return r
}

// Deadline is the earliest time at which Tick could change anything: the
// next poll, or a report going stale.
func (m *Monitor) Deadline() time.Time {
	d := m.nextPoll
	for _, r := range m.reports {
		if t := r.at.Add(m.cfg.ReportTTL); t.After(m.now) && t.Before(d) {
			d = t
		}
	}
	return d
}

func (m *Monitor) next(t time.Time) time.Time {
	if m.cfg.Next != nil {
		if n := m.cfg.Next(t); n.After(t) {
			return n
		}
	}
	return t.Add(m.cfg.Interval)
}

// Tick advances the clock: a poll that is due closes the outstanding one
// (a host that did not answer missed it) and sends the next.
func (m *Monitor) Tick(now time.Time) {
	if now.Before(m.now) {
		return
	}
	m.now = now
	if !now.Before(m.nextPoll) {
		if now.Sub(m.nextPoll) > 10*m.cfg.Interval {
			m.nextPoll = now // a long pause: one poll, not a burst of them
		}
		for !now.Before(m.nextPoll) {
			m.nextPoll = m.next(m.nextPoll)
		}
		m.poll()
	}
	m.evaluate()
}

func (m *Monitor) poll() {
	m.seq++
	if m.seq == 0 {
		m.seq = 1
	}
	for _, h := range m.hosts {
		if h.seq != 0 {
			if !h.answered {
				h.successes = 0
				h.misses++
				if h.up && h.misses >= m.cfg.Misses {
					h.up, h.lastChange = false, m.now
					m.event(HostDown, h.h, fmt.Sprintf("%d consecutive polls unanswered", h.misses))
				}
			}
		}
		h.seq, h.answered = m.seq, false
		h.polls++
		m.ready.Probes = append(m.ready.Probes, Probe{Host: h.h, Seq: m.seq})
	}
	r := m.report()
	m.ready.Report = &r // every poll: the others' view of us stays fresh
}

// Answer takes an answer from host to the probes of poll seq. Answers to
// a closed poll, duplicates (several probes answered) and unknown hosts
// are ignored.
func (m *Monitor) Answer(now time.Time, h Host, seq uint32) {
	m.Tick(now)
	for _, x := range m.hosts {
		if x.h != h {
			continue
		}
		if seq == 0 || seq != x.seq || x.answered {
			return
		}
		x.answered = true
		x.nanswered++
		x.lastAnswer = m.now
		x.misses = 0
		x.successes++
		if !x.up && x.successes >= m.cfg.Successes {
			x.up, x.lastChange = true, m.now
			m.event(HostUp, x.h, fmt.Sprintf("%d consecutive polls answered", x.successes))
		}
		m.evaluate()
		return
	}
}

// SetTargets replaces the targets (the module's gateway changed): a
// target kept keeps its state, a new one starts up with its first poll
// at the next; the peers are untouched.
func (m *Monitor) SetTargets(now time.Time, targets []string) error {
	seen := map[string]bool{}
	for _, t := range targets {
		if t == "" || seen[t] {
			return fmt.Errorf("ipmon: target %q: empty or given twice", t)
		}
		seen[t] = true
	}
	m.Tick(now)
	old := map[string]*host{}
	var peers []*host
	for _, h := range m.hosts {
		if h.h.Kind == Target {
			old[h.h.Name] = h
		} else {
			peers = append(peers, h)
		}
	}
	hosts := make([]*host, 0, len(targets)+len(peers))
	for _, t := range targets {
		h := old[t]
		if h == nil {
			h = &host{h: Host{Target, t}, up: true}
		}
		hosts = append(hosts, h)
	}
	m.hosts = append(hosts, peers...)
	m.cfg.Targets = append([]string(nil), targets...)
	m.evaluate()
	return nil
}

// Report takes another module's report of its monitor.
func (m *Monitor) Report(now time.Time, from string, r Report) {
	m.Tick(now)
	m.reports[from] = report{at: m.now, r: r}
	m.evaluate()
}

func (m *Monitor) event(k EventKind, h Host, reason string) {
	m.ready.Events = append(m.ready.Events, Event{Time: m.now, Kind: k, Host: h, Reason: reason})
}

// upOf reports whether any host of kind k is up, and whether there is
// any.
func (m *Monitor) upOf(k Kind) (up, any bool) {
	for _, h := range m.hosts {
		if h.h.Kind == k {
			any = true
			up = up || h.up
		}
	}
	return up, any
}

func (m *Monitor) namesDown(k Kind) []string {
	var out []string
	for _, h := range m.hosts {
		if h.h.Kind == k && !h.up {
			out = append(out, h.h.Name)
		}
	}
	return out
}

func (m *Monitor) report() Report {
	up, any := m.upOf(Target)
	if !any {
		up, any = m.upOf(Peer)
	}
	return Report{Up: up || !any, Failed: m.verdict.Failed}
}

// evaluate applies the combination rules (package comment).
func (m *Monitor) evaluate() {
	var v Verdict
	self := m.report()
	if self.Up {
		m.downAt = time.Time{}
	} else if m.downAt.IsZero() {
		m.downAt = m.now
	}
	switch {
	case self.Up:
		if down := m.namesDown(Peer); len(down) > 0 {
			if _, targets := m.upOf(Target); targets {
				v = Verdict{Degraded: true, Reason: "IP monitor: peer " + strings.Join(down, ", ") + " unreachable; targets answer"}
			} else {
				v = Verdict{Degraded: true, Reason: "IP monitor: peer " + strings.Join(down, ", ") + " unreachable"}
			}
		}
	default:
		var better []string
		for from, r := range m.reports {
			if m.now.Sub(r.at) < m.cfg.ReportTTL && r.r.Up && !r.r.Failed && r.at.Sub(m.downAt) >= m.cfg.Interval/2 {
				better = append(better, from)
			}
		}
		sort.Strings(better)
		if len(better) > 0 {
			v = Verdict{Failed: true, Reason: FailedReason}
		} else {
			v = Verdict{Degraded: true, Reason: "IP monitor: targets down; no module reports better: eligibility kept"}
		}
	}
	if v != m.verdict {
		m.verdict = v
		m.ready.Verdict = v
		m.event(VerdictChanged, Host{}, v.String())
	}
	if r := m.report(); r != m.own {
		m.own = r
		m.ready.Report = &r // at once
	}
}
