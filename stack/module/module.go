package module

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/mib/smi"
)

// Module is one emulated CPSMM100 serving its view from a mib.Store.
//
// One goroutine, the module's loop, is the only writer of the view: the
// lone module's Run, or in a stack the member's loop. SNMP Sets reach the
// loop through Handler (reads go straight to the store); everything the
// loop's owner learns (roles, peers, links, devices) it writes through the
// methods below, which must be called on the loop only.
type Module struct {
	log      logrus.FieldLogger
	store    *mib.Store
	obj      *Objects
	cat      *catalog.Catalog
	stateDir string
	version  string
	base     Config   // the configuration the process was started with
	own      []uint32 // the module's own row index (BiaIndex, SlotIndex)
	cols     []column // the cpsmm100Table columns the stack carries

	// peers: the other modules' uptimes (AddPeer makes them before the
	// loop runs; the loop writes their atomics, readers compute from them).
	peers map[[2]int32]*peerClock

	booted   atomic.Int64 // unix nanos of the last (re)start
	saves    atomic.Uint32
	sessions atomic.Pointer[func() uint64]
	solicits atomic.Pointer[func() uint64]
	notes    atomic.Pointer[func() NotifyStatus]
	resets   chan struct{}
	settings chan struct{} // a Set ended: settings may have changed

	// In a stack the IsPrimary cells are live: yes only while the loop's
	// lease holds, so that a module resumed after a pause (SIGSTOP) never
	// answers yes from before it, even ahead of its loop's first tick.
	primary    atomic.Bool
	leaseUntil atomic.Int64 // unix nanos

	sets chan *SetRequest // SNMP Set phases for the loop
	done chan struct{}    // closed when the loop has stopped

	inStack bool // the module runs in a stack (Options.Stack)

	// Loop-owned state.
	stack    Stack      // what the module defers to in a stack (JoinStack)
	role     *roleState // what the stack last decided (stack only)
	link     bool       // Ethernet link (the link-down fault)
	dirty    bool       // the device cache is stale (cpsmm100CacheClean)
	monRows  int        // rows of cpsEmuIpMonTable written (ApplyMonitor)
	undoSave *snapshot  // the saved file before the last SaveConfig, for UndoSet
	prevPrim string     // cpsEmuPreviousPrimary
	reason   string     // cpsEmuRoleChangeReason
	pending  map[uint64]*pendingCommit
}

type roleState struct{ primary, can bool }

// Options configure New.
type Options struct {
	Config   Config
	StateDir string // where SaveConfig writes; empty disables saving
	Version  string // emulator version for cpsEmuVersion
	Log      logrus.FieldLogger
	Registry *mib.Registry // default mib.DefaultRegistry()
	// Stack: the module runs in a stack (it will JoinStack before its loop
	// runs): the negotiation decides its role, and its cabinets come from
	// the device cache.
	Stack bool
}

// New builds a module: the start configuration, overlaid with the settings
// saved in the state directory if there are any.
func New(o Options) (*Module, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = logrus.New()
	}
	if o.Registry == nil {
		o.Registry = mib.DefaultRegistry()
	}
	objs, err := ResolveObjects(o.Registry)
	if err != nil {
		return nil, err
	}
	cat, err := catalog.New(o.Registry)
	if err != nil {
		return nil, err
	}
	m := &Module{
		log:   o.Log.WithFields(logrus.Fields{"module": o.Config.Name, "bia": o.Config.Bia, "slot": o.Config.Slot}),
		store: mib.NewStore(o.Registry), obj: objs, cat: cat, stateDir: o.StateDir, version: o.Version,
		base: o.Config, inStack: o.Stack, own: []uint32{uint32(o.Config.Bia), uint32(o.Config.Slot)}, link: true,
		resets: make(chan struct{}, 1), settings: make(chan struct{}, 1), sets: make(chan *SetRequest), done: make(chan struct{}),
		pending: map[uint64]*pendingCommit{}, peers: map[[2]int32]*peerClock{},
	}
	m.cols = objs.columns()
	zero := func() uint64 { return 0 }
	m.sessions.Store(&zero)
	m.solicits.Store(&zero)
	own := m.ownNotifyStatus
	m.notes.Store(&own)
	if err := m.load(); err != nil {
		return nil, err
	}
	m.store.SetPolicy(policy{m})
	return m, nil
}

