// Package member makes a module a member of a multi-module stack: it runs
// the negotiation state machine on a clock and the two-path transport, and
// shows the outcome in the module's MIB (its own role, and the other
// modules' rows as last heard). It implements module.Stack, through which
// SNMP Sets (WantPrimary, cpsIsPrimary, the IP configuration) reach the
// negotiation.
package member

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/negotiation"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/configmsg"
	"github.com/cpsmm/cpsmm/stack/module"
	"github.com/cpsmm/cpsmm/stack/transport"
)

// Location is where a module sits.
type Location struct{ Bia, Slot int32 }

// Config configures a Member.
type Config struct {
	Negotiation negotiation.Config // ID, timers, initial Want
	Transport   transport.Config   // ID, Key, chassis, Ethernet, peers (Deliver is set by New)
	Module      *module.Module
	// Directory tells where every module of the stack sits, by ID.
	Directory map[negotiation.ID]Location
	// Devices: the stack devices this member polls (as Primary) and caches.
	Devices Devices
	Log     logrus.FieldLogger
}

// Member is a running stack member.
type Member struct {
	cfg Config
	log logrus.FieldLogger

	mu   sync.Mutex // guards node
	node *negotiation.Node

	tr    *transport.Transport
	inbox chan delivery
	kick  chan struct{}

	dev devState

	pmu     sync.Mutex // guards pending and reqID
	pending map[uint32]chan configmsg.Ack
	reqID   uint32
}

type delivery struct {
	path  transport.Path
	frame backplane.Frame
}

// IDOf turns a backplane sender ID (a MAC address) into a negotiation ID.
func IDOf(b backplane.ID) negotiation.ID { return negotiation.ID(b) }

// New builds a member and joins the module to the stack.
func New(cfg Config) (*Member, error) {
	if cfg.Module == nil {
		return nil, errors.New("member: a module is required")
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		cfg.Log = l
	}
	cfg.Negotiation.ID = IDOf(cfg.Transport.ID)
	cfg.Negotiation.Want = negotiation.Want(cfg.Module.WantPrimary())
	if err := cfg.Negotiation.Validate(); err != nil { // defaults the timers
		return nil, err
	}
	node, err := negotiation.New(cfg.Negotiation, time.Now())
	if err != nil {
		return nil, err
	}
	m := &Member{cfg: cfg, log: cfg.Log, node: node, inbox: make(chan delivery, 256), kick: make(chan struct{}, 1),
		pending: map[uint32]chan configmsg.Ack{}, reqID: uint32(time.Now().UnixNano()),
		dev: devState{slots: map[Location]*slotView{}, cabs: map[int32]*cabView{}, clean: map[Location]bool{}, cols: map[uint8]map[uint32]*mib.Object{}, traffic: time.Now()}}
	tc := cfg.Transport
	tc.Log = cfg.Log
	tc.Deliver = func(p transport.Path, f backplane.Frame) {
		if f.Type == backplane.TypeConfigAck {
			// Straight to the waiting Set, which may hold the module's
			// store (and so the Run loop) until the Ack arrives.
			m.acknowledged(f)
			return
		}
		select {
		case m.inbox <- delivery{p, f}:
		default: // a flood: drop, as a saturated bus would
		}
	}
	if m.tr, err = transport.New(tc); err != nil {
		return nil, err
	}
	if !cfg.Module.IPValid() {
		node.SetIPValid(time.Now(), false)
	}
	// From here on the node is shared with SNMP Sets: only under m.mu.
	cfg.Module.JoinStack(m)
	// Not Primary until the negotiation says so: the module alone would
	// have called itself Primary from the start.
	cfg.Module.ApplyRole(false, node.CanPrimary())
	return m, nil
}

// Transport gives access to the member's paths (fault injection).
func (m *Member) Transport() *transport.Transport { return m.tr }

// SetLink sets the module's Ethernet link (the link-down fault).
func (m *Member) SetLink(up bool) {
	m.tr.SetLink(up)
	m.mu.Lock()
	m.node.SetLink(time.Now(), up)
	if up {
		m.node.Announce(time.Now())
	}
	m.mu.Unlock()
	m.poke()
}

