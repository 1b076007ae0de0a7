// Package trapmgr is the trap managers' keepalive and failover state
// machine of a module (cpsmm100SNMPTrapInterval > 0): a pure state
// machine, no goroutines, clocks or I/O. The caller feeds it the time
// (Tick, Ack, Enqueue…), sends what Ready returns as SNMPv2c
// InformRequests, reports each acknowledgement with Ack, and wakes it at
// Deadline.
//
// The rules, after the Cisco 1040 sensor's keepalives to its
// primary/secondary/tertiary collectors:
//
//  1. Managers are ranked by their slot (cpsmm100SNMPTrapMgr, Mgr2, Mgr3,
//     Mgr4); a slot with no address (0.0.0.0) is unconfigured.
//  2. A manager is failed after Misses (3) consecutive keepalives it did
//     not acknowledge within Timeout; any acknowledgement it sends (of a
//     keepalive or of a notification) clears its misses and its failure.
//  3. The active manager is the first configured manager that is not
//     failed; none while every configured manager is failed.
//  4. Every Interval, a keepalive goes to the active manager and to every
//     failed manager ranked above it (to every configured manager while
//     none is active): a failed manager is probed, and becomes active
//     again on its first acknowledgement (fail-back). Managers ranked
//     below the active one are standby and receive nothing; what was
//     known of them is forgotten (misses, failure), so that they are tried
//     afresh, in order, when the active one fails. A manager
//     that becomes active is sent a keepalive at once. Keepalives are sent
//     while the module is Primary, or while notifications are pending.
//  5. Notifications go to the active manager only, in order, at most
//     Window unacknowledged at a time; one not acknowledged within Timeout
//     goes back to the head of the queue and is sent again (to whichever
//     manager is active then), without limit: it leaves the queue only
//     acknowledged or dropped.
//  6. At most Capacity notifications are pending (queued or in flight); a
//     new one beyond that drops the oldest queued one (not in flight),
//     counted.
//
// A manager's misses count keepalives only, so a burst of notifications
// to a slow manager does not fail it over.
package trapmgr

import (
	"fmt"
	"net/netip"
	"time"
)

// Slots is the number of trap managers (cpsmm100SNMPTrapMgr…Mgr4).
const Slots = 4

// Defaults.
const (
	DefaultMisses   = 3
	DefaultCapacity = 256
	DefaultWindow   = 4
	// MaxTimeout bounds the default Timeout (Interval/2).
	MaxTimeout = 5 * time.Second
)

// Config configures a Machine.
type Config struct {
	// Interval between keepalives; 0 turns the machine off (the caller
	// sends traps to every manager instead).
	Interval time.Duration
	// Timeout is how long an inform waits for its acknowledgement
	// (default Interval/2, at most MaxTimeout; never more than Interval).
	Timeout time.Duration
	// Misses is how many consecutive unacknowledged keepalives fail a
	// manager (default 3).
	Misses int
	// Capacity bounds the pending notifications (default 256).
	Capacity int
	// Window bounds the notifications in flight (default 4).
	Window int
}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = min(c.Interval/2, MaxTimeout)
	}
	if c.Interval > 0 && c.Timeout > c.Interval {
		c.Timeout = c.Interval
	}
	if c.Misses <= 0 {
		c.Misses = DefaultMisses
	}
	if c.Capacity <= 0 {
		c.Capacity = DefaultCapacity
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	return c
}

// State is a manager's state.
type State int

// States.
const (
	Unconfigured State = iota + 1
	Active
	Standby
	Failed
)