// Store returns the module's MIB view. Readers may use it freely; writes
// go through the loop.
func (m *Module) Store() *mib.Store { return m.store }

// Objects returns the module's resolved object handles.
func (m *Module) Objects() *Objects { return m.obj }

// Own returns the module's own row index (BiaIndex, SlotIndex).
func (m *Module) Own() []uint32 { return slices.Clone(m.own) }

// Resets returns a channel that receives after each Reset completes.
func (m *Module) Resets() <-chan struct{} { return m.resets }

// SetSessionCounter makes cpsEmuAgentxSessions report fn().
func (m *Module) SetSessionCounter(fn func() uint64) { m.sessions.Store(&fn) }

// SetSolicitationCounter makes cpsEmuSolicitations report fn().
func (m *Module) SetSolicitationCounter(fn func() uint64) { m.solicits.Store(&fn) }

// SettingsChanged receives after a Set of the module ended (committed or
// not) or the module was reset: its settings (the trap managers and
// interval among them) may have changed. One receiver.
func (m *Module) SettingsChanged() <-chan struct{} { return m.settings }

// NoteSettingsChanged wakes the SettingsChanged receiver; it never waits.
// Whatever changes the module's own settings outside an SNMP Set of it
// calls it.
func (m *Module) NoteSettingsChanged() {
	select {
	case m.settings <- struct{}{}:
	default:
	}
}

// ManagerRow is one row of cpsEmuTrapMgrTable.
type ManagerRow struct {
	Addr    netip.Addr
	State   int32  // cpsEmuTrapMgrState
	LastAck uint32 // the module's uptime at the last acknowledgement (centiseconds), 0: never
	Misses  uint32
	Sent    uint32
	Acked   uint32
	Queued  uint32
	Dropped uint32
}

// NotifyStatus is what the module's notifier shows in the MIB:
// cpsEmuHeartbeats, cpsEmuNotifyQueued, cpsEmuNotifyDropped and the
// cpsEmuTrapMgrTable.
type NotifyStatus struct {
	Heartbeats, Queued, Dropped uint32
	Managers                    [4]ManagerRow
}

// SetNotifyStatus makes the notifier's objects report fn(), which is
// called on the reader's goroutine (it must be cheap and safe for
// concurrent use).
func (m *Module) SetNotifyStatus(fn func() NotifyStatus) { m.notes.Store(&fn) }

// ownNotifyStatus is what the notifier's objects show with no notifier:
// the trap managers of the module's row, keepalive off.
func (m *Module) ownNotifyStatus() NotifyStatus {
	var st NotifyStatus
	for i, a := range m.TrapManagers() {
		st.Managers[i] = ManagerRow{Addr: a, State: mib.TrapMgrUnconfigured}
		if a.IsValid() && !a.IsUnspecified() {
			st.Managers[i].State = mib.TrapMgrKeepaliveOff
		}
	}
	return st
}

// TrapManagers reads the module's own cpsmm100SNMPTrapMgr…Mgr4 (any
// goroutine).
func (m *Module) TrapManagers() [4]netip.Addr {
	var out [4]netip.Addr
	for i, h := range []mib.IP{m.obj.MM.TrapMgr, m.obj.MM.TrapMgr2, m.obj.MM.TrapMgr3, m.obj.MM.TrapMgr4} {
		if v, ok := m.store.Read(h.Handle, m.own...); ok {
			out[i] = v.Addr()
		}
	}
	return out
}

