package member

import (
	"time"

	"github.com/cpsmm/cpsmm/negotiation"
	"github.com/cpsmm/cpsmm/stack/ident"
)

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

// ModuleRef names a module of the stack.
type ModuleRef struct {
	MAC  string `json:"mac"`
	Bia  int32  `json:"cabinet"`
	Slot int32  `json:"slot"`
}

// Status is a member's negotiation state, in the spirit of `show failover`.
type Status struct {
	// Rule is the election rule: "vendor" or "incumbent" (preempt: false).
	Rule        string      `json:"rule"`
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
	// SetsInFlight are distributed Sets awaiting their Ack.
	SetsInFlight int `json:"sets_in_flight"`
	// IPMonitor is the IP monitor of the Ethernet side (absent: none).
	IPMonitor *IPMonitorStatus `json:"ip_monitor,omitempty"`
	// AlwaysConflict lists the always(3) modules this module sees when
	// there are more than one (itself included), the one the rules make
	// Primary first; absent otherwise.
	AlwaysConflict []ModuleRef `json:"always_conflict,omitempty"`
}

// status builds the member's state. Loop only.
func (m *Member) status() Status {
	n := m.node
	st := Status{Rule: n.Rule().String(), Role: n.Role().String(), CanPrimary: n.CanPrimary(), Want: n.Want().String(), ActiveSince: n.ActiveSince(), Peers: []PeerState{},
		Solicitations: m.dev.Solicitations(), Reports: m.dev.Reports(), SetsInFlight: m.rpc.InFlight(), IPMonitor: m.monitorStatus()}
	st.LastChange, st.LastReason = n.LastFailover()
	for _, p := range n.Peers() {
		mac := p.ID
		loc := m.cfg.Directory[mac]
		st.Peers = append(st.Peers, PeerState{MAC: mac.String(), Bia: int32(loc.Cabinet), Slot: loc.Slot, Alive: p.Alive,
			Role: p.Advert.Role.String(), Eligible: p.Advert.Eligible, Want: p.Advert.Want.String(), LinkFault: p.LinkFault,
			Backplane: PathState{OK: p.PathOK[negotiation.Backplane], LastHeard: p.Heard[negotiation.Backplane]},
			Ethernet:  PathState{OK: p.PathOK[negotiation.Ethernet], LastHeard: p.Heard[negotiation.Ethernet]}})
	}
	for _, id := range n.AlwaysConflict() {
		st.AlwaysConflict = append(st.AlwaysConflict, m.ref(id))
	}
	return st
}

// ref names a module by its MAC, with its place from the directory.
func (m *Member) ref(id ident.MAC) ModuleRef {
	loc, ok := m.cfg.Directory[id]
	if !ok && id == m.mac {
		loc = m.cfg.Negotiation.Slot
	}
	return ModuleRef{MAC: id.String(), Bia: int32(loc.Cabinet), Slot: loc.Slot}
}