// Run runs the member until ctx is done; then it resigns (graceful stop)
// so that a Standby takes over at once.
func (m *Member) Run(ctx context.Context) error {
	trCtx, stopTr := context.WithCancel(context.Background())
	trDone := make(chan struct{})
	go func() {
		defer close(trDone)
		_ = m.tr.Run(trCtx)
	}()
	defer func() { stopTr(); <-trDone }()
	// Ten ticks a hello, and at least two per claim wait: a claim becomes
	// the role soon after the wait, not up to a tenth of a hello later.
	every := m.cfg.Negotiation.Hello / 10
	if cw := m.cfg.Negotiation.ClaimWait() / 2; cw < every {
		every = cw
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			m.mu.Lock()
			m.node.Shutdown(time.Now())
			m.mu.Unlock()
			m.flush()
			return ctx.Err()
		case d := <-m.inbox:
			switch d.frame.Type {
			case backplane.TypeConfigSet:
				m.configSet(d.frame) // and flush: the node may advertise a new Want
			case backplane.TypeDeviceReport:
				m.report(time.Now(), d.path, d.frame, m.Role() == negotiation.Primary)
				continue
			case backplane.TypeSolicit:
				m.heardSolicit(time.Now())
				continue
			case backplane.TypeAdvert:
				a, err := negotiation.UnmarshalAdvert(IDOf(d.frame.From), d.frame.Payload)
				if err != nil {
					m.log.WithError(err).Warn("advert dropped")
					continue
				}
				path := negotiation.Backplane
				if d.path == transport.Ethernet {
					path = negotiation.Ethernet
				}
				m.mu.Lock()
				m.node.Step(time.Now(), path, a)
				m.mu.Unlock()
			default:
				continue
			}
		case <-t.C:
			m.mu.Lock()
			m.node.Tick(time.Now())
			primary := m.node.Role() == negotiation.Primary
			m.mu.Unlock()
			m.pollTick(time.Now(), primary)
		case <-m.kick:
		}
		m.flush()
	}
}

func (m *Member) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// flush sends the node's adverts and shows its state in the module.
func (m *Member) flush() {
	m.mu.Lock()
	rd := m.node.Ready()
	peers := m.node.Peers()
	m.mu.Unlock()
	for _, a := range rd.Adverts {
		_ = m.tr.Send(backplane.TypeAdvert, 0, negotiation.MarshalAdvert(a))
	}
	for _, e := range rd.Events {
		f := logrus.Fields{"role": e.Role.String(), "event": e.Kind.String()}
		if !e.Peer.IsZero() {
			f["peer"] = e.Peer.String()
		}
		m.log.WithFields(f).Info(e.Reason)
	}
	m.cfg.Module.ApplyRole(rd.Role == negotiation.Primary, rd.CanPrimary)
	for _, p := range peers {
		loc, ok := m.cfg.Directory[p.ID]
		if !ok || p.Advert.Want == 0 {
			continue
		}
		m.cfg.Module.ApplyPeer(module.PeerView{Bia: loc.Bia, Slot: loc.Slot,
			Primary: p.Alive && p.Advert.Role == negotiation.Primary, Eligible: p.Alive && p.Advert.Eligible, Want: int32(p.Advert.Want),
			EthernetLink: p.PathOK[negotiation.Ethernet]})
	}
}

// Role returns the member's current role.
func (m *Member) Role() negotiation.Role {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.node.Role()
}

// The module.Stack methods are called with the module's store locked.
// The member never holds its own lock while it writes to the store
// (flush releases it first), so taking it here cannot deadlock.

// IPValid implements module.Stack.
func (m *Member) IPValid(valid bool) {
	m.mu.Lock()
	m.node.SetIPValid(time.Now(), valid)
	m.mu.Unlock()
	m.poke()
}

// Want implements module.Stack.
func (m *Member) Want(w int32) {
	m.mu.Lock()
	m.node.SetWant(time.Now(), negotiation.Want(w))
	m.mu.Unlock()
	m.poke()
}

// CheckForce implements module.Stack.
func (m *Member) CheckForce(primary bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if primary {
		return m.node.CheckForceActive()
	}
	return m.node.CheckForceStandby()
}

// Force implements module.Stack.
func (m *Member) Force(primary bool) error {
	m.mu.Lock()
	var err error
	if primary {
		err = m.node.ForceActive(time.Now())
	} else if err = m.node.ForceStandby(time.Now()); err != nil {
		err = fmt.Errorf("step down: %w", err)
	}
	m.mu.Unlock()
	m.poke()
	return err
}

// macOf turns a negotiation ID back into a MAC address.
func macOf(id negotiation.ID) [6]byte { return id }