// TrapInterval reads the module's own cpsmm100SNMPTrapInterval in seconds
// (any goroutine).
func (m *Module) TrapInterval() int32 {
	v, _ := m.store.Read(m.obj.MM.TrapInterval.Handle, m.own...)
	return v.Int
}

// Uptime is the module's cpsmm100SysUpTime, in centiseconds (any
// goroutine).
func (m *Module) Uptime() uint32 {
	return uint32(time.Since(time.Unix(0, m.booted.Load())) / (10 * time.Millisecond))
}

// populateNotify writes the notifier's objects as live cells.
func (m *Module) populateNotify() {
	s, o, notes := m.store, m.obj, &m.notes
	get := func() NotifyStatus { return (*notes.Load())() }
	s.WriteFunc(o.EmuHeartbeats.Handle, func() smi.Value { return smi.Counter32(get().Heartbeats) }, 0)
	s.WriteFunc(o.EmuQueued.Handle, func() smi.Value { return smi.Gauge32(get().Queued) }, 0)
	s.WriteFunc(o.EmuDropped.Handle, func() smi.Value { return smi.Counter32(get().Dropped) }, 0)
	t := o.TrapMgr
	for i := range 4 {
		row := func() ManagerRow { return get().Managers[i] }
		idx := uint32(i + 1)
		s.WriteFunc(t.Address.Handle, func() smi.Value { return t.Address.Of(row().Addr).Value() }, idx)
		s.WriteFunc(t.State.Handle, func() smi.Value { return smi.Integer(row().State) }, idx)
		s.WriteFunc(t.LastAck.Handle, func() smi.Value { return smi.TimeTicks(row().LastAck) }, idx)
		s.WriteFunc(t.Misses.Handle, func() smi.Value { return smi.Gauge32(row().Misses) }, idx)
		s.WriteFunc(t.Sent.Handle, func() smi.Value { return smi.Counter32(row().Sent) }, idx)
		s.WriteFunc(t.Acked.Handle, func() smi.Value { return smi.Counter32(row().Acked) }, idx)
		s.WriteFunc(t.Queued.Handle, func() smi.Value { return smi.Gauge32(row().Queued) }, idx)
		s.WriteFunc(t.Dropped.Handle, func() smi.Value { return smi.Counter32(row().Dropped) }, idx)
	}
}

// snmpTrapOID is snmpTrapOID.0 (RFC 3418), a notification's first varbind.
func snmpTrapOID() smi.OID { return smi.OID{1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0} }

// BecamePrimary records that the module became Primary after prev (a
// module's name; empty: none heard) for reason, in cpsEmuPreviousPrimary
// and cpsEmuRoleChangeReason, and returns the cpsEmuRoleChange
// notification (snmpTrapOID.0 first). Loop only.
func (m *Module) BecamePrimary(prev, reason string) []smi.VarBind {
	o := m.obj
	m.prevPrim, m.reason = prev, reason
	name, _ := m.store.Read(o.EmuName.Handle, 0)
	pc, rc := o.EmuPrevPrimary.Of(prev), o.EmuReason.Of(reason)
	m.store.Write([]uint32{0}, pc, rc)
	return []smi.VarBind{
		{Name: snmpTrapOID(), Value: smi.ObjectID(o.RoleChange.OID())},
		{Name: o.EmuName.OID(0), Value: name},
		o.EmuPrevPrimary.VarBind(pc, 0),
		o.EmuReason.VarBind(rc, 0),
	}
}

// Heartbeat returns the cpsEmuHeartbeat notification of heartbeat n
// (snmpTrapOID.0 first). Any goroutine.
func (m *Module) Heartbeat(n uint32) []smi.VarBind {
	o := m.obj
	name, _ := m.store.Read(o.EmuName.Handle, 0)
	return []smi.VarBind{
		{Name: snmpTrapOID(), Value: smi.ObjectID(o.Heartbeat.OID())},
		{Name: o.EmuName.OID(0), Value: name},
		o.EmuHeartbeats.VarBind(o.EmuHeartbeats.Of(n), 0),
	}
}

