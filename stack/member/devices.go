package member

import (
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/device"
	"github.com/cpsmm/cpsmm/stack/transport"
)

// Devices configures what a member knows of the stack devices: the Primary
// solicits every slot of every cabinet (but the management modules') each
// Poll, and every member keeps its MIB current from the reports it hears.
type Devices struct {
	Poll     time.Duration // zero: no devices (a stack without them)
	Cabinets []Cabinet
	// Managers are the management modules' slots: never solicited.
	Managers map[Location]bool
	// Aggregation converters, solicited by the Primary over Ethernet.
	Aggregation map[Location]netip.AddrPort
	// Notify sends a notification (snmpTrapOID first); only the Primary's
	// member calls it. It must not block for long.
	Notify func(vbs []smi.VarBind)
}

// Cabinet is one cabinet as the stack file declares it.
type Cabinet struct {
	Bia      int32
	ModelOID smi.OID
	Model    string // e.g. cpsmc1800
	Detail   string // its detail table prefix (cpsMc1800), or ""
	Slots    int32
	Sequence int32 // position in the stack (cpsCabinetSequence)
}

// slotView is what a member last heard of a slot.
type slotView struct {
	typ   uint8
	fault int32
	heard time.Time
	ether bool // an aggregation converter, heard over Ethernet
}

// cabView is what a member last heard of a cabinet.
type cabView struct {
	present  bool
	ps1, ps2 int32
	power    []byte // per slot, on(1)/off(2)
	heard    time.Time
}

// devState is the member's device cache; only the Run loop touches it.
type devState struct {
	slots   map[Location]*slotView
	cabs    map[int32]*cabView
	traffic time.Time // the Primary's traffic last heard (or, Primary, answered)
	next    time.Time // next poll
	polling bool
	clean   map[Location]bool // last CacheClean written per converter row
	cols    map[uint8]map[uint32]*mib.Object
	ownDirt bool
	cat     *catalog.Catalog // the product ids of the slots' types

	solicits atomic.Uint64 // solicitations this member sent
	reports  atomic.Uint64 // reports it heard
}

// Solicitations returns how many solicitations this member has sent.
func (m *Member) Solicitations() uint64 { return m.dev.solicits.Load() }

// poll solicits every slot when this member is Primary, once a Poll; and
// turns caches dirty when the Primary's traffic has stopped.
func (m *Member) pollTick(now time.Time, primary bool) {
	d := &m.cfg.Devices
	if d.Poll == 0 {
		return
	}
	if primary && !m.dev.polling {
		m.dev.polling, m.dev.next = true, now // within one poll interval of taking over: at once
		m.log.Info("Primary: polling the stack devices")
	} else if !primary && m.dev.polling {
		m.dev.polling = false
		m.log.Info("no longer Primary: polling stopped")
	}
	if primary && !now.Before(m.dev.next) {
		m.dev.next = now.Add(d.Poll)
		for _, c := range d.Cabinets {
			m.solicit(c.Bia, 0)
			for s := int32(1); s <= c.Slots; s++ {
				loc := Location{c.Bia, s}
				if d.Managers[loc] {
					continue
				}
				if addr, ok := d.Aggregation[loc]; ok {
					m.dev.solicits.Add(1)
					_ = m.tr.SendTo(addr, backplane.TypeSolicit, device.MarshalSolicit(device.Solicit{Bia: uint16(c.Bia), Slot: uint16(s)}))
				}
				m.solicit(c.Bia, s)
			}
		}
	}
	m.cacheClean(now)
}

func (m *Member) solicit(bia, slot int32) {
	m.dev.solicits.Add(1)
	_ = m.tr.Send(backplane.TypeSolicit, 0, device.MarshalSolicit(device.Solicit{Bia: uint16(bia), Slot: uint16(slot)}))
}

// stale is how long without a report a cache entry stays clean.
func (m *Member) stale() time.Duration { return 3 * m.cfg.Devices.Poll }