// peerAt finds the module at bia/slot in the directory.
func (m *Member) peerAt(bia, slot int32) (negotiation.ID, bool) {
	for id, loc := range m.cfg.Directory {
		if loc == (Location{bia, slot}) && id != m.cfg.Negotiation.ID {
			return id, true
		}
	}
	return negotiation.ID{}, false
}

// CheckRemote implements module.Stack.
func (m *Member) CheckRemote(rc module.RemoteChange) error {
	var id negotiation.ID
	if rc.Module {
		var ok bool
		if id, ok = m.peerAt(rc.Bia, rc.Slot); !ok {
			return fmt.Errorf("no other module of the stack sits at %d/%d", rc.Bia, rc.Slot)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.node.Role() != negotiation.Primary {
		if rc.Module {
			return errors.New("only the Primary distributes another module's WantPrimary: set it there, or on that module")
		}
		return errors.New("only the Primary accepts configuration changes: it alone distributes them to the stack devices")
	}
	if !rc.Module {
		return nil
	}
	for _, p := range m.node.Peers() {
		if p.ID == id && p.Alive {
			return nil
		}
	}
	return fmt.Errorf("module %s at %d/%d is not heard", id, rc.Bia, rc.Slot)
}

// AckTimeout is how long a distributed Set waits for its target's Ack: at
// most a hello, so that a Set to a silent module never holds the member up
// for long.
func (m *Member) AckTimeout() time.Duration {
	if h := m.cfg.Negotiation.Hello; h < 500*time.Millisecond {
		return h
	}
	return 500 * time.Millisecond
}

// Remote implements module.Stack.
func (m *Member) Remote(rc module.RemoteChange) error {
	var t configmsg.Target
	if rc.Module {
		id, ok := m.peerAt(rc.Bia, rc.Slot)
		if !ok {
			return fmt.Errorf("no other module of the stack sits at %d/%d", rc.Bia, rc.Slot)
		}
		t = configmsg.Target{Kind: configmsg.KindModule, MAC: macOf(id)}
	} else {
		t = configmsg.Target{Kind: configmsg.KindDevice, Bia: uint16(rc.Bia), Slot: uint16(rc.Slot)}
	}
	set := func(v smi.Value) configmsg.Set {
		s := configmsg.Set{Target: t, Object: rc.Object, Type: configmsg.Integer, Int: v.Int}
		if v.Type == smi.TypeOctetString {
			s.Type, s.Bytes = configmsg.Octets, v.Bytes
		}
		return s
	}
	err := m.distribute(set(rc.New))
	if err != nil && !rc.Old.Equal(rc.New) {
		// Perhaps only the Ack was lost: ask for the old value back.
		_ = m.distribute(set(rc.Old))
	}
	log := m.log.WithFields(logrus.Fields{"object": rc.Name, "bia": rc.Bia, "slot": rc.Slot, "value": rc.New.String()})
	if err != nil {
		log.WithError(err).Warn("set not distributed")
		return err
	}
	log.Info("set distributed and acknowledged")
	return nil
}

// distribute sends s (with a fresh request ID) on both paths and waits for
// its target's Ack.
func (m *Member) distribute(s configmsg.Set) error {
	ch := make(chan configmsg.Ack, 1)
	m.pmu.Lock()
	m.reqID++
	s.ID = m.reqID
	m.pending[s.ID] = ch
	m.pmu.Unlock()
	defer func() {
		m.pmu.Lock()
		delete(m.pending, s.ID)
		m.pmu.Unlock()
	}()
	payload, err := configmsg.MarshalSet(s)
	if err != nil {
		return err
	}
	if err := m.tr.Send(backplane.TypeConfigSet, 0, payload); err != nil {
		return err
	}
	timer := time.NewTimer(m.AckTimeout())
	defer timer.Stop()
	select {
	case a := <-ch:
		if a.Status != configmsg.OK {
			return fmt.Errorf("%s answered: %s", s.Target, a.Status)
		}
		return nil
	case <-timer.C:
		return fmt.Errorf("%s did not acknowledge within %s", s.Target, m.AckTimeout())
	}
}

// acknowledged hands an Ack to the Set waiting for it.
func (m *Member) acknowledged(f backplane.Frame) {
	a, err := configmsg.UnmarshalAck(f.Payload)
	if err != nil {
		m.log.WithError(err).Warn("ack dropped")
		return
	}
	m.pmu.Lock()
	ch := m.pending[a.ID]
	m.pmu.Unlock()
	if ch != nil && a.Target.Kind == configmsg.KindModule && a.Target.MAC != f.From {
		m.log.WithField("peer", IDOf(f.From).String()).Warn("ack from a module that is not the Set's target dropped")
		return
	}
	if ch != nil {
		select {
		case ch <- a:
		default: // the copy from the other path
		}
	}
}

// configSet applies a Set the Primary distributed, if it is for this
// module, and acknowledges it.
func (m *Member) configSet(f backplane.Frame) {
	s, err := configmsg.UnmarshalSet(f.Payload)
	if err != nil {
		m.log.WithError(err).Warn("config set dropped")
		return
	}
	self := macOf(m.cfg.Negotiation.ID)
	if s.Target.Kind != configmsg.KindModule || s.Target.MAC != self {
		return // another's: the Primary's traffic, listened in on
	}
	from := IDOf(f.From)
	status := configmsg.OK
	m.mu.Lock()
	primary := false
	for _, p := range m.node.Peers() {
		if p.ID == from && p.Alive && p.Advert.Role == negotiation.Primary {
			primary = true
		}
	}
	switch {
	case !primary:
		status = configmsg.Refused
	case s.Object != configmsg.ObjWantPrimary:
		status = configmsg.UnknownObject
	case s.Type != configmsg.Integer || s.Int < int32(negotiation.WantYes) || s.Int > int32(negotiation.WantAlways):
		status = configmsg.BadValue
	default:
		m.node.SetWant(time.Now(), negotiation.Want(s.Int))
	}
	m.mu.Unlock()
	log := m.log.WithFields(logrus.Fields{"peer": from.String(), "object": "cpsmm100WantPrimary", "value": s.Int})
	if status == configmsg.OK {
		m.cfg.Module.SetOwnWant(s.Int)
		log.Info("set by the Primary")
	} else {
		log.Warn("set from the backplane refused: " + status.String())
	}
	_ = m.tr.Send(backplane.TypeConfigAck, 0, configmsg.MarshalAck(configmsg.Ack{ID: s.ID, Target: s.Target, Status: status}))
}

// PathState is what a member knows of one path to a peer.
type PathState struct {
	OK        bool      `json:"ok"` // heard on it within a holdtime
	LastHeard time.Time `json:"last_heard,omitzero"`
}

// PeerState is a member's view of another module.
type PeerState struct {
	MAC       string    `json:"mac"`
	Bia       int32     `json:"cabinet"`
	Slot      int32     `json:"slot"`
	Alive     bool      `json:"alive"`
	Role      string    `json:"role"`
	Eligible  bool      `json:"can_primary"`
	Want      string    `json:"want_primary"`
	LinkFault bool      `json:"link_failure"` // heard on one path only
	Backplane PathState `json:"backplane"`
	Ethernet  PathState `json:"ethernet"`
}

// Status is a member's negotiation state, in the spirit of `show failover`.
type Status struct {
	Role        string      `json:"role"`
	CanPrimary  bool        `json:"can_primary"`
	Want        string      `json:"want_primary"`
	ActiveSince time.Time   `json:"active_since,omitzero"` // Primary since
	LastChange  time.Time   `json:"last_change,omitzero"`  // the last role change…
	LastReason  string      `json:"last_reason,omitempty"` // …and why
	Peers       []PeerState `json:"peers"`
	// Solicitations sent (only a Primary's grow) and device reports heard.
	Solicitations uint64 `json:"solicitations"`
	Reports       uint64 `json:"device_reports"`
}

// Status returns the member's negotiation state.
func (m *Member) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.node
	st := Status{Role: n.Role().String(), CanPrimary: n.CanPrimary(), Want: n.Want().String(), ActiveSince: n.ActiveSince(), Peers: []PeerState{},
		Solicitations: m.dev.solicits.Load(), Reports: m.dev.reports.Load()}
	st.LastChange, st.LastReason = n.LastFailover()
	for _, p := range n.Peers() {
		mac := macOf(p.ID)
		loc := m.cfg.Directory[p.ID]
		st.Peers = append(st.Peers, PeerState{MAC: backplane.ID(mac).String(), Bia: loc.Bia, Slot: loc.Slot, Alive: p.Alive,
			Role: p.Advert.Role.String(), Eligible: p.Advert.Eligible, Want: p.Advert.Want.String(), LinkFault: p.LinkFault,
			Backplane: PathState{OK: p.PathOK[negotiation.Backplane], LastHeard: p.Heard[negotiation.Backplane]},
			Ethernet:  PathState{OK: p.PathOK[negotiation.Ethernet], LastHeard: p.Heard[negotiation.Ethernet]}})
	}
	return st
}