// reset restarts the module's state from the saved configuration (or the
// start configuration when nothing was saved), as cpsmm100Reset does. In a
// stack the negotiation is told what the reloaded settings say.
func (m *Module) reset() error {
	if err := m.load(); err != nil {
		return err
	}
	if m.stack != nil {
		m.stack.Reloaded()
	}
	m.log.WithField("reason", "cpsmm100Reset").Info("module reset from saved configuration")
	select {
	case m.resets <- struct{}{}:
	default:
	}
	return nil
}

// load (re)builds the module's own cells from the start configuration and
// saved settings.
func (m *Module) load() error {
	cfg := m.base
	if m.stateDir != "" {
		st, ok, err := LoadSaved(m.stateDir)
		if err != nil {
			return err
		}
		if ok {
			cfg.Settings = st
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("saved configuration in %s: %w", m.stateDir, err)
			}
			m.log.WithField("dir", m.stateDir).Info("loaded saved configuration")
		}
	}
	m.booted.Store(time.Now().UnixNano())
	m.populate(cfg)
	return nil
}

func ip(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.IPv4Unspecified()
	}
	return a
}

// row returns a module's cpsmm100Table row (all but SysUpTime, which only
// the module itself counts) for its configuration cfg, with the role cells
// given.
func (o *Objects) row(cfg Config, primary, can, link, clean bool) []mib.Cell {
	r := &o.MM
	return []mib.Cell{
		r.Bia.Of(cfg.Bia), r.Slot.Of(cfg.Slot), r.Groups.Of(cfg.Groups),
		r.Reset.Of(mib.NoReset), r.SaveConfig.Of(mib.NoSaveConfig),
		r.HwRevision.Of(cfg.HwRevision), r.SwRevision.Of(cfg.SwRevision),
		r.IPAddress.Of(ip(cfg.IPAddress)), r.SubnetMask.Of(ip(cfg.SubnetMask)), r.Gateway.Of(ip(cfg.Gateway)),
		r.IsPrimary.Of(yesNo(primary)), r.WantPrimary.Of(enumValue(wantLabels(), cfg.WantPrimary)),
		r.CanPrimary.Of(yesNo(can)), r.EthernetLink.Of(onOff(link)),
		r.TntRIP.Of(netip.IPv4Unspecified()), r.TntRIPMask.Of(netip.IPv4Unspecified()),
		r.TrapMgr.Of(ip(cfg.TrapManagers[0])), r.TrapInterval.Of(cfg.TrapInterval),
		r.SysContact.Of(cfg.SysContact), r.SysName.Of(cfg.SysName), r.SysLocation.Of(cfg.SysLocation),
		r.CfgMatch.Of(enumValue(cfgMatchLabels(), cfg.CfgMatch)), r.Serial.Of(cfg.Serial),
		r.ICIF.Of(yesNo(!cfg.NotICIF)), // the leftmost management module of its cabinet
		r.MRevision.Of(cfg.MRevision), r.LastGasp.Of(mib.No),
		r.TrapMgr2.Of(ip(cfg.TrapManagers[1])), r.TrapMgr3.Of(ip(cfg.TrapManagers[2])), r.TrapMgr4.Of(ip(cfg.TrapManagers[3])),
		r.CacheClean.Of(cleanDirty(clean)),
	}
}

