// Package negotiation is the Primary/Standby election of the Base
// Management Modules of one stack, as a pure state machine in the style of
// etcd-io/raft: no goroutines, clocks or I/O. The application feeds it the
// time (Tick), the adverts it receives (Step) and local changes (link, IP
// configuration, WantPrimary, forced switchover, shutdown), and collects a
// Ready: the role, the adverts to send on both paths, and events.
//
// The rules:
//
//  1. A module that cannot communicate over Ethernet (link down or invalid
//     IP configuration) is ineligible: CanPrimary false, never Primary.
//     CanPrimary falls at once and rises only after HealthyChecks
//     consecutive healthy checks (one per hello). A subnet its IP monitor
//     declares failed (SetMonitorFailed) makes it ineligible too, from the
//     monitor's verdict to the monitor's recovery, which has its own
//     hysteresis (stack/ipmon).
//  2. Preference ranks always > yes > no; a module drops out when it sees
//     an eligible live module of higher rank.
//  3. Among the remaining candidates the Rule decides. VendorRule (the
//     default, the vendor's): the module in the cabinet with the lowest
//     BIA, then in the lowest slot, then (our tie-break) with the lowest
//     MAC; a better module that becomes eligible takes the role back
//     (see Preemption). IncumbentRule (PIX/ASA style): an incumbent
//     Primary keeps the role among equals, a recovered former Primary
//     comes back as Standby, and the same order decides only among
//     modules none of which holds the role. Under both rules a Primary
//     that took the role by ForceActive keeps it among equals, and among
//     always(3) modules the order alone decides (AlwaysConflict).
//  4. Of two Primaries that meet (a healed partition) the same rules keep
//     one, and the other steps down as soon as it hears the winner.
//  5. Break-before-make: a module becomes Primary only while no live peer
//     claims the role; an outgoing Primary advertises Standby at once. A
//     module about to become Primary first advertises a claim and waits
//     ClaimWait (hello/4, at most 50 ms): two modules that decide at the
//     same instant on each other's stale adverts hear each other's claims
//     and the rules keep one.
//  6. Start-up: a module that hears a Primary becomes Standby; one that
//     hears nobody waits one holdtime, then decides (always(3): at once,
//     see Preemption).
//  7. A module that stops gracefully advertises resignation, so a Standby
//     takes over at once instead of after the holdtime.
//  8. A paused module (a hung process, SIGSTOP) comes back as Standby. A
//     module that finds, at a Tick or Step, that it has sent nothing for a
//     holdtime knows its peers may have declared it dead (that is their
//     criterion: a holdtime without hearing it) and may have elected
//     another Primary. Before anything else it steps down to Standby (the
//     first Ready after the pause says Standby, and adverts queued before
//     the pause are dropped), takes back any claim or takeover, treats
//     every peer as unheard (what it knew of them is stale), and for one
//     holdtime (a fresh start-up wait) is no candidate and advertises
//     Yield, so that peers keep or elect a Primary without it. Then it
//     takes part again by the rules above: under IncumbentRule an
//     incumbent of equal or higher preference keeps the role; under
//     VendorRule, if it comes first, it takes the role back after the
//     hysteresis (Preemption). Silence caused by the network alone (loss,
//     a partition) is not a pause; two Primaries that meet after it are
//     settled by rule 4.
//
// Preemption (a better module takes the role): the Primary steps down as
// soon as it hears an eligible candidate that the rules put first (break-
// before-make: it advertises Standby at once), and that candidate claims
// the role only once no live peer says Primary, so there are never two.
// A candidate of higher preference counts at once, and so does an
// always(3) one among always(3) modules; one of the same preference below
// always(3) (VendorRule) only once the Primary has heard it alive for
// HealthyChecks hellos, the hysteresis a recovered link goes through too,
// so that a module that restarts in a loop never takes the role. An
// always(3) module does not wait for the others' negotiation: at start-up
// it claims the role at once (its first advert makes a running Primary
// answer at once; it steps down for it, break-before-make) instead of
// waiting a holdtime.
//
// AlwaysConflict: more than one always(3) module in a stack (the vendor
// warns it "will cause erratic behavior"). The emulator keeps the outcome
// deterministic — the lowest (BIA, slot) of them is Primary — and every
// module that sees two or more always(3) modules (itself included) says
// so: AlwaysConflict() and an AlwaysConflict event, AlwaysConflictCleared
// when it ends.
//
// A peer is dead only when it has been silent on both paths for a
// holdtime; silence on one path only is a link failure, reported as an
// event, with no failover.
//
// Forced switchover: ForceActive on an eligible Standby advertises a
// takeover claim; the Primary yields to it (unless the claimant ranks
// below another live eligible module, in which case ForceActive is
// refused), and once the claimant is Primary, incumbency keeps it there.
// ForceStandby on the Primary steps it down and keeps it out of the
// running until another module is Primary (at most a holdtime, so the
// stack is not left without one); then it yields to that Primary whatever
// its rank (it advertises Yield and is no candidate while that Primary
// lives), and takes part in elections again once it is gone.
package negotiation

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cpsmm/cpsmm/stack/ident"
)

