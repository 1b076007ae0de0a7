package negotiation

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cpsmm/cpsmm/stack/ident"
)

// sim is a simulated stack: nodes, a clock, and two paths between every
// pair that tests can break. Adverts are delivered in the step they are
// sent (zero latency) unless dropped or cut.
//
// The clock moves in steps of step, ticking every node, or, if byDeadline,
// from one node's Deadline to the next, ticking only the nodes due then,
// as an application that sleeps until its node's deadline does.
type sim struct {
	now        time.Time
	step       time.Duration
	byDeadline bool
	cfg        Config
	nodes      map[string]*simNode
	sorted     []string // names(), nil when nodes changed
	// cut[name][path]: the node's attachment to that path is broken.
	cut map[string]map[Path]bool
	// group: partition groups; nodes in different groups hear nothing.
	group map[string]int
	// drop[from+">"+to]: adverts still to drop.
	drop map[string]int
	// dropped[pairKey(a, b)]: when an advert between a and b was last
	// dropped.
	dropped map[string]time.Time
	// changes counts role changes per node (for the property test).
	changes map[string]int
	// names of every ID ever booted, for printing.
	idNames map[ID]string
	// onDeliver, if set, is told of every advert just before its delivery.
	onDeliver func(from, to string, path Path, a Advert)
	// onReady, if set, is told of every Ready with adverts or events.
	onReady func(name string, rd Ready)
	// at[name]: where the node sits (cabinet/slot), for its Config.
	at map[string]ident.Slot
	// maxPrimaries is the most live Primaries seen at once (after every
	// tick and every delivery) since it was last reset.
	maxPrimaries int
}

type simNode struct {
	name   string
	n      *Node
	hung   bool // paused: no ticks, nothing sent, what it is sent is queued
	events []Event
	link   bool // Ethernet link up
	// lastSent is when the node last had something to send.
	lastSent time.Time
	// queue holds what reached the node while it was paused, as a socket
	// buffer does: the oldest queueCap, the rest dropped.
	queue []queued
}

type queued struct {
	from string
	path Path
	a    Advert
}

// queueCap is how many adverts a paused node's socket buffers hold.
const queueCap = 16

func newSim(hello, hold time.Duration) *sim {
	return &sim{now: time.Unix(1000, 0), step: hello / 10, cfg: Config{Hello: hello, Holdtime: hold},
		nodes: map[string]*simNode{}, cut: map[string]map[Path]bool{}, group: map[string]int{},
		drop: map[string]int{}, changes: map[string]int{}, idNames: map[ID]string{}, at: map[string]ident.Slot{},
		dropped: map[string]time.Time{}}
}

// pairKey names the pair of nodes a and b, in either order.
func pairKey(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return a + b
}

// countPrimaries notes how many live nodes are Primary now.
func (s *sim) countPrimaries() {
	k := 0
	for _, sn := range s.nodes {
		if !sn.hung && sn.n.Role() == Primary {
			k++
		}
	}
	if k > s.maxPrimaries {
		s.maxPrimaries = k
	}
}

// names returns the nodes' names, sorted (not to be modified).
func (s *sim) names() []string {
	if s.sorted == nil {
		for n := range s.nodes {
			s.sorted = append(s.sorted, n)
		}
		sort.Strings(s.sorted)
	}
	return s.sorted
}

// kill removes a node (its process is gone).
func (s *sim) kill(name string) {
	delete(s.nodes, name)
	s.sorted = nil
}

func (s *sim) boot(name string, id ID, want Want) error {
	cfg := s.cfg
	cfg.ID, cfg.Want, cfg.Slot = id, want, s.at[name]
	n, err := New(cfg, s.now)
	if err != nil {
		return err
	}
	s.nodes[name] = &simNode{name: name, n: n, link: true, lastSent: s.now}
	s.sorted = nil
	s.idNames[id] = name
	if s.cut[name] == nil {
		s.cut[name] = map[Path]bool{}
	}
	s.flush()
	return nil
}

// connected reports whether an advert from a to b can cross path.
func (s *sim) connected(a, b *simNode, path Path) bool {
	return !a.hung && !b.hung && s.wired(a, b, path)
}

// wired reports whether the path between a and b works, whatever their
// processes do.
func (s *sim) wired(a, b *simNode, path Path) bool {
	if s.cut[a.name][path] || s.cut[b.name][path] || s.group[a.name] != s.group[b.name] {
		return false
	}
	if path == Ethernet && (!a.link || !b.link) {
		return false
	}
	return true
}