// populate writes the module's own view for cfg: its row, its scalars and
// the emulator's objects; and, alone, its cabinet (in a stack the cabinets
// are the device cache's, written from the chassis's reports).
func (m *Module) populate(cfg Config) {
	s, o := m.store, m.obj
	primary, can := m.roleFor(ip(cfg.IPAddress), ip(cfg.SubnetMask), ip(cfg.Gateway))
	s.Write(m.own, o.row(cfg, primary, can, m.link, !m.dirty)...)
	booted := &m.booted
	s.WriteFunc(o.MM.SysUpTime.Handle, func() smi.Value {
		return smi.TimeTicks(uint32(time.Since(time.Unix(0, booted.Load())) / (10 * time.Millisecond)))
	}, m.own...)
	mac, _ := net.ParseMAC(cfg.MAC)
	s.Write([]uint32{0}, o.EmuName.Of(cfg.Name), o.EmuMAC.Bytes(mac), o.EmuVersion.Of(m.version),
		o.IsPrimary.Of(yesNo(primary)))
	if m.inStack {
		m.liveRole()
	}
	sessions, saves, solicits := &m.sessions, &m.saves, &m.solicits
	s.WriteFunc(o.EmuSessions.Handle, func() smi.Value { return smi.Counter32(uint32((*sessions.Load())())) }, 0)
	s.WriteFunc(o.EmuSaves.Handle, func() smi.Value { return smi.Counter32(saves.Load()) }, 0)
	s.WriteFunc(o.EmuSolicitations.Handle, func() smi.Value { return smi.Counter32(uint32((*solicits.Load())())) }, 0)
	s.Write([]uint32{0}, o.EmuPrevPrimary.Of(m.prevPrim), o.EmuReason.Of(m.reason))
	m.populateNotify()
	if !m.inStack {
		m.populateCabinet(cfg)
	} else {
		// The module's own slot in cpsModuleTable; the cabinets and the
		// other slots are the device cache's.
		s.Write(m.own, o.Module.Bia.Of(cfg.Bia), o.Module.Slot.Of(cfg.Slot), o.Module.Model.Of(m.cat.ModuleID()))
	}
}

// populateCabinet writes a lone module's cabinet: its slots, their power,
// its summary and detail rows, and cpsGroupCtrl.
func (m *Module) populateCabinet(cfg Config) {
	s, o := m.store, m.obj
	model, _ := m.cat.CabinetModel(cfg.CabinetModel) // Validate checked it
	for i := int32(1); i <= model.Slots; i++ {
		prod := m.cat.EmptyID()
		if i == cfg.Slot {
			prod = m.cat.ModuleID()
		}
		power := mib.On
		if slices.Contains(cfg.SlotPowerOff, i) && i != cfg.Slot {
			power = mib.Off
		}
		idx := []uint32{uint32(cfg.Bia), uint32(i)}
		s.Write(idx, o.Module.Bia.Of(cfg.Bia), o.Module.Slot.Of(i), o.Module.Model.Of(prod),
			o.SlotPwr.Bia.Of(cfg.Bia), o.SlotPwr.Slot.Of(i), o.SlotPwr.State.Of(power))
	}
	b := []uint32{uint32(cfg.Bia)}
	s.Write(b, o.Cabinet.Bia.Of(cfg.Bia), o.Cabinet.Model.Of(model.OID),
		o.Cabinet.Description.Of(cfg.CabinetDescription), o.Cabinet.Sequence.Of(1))
	if d, pw := o.DetailOf(model.Detail); d != nil {
		s.Write(b, d.Bia.Of(cfg.Bia), d.Description.Of(DetailDescription(model, cfg.CabinetDescription)), d.MRevision.Of(1))
		if pw != nil {
			s.Write(b, pw.PSPower1.Of(mib.On), pw.PSInUse1.Of(mib.Yes), pw.PSPower2.Of(mib.Yes), pw.PSInUse2.Of(mib.Yes))
		}
	}
	s.Write([]uint32{0}, o.GroupCtrl.Of(cfg.GroupCtrl))
}

// roleFor returns the role cells' values: in a stack what the negotiation
// last decided; alone, Primary exactly while eligible (link up and a valid
// IP configuration).
func (m *Module) roleFor(a, mask, gw netip.Addr) (primary, can bool) {
	if m.inStack {
		if m.role == nil {
			return false, false
		}
		return m.role.primary, m.role.can
	}
	can = m.link && ipConfigValid(a, mask, gw)
	return can, can
}