// cacheClean turns converter rows (and the module's own CacheClean) dirty
// when nothing has been heard of them for three poll intervals.
func (m *Member) cacheClean(now time.Time) {
	st := m.cfg.Module.Store()
	for loc, v := range m.dev.slots {
		if v.ether && now.Sub(v.heard) >= m.stale() {
			// An aggregation converter that stopped answering is gone.
			delete(m.dev.slots, loc)
			m.putModel(loc, device.Empty)
			continue
		}
		if v.typ != device.Cettf100 && v.typ != device.Cfetf100 {
			continue
		}
		clean := now.Sub(v.heard) < m.stale()
		if prev, ok := m.dev.clean[loc]; !ok || prev != clean {
			m.dev.clean[loc] = clean
			_ = st.Put(device.TypeName(v.typ)+"CacheClean", smi.Integer(cleanDirty(clean)), uint32(loc.Bia), uint32(loc.Slot))
		}
	}
	dirty := now.Sub(m.dev.traffic) >= m.stale()
	if dirty != m.dev.ownDirt {
		m.dev.ownDirt = dirty
		m.cfg.Module.SetCacheClean(!dirty)
		m.log.WithField("clean", !dirty).Info("device cache " + map[bool]string{true: "dirty: the Primary's traffic stopped", false: "clean"}[dirty])
	}
}

func cleanDirty(clean bool) int32 {
	if clean {
		return 1
	}
	return 2
}

// heardSolicit notes the Primary's traffic on the bus.
func (m *Member) heardSolicit(now time.Time) { m.dev.traffic = now }

// report takes a device's or a cabinet's report: into the MIB, and, on
// the Primary, a notification for what changed.
func (m *Member) report(now time.Time, path transport.Path, f backplane.Frame, primary bool) {
	r, err := device.UnmarshalReport(f.Payload)
	if err != nil {
		m.log.WithError(err).Warn("device report dropped")
		return
	}
	m.dev.reports.Add(1)
	m.dev.traffic = now
	if r.Kind == device.KindCabinet {
		m.cabinetReport(now, r, primary)
		return
	}
	loc := Location{int32(r.Bia), int32(r.Slot)}
	if m.cfg.Devices.Managers[loc] || m.cabinet(loc.Bia) == nil {
		return
	}
	if path == transport.Ethernet {
		if r.Type != device.Aggregation {
			return
		}
	} else if r.Type == device.Aggregation {
		return // never on the backplane
	}
	prev, known := m.dev.slots[loc]
	if r.Type == device.Empty && known && prev.ether && now.Sub(prev.heard) < m.stale() {
		return // the backplane does not see the aggregation converter
	}
	v := &slotView{typ: r.Type, heard: now, ether: path == transport.Ethernet}
	st := m.cfg.Module.Store()
	b, s := uint32(loc.Bia), uint32(loc.Slot)
	if known && prev.typ != r.Type && (prev.typ == device.Cettf100 || prev.typ == device.Cfetf100) {
		st.Delete(device.TypeName(prev.typ)+"Entry", b, s)
		delete(m.dev.clean, loc)
	}
	if r.Type == device.Cettf100 || r.Type == device.Cfetf100 {
		name := device.TypeName(r.Type)
		_ = st.Put(name+"BiaIndex", smi.Integer(loc.Bia), b, s)
		_ = st.Put(name+"SlotIndex", smi.Integer(loc.Slot), b, s)
		cols := m.columns(r.Type)
		for _, it := range r.Items {
			o, ok := cols[uint32(it.Tag)]
			if !ok || it.Value.Type != o.Syntax.Base {
				continue
			}
			_ = st.Put(o.Name, it.Value, b, s)
			if strings.HasSuffix(o.Name, "Fault") {
				v.fault = it.Value.Int
			}
		}
		_ = st.Put(name+"CacheClean", smi.Integer(1), b, s)
		m.dev.clean[loc] = true
	}
	m.putModel(loc, r.Type)
	m.dev.slots[loc] = v
	if !primary || !known {
		return // the first word of a slot is no change; only the Primary notifies
	}
	switch {
	case prev.typ == device.Empty && r.Type != device.Empty:
		m.notify("pSDeviceInserted", m.slotVarbinds(loc, r.Type))
	case prev.typ != device.Empty && r.Type == device.Empty:
		m.notify("pSDeviceRemoved", m.slotVarbinds(loc, prev.typ))
	case prev.fault != 1 && v.fault == 1 && prev.typ == r.Type:
		m.notify("pSError", m.slotVarbinds(loc, r.Type))
	case prev.fault == 1 && v.fault != 1 && prev.typ == r.Type:
		m.notify("pSErrorClear", m.slotVarbinds(loc, r.Type))
	}
}

