// Package stackaddr is the stack address: one loopback UDP address that
// answers SNMP as the current Primary's own address does and moves with
// the role, as the active IP address of a PIX/ASA failover pair moves to
// the new active unit.
//
// The chassis process holds it (Relay): it listens on the address, hears
// every module's adverts as a peer does (on the backplane, and on the
// address's Ethernet side, to which every module sends its frames), and
// forwards each request datagram to the snmpd of the module it believes
// Primary, relaying that snmpd's answer back to the client. Which module
// that is, is decided by Holder, a pure, clock-free state machine over
// the adverts heard.
//
// The invariants: at every instant at most one module serves the address,
// and only one whose latest advert says Primary; an answer from a module
// that has since advertised Standby, or gone silent, is never relayed
// (Relay checks the holder again when the answer comes back); when two
// modules claim Primary (a transient of a healed partition) none serves
// it.
package stackaddr

import (
	"time"

	"github.com/cpsmm/cpsmm/stack/ident"
)

// Holder decides which module serves the stack address from the adverts
// heard. It is a pure state machine: no clock, no I/O; the caller passes
// the time. Not safe for concurrent use.
//
// A module holds the address at t when its latest advert (the highest
// advert sequence number heard, on either path) says Primary and not
// resigning, it was heard less than Holdtime − Margin before t, and no
// other module's latest advert heard within that time says Primary.
//
// Why Holdtime − Margin: a module answers cpsIsPrimary yes only under a
// lease that ends a holdtime after its last advert *sent*
// (module.Module.Renew); the holder hears that advert a little later
// (Margin bounds the delay it tolerates), so it stops believing in a
// silent module before that module's own lease ends, and never relays an
// answer a lapsed lease made no.
type Holder struct {
	cfg  HolderConfig
	mods map[ident.MAC]*heard
}

// HolderConfig configures a Holder.
type HolderConfig struct {
	// Holdtime is the stack's holdtime (timers.holdtime).
	Holdtime time.Duration
	// Margin is how much sooner than the holdtime a silent Primary loses
	// the address (default DefaultMargin, at most Holdtime/2).
	Margin time.Duration
}

// DefaultMargin bounds the delivery delay of an advert that Holder
// tolerates: 50 ms, well above what a loaded 2-core machine shows on
// loopback, and a small part of the shortest holdtime (300 ms).
const DefaultMargin = 50 * time.Millisecond

// heard is what the holder knows of one module: its latest advert.
type heard struct {
	seq     uint64
	primary bool
	at      time.Time // when it was heard
}

// NewHolder returns a holder that has heard nothing.
func NewHolder(cfg HolderConfig) *Holder {
	if cfg.Margin <= 0 {
		cfg.Margin = DefaultMargin
	}
	if cfg.Margin > cfg.Holdtime/2 {
		cfg.Margin = cfg.Holdtime / 2
	}
	return &Holder{cfg: cfg, mods: map[ident.MAC]*heard{}}
}

// Trust is how long an advert is believed: Holdtime − Margin.
func (h *Holder) Trust() time.Duration { return h.cfg.Holdtime - h.cfg.Margin }

// Advert records an advert of module from, heard at now: its sequence
// number, and whether it says Primary (role Primary, not resigning). An
// advert older than one already heard (the copy from the other path, a
// reordered datagram) changes nothing, unless the module has been silent
// for longer than Trust: a restarted module's adverts are then taken
// whatever their numbers.
func (h *Holder) Advert(now time.Time, from ident.MAC, seq uint64, primary bool) {
	m, ok := h.mods[from]
	if !ok {
		m = &heard{}
		h.mods[from] = m
	} else if seq <= m.seq && now.Sub(m.at) < h.Trust() {
		return
	}
	m.seq, m.primary, m.at = seq, primary, now
}

// Holder returns the module that serves the address at now, if any.
func (h *Holder) Holder(now time.Time) (ident.MAC, bool) {
	var who ident.MAC
	n := 0
	for mac, m := range h.mods {
		if m.primary && now.Sub(m.at) < h.Trust() {
			who = mac
			n++
		}
	}
	if n != 1 {
		return ident.MAC{}, false
	}
	return who, true
}

// Deadline is the instant at which Holder's answer changes unless another
// advert is heard first (zero: nothing would change).
func (h *Holder) Deadline() time.Time {
	var d time.Time
	for _, m := range h.mods {
		if !m.primary {
			continue
		}
		if end := m.at.Add(h.Trust()); d.IsZero() || end.Before(d) {
			d = end
		}
	}
	return d
}