// liveRole makes the module's own IsPrimary cells live values: yes while
// the negotiation says Primary and the loop's lease holds.
func (m *Module) liveRole() {
	fn := func() smi.Value {
		// The lease first: a fresh lease is renewed only after the role
		// it covers is stored (member's flush), so the role read after it
		// is at least as new.
		lease := m.leaseUntil.Load()
		return smi.Integer(yesNo(m.primary.Load() && time.Now().UnixNano() < lease))
	}
	m.store.WriteFunc(m.obj.MM.IsPrimary.Handle, fn, m.own...)
	m.store.WriteFunc(m.obj.IsPrimary.Handle, fn, 0)
}

// ApplyRole shows the negotiation's decision: the module's own IsPrimary,
// CanPrimary and cpsIsPrimary. Loop only.
func (m *Module) ApplyRole(primary, can bool) {
	m.primary.Store(primary)
	if m.role != nil && *m.role == (roleState{primary, can}) {
		return
	}
	m.role = &roleState{primary, can}
	m.store.Write(m.own, m.obj.MM.CanPrimary.Of(yesNo(can)))
}

// Renew extends the lease under which the module answers IsPrimary yes
// (when the negotiation says so) until until. The loop renews it each time
// it runs; a loop that stops running (a paused process) lets it run out.
func (m *Module) Renew(until time.Time) { m.leaseUntil.Store(until.UnixNano()) }

// IPValid reports whether the module's current IP configuration lets it
// communicate over Ethernet.
func (m *Module) IPValid() bool { return ipConfigValid(m.currentIP()) }

// WantPrimary returns the module's current cpsmm100WantPrimary.
func (m *Module) WantPrimary() int32 {
	v, _ := m.store.Read(m.obj.MM.WantPrimary.Handle, m.own...)
	return v.Int
}

// SetEthernetLink shows the module's Ethernet link state (the link-down
// fault) in cpsmm100EthernetLink; alone, the role follows. Loop only.
func (m *Module) SetEthernetLink(up bool) {
	m.link = up
	m.store.Write(m.own, m.obj.MM.EthernetLink.Of(onOff(up)))
	if !m.inStack {
		primary, can := m.roleFor(m.currentIP())
		m.store.Write(m.own, m.obj.MM.IsPrimary.Of(yesNo(primary)), m.obj.MM.CanPrimary.Of(yesNo(can)))
		m.store.Write([]uint32{0}, m.obj.IsPrimary.Of(yesNo(primary)))
	}
}

func (m *Module) currentIP() (a, mask, gw netip.Addr) {
	va, _ := m.store.Read(m.obj.MM.IPAddress.Handle, m.own...)
	vm, _ := m.store.Read(m.obj.MM.SubnetMask.Handle, m.own...)
	vg, _ := m.store.Read(m.obj.MM.Gateway.Handle, m.own...)
	return va.Addr(), vm.Addr(), vg.Addr()
}

// SetCacheClean shows whether the module's device cache is current
// (cpsmm100CacheClean clean(1)) or stale (dirty(2)). Loop only.
func (m *Module) SetCacheClean(clean bool) {
	m.dirty = !clean
	m.store.Write(m.own, m.obj.MM.CacheClean.Of(cleanDirty(clean)))
}

