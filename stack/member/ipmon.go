package member

import (
	"net/netip"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/ipmon"
	"github.com/cpsmm/cpsmm/stack/module"
)

// The member's IP monitor: the loop ticks it, sends its probes over the
// Ethernet side (k per poll), hands it the answers and the other modules'
// reports, sends its own report on both paths, and gives its verdict to
// the negotiation (eligibility) and its rows to the module's MIB.

// newMonitor builds the monitor and its address book.
func (m *Member) newMonitor(c IPMonitor, now time.Time) error {
	cfg := c.Monitor
	m.monCfg = c
	m.monAt, m.monOf = map[ipmon.Host]netip.AddrPort{}, map[netip.AddrPort]ipmon.Host{}
	m.rawSeen = map[netip.AddrPort]uint32{}
	if c.FollowGateway {
		m.monGateway = m.mod.Gateway()
		cfg.Targets = gatewayTargets(m.monGateway)
	}
	m.addTargets(cfg.Targets)
	macs := make([]ident.MAC, 0, len(c.Peers))
	for mac := range c.Peers {
		if mac != m.mac {
			macs = append(macs, mac)
		}
	}
	slices.SortFunc(macs, func(a, b ident.MAC) int {
		if a.Less(b) {
			return -1
		}
		if b.Less(a) {
			return 1
		}
		return 0
	})
	cfg.Peers = nil
	for _, mac := range macs {
		h := ipmon.Host{Kind: ipmon.Peer, Name: mac.String()}
		cfg.Peers = append(cfg.Peers, h.Name)
		m.monAt[h], m.monOf[c.Peers[mac]] = c.Peers[mac], h
	}
	mon, err := ipmon.New(cfg, now)
	if err != nil {
		return err
	}
	m.mon = mon
	return nil
}

// gatewayTargets is the target list of a module whose gateway is gw.
func gatewayTargets(gw netip.Addr) []string {
	if !gw.Is4() || gw.IsUnspecified() {
		return nil
	}
	return []string{gw.String()}
}

// addTargets enters targets in the address book; one the stack does not
// answer for is polled nowhere: it never answers.
func (m *Member) addTargets(targets []string) {
	for _, t := range targets {
		if at, ok := m.monCfg.Targets[t]; ok {
			h := ipmon.Host{Kind: ipmon.Target, Name: t}
			m.monAt[h], m.monOf[at] = at, h
		}
	}
}

// followGateway, after a Set (or a Reset), points the monitor at the
// module's gateway if it changed. Loop only.
func (m *Member) followGateway(now time.Time) {
	if m.mon == nil || !m.monCfg.FollowGateway {
		return
	}
	gw := m.mod.Gateway()
	if gw == m.monGateway {
		return
	}
	old := m.monGateway
	m.monGateway = gw
	for h, at := range m.monAt {
		if h.Kind == ipmon.Target {
			delete(m.monAt, h)
			delete(m.monOf, at)
		}
	}
	targets := gatewayTargets(gw)
	m.addTargets(targets)
	if err := m.mon.SetTargets(now, targets); err != nil {
		m.log.WithError(err).Error("ip monitor targets not changed")
		return
	}
	m.log.WithFields(logrus.Fields{"old": old.String(), "new": gw.String(), "reason": "cpsmm100Gateway changed"}).Info("ip monitor target changed")
}

// raw takes a datagram from the Ethernet side that is not a frame, on the
// transport's goroutine: a request is answered at once (as an IP stack
// answers an echo), a reply to one of our probes goes to the loop.
func (m *Member) raw(from netip.AddrPort, b []byte) []byte {
	if !ipmon.IsProbe(b) {
		return nil
	}
	d, err := ipmon.UnmarshalProbe(b)
	if err != nil {
		return nil
	}
	if d.Op == ipmon.OpRequest {
		reply, _ := ipmon.Reply(b)
		return reply
	}
	if m.mon == nil || ident.MAC(d.Sender) != m.mac {
		return nil
	}
	// The first answer of a poll is enough: the other probes' answers do
	// not wake the loop. (Only the transport's Ethernet goroutine runs
	// this, so the map needs no lock.)
	if m.rawSeen[from] == d.Seq {
		return nil
	}
	m.rawSeen[from] = d.Seq
	select {
	case m.inbox <- delivery{probe: &probeAnswer{from: from, seq: d.Seq}}:
	default:
	}
	return nil
}

