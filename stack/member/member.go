// Package member makes a module a member of a multi-module stack. Its loop
// (Run) is the one goroutine that owns the module's negotiation node, its
// configuration requests in flight (configrpc), its device cache
// (devcache) and the module's MIB view: everything else — frames from the
// transport, SNMP Sets, fault injection, status requests — reaches it as a
// typed event, and it sleeps until the next event or the next deadline of
// one of its parts. It implements module.Stack, through which SNMP Sets
// (WantPrimary, cpsIsPrimary, the IP configuration, distributed Sets)
// reach the negotiation and the stack.
package member

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/negotiation"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/configmsg"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/ipmon"
	"github.com/cpsmm/cpsmm/stack/member/configrpc"
	"github.com/cpsmm/cpsmm/stack/member/devcache"
	"github.com/cpsmm/cpsmm/stack/module"
	"github.com/cpsmm/cpsmm/stack/transport"
)

// Transport is what a member sends and receives through: the real
// two-path transport, or an in-memory one in tests.
type Transport interface {
	Send(typ backplane.Type, flags uint8, payload []byte) error
	SendBackplane(typ backplane.Type, payload []byte) error
	SendTo(to netip.AddrPort, typ backplane.Type, payload []byte) error
	// SendRaw sends a datagram that is not a frame (an IP monitor probe)
	// over Ethernet.
	SendRaw(to netip.AddrPort, b []byte) error
	// SetLink cuts (false) or restores the Ethernet side.
	SetLink(up bool)
	// Run receives until ctx is done, delivering every frame to the
	// Deliver function the transport was built with.
	Run(ctx context.Context) error
}

// Config configures a Member.
type Config struct {
	Negotiation negotiation.Config // timers (ID and Want come from the module)
	Transport   transport.Config   // ID, Key, chassis, Ethernet, peers (Deliver is set by New)
	// Dial builds the transport (default: the real two-path transport
	// from Transport).
	Dial   func(transport.Config) (Transport, error)
	Module *module.Module
	// Directory tells where every module of the stack sits, by MAC.
	Directory map[ident.MAC]ident.Slot
	// Devices: the stack devices this member polls (as Primary) and caches.
	Devices devcache.Config
	// AckTimeout bounds the wait for a distributed Set's Ack (default
	// configrpc.DefaultTimeout).
	AckTimeout time.Duration
	// Names: every module's name, by MAC (for the role-change
	// notification).
	Names map[ident.MAC]string
	// RoleChanged, if set, is told every change of the module's role, on
	// the loop: it must not wait.
	RoleChanged func(primary bool)
	// IPMonitor, if set, is the module's IP monitor of its Ethernet side.
	IPMonitor *IPMonitor
	// SaveAckTimeout bounds the wait for the Ack of a Set that makes its
	// target module save its configuration (SaveConfig), which it
	// acknowledges only once written and synced (default 250 ms).
	SaveAckTimeout time.Duration
	// RowRefresh: how often the module reports its cpsmm100Table row to
	// the others even when nothing changed (default 30 s). It also reports
	// it at once when it changes and when a peer is newly heard.
	RowRefresh time.Duration
	Log        logrus.FieldLogger
}

// IPMonitor configures a member's IP monitor (stack/ipmon).
type IPMonitor struct {
	// Monitor: interval, misses, successes and the target addresses
	// (Targets, by name); the peers are filled from Peers.
	Monitor ipmon.Config
	// Targets is where each target address answers (its responder), for
	// every address the stack answers for.
	Targets map[string]netip.AddrPort
	// FollowGateway: the target is the module's gateway, as its MIB
	// shows it (cpsmm100Gateway), followed through Sets and Resets.
	FollowGateway bool
	// Peers are the other modules' Ethernet sides, polled when set.
	Peers map[ident.MAC]netip.AddrPort
}

// DefaultSaveAckTimeout is Config.SaveAckTimeout's default: a module's
// save is a write, two fsyncs and a rename, which a busy disk stretches
// well past the 30 ms a module's Ack otherwise takes at most.
const DefaultSaveAckTimeout = 250 * time.Millisecond