// columns returns a converter type's columns by number (looked up once:
// every report needs them).
func (m *Member) columns(typ uint8) map[uint32]*mib.Object {
	if c, ok := m.dev.cols[typ]; ok {
		return c
	}
	c := map[uint32]*mib.Object{}
	for _, o := range device.Columns(m.cfg.Module.Store().Registry(), typ) {
		c[o.OID[len(o.OID)-1]] = o
	}
	m.dev.cols[typ] = c
	return c
}

func (m *Member) cabinet(bia int32) *Cabinet {
	for i := range m.cfg.Devices.Cabinets {
		if m.cfg.Devices.Cabinets[i].Bia == bia {
			return &m.cfg.Devices.Cabinets[i]
		}
	}
	return nil
}

// putModel writes a slot's cpsModuleTable row.
func (m *Member) putModel(loc Location, typ uint8) {
	st := m.cfg.Module.Store()
	b, s := uint32(loc.Bia), uint32(loc.Slot)
	_ = st.Put("cpsModuleBiaIndex", smi.Integer(loc.Bia), b, s)
	_ = st.Put("cpsModuleSlotIndex", smi.Integer(loc.Slot), b, s)
	_ = st.Put("cpsModuleModel", smi.ObjectID(m.dev.cat.Product(typ)), b, s)
}

func (m *Member) slotVarbinds(loc Location, typ uint8) []smi.VarBind {
	st := m.cfg.Module.Store()
	b, s := uint32(loc.Bia), uint32(loc.Slot)
	return []smi.VarBind{
		{Name: st.InstanceOID("cpsModuleBiaIndex", b, s), Value: smi.Integer(loc.Bia)},
		{Name: st.InstanceOID("cpsModuleSlotIndex", b, s), Value: smi.Integer(loc.Slot)},
		{Name: st.InstanceOID("cpsModuleModel", b, s), Value: smi.ObjectID(m.dev.cat.Product(typ))},
	}
}