// flush delivers what nodes have to send until nothing is left.
func (s *sim) flush() {
	for round := 0; round < 20; round++ {
		moved := false
		for _, name := range s.names() {
			sn := s.nodes[name]
			rd := sn.n.Ready()
			if len(rd.Adverts) > 0 {
				sn.lastSent = s.now
			}
			if s.onReady != nil && (len(rd.Adverts) > 0 || len(rd.Events) > 0) {
				s.onReady(name, rd)
			}
			for _, e := range rd.Events {
				if e.Kind == RoleChanged {
					s.changes[name]++
				}
			}
			sn.events = append(sn.events, rd.Events...)
			if sn.hung {
				continue
			}
			for _, a := range rd.Adverts {
				for _, to := range s.names() {
					dst := s.nodes[to]
					if to == name {
						continue
					}
					if len(s.drop) > 0 {
						if key := name + ">" + to; s.drop[key] > 0 {
							if s.drop[key]--; s.drop[key] == 0 {
								delete(s.drop, key)
							}
							s.dropped[pairKey(name, to)] = s.now
							continue
						}
					}
					for _, path := range []Path{Backplane, Ethernet} {
						if dst.hung && s.wired(sn, dst, path) && len(dst.queue) < queueCap {
							dst.queue = append(dst.queue, queued{from: name, path: path, a: a})
						}
						if s.connected(sn, dst, path) {
							if s.onDeliver != nil {
								s.onDeliver(name, to, path, a)
							}
							dst.n.Step(s.now, path, a)
							s.countPrimaries()
							moved = true
						}
					}
				}
			}
		}
		if !moved {
			return
		}
	}
}

// pause stops a node: no ticks, nothing sent, what reaches it queued.
func (s *sim) pause(sn *simNode) {
	sn.hung, sn.queue = true, nil
}

// resume lets a paused node run again: it reads what was queued for it
// (with the time of its resumption), then its overdue tick fires.
func (s *sim) resume(sn *simNode) {
	sn.hung = false
	q := sn.queue
	sn.queue = nil
	for _, m := range q {
		if s.onDeliver != nil && s.nodes[m.from] != nil {
			s.onDeliver(m.from, sn.name, m.path, m.a)
		}
		sn.n.Step(s.now, m.path, m.a)
	}
	sn.n.Tick(s.now)
	s.flush()
}

// advance moves the clock by d, instant by instant.
func (s *sim) advance(d time.Duration) {
	end := s.now.Add(d)
	for s.now.Before(end) {
		s.next(end)
	}
}

// next moves the clock to the next instant (a step later, or the earliest
// deadline), at most to end, and ticks the nodes due then.
func (s *sim) next(end time.Time) {
	if !s.byDeadline {
		t := s.now.Add(s.step)
		if t.After(end) {
			t = end
		}
		s.now = t
		for _, name := range s.names() {
			if sn := s.nodes[name]; !sn.hung {
				sn.n.Tick(s.now)
			}
		}
		s.countPrimaries()
		s.flush()
		return
	}
	t := end
	names := s.names()
	due := make([]time.Time, len(names))
	for i, name := range names {
		if sn := s.nodes[name]; !sn.hung {
			due[i] = sn.n.Deadline()
			if due[i].Before(t) {
				t = due[i]
			}
		}
	}
	if !t.After(s.now) {
		panic(fmt.Sprintf("deadline %s not after now %s", t, s.now))
	}
	s.now = t
	for i, name := range names {
		if sn := s.nodes[name]; !sn.hung && !due[i].After(s.now) {
			sn.n.Tick(s.now)
		}
	}
	s.countPrimaries()
	s.flush()
}

func yesno(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (s *sim) roles() string {
	var b strings.Builder
	for _, name := range s.names() {
		sn := s.nodes[name]
		state := ""
		if sn.hung {
			state = " (hung)"
		}
		at := ""
		if a, ok := s.at[name]; ok {
			at = " at=" + a.String()
		}
		fmt.Fprintf(&b, "%s%s %s can=%s want=%s%s\n", name, at, sn.n.Role(), yesno(sn.n.CanPrimary()), sn.n.Want(), state)
	}
	return b.String()
}

func (s *sim) nameOf(id ID) string {
	if name, ok := s.idNames[id]; ok {
		return name
	}
	return id.String()
}

func (s *sim) peers(name string) string {
	var b strings.Builder
	for _, p := range s.nodes[name].n.Peers() {
		fmt.Fprintf(&b, "%s alive=%s backplane=%s ethernet=%s link-fault=%s role=%s\n", s.nameOf(p.ID), yesno(p.Alive),
			okFailed(p.PathOK[Backplane]), okFailed(p.PathOK[Ethernet]), yesno(p.LinkFault), p.Advert.Role)
	}
	return b.String()
}

func okFailed(ok bool) string {
	if ok {
		return "ok"
	}
	return "failed"
}

func (s *sim) events(name string) string {
	var b strings.Builder
	sn := s.nodes[name]
	for _, e := range sn.events {
		peer := ""
		if !e.Peer.IsZero() {
			peer = " " + s.nameOf(e.Peer)
		}
		if e.Path != 0 && (e.Kind == LinkFailure) {
			peer += " " + e.Path.String()
		}
		fmt.Fprintf(&b, "%s%s: %s\n", e.Kind, peer, e.Reason)
	}
	sn.events = nil
	return b.String()
}

// primaries returns the names of the nodes that are Primary.
func (s *sim) primaries() []string {
	var ps []string
	for _, name := range s.names() {
		if sn := s.nodes[name]; !sn.hung && sn.n.Role() == Primary {
			ps = append(ps, name)
		}
	}
	return ps
}