// Command is a fault injected into the member's module.
type Command uint8

// Commands.
const (
	LinkDown        Command = iota + 1 // the Ethernet link goes down: ineligible
	LinkUp                             // link up again (ends an isolation too)
	EthernetIsolate                    // cut off from the other modules' Ethernet sides, link up
	IPDown                             // no IP traffic in or out of the Ethernet side, link up (LinkUp ends it)
)

func (c Command) String() string {
	return [...]string{"", "link down", "link up", "ethernet isolate", "ip down"}[c]
}

type delivery struct {
	path  transport.Path
	frame backplane.Frame
	// probe, when set, is an answer to one of the IP monitor's probes,
	// from the address it came from.
	probe *probeAnswer
}

type probeAnswer struct {
	from netip.AddrPort
	seq  uint32
}

type control struct {
	cmd   Command
	reply chan struct{}
}

// Member is a running stack member.
type Member struct {
	cfg Config
	log logrus.FieldLogger
	mac ident.MAC
	mod *module.Module
	tr  Transport

	// Loop-owned.
	node  *negotiation.Node
	rpc   *configrpc.RPC
	dev   *devcache.Cache
	shown map[ident.MAC]module.PeerView // peers' rows as last written
	// oldPeers: peers whose adverts of another version were refused (and
	// said so in the log).
	oldPeers map[ident.MAC]bool
	seen     [64]uint32 // IDs of the Sets last applied (both paths deliver each)
	nseen    int
	memo     reportMemo
	// lastPrimary is the last peer heard as Primary; wasPrimary the role
	// last shown (for the role-change notification).
	lastPrimary  ident.MAC
	wasPrimary   bool
	gone         string                        // what became of lastPrimary, if it is no longer Primary
	mon          *ipmon.Monitor                // nil: no IP monitor
	monAt        map[ipmon.Host]netip.AddrPort // where each monitored host answers
	monOf        map[netip.AddrPort]ipmon.Host // and the reverse
	shownMon     []ipmon.HostStatus            // the monitor's rows as last written…
	shownVerdict ipmon.Verdict                 // …and its verdict
	monFailed    bool                          // the verdict the negotiation has
	monCfg       IPMonitor                     // the monitor's configuration
	monGateway   netip.Addr                    // the gateway it polls (FollowGateway)
	// rawSeen is the last poll answered per address; the transport's
	// Ethernet goroutine alone uses it (raw).
	rawSeen map[netip.AddrPort]uint32
	alive   map[ident.MAC]bool // peers heard alive at the last flush
	// The module's Row report: sent when its items change (rowDirty: a Set
	// may have changed them), at once when rowForce (a peer newly heard, a
	// Reset), and every RowRefresh (rowNext).
	rowDirty, rowForce bool
	rowLast            []byte // the items last sent, encoded without the uptime
	rowNext            time.Time

	inbox    chan delivery
	controls chan control
	statuses chan chan Status
	done     chan struct{}
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
	now := time.Now()
	if cfg.RowRefresh <= 0 {
		cfg.RowRefresh = 30 * time.Second
	}
	if cfg.SaveAckTimeout <= 0 {
		cfg.SaveAckTimeout = DefaultSaveAckTimeout
	}
	m := &Member{cfg: cfg, log: cfg.Log, mac: ident.MAC(cfg.Transport.ID), mod: cfg.Module, shown: map[ident.MAC]module.PeerView{}, oldPeers: map[ident.MAC]bool{},
		alive: map[ident.MAC]bool{}, rowForce: true,
		inbox: make(chan delivery, 1024), controls: make(chan control), statuses: make(chan chan Status), done: make(chan struct{})}
	cfg.Negotiation.ID = m.mac
	cfg.Negotiation.Want = negotiation.Want(cfg.Module.WantPrimary())
	if err := cfg.Negotiation.Validate(); err != nil { // defaults the timers
		return nil, err
	}
	m.cfg.Negotiation = cfg.Negotiation
	node, err := negotiation.New(cfg.Negotiation, now)
	if err != nil {
		return nil, err
	}
	m.node = node
	if cfg.IPMonitor != nil {
		if err := m.newMonitor(*cfg.IPMonitor, now); err != nil {
			return nil, err
		}
	}
	tc := cfg.Transport
	tc.Log = cfg.Log
	tc.Deliver = func(p transport.Path, f backplane.Frame) {
		select {
		case m.inbox <- delivery{path: p, frame: f}:
		default: // a flood: drop, as a saturated bus would
		}
	}
	tc.Raw = m.raw
	dial := cfg.Dial
	if dial == nil {
		dial = func(c transport.Config) (Transport, error) { return transport.New(c) }
	}
	if m.tr, err = dial(tc); err != nil {
		return nil, err
	}
	m.rpc = configrpc.New(m.tr, cfg.AckTimeout, uint32(now.UnixNano()), cfg.Log)
	dc := cfg.Devices
	if dc.Log == nil {
		dc.Log = cfg.Log
	}
	if m.dev, err = devcache.New(dc, cfg.Module, m.tr, now); err != nil {
		return nil, err
	}
	if !cfg.Module.IPValid() {
		node.SetIPValid(now, false)
	}
	cfg.Module.JoinStack(m)
	cfg.Module.SetSolicitationCounter(m.dev.Solicitations)
	// Not Primary until the negotiation says so.
	cfg.Module.ApplyRole(false, node.CanPrimary())
	return m, nil
}