// probeAnswered hands an answer to the monitor.
func (m *Member) probeAnswered(now time.Time, p probeAnswer) {
	if m.mon == nil {
		return
	}
	if h, ok := m.monOf[p.from]; ok {
		m.mon.Answer(now, h, p.seq)
	}
}

// monitorReport takes another module's report.
func (m *Member) monitorReport(now time.Time, f backplane.Frame) {
	if m.mon == nil {
		return
	}
	r, err := ipmon.UnmarshalReport(f.Payload)
	if err != nil {
		m.log.WithError(err).WithField("reason", "malformed").Warn("ip monitor report dropped")
		return
	}
	m.mon.Report(now, ident.MAC(f.From).String(), r)
}

// flushMonitor sends the monitor's probes and report, logs its events,
// and passes its verdict on. Loop only.
func (m *Member) flushMonitor() {
	if m.mon == nil {
		return
	}
	rd := m.mon.Ready()
	probes := m.mon.Config().Probes
	for _, p := range rd.Probes {
		at, ok := m.monAt[p.Host]
		if !ok {
			continue
		}
		b := ipmon.MarshalProbe(ipmon.Datagram{Op: ipmon.OpRequest, Sender: m.mac, Seq: p.Seq})
		for i := 0; i < probes; i++ {
			_ = m.tr.SendRaw(at, b) // an ip-down side sends nothing: the poll is missed
		}
	}
	if rd.Report != nil {
		_ = m.tr.Send(backplane.TypeIPMonitor, 0, ipmon.MarshalReport(*rd.Report))
	}
	for _, e := range rd.Events {
		f := logrus.Fields{"event": e.Kind.String(), "reason": e.Reason}
		if e.Host.Kind != 0 {
			f["kind"], f["host"] = e.Host.Kind.String(), e.Host.Name
		}
		m.log.WithFields(f).Info("ip monitor event")
	}
	if rd.Verdict.Failed != m.monFailed {
		m.monFailed = rd.Verdict.Failed
		m.node.SetMonitorFailed(time.Now(), m.monFailed)
	}
	st := m.mon.Status()
	if !slices.Equal(st, m.shownMon) || rd.Verdict != m.shownVerdict || m.shownMon == nil {
		m.shownMon, m.shownVerdict = st, rd.Verdict
		rows := make([]module.MonitorRow, len(st))
		for i, h := range st {
			rows[i] = module.MonitorRow{Host: h.Name, Peer: h.Kind == ipmon.Peer.String(), Up: h.Up, Misses: h.Misses,
				Successes: h.Successes, LastChange: h.LastChange, LastAnswer: h.LastAnswer}
		}
		verdict := module.MonitorOK
		switch {
		case rd.Verdict.Failed:
			verdict = module.MonitorFailed
		case rd.Verdict.Degraded:
			verdict = module.MonitorDegraded
		}
		m.mod.ApplyMonitor(rows, verdict, rd.Verdict.Reason)
	}
}

// IPMonitorStatus is the IP monitor's state, for `cpsstack status`.
type IPMonitorStatus struct {
	Interval  string             `json:"interval"`
	Misses    int                `json:"misses"`
	Successes int                `json:"successes"`
	Probes    int                `json:"probes"`
	Verdict   ipmon.Verdict      `json:"verdict"`
	Hosts     []ipmon.HostStatus `json:"hosts"`
}

func (m *Member) monitorStatus() *IPMonitorStatus {
	if m.mon == nil {
		return nil
	}
	c := m.mon.Config()
	return &IPMonitorStatus{Interval: c.Interval.String(), Misses: c.Misses, Successes: c.Successes, Probes: c.Probes,
		Verdict: m.mon.Verdict(), Hosts: m.mon.Status()}
}