// ID identifies a module: its MAC address, the project's one MAC type
// (lowest wins: Less).
type ID = ident.MAC

// Rule is how the Primary is chosen among eligible modules of the same
// preference.
type Rule uint8

// Rules.
const (
	// VendorRule: lowest (BIA, slot, MAC) first; a better module that
	// becomes eligible takes the role back.
	VendorRule Rule = iota
	// IncumbentRule: the incumbent Primary keeps the role among equals
	// (stack file negotiation: {preempt: false}).
	IncumbentRule
)

func (r Rule) String() string {
	switch r {
	case VendorRule:
		return "vendor"
	case IncumbentRule:
		return "incumbent"
	}
	return fmt.Sprintf("rule(%d)", uint8(r))
}

// Want is cpsmm100WantPrimary: yes(1), no(2), always(3).
type Want uint8

// WantPrimary values.
const (
	WantYes    Want = 1
	WantNo     Want = 2
	WantAlways Want = 3
)

func (w Want) rank() int {
	switch w {
	case WantAlways:
		return 3
	case WantYes:
		return 2
	}
	return 1
}

func (w Want) String() string {
	switch w {
	case WantYes:
		return "yes"
	case WantNo:
		return "no"
	case WantAlways:
		return "always"
	}
	return fmt.Sprintf("want(%d)", uint8(w))
}

// Role is a module's part in the stack.
type Role uint8

// Roles.
const (
	Initializing Role = iota
	Standby
	Primary
)