func (s State) String() string {
	switch s {
	case Unconfigured:
		return "unconfigured"
	case Active:
		return "active"
	case Standby:
		return "standby"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Send is one InformRequest to send: a keepalive, or a notification with
// its payload.
type Send[T any] struct {
	ID        uint64 // report its acknowledgement with Ack(ID)
	Manager   int    // slot, 0…3
	Addr      netip.Addr
	Keepalive bool
	Seq       uint64 // the notification's sequence number (from 1), or the keepalive's
	Payload   T      // a notification's
	Attempt   int    // 1 for the first send of a notification
}

// Event is a change of the active manager.
type Event struct {
	At       time.Time
	From, To int // slots, -1 for none
	Reason   string
}

// Ready is what the machine wants done since the last Ready.
type Ready[T any] struct {
	Sends  []Send[T]
	Events []Event
	// Released are the notifications pending when the machine was turned
	// off (Interval 0): the caller sends them its other way.
	Released []T
}

// ManagerStatus is what the machine knows of one manager.
type ManagerStatus struct {
	Slot            int // 0…3
	Addr            netip.Addr
	State           State
	LastAck         time.Time // zero: never
	Misses          int       // consecutive unacknowledged keepalives
	Keepalives      uint64    // sent
	KeepalivesAcked uint64
	Sent            uint64 // notifications sent (every attempt)
	Acked           uint64 // notifications acknowledged
	Queued          int    // notifications awaiting this manager's acknowledgement: in flight to it, and the queue while it is active
	Dropped         uint64 // notifications dropped from the queue while it was active, or last sent to it
}

// Status is the machine's state.
type Status struct {
	On       bool // Interval > 0
	Interval time.Duration
	// Running: keepalives are being sent (the module is Primary, or has
	// notifications pending). While not, no manager shows as active: the
	// one that would be shows as standby.
	Running  bool
	Active   int // slot, -1 for none (or not running)
	Managers [Slots]ManagerStatus
	Queued   int    // pending: queued and in flight
	Dropped  uint64 // every drop
	Enqueued uint64
	Acked    uint64
}

type note[T any] struct {
	seq      uint64
	payload  T
	attempts int
	lastTo   int // slot last sent to, -1: never
}

type flight[T any] struct {
	id        uint64
	slot      int
	keepalive bool
	deadline  time.Time
	note      note[T] // notifications only
}

type manager struct {
	addr        netip.Addr
	failed      bool
	misses      int
	lastAck     time.Time
	kaSent      uint64
	kaAcked     uint64
	sent, acked uint64
	dropped     uint64
}

// Machine is the state machine. Not safe for concurrent use.
type Machine[T any] struct {
	base     Config // as given to New
	cfg      Config // in force
	mgrs     [Slots]manager
	primary  bool
	active   int
	nextKA   time.Time // zero: not running
	nextID   uint64
	seq      uint64
	kaSeq    uint64
	queue    []note[T]
	inflight []flight[T]
	dropped  uint64
	enqueued uint64
	acked    uint64
	ready    Ready[T]
}

// New builds a machine, off until Configure gives it an interval.
func New[T any](cfg Config) *Machine[T] {
	m := &Machine[T]{active: -1, base: cfg}
	m.cfg = cfg.withDefaults()
	return m
}

// On reports whether the machine is on (Interval > 0).
func (m *Machine[T]) On() bool { return m.cfg.Interval > 0 }

// Config returns the configuration in force, defaults filled in.
func (m *Machine[T]) Config() Config { return m.cfg }

// Configure sets the managers' addresses (an invalid or unspecified
// address: unconfigured) and the keepalive interval (0: off). A manager
// whose address changes starts afresh, neither failed nor counted.
// Turning the machine off releases the pending notifications (Ready).
func (m *Machine[T]) Configure(now time.Time, addrs [Slots]netip.Addr, interval time.Duration) {
	for i, a := range addrs {
		if !a.IsValid() || a.IsUnspecified() {
			a = netip.Addr{}
		}
		if a != m.mgrs[i].addr {
			m.mgrs[i] = manager{addr: a}
			m.forget(i)
		}
	}
	if interval != m.cfg.Interval {
		c := m.base
		c.Interval = interval
		m.cfg = c.withDefaults()
		m.nextKA = time.Time{}
		if interval <= 0 {
			for _, f := range m.inflight {
				if !f.keepalive {
					m.ready.Released = append(m.ready.Released, f.note.payload)
				}
			}
			for _, n := range m.queue {
				m.ready.Released = append(m.ready.Released, n.payload)
			}
			m.inflight, m.queue = nil, nil
		}
	}
	m.Tick(now)
}

// forget drops what is in flight to slot i (its address changed): its
// notifications go back to the queue, in order.
func (m *Machine[T]) forget(i int) {
	var back []note[T]
	kept := m.inflight[:0]
	for _, f := range m.inflight {
		if f.slot != i {
			kept = append(kept, f)
		} else if !f.keepalive {
			back = append(back, f.note)
		}
	}
	m.inflight = kept
	m.requeue(back)
}

func (m *Machine[T]) requeue(back []note[T]) {
	if len(back) == 0 {
		return
	}
	// Keep sequence order: the queue and back are each in order.
	q := make([]note[T], 0, len(back)+len(m.queue))
	i, j := 0, 0
	for i < len(back) || j < len(m.queue) {
		if j == len(m.queue) || (i < len(back) && back[i].seq < m.queue[j].seq) {
			q = append(q, back[i])
			i++
		} else {
			q = append(q, m.queue[j])
			j++
		}
	}
	m.queue = q
}

// SetPrimary tells whether the module is Primary (keepalives run while it
// is, or while notifications are pending).
func (m *Machine[T]) SetPrimary(now time.Time, primary bool) {
	m.primary = primary
	m.Tick(now)
}

// Enqueue queues a notification. The machine must be on.
func (m *Machine[T]) Enqueue(now time.Time, payload T) {
	m.seq++
	m.enqueued++
	if m.pending() >= m.cfg.Capacity && len(m.queue) > 0 {
		old := m.queue[0]
		m.queue = m.queue[1:]
		m.dropped++
		if s := old.lastTo; s >= 0 {
			m.mgrs[s].dropped++
		} else if m.active >= 0 {
			m.mgrs[m.active].dropped++
		}
	}
	if m.pending() >= m.cfg.Capacity {
		// Everything pending is in flight (Window ≥ Capacity): the new
		// one is the drop.
		m.dropped++
		if m.active >= 0 {
			m.mgrs[m.active].dropped++
		}
	} else {
		m.queue = append(m.queue, note[T]{seq: m.seq, payload: payload, lastTo: -1})
	}
	m.Tick(now)
}

func (m *Machine[T]) pending() int {
	n := len(m.queue)
	for _, f := range m.inflight {
		if !f.keepalive {
			n++
		}
	}
	return n
}

// Ack reports the acknowledgement of send id. An unknown id (late, after
// its timeout, or a duplicate) still proves the manager alive if it names
// one, but changes nothing else.
func (m *Machine[T]) Ack(now time.Time, id uint64) {
	for k, f := range m.inflight {
		if f.id != id {
			continue
		}
		m.inflight = append(m.inflight[:k], m.inflight[k+1:]...)
		mg := &m.mgrs[f.slot]
		mg.misses, mg.failed, mg.lastAck = 0, false, now
		if f.keepalive {
			mg.kaAcked++
		} else {
			mg.acked++
			m.acked++
		}
		break
	}
	m.Tick(now)
}

// Tick advances the machine to now: timeouts, the active manager,
// keepalives due, notifications to send.
func (m *Machine[T]) Tick(now time.Time) {
	if !m.On() {
		m.setActive(now, -1, "keepalive off")
		return
	}
	// Timeouts.
	var back []note[T]
	kept := m.inflight[:0]
	for _, f := range m.inflight {
		if now.Before(f.deadline) {
			kept = append(kept, f)
			continue
		}
		if f.keepalive {
			mg := &m.mgrs[f.slot]
			mg.misses++
			if mg.misses >= m.cfg.Misses {
				mg.failed = true
			}
		} else {
			back = append(back, f.note)
		}
	}
	m.inflight = kept
	m.requeue(back)
	m.elect(now)
	// Keepalives.
	if m.primary || m.pending() > 0 {
		if m.nextKA.IsZero() || !now.Before(m.nextKA) {
			for i := range m.mgrs {
				if m.probed(i) {
					m.keepalive(now, i)
				}
			}
			if m.nextKA.IsZero() || now.Sub(m.nextKA) >= m.cfg.Interval {
				m.nextKA = now.Add(m.cfg.Interval)
			} else {
				m.nextKA = m.nextKA.Add(m.cfg.Interval)
			}
		}
	} else {
		m.nextKA = time.Time{}
	}
	// Notifications.
	if m.active >= 0 {
		for len(m.queue) > 0 && m.inFlightNotes() < m.cfg.Window {
			n := m.queue[0]
			m.queue = m.queue[1:]
			n.attempts++
			n.lastTo = m.active
			id := m.id()
			m.inflight = append(m.inflight, flight[T]{id: id, slot: m.active, deadline: now.Add(m.cfg.Timeout), note: n})
			m.mgrs[m.active].sent++
			m.ready.Sends = append(m.ready.Sends, Send[T]{ID: id, Manager: m.active, Addr: m.mgrs[m.active].addr,
				Seq: n.seq, Payload: n.payload, Attempt: n.attempts})
		}
	}
}

// probed: a keepalive goes to slot i this round.
func (m *Machine[T]) probed(i int) bool {
	mg := m.mgrs[i]
	if !mg.addr.IsValid() {
		return false
	}
	if m.active < 0 {
		return true
	}
	return i == m.active || (i < m.active && mg.failed)
}

func (m *Machine[T]) keepalive(now time.Time, i int) {
	for _, f := range m.inflight {
		if f.keepalive && f.slot == i {
			return // one at a time: its timeout is at most an interval
		}
	}
	id := m.id()
	m.kaSeq++
	m.mgrs[i].kaSent++
	m.inflight = append(m.inflight, flight[T]{id: id, slot: i, keepalive: true, deadline: now.Add(m.cfg.Timeout)})
	m.ready.Sends = append(m.ready.Sends, Send[T]{ID: id, Manager: i, Addr: m.mgrs[i].addr, Keepalive: true, Seq: m.kaSeq})
}

func (m *Machine[T]) inFlightNotes() int {
	n := 0
	for _, f := range m.inflight {
		if !f.keepalive {
			n++
		}
	}
	return n
}

func (m *Machine[T]) id() uint64 {
	m.nextID++
	return m.nextID
}

// elect makes the first configured manager that is not failed active.
func (m *Machine[T]) elect(now time.Time) {
	to := -1
	for i, mg := range m.mgrs {
		if mg.addr.IsValid() && !mg.failed {
			to = i
			break
		}
	}
	if to >= 0 {
		// Below the active manager nothing is probed: what was known of
		// those is stale, and they are tried afresh, in order, should the
		// active one fail.
		for i := to + 1; i < Slots; i++ {
			m.mgrs[i].failed, m.mgrs[i].misses = false, 0
		}
	}
	if to == m.active {
		return
	}
	reason := ""
	switch {
	case to < 0 && m.active >= 0:
		reason = fmt.Sprintf("manager %d missed %d keepalives; no manager left", m.active+1, m.cfg.Misses)
	case to < 0:
		reason = "no manager configured"
	case m.active < 0:
		reason = fmt.Sprintf("manager %d available", to+1)
	case to < m.active:
		reason = fmt.Sprintf("manager %d acknowledged again (fail-back)", to+1)
	case m.mgrs[m.active].failed:
		reason = fmt.Sprintf("manager %d missed %d keepalives", m.active+1, m.cfg.Misses)
	default:
		reason = fmt.Sprintf("manager %d unconfigured", m.active+1)
	}
	m.setActive(now, to, reason)
	if to >= 0 && m.primaryOrPending() && !m.nextKA.IsZero() {
		m.keepalive(now, to) // at once, not at the next round
	}
}

func (m *Machine[T]) primaryOrPending() bool { return m.primary || m.pending() > 0 }

func (m *Machine[T]) setActive(now time.Time, to int, reason string) {
	if to == m.active {
		return
	}
	m.ready.Events = append(m.ready.Events, Event{At: now, From: m.active, To: to, Reason: reason})
	m.active = to
}

// Ready returns and clears what the machine wants done.
func (m *Machine[T]) Ready() Ready[T] {
	r := m.ready
	m.ready = Ready[T]{}
	return r
}

// Deadline is the next instant Tick could change anything; zero when
// nothing is due.
func (m *Machine[T]) Deadline() time.Time {
	var d time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if m.On() {
		earlier(m.nextKA)
		for _, f := range m.inflight {
			earlier(f.deadline)
		}
	}
	return d
}

// Status returns the machine's state.
func (m *Machine[T]) Status() Status {
	running := m.On() && m.primaryOrPending()
	st := Status{On: m.On(), Interval: m.cfg.Interval, Running: running, Active: m.active, Queued: m.pending(), Dropped: m.dropped,
		Enqueued: m.enqueued, Acked: m.acked}
	if !running {
		st.Active = -1
	}
	for i, mg := range m.mgrs {
		ms := ManagerStatus{Slot: i, Addr: mg.addr, LastAck: mg.lastAck, Misses: mg.misses, Keepalives: mg.kaSent,
			KeepalivesAcked: mg.kaAcked, Sent: mg.sent, Acked: mg.acked, Dropped: mg.dropped}
		switch {
		case !mg.addr.IsValid():
			ms.State = Unconfigured
		case i == m.active && running:
			ms.State = Active
			ms.Queued += len(m.queue)
		case mg.failed:
			ms.State = Failed
		default:
			ms.State = Standby
		}
		for _, f := range m.inflight {
			if !f.keepalive && f.slot == i {
				ms.Queued++
			}
		}
		st.Managers[i] = ms
	}
	return st
}