// Solicitations returns how many solicitations this member has sent.
func (m *Member) Solicitations() uint64 { return m.dev.Solicitations() }

// Control injects a fault (or its end) and returns once the loop has
// carried it out.
func (m *Member) Control(ctx context.Context, c Command) error {
	ctl := control{cmd: c, reply: make(chan struct{})}
	select {
	case m.controls <- ctl:
	case <-ctx.Done():
		return ctx.Err()
	case <-m.done:
		return module.ErrStopped
	}
	select {
	case <-ctl.reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-m.done:
		return module.ErrStopped
	}
}

// Status returns the member's state, as its loop sees it.
func (m *Member) Status(ctx context.Context) (Status, error) {
	ch := make(chan Status, 1)
	select {
	case m.statuses <- ch:
	case <-ctx.Done():
		return Status{}, ctx.Err()
	case <-m.done:
		return Status{}, module.ErrStopped
	}
	select {
	case st := <-ch:
		return st, nil
	case <-ctx.Done():
		return Status{}, ctx.Err()
	case <-m.done:
		return Status{}, module.ErrStopped
	}
}

// Run is the module's loop: it runs until ctx is done; then it resigns
// (graceful stop) so that a Standby takes over at once.
func (m *Member) Run(ctx context.Context) error {
	defer close(m.done)
	defer m.mod.LoopStopped()
	trCtx, stopTr := context.WithCancel(context.Background())
	trDone := make(chan struct{})
	go func() {
		defer close(trDone)
		_ = m.tr.Run(trCtx)
	}()
	defer func() { stopTr(); <-trDone }()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		m.tick(now)
		m.flush()
		wait := time.Until(m.deadline())
		if wait < 0 {
			wait = 0
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			m.node.Shutdown(time.Now())
			m.flush()
			return ctx.Err()
		case d := <-m.inbox:
			m.receive(time.Now(), d)
		case r := <-m.mod.Sets():
			m.mod.Serve(r)
			m.followGateway(time.Now())
			m.rowDirty = true
		case c := <-m.controls:
			m.control(time.Now(), c.cmd)
			close(c.reply)
		case ch := <-m.statuses:
			ch <- m.status()
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

func (m *Member) primary() bool { return m.node.Role() == negotiation.Primary }

// tick advances every part's clock.
func (m *Member) tick(now time.Time) {
	if m.mon != nil {
		m.mon.Tick(now)
	}
	m.node.Tick(now)
	m.rpc.Tick(now)
	m.dev.Tick(now, m.primary())
}

// deadline is when the loop must wake next without an event: the
// earliest deadline of the negotiation, the requests in flight and the
// device cache. Between them the loop sleeps.
func (m *Member) deadline() time.Time {
	d := m.node.Deadline()
	ts := []time.Time{m.rpc.Deadline(), m.dev.Deadline(m.primary()), m.rowNext}
	if m.mon != nil {
		ts = append(ts, m.mon.Deadline())
	}
	for _, t := range ts {
		if !t.IsZero() && t.Before(d) {
			d = t
		}
	}
	return d
}

// receive handles one frame from the transport.
func (m *Member) receive(now time.Time, d delivery) {
	if d.probe != nil {
		m.probeAnswered(now, *d.probe)
		return
	}
	f := d.frame
	switch f.Type {
	case backplane.TypeIPMonitor:
		m.monitorReport(now, f)
	case backplane.TypeAdvert:
		a, err := negotiation.UnmarshalAdvert(f.From, f.Payload)
		if errors.Is(err, negotiation.ErrAdvertVersion) {
			// A module of another release: said once per peer, not
			// every hello.
			if from := ident.MAC(f.From); !m.oldPeers[from] {
				m.oldPeers[from] = true
				m.log.WithError(err).WithFields(logrus.Fields{"peer": from.String(), "reason": "advert version"}).
					Warn("advert of another version refused: every module of a stack must run the same release")
			}
			return
		}
		if err != nil {
			m.log.WithError(err).WithField("reason", "malformed").Warn("advert dropped")
			return
		}
		m.node.Step(now, d.path, a)
	case backplane.TypeConfigSet:
		m.configSet(now, f)
	case backplane.TypeConfigAck:
		a, err := configmsg.UnmarshalAck(f.Payload)
		if err != nil {
			m.log.WithError(err).WithField("reason", "malformed").Warn("ack dropped")
			return
		}
		m.rpc.Ack(now, ident.MAC(f.From), a)
	case backplane.TypeDeviceReport:
		rs, err := m.memo.decode(f.From, d.path, f.Payload)
		if err != nil {
			m.log.WithError(err).WithField("reason", "malformed").Warn("device report dropped")
			return
		}
		for _, r := range rs {
			m.dev.Report(now, d.path == transport.Ethernet, r, m.primary())
		}
	case backplane.TypeSolicit:
		m.dev.Solicited(now)
	case backplane.TypeModuleRow:
		m.peerRow(f)
	}
}

// peerRow writes another module's Row report into its row.
func (m *Member) peerRow(f backplane.Frame) {
	from := ident.MAC(f.From)
	loc, ok := m.cfg.Directory[from]
	if !ok || from == m.mac {
		return
	}
	if m.rpc.Busy(from) {
		// A Set to it is unsettled: the row may show what is about to be
		// taken back. The row it reports once the Set settles is shown.
		return
	}
	r, err := configmsg.UnmarshalRow(f.Payload)
	if err != nil {
		m.log.WithError(err).WithFields(logrus.Fields{"peer": from.String(), "reason": "malformed"}).Warn("module row dropped")
		return
	}
	n, fresh := m.mod.ApplyPeerRow(int32(loc.Cabinet), loc.Slot, r)
	if n > 0 {
		m.log.WithFields(logrus.Fields{"peer": from.String(), "skipped": n, "reason": "value its column does not take"}).Warn("module row items skipped")
	}
	if fresh {
		// First heard, or restarted (perhaps faster than a holdtime, so
		// never seen dead): it may not know this module's row.
		m.rowForce = true
	}
}

// sendRow reports the module's own row when it is due: forced, changed,
// or at the refresh.
func (m *Member) sendRow(now time.Time) {
	due := m.rowForce || !now.Before(m.rowNext)
	if !due && !m.rowDirty {
		return
	}
	r := m.mod.RowReport()
	key, err := configmsg.MarshalRows(configmsg.Row{Items: r.Items}, 1<<16)
	if err != nil || len(key) != 1 {
		m.log.WithError(err).Error("module row not encoded")
		return
	}
	m.rowDirty = false
	if !due && string(key[0]) == string(m.rowLast) {
		return
	}
	m.rowForce, m.rowLast, m.rowNext = false, key[0], now.Add(m.cfg.RowRefresh)
	frames, err := configmsg.MarshalRows(r, backplane.MaxPayload)
	if err != nil {
		m.log.WithError(err).Error("module row not encoded")
		return
	}
	for _, b := range frames {
		_ = m.tr.Send(backplane.TypeModuleRow, 0, b)
	}
}

// control carries out an injected fault.
func (m *Member) control(now time.Time, c Command) {
	switch c {
	case LinkDown:
		m.tr.SetLink(false)
		m.node.SetLink(now, false)
		m.mod.SetEthernetLink(false)
	case LinkUp:
		m.tr.SetLink(true)
		m.node.SetLink(now, true)
		m.node.Announce(now)
		m.mod.SetEthernetLink(true)
	case EthernetIsolate:
		// Cut off from the other modules' Ethernet sides with the link up:
		// still eligible (a partition, with backplane-down).
		m.tr.SetLink(false)
	case IPDown:
		// No IP in or out of the Ethernet side, the link up: adverts,
		// probes and their answers stop; only the IP monitor can tell.
		m.tr.SetLink(false)
	}
	m.log.WithFields(logrus.Fields{"command": c.String(), "reason": "fault injection"}).Info("fault injected")
}

// flush sends the node's adverts and shows its state in the module.
func (m *Member) flush() {
	m.flushMonitor()
	rd := m.node.Ready()
	if rd.Role == negotiation.Primary {
		// A promotion shows before its advert leaves: whoever acts on the
		// advert at once (the stack address's relay forwards requests to
		// the module it names Primary) finds the module answering yes.
		// The claim wait has passed with no other Primary, and the lease
		// holds from the adverts sent as Standby.
		m.mod.ApplyRole(true, rd.CanPrimary)
	}
	sentAt := time.Now() // no peer hears these adverts before this
	for _, a := range rd.Adverts {
		_ = m.tr.Send(backplane.TypeAdvert, 0, negotiation.MarshalAdvert(a))
	}
	sent := len(rd.Adverts) > 0
	for _, e := range rd.Events {
		f := logrus.Fields{"role": e.Role.String(), "event": e.Kind.String(), "reason": e.Reason}
		if !e.Peer.IsZero() {
			f["peer"] = e.Peer.String()
		}
		if e.Kind == negotiation.AlwaysConflict {
			m.alwaysConflict(f)
			continue
		}
		if e.Kind == negotiation.AlwaysConflictCleared {
			m.mod.AlwaysConflict("")
		}
		m.log.WithFields(f).Info("negotiation event")
		if e.Kind == negotiation.RoleChanged && e.Role != negotiation.Primary && m.wasPrimary {
			m.mod.SteppedDown(e.Reason)
		}
	}
	m.mod.ApplyRole(rd.Role == negotiation.Primary, rd.CanPrimary)
	m.roleChange(rd)
	// The module answers IsPrimary yes only under a lease that runs out a
	// holdtime after its last advert: the moment its peers may declare it
	// dead and elect another. A module paused past that answers no, even
	// before its loop runs again and the negotiation (which sees the
	// pause at its next Tick) makes it Standby. The lease is renewed after
	// the role is shown, never before: renewed ahead of a step-down, it
	// would let the old role answer yes.
	if sent {
		m.mod.Renew(sentAt.Add(m.cfg.Negotiation.Holdtime))
	}
	for _, p := range m.node.Peers() {
		mac := p.ID
		loc, ok := m.cfg.Directory[mac]
		if !ok {
			continue
		}
		if p.Alive != m.alive[mac] {
			m.alive[mac] = p.Alive
			if p.Alive {
				m.rowForce = true // a module newly heard learns this one's row
			} else {
				m.mod.PeerSilent(int32(loc.Cabinet), loc.Slot)
			}
		}
		if p.Advert.Want == 0 {
			continue
		}
		v := module.PeerView{Bia: int32(loc.Cabinet), Slot: loc.Slot,
			Primary: p.Alive && p.Advert.Role == negotiation.Primary, Eligible: p.Alive && p.Advert.Eligible, Want: int32(p.Advert.Want),
			EthernetLink: p.PathOK[negotiation.Ethernet]}
		if old, ok := m.shown[mac]; !ok || old != v {
			m.shown[mac] = v
			m.mod.ApplyPeer(v)
		}
	}
	m.sendRow(time.Now())
}

// roleChange raises cpsEmuRoleChange when the module has just become
// Primary, naming the Primary it last heard before (its own name after a
// forced step-down and back is not "previous": a peer's only), and notes
// the Primary peers it hears. Loop only.
func (m *Member) roleChange(rd negotiation.Ready) {
	name := func(mac ident.MAC) string {
		if n := m.cfg.Names[mac]; n != "" {
			return n
		}
		return mac.String()
	}
	for _, e := range rd.Events {
		if e.Kind == negotiation.PeerDead && !m.lastPrimary.IsZero() && e.Peer == m.lastPrimary {
			m.gone = name(m.lastPrimary) + " " + e.Reason
		}
	}
	primary := rd.Role == negotiation.Primary
	if primary && !m.wasPrimary {
		reason := ""
		for _, e := range rd.Events {
			if e.Kind == negotiation.RoleChanged && e.Role == negotiation.Primary {
				reason = e.Reason
			}
		}
		if reason == "" {
			_, reason = m.node.LastFailover()
		}
		prev := ""
		if !m.lastPrimary.IsZero() {
			prev = name(m.lastPrimary)
			if m.gone != "" {
				reason = m.gone + "; " + reason
			}
		}
		vbs := m.mod.BecamePrimary(prev, reason)
		m.log.WithFields(logrus.Fields{"previous": prev, "reason": reason}).Info("became Primary: role-change notification")
		if m.cfg.Devices.Notify != nil {
			m.cfg.Devices.Notify(vbs)
		}
	}
	if primary != m.wasPrimary && m.cfg.RoleChanged != nil {
		m.cfg.RoleChanged(primary)
	}
	m.wasPrimary = primary
	for _, p := range m.node.Peers() {
		switch {
		case p.Alive && p.Advert.Role == negotiation.Primary:
			m.lastPrimary, m.gone = p.ID, ""
		case p.ID == m.lastPrimary && p.Alive && m.gone == "":
			m.gone = name(p.ID) + " stepped down"
			if p.Advert.Resigning {
				m.gone = name(p.ID) + " resigned (graceful stop)"
			}
		}
	}
}

// alwaysConflict warns that more than one module of the stack wants
// always(3) (the vendor: erratic behaviour; here the lowest cabinet/slot
// of them is Primary).
func (m *Member) alwaysConflict(f logrus.Fields) {
	var mods []string
	for _, id := range m.node.AlwaysConflict() {
		r := m.ref(id)
		mods = append(mods, fmt.Sprintf("%d/%d", r.Bia, r.Slot))
	}
	f["modules"] = strings.Join(mods, ",")
	if len(mods) > 0 {
		f["primary"] = mods[0]
	}
	m.log.WithFields(f).Warn("more than one module wants always(3): the lowest cabinet/slot of them is Primary")
	vbs := m.mod.AlwaysConflict(strings.Join(mods, ","))
	// The module kept Primary tells the managers, once per conflict (the
	// others show it in the MIB and their logs).
	if ids := m.node.AlwaysConflict(); len(ids) > 0 && ids[0] == m.mac && m.cfg.Devices.Notify != nil {
		m.cfg.Devices.Notify(vbs)
	}
}

// The module.Stack methods, called on the loop (from Serve).

// IPValid implements module.Stack.
func (m *Member) IPValid(valid bool) { m.node.SetIPValid(time.Now(), valid) }

// Want implements module.Stack.
func (m *Member) Want(w int32) { m.node.SetWant(time.Now(), negotiation.Want(w)) }

// CheckForce implements module.Stack.
func (m *Member) CheckForce(primary bool) error {
	if primary {
		return m.node.CheckForceActive()
	}
	return m.node.CheckForceStandby()
}

// Force implements module.Stack.
func (m *Member) Force(primary bool) error {
	if primary {
		return m.node.ForceActive(time.Now())
	}
	if err := m.node.ForceStandby(time.Now()); err != nil {
		return fmt.Errorf("step down: %w", err)
	}
	return nil
}

// Reloaded implements module.Stack: after a Reset the negotiation hears
// what the reloaded settings say, and the peers' rows are written again.
func (m *Member) Reloaded() {
	now := time.Now()
	m.node.SetWant(now, negotiation.Want(m.mod.WantPrimary()))
	m.node.SetIPValid(now, m.mod.IPValid())
	clear(m.shown)
	m.rowForce = true // its uptime restarted
}

// peerAt finds the module at a slot in the directory.
func (m *Member) peerAt(at ident.Slot) (ident.MAC, bool) {
	for mac, loc := range m.cfg.Directory {
		if loc == at && mac != m.mac {
			return mac, true
		}
	}
	return ident.MAC{}, false
}

// CheckRemote implements module.Stack.
func (m *Member) CheckRemote(rc module.RemoteChange) error {
	var mac ident.MAC
	if rc.Module {
		var ok bool
		if mac, ok = m.peerAt(ident.At(ident.Cabinet(rc.Bia), rc.Slot)); !ok {
			return fmt.Errorf("no other module of the stack sits at %d/%d", rc.Bia, rc.Slot)
		}
	}
	if !m.primary() {
		if rc.Module {
			return errors.New("only the Primary distributes another module's configuration: set it there, or on that module")
		}
		return errors.New("only the Primary accepts configuration changes: it alone distributes them to the stack devices")
	}
	if !rc.Module {
		return nil
	}
	for _, p := range m.node.Peers() {
		if p.ID == mac && p.Alive {
			return nil
		}
	}
	return fmt.Errorf("module %s at %d/%d is not heard", mac, rc.Bia, rc.Slot)
}

// Distribute implements module.Stack. A device's changes go one Set per
// varbind; a module's go together, in one Set (more only when long
// strings overflow a frame), which it applies whole or not at all: its IP
// configuration first, so that it is never split from itself.
func (m *Member) Distribute(rcs []module.RemoteChange, done func(error)) {
	var changes []configrpc.Change
	type group struct {
		t        configmsg.Target
		do, undo []configmsg.Item
		names    []string
	}
	var groups []*group
	byMAC := map[ident.MAC]*group{}
	for _, rc := range rcs {
		if !rc.Module {
			t := configmsg.Target{Kind: configmsg.KindDevice, Slot: ident.At(ident.Cabinet(rc.Bia), rc.Slot)}
			changes = append(changes, configrpc.Change{Do: configmsg.SetOf(t, rc.DoItem()), Undo: configmsg.SetOf(t, rc.Inverse().DoItem()), Name: rc.Name})
			continue
		}
		mac, ok := m.peerAt(ident.At(ident.Cabinet(rc.Bia), rc.Slot))
		if !ok {
			if done != nil {
				done(fmt.Errorf("no other module of the stack sits at %d/%d", rc.Bia, rc.Slot))
			}
			return
		}
		g := byMAC[mac]
		if g == nil {
			g = &group{t: configmsg.Target{Kind: configmsg.KindModule, MAC: mac}}
			byMAC[mac] = g
			groups = append(groups, g)
		}
		do, undo := rc.DoItem(), rc.Inverse().DoItem()
		if ipObject(rc.Object) {
			g.do, g.undo, g.names = append([]configmsg.Item{do}, g.do...), append([]configmsg.Item{undo}, g.undo...), append([]string{rc.Name}, g.names...)
		} else {
			g.do, g.undo, g.names = append(g.do, do), append(g.undo, undo), append(g.names, rc.Name)
		}
	}
	for _, g := range groups {
		for lo := 0; lo < len(g.do); {
			hi := lo + 1 // at least one item a Set; the largest fits a frame
			for hi < len(g.do) && hi-lo < configmsg.MaxItems &&
				max(configmsg.SetSize(g.do[lo:hi+1]), configmsg.SetSize(g.undo[lo:hi+1])) <= backplane.MaxPayload {
				hi++
			}
			c := configrpc.Change{Do: configmsg.SetOf(g.t, g.do[lo:hi]...), Undo: configmsg.SetOf(g.t, g.undo[lo:hi]...),
				Name: strings.Join(g.names[lo:hi], "+")}
			for _, it := range g.do[lo:hi] {
				if it.Object == configmsg.ObjSaveConfig && it.Int == 1 { // saveConfig(1)
					c.Timeout = m.cfg.SaveAckTimeout
				}
			}
			changes = append(changes, c)
			lo = hi
		}
	}
	if done == nil {
		m.rpc.Distribute(time.Now(), changes, nil)
		return
	}
	m.rpc.Distribute(time.Now(), changes, func(err error) {
		for _, rc := range rcs {
			log := m.log.WithFields(logrus.Fields{"object": rc.Name, "bia": rc.Bia, "slot": rc.Slot, "value": rc.New.String()})
			if err != nil {
				log.WithField("reason", err.Error()).Warn("set not distributed")
			} else {
				log.Info("set distributed and acknowledged")
			}
		}
		done(err)
	})
}

func ipObject(o configmsg.Object) bool {
	return o == configmsg.ObjIPAddress || o == configmsg.ObjSubnetMask || o == configmsg.ObjGateway
}

// configSet applies a Set the Primary distributed, if it is for this
// module, and acknowledges it: all its items as one SNMP Set on the module
// would (the same rules, the negotiation told, SaveConfig written before
// the Ack), or none.
func (m *Member) configSet(now time.Time, f backplane.Frame) {
	s, err := configmsg.UnmarshalSet(f.Payload)
	if err != nil {
		m.log.WithError(err).WithField("reason", "malformed").Warn("config set dropped")
		return
	}
	if s.Target.Kind != configmsg.KindModule || s.Target.MAC != m.mac {
		return // another's: the Primary's traffic, listened in on
	}
	from := ident.MAC(f.From)
	primary := false
	for _, p := range m.node.Peers() {
		if p.ID == from && p.Alive && p.Advert.Role == negotiation.Primary {
			primary = true
		}
	}
	items := s.Items()
	names := make([]string, len(items))
	values := make([]string, len(items))
	for i, it := range items {
		if names[i] = m.mod.ColumnName(it.Object); names[i] == "" {
			names[i] = fmt.Sprintf("object-%d", it.Object)
		}
		values[i] = itemString(it)
	}
	fields := logrus.Fields{"peer": from.String(), "object": strings.Join(names, "+"), "value": strings.Join(values, " ")}
	status, why := configmsg.OK, ""
	switch {
	case !primary:
		status, why = configmsg.Refused, configmsg.Refused.String()
	case m.applied(s.ID):
		// The copy from the other path: applied already, acknowledged again.
	default:
		if status, why = m.mod.ApplyFromPrimary(items); status == configmsg.OK {
			m.remember(s.ID)
			m.rowDirty = true
			m.log.WithFields(fields).Info("set by the Primary")
		}
	}
	if status != configmsg.OK {
		m.log.WithFields(fields).WithField("reason", why).Warn("set from the backplane refused")
	}
	_ = m.tr.Send(backplane.TypeConfigAck, 0, configmsg.MarshalAck(configmsg.Ack{ID: s.ID, Target: s.Target, Status: status}))
}

func itemString(it configmsg.Item) string {
	switch it.Type {
	case configmsg.Octets:
		return fmt.Sprintf("%q", it.Bytes)
	case configmsg.IPAddress:
		if len(it.Bytes) == 4 {
			return fmt.Sprintf("%d.%d.%d.%d", it.Bytes[0], it.Bytes[1], it.Bytes[2], it.Bytes[3])
		}
	}
	return fmt.Sprint(it.Int)
}

func (m *Member) applied(id uint32) bool {
	for i := 0; i < m.nseen && i < len(m.seen); i++ {
		if m.seen[i] == id {
			return true
		}
	}
	return false
}

func (m *Member) remember(id uint32) {
	m.seen[m.nseen%len(m.seen)] = id
	m.nseen++
}