func (r Role) String() string {
	switch r {
	case Initializing:
		return "initializing"
	case Standby:
		return "standby"
	case Primary:
		return "primary"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Path is how an advert travelled (the project's one path type).
type Path = ident.Path

// Paths.
const (
	Backplane = ident.Backplane
	Ethernet  = ident.Ethernet
)

// Advert is what a module says about itself every hello (and at once on a
// change). Seq grows with every advert a module sends.
type Advert struct {
	From      ID
	Slot      ident.Slot // where the module sits: the order of VendorRule
	Seq       uint64
	Role      Role
	Eligible  bool
	Want      Want
	Resigning bool // stopping, or stepping down by force: not a candidate
	Takeover  bool // ForceActive: claims the Primary role
	Claim     bool // about to become Primary (see ClaimWait)
	Yield     bool // eligible, but takes the role from no live Primary
	Forced    bool // Primary by ForceActive: keeps the role among equals
}

// ClaimWait is how long a module announces its claim before it becomes
// Primary: two modules that decide at the same instant on each other's
// stale adverts both claim, hear each other, and the rules keep one. It
// must exceed the time an advert takes to cross a path.
func (c Config) ClaimWait() time.Duration {
	w := c.Hello / 4
	if w > 50*time.Millisecond {
		w = 50 * time.Millisecond
	}
	return w
}

// HealthyChecks is how many consecutive healthy checks raise CanPrimary.
const HealthyChecks = 4

// Config is a node's configuration.
type Config struct {
	ID       ID
	Slot     ident.Slot // the module's cabinet (BIA) and slot
	Hello    time.Duration
	Holdtime time.Duration
	Want     Want
	Rule     Rule
	// Schedule places the periodic hellos (zero: every Hello from the
	// last one).
	Schedule Schedule
}

// Schedule says when periodic sends fall. Unaligned, each comes a period
// after the previous one. Aligned, they fall on a grid common to a stack,
// the instants Phase + k × period of Unix time, so that every module of
// the stack sends in the same instant and each hears all the others'
// adverts in one wake-up instead of one wake-up each: an idle module's
// CPU goes almost all to waking up, not to the work (see the README's
// idle figures). Adverts triggered by an event (a role change, a new
// peer) still go at once; only the periodic ones wait for the grid.
type Schedule struct {
	Align bool
	Phase time.Duration
}

// Next is when the periodic send after one at t falls: t + period
// unaligned; aligned, the first grid instant after t.
func (s Schedule) Next(t time.Time, period time.Duration) time.Time {
	if !s.Align || period <= 0 {
		return t.Add(period)
	}
	ns, p := t.UnixNano()-int64(s.Phase%period), int64(period)
	k := ns / p
	if ns < 0 && ns%p != 0 {
		k-- // floor for instants before the epoch
	}
	return time.Unix(0, (k+1)*p+int64(s.Phase%period))
}

// Validate checks the timers (defaults 1 s / 3 s when zero).
func (c *Config) Validate() error {
	if c.Hello == 0 {
		c.Hello = time.Second
	}
	if c.Holdtime == 0 {
		c.Holdtime = 3 * c.Hello
	}
	if c.Hello < 100*time.Millisecond || c.Holdtime < 300*time.Millisecond {
		return fmt.Errorf("negotiation: timers %s/%s below 100ms/300ms", c.Hello, c.Holdtime)
	}
	if c.Holdtime < 3*c.Hello {
		return fmt.Errorf("negotiation: holdtime %s is less than 3 × hello %s", c.Holdtime, c.Hello)
	}
	if c.Want == 0 {
		c.Want = WantYes
	}
	if c.Rule > IncumbentRule {
		return fmt.Errorf("negotiation: unknown rule %d", c.Rule)
	}
	if c.Slot.Cabinet < 0 || c.Slot.Cabinet > 255 || c.Slot.Slot < 0 || c.Slot.Slot > 32 {
		return fmt.Errorf("negotiation: slot %s out of range (0..255/0..32)", c.Slot)
	}
	return nil
}

// EventKind says what happened.
type EventKind uint8

// Event kinds.
const (
	RoleChanged EventKind = iota + 1
	CanPrimaryChanged
	PeerAlive
	PeerDead
	LinkFailure           // a peer is heard on one path only
	LinkRestored          // heard on both paths again
	AlwaysConflict        // two or more always(3) modules (Reason names them)
	AlwaysConflictCleared // at most one again
)

func (k EventKind) String() string {
	return [...]string{"", "role-changed", "can-primary-changed", "peer-alive", "peer-dead", "link-failure", "link-restored",
		"always-conflict", "always-conflict-cleared"}[k]
}

// Event is something the application may log or report.
type Event struct {
	Time   time.Time
	Kind   EventKind
	Role   Role
	Peer   ID
	Path   Path
	Reason string
}

// Ready is what the application must act on.
type Ready struct {
	Role       Role
	CanPrimary bool
	Adverts    []Advert // to send on both paths
	Events     []Event
}

// PeerStatus is what a node knows of a peer.
type PeerStatus struct {
	ID        ID
	Advert    Advert
	Heard     map[Path]time.Time
	PathOK    map[Path]bool
	Alive     bool
	LinkFault bool
}

type peer struct {
	adv      Advert
	heard    [Ethernet + 1]time.Time // by path; zero: never heard
	seq      [Ethernet + 1]uint64
	alive    bool
	since    time.Time // when it last came alive
	linkFail bool
}

// Node is one module's negotiation state.
type Node struct {
	cfg   Config
	start time.Time
	now   time.Time

	role    Role
	want    Want
	linkUp  bool
	ipValid bool
	monFail bool // the IP monitor declares the subnet failed
	healthy int
	can     bool

	peers     map[ID]*peer
	order     []ID // the peers' IDs, sorted: events come in a stable order
	nextHello time.Time
	seq       uint64

	outUntil   time.Time // ForceStandby keeps us out until then
	yielding   bool      // after ForceStandby: no preemption of the new Primary
	claimSince time.Time // when our claim to the role began (zero: none)
	takeover   bool
	forced     bool // Primary by ForceActive
	conflict   []ID // the always(3) modules, when more than one
	resigning  bool

	lastSent    time.Time // when we last advertised
	rejoinUntil time.Time // back from a pause: no candidate, Yield, until then

	activeSince  time.Time
	lastFailover time.Time
	lastReason   string

	ready Ready
}

// New returns a node that starts Initializing at now, with its Ethernet
// link up and a valid IP configuration.
func New(cfg Config, now time.Time) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Sequence numbers start from the start time, so that they keep
	// growing across a restart and peers take nothing for stale.
	n := &Node{cfg: cfg, start: now, now: now, want: cfg.Want, linkUp: true, ipValid: true,
		healthy: HealthyChecks, can: true, peers: map[ID]*peer{}, nextHello: now, seq: uint64(now.UnixNano())}
	n.ready.Role, n.ready.CanPrimary = Initializing, true
	n.decide() // always(3) claims at once
	if len(n.ready.Adverts) == 0 {
		n.advertise()
	}
	n.nextHello = cfg.Schedule.Next(now, cfg.Hello)
	return n, nil
}

// Role returns the current role.
func (n *Node) Role() Role { return n.role }

// CanPrimary reports eligibility.
func (n *Node) CanPrimary() bool { return n.can }

// Want returns the current preference.
func (n *Node) Want() Want { return n.want }

// ActiveSince is when the node last became Primary (zero if it is not).
func (n *Node) ActiveSince() time.Time { return n.activeSince }

// Rule returns the election rule.
func (n *Node) Rule() Rule { return n.cfg.Rule }

// AlwaysConflict returns the always(3) modules this node sees (itself
// included) when there are more than one, sorted by the rules' order (the
// first is the one that holds the role); nil otherwise.
func (n *Node) AlwaysConflict() []ID { return append([]ID(nil), n.conflict...) }

// LastFailover returns when and why the role last changed.
func (n *Node) LastFailover() (time.Time, string) { return n.lastFailover, n.lastReason }

// Peers returns what the node knows of its peers, by ID.
func (n *Node) Peers() []PeerStatus {
	var out []PeerStatus
	for _, id := range n.order {
		p := n.peers[id]
		st := PeerStatus{ID: id, Advert: p.adv, Heard: map[Path]time.Time{}, PathOK: map[Path]bool{}, Alive: p.alive, LinkFault: p.linkFail}
		for _, path := range []Path{Backplane, Ethernet} {
			st.Heard[path] = p.heard[path]
			st.PathOK[path] = p.alive && n.pathOK(p, path)
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID.Less(out[j].ID) })
	return out
}

// Ready returns and clears what the application must act on.
func (n *Node) Ready() Ready {
	r := n.ready
	n.ready = Ready{Role: n.role, CanPrimary: n.can}
	return r
}

func (n *Node) event(kind EventKind, peer ID, path Path, reason string) {
	n.ready.Events = append(n.ready.Events, Event{Time: n.now, Kind: kind, Role: n.role, Peer: peer, Path: path, Reason: reason})
}

func (n *Node) advertise() {
	n.seq++
	n.lastSent = n.now
	n.ready.Adverts = append(n.ready.Adverts, Advert{From: n.cfg.ID, Slot: n.cfg.Slot, Seq: n.seq, Role: n.role, Eligible: n.can && !n.resigning,
		Want: n.want, Resigning: n.resigning || n.now.Before(n.outUntil), Takeover: n.takeover, Claim: !n.claimSince.IsZero(),
		Yield: n.yielding || n.now.Before(n.rejoinUntil), Forced: n.forced && n.role == Primary})
}

// PausedReason is the reason of the role change of a Primary back from a
// pause (rule 8).
const PausedReason = "paused past a holdtime: back as Standby"

// resume handles a pause (rule 8): we have sent nothing for a holdtime.
func (n *Node) resume(now time.Time) {
	n.now = now
	n.ready.Adverts = nil // said before the pause: stale
	n.nextHello = now     // one hello now, not a burst of them
	n.rejoinUntil = now.Add(n.cfg.Holdtime)
	n.takeover = false
	for _, id := range n.order {
		p := n.peers[id]
		if p.alive {
			n.event(PeerDead, id, 0, "unheard since this module was paused")
		}
		p.alive, p.linkFail = false, false
		p.heard = [Ethernet + 1]time.Time{}
	}
	switch n.role {
	case Primary:
		n.setRole(Standby, PausedReason)
	case Initializing:
		n.claimSince = time.Time{}
		n.start = now // a fresh start-up wait
	default:
		n.claimSince = time.Time{}
	}
}

func (n *Node) setRole(r Role, reason string) {
	if r == n.role {
		return
	}
	n.role = r
	n.ready.Role = r
	n.claimSince = time.Time{}
	n.lastFailover, n.lastReason = n.now, reason
	if r == Primary {
		n.activeSince = n.now
		n.forced = n.takeover
		n.takeover = false
	} else {
		n.activeSince = time.Time{}
		n.forced = false
	}
	n.event(RoleChanged, ID{}, 0, reason)
	n.advertise() // at once: break-before-make relies on it
}

func (n *Node) heardWithin(p *peer, path Path) bool {
	t := p.heard[path]
	return !t.IsZero() && n.now.Sub(t) < n.cfg.Holdtime
}

// pathOK reports whether a live peer's path works: heard within a
// holdtime, where a path not heard since the peer came alive counts as
// heard then (its first advert on the other path may be on its way).
func (n *Node) pathOK(p *peer, path Path) bool {
	t := p.heard[path]
	if t.Before(p.since) {
		t = p.since
	}
	return n.now.Sub(t) < n.cfg.Holdtime
}

// Tick advances the clock: hellos, hold timers, health checks.
func (n *Node) Tick(now time.Time) {
	if now.Before(n.now) {
		return
	}
	if now.Sub(n.lastSent) >= n.cfg.Holdtime {
		n.resume(now)
	}
	n.now = now
	if !n.rejoinUntil.IsZero() && !now.Before(n.rejoinUntil) {
		n.rejoinUntil = time.Time{}
		n.advertise() // no longer yielding: a candidate again
	}
	for _, id := range n.order {
		n.peerState(id, n.peers[id])
	}
	if now.Sub(n.nextHello) > 10*n.cfg.Hello {
		n.nextHello = now // a long pause: one hello, not a burst of them
	}
	for !now.Before(n.nextHello) {
		n.nextHello = n.cfg.Schedule.Next(n.nextHello, n.cfg.Hello)
		n.check()
		n.advertise()
	}
	n.decide()
}

// Deadline is the earliest time at which Tick could change anything: the
// next hello, the end of a peer's holdtime on either path (or of the grace
// of a path not yet heard), of a claim's wait, of the start-up wait, of a
// forced step-down or of the wait after a pause. The application may sleep
// until the earlier of Deadline and the next advert it receives, instead
// of ticking at a fixed rate: a node ticked at its deadlines and at
// arrivals does what one ticked every millisecond does.
func (n *Node) Deadline() time.Time {
	d := n.nextHello
	at := func(t time.Time) {
		if t.After(n.now) && t.Before(d) {
			d = t
		}
	}
	for _, id := range n.order {
		p := n.peers[id]
		for _, path := range []Path{Backplane, Ethernet} {
			if t := p.heard[path]; !t.IsZero() {
				at(t.Add(n.cfg.Holdtime))
			}
		}
		if p.alive {
			at(p.since.Add(n.cfg.Holdtime))
			if n.role == Primary {
				at(p.since.Add(n.settle()))
			}
		}
	}
	if !n.claimSince.IsZero() {
		at(n.claimSince.Add(n.cfg.ClaimWait()))
	}
	if n.role == Initializing {
		at(n.start.Add(n.cfg.Holdtime))
	}
	at(n.outUntil)
	at(n.rejoinUntil)
	return d
}

// peerState updates what we know of a peer's paths: dead, link failure.
func (n *Node) peerState(id ID, p *peer) {
	alive := n.heardWithin(p, Backplane) || n.heardWithin(p, Ethernet)
	bp, eth := n.pathOK(p, Backplane), n.pathOK(p, Ethernet)
	if p.alive && !alive {
		p.alive = false
		n.event(PeerDead, id, 0, "silent on both paths for a holdtime")
	}
	fail := alive && bp != eth
	if fail && !p.linkFail {
		path := Backplane
		if bp {
			path = Ethernet
		}
		n.event(LinkFailure, id, path, "heard on one path only")
	} else if !fail && p.linkFail && alive {
		n.event(LinkRestored, id, 0, "heard on both paths again")
	}
	p.linkFail = fail
}

// check is the once-per-hello health check behind CanPrimary.
func (n *Node) check() {
	if n.linkUp && n.ipValid {
		if n.healthy < HealthyChecks {
			n.healthy++
			if n.healthy == HealthyChecks && !n.monFail {
				n.setCan(true, "Ethernet healthy for 4 checks")
			}
		}
	}
}

// MonitorFailedReason is the reason of the loss of eligibility, and of
// the step-down of a Primary, when the IP monitor declares the subnet
// failed.
const MonitorFailedReason = "IP monitor: subnet failed"

// SetMonitorFailed sets the IP monitor's verdict: a failed subnet makes
// the module ineligible at once (a Primary steps down, with
// MonitorFailedReason); a recovered one eligible again at once if the
// link and IP configuration have been healthy for HealthyChecks checks
// (the monitor's own hysteresis has already passed).
func (n *Node) SetMonitorFailed(now time.Time, failed bool) {
	n.Tick(now)
	if failed == n.monFail {
		return
	}
	n.monFail = failed
	if failed {
		n.setCan(false, MonitorFailedReason)
	} else if n.linkUp && n.ipValid && n.healthy >= HealthyChecks {
		n.setCan(true, "IP monitor: subnet recovered")
	}
	n.advertise()
	n.decide()
}

func (n *Node) setCan(can bool, reason string) {
	if can == n.can {
		return
	}
	n.can = can
	n.ready.CanPrimary = can
	n.event(CanPrimaryChanged, ID{}, 0, reason)
}

// Step takes an advert received on path. It first ticks to now, so what
// it decides does not depend on how often the application ticks.
func (n *Node) Step(now time.Time, path Path, a Advert) {
	if a.From == n.cfg.ID || (path != Backplane && path != Ethernet) {
		return
	}
	n.Tick(now)
	p := n.peers[a.From]
	if p == nil {
		p = &peer{}
		n.peers[a.From] = p
		i := sort.Search(len(n.order), func(i int) bool { return a.From.Less(n.order[i]) })
		n.order = append(n.order, ID{})
		copy(n.order[i+1:], n.order[i:])
		n.order[i] = a.From
	}
	if a.Seq <= p.seq[path] && p.seq[path] != 0 {
		return // stale or duplicate on this path
	}
	p.seq[path] = a.Seq
	p.heard[path] = n.now
	if a.Seq > p.adv.Seq || p.adv.From.IsZero() {
		p.adv = a
	}
	if !p.alive {
		p.alive, p.since = true, n.now
		n.event(PeerAlive, a.From, path, "heard")
		// Tell it about us at once rather than at our next hello: after a
		// partition heals, two Primaries learn of each other within one
		// crossing of a path after the first advert, not a hello later.
		n.advertise()
	}
	n.peerState(a.From, p)
	n.decide()
}

// Announce advertises at once (a path has just come back: the peers need
// not wait for the next hello to hear us).
func (n *Node) Announce(now time.Time) {
	n.Tick(now)
	n.advertise()
}

// SetLink sets the Ethernet link state.
func (n *Node) SetLink(now time.Time, up bool) {
	n.Tick(now)
	n.linkUp = up
	n.health("Ethernet link down")
}

// SetIPValid sets whether the IP configuration is valid.
func (n *Node) SetIPValid(now time.Time, valid bool) {
	n.Tick(now)
	n.ipValid = valid
	n.health("IP configuration invalid")
}

func (n *Node) health(why string) {
	if !n.linkUp || !n.ipValid {
		n.healthy = 0
		n.setCan(false, why)
		n.advertise()
	}
	n.decide()
}

// SetWant changes cpsmm100WantPrimary.
func (n *Node) SetWant(now time.Time, w Want) {
	n.Tick(now)
	if w == n.want {
		return
	}
	n.want = w
	n.advertise()
	n.decide()
}

// ErrRefused is returned by a forced switchover the rules do not allow.
var ErrRefused = errors.New("negotiation: forced switchover refused")

// CheckForceActive tells, changing nothing, whether ForceActive would be
// accepted now.
func (n *Node) CheckForceActive() error {
	if n.role == Primary {
		return nil
	}
	if !n.can {
		return fmt.Errorf("%w: this module is not eligible", ErrRefused)
	}
	for _, id := range n.order {
		p := n.peers[id]
		if p.alive && p.adv.Eligible && !p.adv.Resigning && p.adv.Want.rank() > n.want.rank() {
			return fmt.Errorf("%w: %s wants it more (%s)", ErrRefused, id, p.adv.Want)
		}
	}
	return nil
}

// CheckForceStandby tells, changing nothing, whether ForceStandby would be
// accepted now.
func (n *Node) CheckForceStandby() error {
	if n.role != Primary {
		return nil
	}
	for _, id := range n.order {
		p := n.peers[id]
		if p.alive && p.adv.Eligible && !p.adv.Resigning {
			return nil
		}
	}
	return fmt.Errorf("%w: no other module could take over", ErrRefused)
}

// ForceActive makes an eligible Standby take over (cpsIsPrimary = yes).
func (n *Node) ForceActive(now time.Time) error {
	n.Tick(now)
	if n.role == Primary {
		return nil
	}
	if err := n.CheckForceActive(); err != nil {
		return err
	}
	n.takeover = true
	n.outUntil = time.Time{}
	n.advertise()
	n.decide()
	return nil
}

// ForceStandby makes the Primary step down (cpsIsPrimary = no).
func (n *Node) ForceStandby(now time.Time) error {
	n.Tick(now)
	if n.role != Primary {
		return nil
	}
	if err := n.CheckForceStandby(); err != nil {
		return err
	}
	n.outUntil = n.now.Add(n.cfg.Holdtime)
	n.setRole(Standby, "forced to step down")
	n.decide()
	return nil
}

// Shutdown resigns (graceful stop): a Standby takes over at once.
func (n *Node) Shutdown(now time.Time) {
	n.Tick(now)
	n.resigning = true
	if n.role == Primary {
		n.setRole(Standby, "shutting down")
	} else {
		n.advertise()
	}
}

// claim announces that we are about to become Primary, and becomes it once
// the claim has stood for ClaimWait.
func (n *Node) claim(reason string) {
	if n.claimSince.IsZero() {
		n.claimSince = n.now
		n.advertise()
	}
	if n.now.Sub(n.claimSince) >= n.cfg.ClaimWait() {
		n.setRole(Primary, reason)
	}
}

// withdraw takes back a claim that the rules no longer support.
func (n *Node) withdraw() {
	if !n.claimSince.IsZero() {
		n.claimSince = time.Time{}
		n.advertise()
	}
}

type candidate struct {
	id        ID
	slot      ident.Slot
	rank      int
	incumbent bool // holds the role in a way the rule keeps among equals
	takeover  bool
}

// before reports whether a comes before b in the order of rule 3: the
// lowest cabinet (BIA), then the lowest slot, then the lowest MAC.
func (a candidate) before(b candidate) bool { return before(a.slot, a.id, b.slot, b.id) }

func before(as ident.Slot, aid ID, bs ident.Slot, bid ID) bool {
	if as.Cabinet != bs.Cabinet {
		return as.Cabinet < bs.Cabinet
	}
	if as.Slot != bs.Slot {
		return as.Slot < bs.Slot
	}
	return aid.Less(bid)
}

// better reports whether a beats b by the rules.
func better(a, b candidate) bool {
	if a.takeover != b.takeover {
		return a.takeover
	}
	if a.rank != b.rank {
		return a.rank > b.rank
	}
	if a.incumbent != b.incumbent {
		return a.incumbent
	}
	return a.before(b)
}

// keeps reports whether a Primary of the given preference keeps the role
// among equals: one that took it by force always, under IncumbentRule any
// but an always(3) one (among those the order decides).
func (n *Node) keeps(rank int, forced bool) bool {
	return forced || (n.cfg.Rule == IncumbentRule && rank < WantAlways.rank())
}

// settle is how long a Primary hears a candidate of its own preference
// before it steps down for it (VendorRule): the eligibility hysteresis.
func (n *Node) settle() time.Duration { return time.Duration(HealthyChecks) * n.cfg.Hello }

// decide applies the rules to the current view, until they change nothing
// more (a new role changes whom the rules count: a module past its
// start-up does not wait for one still in it), so that deciding again at a
// later Tick would change nothing.
func (n *Node) decide() {
	for i := 0; i < 3; i++ {
		r := n.role
		n.decideOnce()
		if n.role == r {
			break
		}
	}
	n.checkConflict()
}

// checkConflict notes the always(3) modules in view (itself included) and
// reports when there come to be more than one, or no longer.
func (n *Node) checkConflict() {
	type mod struct {
		id   ID
		slot ident.Slot
	}
	var ms []mod
	if n.want == WantAlways {
		ms = append(ms, mod{n.cfg.ID, n.cfg.Slot})
	}
	for _, id := range n.order {
		if p := n.peers[id]; p.alive && p.adv.Want == WantAlways {
			ms = append(ms, mod{id, p.adv.Slot})
		}
	}
	if len(ms) < 2 {
		if n.conflict != nil {
			n.conflict = nil
			n.event(AlwaysConflictCleared, ID{}, 0, "at most one module wants always(3)")
		}
		return
	}
	sort.Slice(ms, func(i, j int) bool { return before(ms[i].slot, ms[i].id, ms[j].slot, ms[j].id) })
	ids := make([]ID, len(ms))
	desc := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.id
		desc[i] = fmt.Sprintf("%s (%s)", m.slot, m.id)
	}
	if slices.Equal(ids, n.conflict) {
		return
	}
	n.conflict = ids
	n.event(AlwaysConflict, ids[0], 0, fmt.Sprintf("always(3) on %s: the first is Primary", strings.Join(desc, ", ")))
}

func (n *Node) decideOnce() {
	if n.resigning {
		return
	}
	otherPrimary := false
	for _, id := range n.order {
		p := n.peers[id]
		if p.alive && p.adv.Role == Primary && !p.adv.Resigning {
			otherPrimary = true
		}
	}
	switch {
	case n.now.Before(n.outUntil) && otherPrimary:
		// Forced down and another module has taken over: back in the
		// running, but yielding to it whatever our rank.
		n.outUntil, n.yielding = time.Time{}, true
		n.advertise()
	case n.yielding && !otherPrimary:
		n.yielding = false // the Primary we yielded to is gone: a new election
		n.advertise()
	}
	rank := n.want.rank()
	self := candidate{id: n.cfg.ID, slot: n.cfg.Slot, rank: rank, incumbent: n.role == Primary && n.keeps(rank, n.forced), takeover: n.takeover}
	selfIn := n.can && !n.now.Before(n.outUntil) && !n.yielding && !n.now.Before(n.rejoinUntil)
	// Some module holds the role (then yielding modules do not compete).
	primaryExists := n.role == Primary || otherPrimary
	best, have := self, selfIn
	claimant := false // a live peer claims Primary
	for _, id := range n.order {
		p := n.peers[id]
		if !p.alive || p.adv.Resigning {
			continue
		}
		if p.adv.Role == Primary {
			claimant = true
		}
		if !p.adv.Eligible || (p.adv.Yield && primaryExists) {
			continue
		}
		if p.adv.Role == Initializing && !p.adv.Claim && n.role != Initializing {
			// Still in its start-up wait: it will not take the role
			// before its holdtime is out, so a module past its own
			// start-up does not wait for it (a restarted module must not
			// delay a takeover by a holdtime).
			continue
		}
		prank := p.adv.Want.rank()
		if n.role == Primary && prank == rank && rank < WantAlways.rank() && p.adv.Role != Primary && !p.adv.Claim &&
			!p.adv.Takeover && n.now.Sub(p.since) < n.settle() {
			// Not heard for the hysteresis yet: no step-down for it.
			continue
		}
		c := candidate{id: id, slot: p.adv.Slot, rank: prank, incumbent: p.adv.Role == Primary && n.keeps(prank, p.adv.Forced), takeover: p.adv.Takeover}
		if !have || better(c, best) {
			best, have = c, true
		}
	}
	selfBest := selfIn && best.id == n.cfg.ID

	switch n.role {
	case Initializing:
		if claimant {
			n.setRole(Standby, "heard an active Primary at start-up")
			return
		}
		// always(3) does not wait for the others' negotiation.
		if n.now.Sub(n.start) < n.cfg.Holdtime && (n.want != WantAlways || !selfIn) {
			n.withdraw() // an always(3) claim, if the preference changed
			return
		}
		if selfBest {
			if n.now.Sub(n.start) < n.cfg.Holdtime {
				n.claim("always(3): asserts the role at start-up")
			} else {
				n.claim("no Primary heard for a holdtime at start-up")
			}
		} else {
			n.setRole(Standby, "another module wins at start-up")
		}
	case Standby:
		if selfBest && !claimant {
			n.claim("no better candidate and no active Primary")
		} else {
			n.withdraw()
		}
	case Primary:
		if !n.can && n.monFail {
			n.setRole(Standby, MonitorFailedReason)
		} else if !n.can {
			n.setRole(Standby, "no longer eligible")
		} else if !selfBest {
			n.setRole(Standby, fmt.Sprintf("%s at %s wins", best.id, best.slot))
		}
	}
}
