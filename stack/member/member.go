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

	"github.com/cpsmm/cpsmm/negotiation"
	"github.com/cpsmm/cpsmm/stack/backplane"
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
	Log       logrus.FieldLogger
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
}

type delivery struct {
	path  transport.Path
	frame backplane.Frame
}

// IDOf turns a backplane sender ID (a MAC address) into a negotiation ID.
func IDOf(b backplane.ID) negotiation.ID {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return negotiation.ID(v)
}

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
	node, err := negotiation.New(cfg.Negotiation, time.Now())
	if err != nil {
		return nil, err
	}
	m := &Member{cfg: cfg, log: cfg.Log, node: node, inbox: make(chan delivery, 256), kick: make(chan struct{}, 1)}
	tc := cfg.Transport
	tc.Log = cfg.Log
	tc.Deliver = func(p transport.Path, f backplane.Frame) {
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
	t := time.NewTicker(m.cfg.Negotiation.Hello / 10)
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
			if d.frame.Type != backplane.TypeAdvert {
				continue
			}
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
		case <-t.C:
			m.mu.Lock()
			m.node.Tick(time.Now())
			m.mu.Unlock()
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
		if e.Peer != 0 {
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
			Primary: p.Alive && p.Advert.Role == negotiation.Primary, Eligible: p.Advert.Eligible, Want: int32(p.Advert.Want)})
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