// cabinetReport writes a cabinet's rows (or removes them).
func (m *Member) cabinetReport(now time.Time, r device.Report, primary bool) {
	c := m.cabinet(int32(r.Bia))
	if c == nil {
		return
	}
	st := m.cfg.Module.Store()
	b := uint32(c.Bia)
	prev, known := m.dev.cabs[c.Bia]
	v := &cabView{present: r.Type == 1, heard: now, ps1: 1, ps2: 1}
	if !v.present {
		st.Delete("cpsCabinetEntry", b)
		if c.Detail != "" {
			st.Delete(c.Detail+"Entry", b)
		}
		for s := int32(1); s <= c.Slots; s++ {
			loc := Location{c.Bia, s}
			st.Delete("cpsSlotPwrEntry", b, uint32(s))
			if m.cfg.Devices.Managers[loc] {
				continue
			}
			st.Delete("cpsModuleEntry", b, uint32(s))
			st.Delete("cettf100Entry", b, uint32(s))
			st.Delete("cfetf100Entry", b, uint32(s))
			delete(m.dev.slots, loc)
			delete(m.dev.clean, loc)
		}
	} else {
		_ = st.Put("cpsCabinetBiaIndex", smi.Integer(c.Bia), b)
		_ = st.Put("cpsCabinetModel", smi.ObjectID(c.ModelOID), b)
		_ = st.Put("cpsCabinetSequence", smi.Integer(c.Sequence), b)
		if c.Detail != "" {
			_ = st.Put(c.Detail+"BiaIndex", smi.Integer(c.Bia), b)
			_ = st.Put(c.Detail+"Description", smi.String(strings.ToUpper(c.Model)+" Point System chassis"), b)
			_ = st.Put(c.Detail+"MRevision", smi.Integer(1), b)
		}
		for _, it := range r.Items {
			switch it.Tag {
			case device.TagDescription:
				_ = st.Put("cpsCabinetDescription", it.Value, b)
			case device.TagPS1, device.TagPS2:
				n := "1"
				if it.Tag == device.TagPS2 {
					n, v.ps2 = "2", it.Value.Int
				} else {
					v.ps1 = it.Value.Int
				}
				if c.Detail != "" {
					_ = st.Put(c.Detail+"PSPower"+n, it.Value, b)
					_ = st.Put(c.Detail+"PSInUse"+n, smi.Integer(it.Value.Int), b) // in use while powered
				}
			case device.TagSlotPower:
				v.power = it.Value.Bytes
				for i, p := range it.Value.Bytes {
					s := uint32(i + 1)
					_ = st.Put("cpsSlotPwrBiaIndex", smi.Integer(c.Bia), b, s)
					_ = st.Put("cpsSlotPwrSlotIndex", smi.Integer(int32(s)), b, s)
					_ = st.Put("cpsSlotPwrState", smi.Integer(int32(p)), b, s)
					if _, ok := st.Value("cpsModuleModel", b, s); !ok {
						m.putModel(Location{c.Bia, int32(s)}, device.Empty)
					}
				}
			case device.TagGroupCtrl:
				_ = st.Put("cpsGroupCtrl", it.Value, 0)
			}
		}
	}
	m.dev.cabs[c.Bia] = v
	if !primary || !known {
		return
	}
	vbs := []smi.VarBind{
		{Name: st.InstanceOID("cpsCabinetBiaIndex", b), Value: smi.Integer(c.Bia)},
		{Name: st.InstanceOID("cpsCabinetModel", b), Value: smi.ObjectID(c.ModelOID)},
	}
	switch {
	case prev.present && !v.present:
		m.notify("pSCabinetRemoved", vbs)
	case !prev.present && v.present:
		m.notify("pSCabinetAdded", vbs)
	case v.present && c.Detail != "" && ((prev.ps1 == 1 && v.ps1 != 1) || (prev.ps2 == 1 && v.ps2 != 1)):
		m.notify("pSPowerLost", []smi.VarBind{
			{Name: st.InstanceOID(c.Detail+"BiaIndex", b), Value: smi.Integer(c.Bia)},
			{Name: st.InstanceOID(c.Detail+"PSPower1", b), Value: smi.Integer(v.ps1)},
			{Name: st.InstanceOID(c.Detail+"PSPower2", b), Value: smi.Integer(v.ps2)},
		})
	}
	// A converter whose slot power comes back on starts cold.
	for i := range v.power {
		loc := Location{c.Bia, int32(i + 1)}
		if i < len(prev.power) && prev.power[i] == 2 && v.power[i] == 1 {
			if sv, ok := m.dev.slots[loc]; ok && sv.typ != device.Empty {
				m.notify("pSDeviceColdStart", m.slotVarbinds(loc, sv.typ))
			}
		}
	}
}

// notify queues a notification: snmpTrapOID.0 (and sysUpTime.0 for the
// trap managers is the sender's business), the objects, and the sending
// module's name (cpsEmuModuleName.0).
func (m *Member) notify(name string, objs []smi.VarBind) {
	st := m.cfg.Module.Store()
	reg := st.Registry()
	vbs := append([]smi.VarBind{{Name: snmpTrapOID, Value: smi.ObjectID(reg.MustLookup(name).OID)}}, objs...)
	if v, ok := st.Value("cpsEmuModuleName", 0); ok {
		vbs = append(vbs, smi.VarBind{Name: st.InstanceOID("cpsEmuModuleName", 0), Value: v})
	}
	m.log.WithFields(logrus.Fields{"notification": name, "role": "primary"}).Info("notification sent")
	if m.cfg.Devices.Notify != nil {
		m.cfg.Devices.Notify(vbs)
	}
}

var snmpTrapOID = smi.MustOID("1.3.6.1.6.3.1.1.4.1.0")