// AddPeer gives another module of the stack its row in cpsmm100Table
// (and its slot in cpsModuleTable), from its configuration in the stack
// file, until it is heard: IsPrimary and CanPrimary no(2) and SysUpTime 0
// for now; its Row reports (ApplyPeerRow) bring its real settings and
// uptime. Before the loop runs.
func (m *Module) AddPeer(cfg Config) error {
	idx := []uint32{uint32(cfg.Bia), uint32(cfg.Slot)}
	if slices.Equal(idx, m.own) {
		return fmt.Errorf("module: peer %s sits in this module's own slot %d/%d", cfg.Name, cfg.Bia, cfg.Slot)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("module: peer %s: %w", cfg.Name, err)
	}
	m.store.Write(idx, m.obj.row(cfg, false, false, true, true)...)
	m.store.Write(idx, m.obj.Module.Bia.Of(cfg.Bia), m.obj.Module.Slot.Of(cfg.Slot), m.obj.Module.Model.Of(m.cat.ModuleID()))
	clock := &peerClock{}
	m.peers[[2]int32{cfg.Bia, cfg.Slot}] = clock
	m.store.WriteFunc(m.obj.MM.SysUpTime.Handle, clock.ticks, idx...)
	return nil
}

// PeerView is what a module knows of another Base Management Module of its
// stack, as last heard.
type PeerView struct {
	Bia, Slot         int32
	Primary, Eligible bool
	Want              int32
	EthernetLink      bool // heard over Ethernet within a holdtime
}

// ApplyPeer writes another module's row of cpsmm100Table (as last heard).
// Loop only.
func (m *Module) ApplyPeer(p PeerView) {
	r := &m.obj.MM
	m.store.Write([]uint32{uint32(p.Bia), uint32(p.Slot)},
		r.IsPrimary.Of(yesNo(p.Primary)), r.WantPrimary.Of(p.Want),
		r.CanPrimary.Of(yesNo(p.Eligible)), r.EthernetLink.Of(onOff(p.EthernetLink)))
}

func yesNo(b bool) int32 {
	if b {
		return mib.Yes
	}
	return mib.No
}

func onOff(b bool) int32 {
	if b {
		return mib.On
	}
	return mib.Off
}

func cleanDirty(clean bool) int32 {
	if clean {
		return mib.Clean
	}
	return mib.Dirty
}

// maskBits returns the prefix length of a contiguous mask, or -1.
func maskBits(mask netip.Addr) int {
	b := mask.As4()
	ones, bits := net.IPMask(b[:]).Size()
	if bits == 0 {
		return -1
	}
	return ones
}

// ipConfigValid reports whether address, mask and gateway let the module
// communicate over Ethernet: a unicast address, a contiguous non-zero
// mask, the address neither the subnet's network nor broadcast address,
// and a gateway that is unset (0.0.0.0) or another host of the subnet.
func ipConfigValid(a, mask, gw netip.Addr) bool {
	return !a.IsUnspecified() && unicast(a) && ipConsistent(a, mask, gw) == ""
}

func unicast(a netip.Addr) bool {
	b := a.As4()
	return !a.IsMulticast() && b[0] < 240 && !a.IsUnspecified()
}

// ipConsistent explains what is inconsistent in an IP configuration ("" when
// nothing is). An unset address (0.0.0.0) is consistent with any mask.
func ipConsistent(a, mask, gw netip.Addr) string {
	if a.IsUnspecified() {
		return ""
	}
	bits := maskBits(mask)
	if bits <= 0 {
		return fmt.Sprintf("subnet mask %s is not a contiguous non-zero mask", mask)
	}
	pfx := netip.PrefixFrom(a, bits).Masked()
	bcast := broadcast(pfx)
	if bits <= 30 && (a == pfx.Addr() || a == bcast) {
		return fmt.Sprintf("%s is the network or broadcast address of %s", a, pfx)
	}
	if gw.IsUnspecified() {
		return ""
	}
	if !pfx.Contains(gw) {
		return fmt.Sprintf("gateway %s is outside the module's subnet %s", gw, pfx)
	}
	if gw == a {
		return fmt.Sprintf("gateway %s is the module's own address", gw)
	}
	if bits <= 30 && (gw == pfx.Addr() || gw == bcast) {
		return fmt.Sprintf("gateway %s is the network or broadcast address of %s", gw, pfx)
	}
	return ""
}

func broadcast(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= ^uint32(0) >> p.Bits()
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
