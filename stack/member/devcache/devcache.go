// Package devcache is a stack member's knowledge of the stack devices: as
// Primary it solicits every slot of every cabinet each poll; as any member
// it keeps the MIB's device, cabinet and slot-power rows current from the
// reports it hears, turns them dirty when the reports stop, and (Primary
// only) raises a notification for what changed. It is driven by its
// owner's loop (Tick, Report, Solicited) with the time passed in, and sends
// through an interface: tests run it over an in-memory transport.
package devcache

import (
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/device"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/module"
)

// Sender is what the cache sends through: the backplane (the chassis
// answers the poll; every module hears the answers), and one Ethernet
// address (an aggregation converter).
type Sender interface {
	SendBackplane(typ backplane.Type, payload []byte) error
	SendTo(to netip.AddrPort, typ backplane.Type, payload []byte) error
}

// Cabinet is one cabinet as the stack file declares it.
type Cabinet struct {
	Bia      ident.Cabinet
	Model    module.CabinetModel
	Sequence int32 // position in the stack (cpsCabinetSequence)
}

// Config configures a Cache.
type Config struct {
	Poll time.Duration // zero: no devices (a stack without them)
	// NextPoll is when the poll after one at t falls (nil: t + Poll). A
	// stack puts its polls on the grid of its hellos, so that a poll and
	// its answers share their wake-ups with the adverts.
	NextPoll func(t time.Time) time.Time
	Cabinets []Cabinet
	// Managers are the management modules' slots: never solicited.
	Managers map[ident.Slot]bool
	// Aggregation converters, solicited by the Primary over Ethernet.
	Aggregation map[ident.Slot]netip.AddrPort
	// Notify sends a notification (snmpTrapOID.0 first); only the
	// Primary's cache calls it. It must not block.
	Notify func(vbs []smi.VarBind)
	// Name is the module's name, sent with every notification
	// (cpsEmuModuleName.0).
	Name string
	Log  logrus.FieldLogger
}

// converter are a converter table's objects the cache writes by name.
type converter struct {
	Entry      mib.Entry `mib:"Entry"`
	Bia        mib.Int   `mib:"BiaIndex"`
	Slot       mib.Int   `mib:"SlotIndex"`
	Fault      mib.Int   `mib:"Fault"`
	CacheClean mib.Int   `mib:"CacheClean"`
}

// slotTable is a device type's table as the cache writes it: its entry
// and index columns, and Fault and CacheClean where the table has them
// (cpsmm200Table has neither).
type slotTable struct {
	entry     mib.Entry
	bia, slot mib.Int
	fault     *mib.Int
	clean     *mib.Int
}

type objects struct {
	Cettf100 converter `mib:"cettf100"`
	Cfetf100 converter `mib:"cfetf100"`

	Inserted   mib.Notification `mib:"pSDeviceInserted"`
	Removed    mib.Notification `mib:"pSDeviceRemoved"`
	Error      mib.Notification `mib:"pSError"`
	ErrorClear mib.Notification `mib:"pSErrorClear"`
	ColdStart  mib.Notification `mib:"pSDeviceColdStart"`
	PowerLost  mib.Notification `mib:"pSPowerLost"`
	CabAdded   mib.Notification `mib:"pSCabinetAdded"`
	CabRemoved mib.Notification `mib:"pSCabinetRemoved"`
}

// slotView is what the cache last heard of a slot.
type slotView struct {
	typ   uint8
	fault bool
	heard time.Time
	ether bool          // an aggregation converter, heard over Ethernet
	clean bool          // its CacheClean as last written
	items []device.Item // as last reported (their octets copied)
}

// cabView is what the cache last heard of a cabinet.
type cabView struct {
	heard    time.Time
	ether    bool // an SMACF100 unit, heard over Ethernet
	present  bool
	ps1, ps2 int32
	power    []byte        // per slot, on(1)/off(2)
	items    []device.Item // as last reported (their octets copied)
}

// Cache is a member's device cache; only its owner's loop calls it.
type Cache struct {
	cfg   Config
	log   logrus.FieldLogger
	send  Sender
	mod   *module.Module
	store *mib.Store
	mo    *module.Objects
	obj   objects
	cols  map[uint8]map[uint32]*mib.Object // device columns by number
	types map[uint8]*slotTable             // the device types' tables
	// detailCols are the cabinets' own detail columns by table prefix and
	// number (smacf100Table's settings).
	detailCols map[string]map[uint32]*mib.Object
	reg        *mib.Registry
	cat        *catalog.Catalog

	slots   map[ident.Slot]*slotView
	cabs    map[ident.Cabinet]*cabView
	traffic time.Time // the Primary's traffic last heard (or, Primary, sent)
	next    time.Time // next poll
	polling bool
	dirty   bool // the module's own CacheClean

	solicits atomic.Uint64 // solicitations sent
	reports  atomic.Uint64 // reports heard
}

// New returns the cache of module mod.
func New(cfg Config, mod *module.Module, send Sender, now time.Time) (*Cache, error) {
	reg := mod.Store().Registry()
	c := &Cache{cfg: cfg, log: cfg.Log, send: send, mod: mod, store: mod.Store(), mo: mod.Objects(), reg: reg,
		cols: map[uint8]map[uint32]*mib.Object{}, slots: map[ident.Slot]*slotView{}, cabs: map[ident.Cabinet]*cabView{}, traffic: now}
	if c.log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		c.log = l
	}
	if err := mib.Resolve(reg, &c.obj); err != nil {
		return nil, err
	}
	cat, err := catalog.New(reg)
	if err != nil {
		return nil, err
	}
	c.cat = cat
	mm2 := &c.mo.Cpsmm200
	c.types = map[uint8]*slotTable{
		device.Cettf100:  {c.obj.Cettf100.Entry, c.obj.Cettf100.Bia, c.obj.Cettf100.Slot, &c.obj.Cettf100.Fault, &c.obj.Cettf100.CacheClean},
		device.Cfetf100:  {c.obj.Cfetf100.Entry, c.obj.Cfetf100.Bia, c.obj.Cfetf100.Slot, &c.obj.Cfetf100.Fault, &c.obj.Cfetf100.CacheClean},
		device.Expansion: {mm2.Entry, mm2.Bia, mm2.Slot, nil, nil},
	}
	c.detailCols = map[string]map[uint32]*mib.Object{}
	for _, m := range cat.CabinetModels() {
		cols := map[uint32]*mib.Object{}
		for _, o := range device.DetailColumns(reg, m.Detail) {
			cols[o.OID[len(o.OID)-1]] = o
		}
		c.detailCols[m.Detail] = cols
	}
	for typ := range c.types {
		m := map[uint32]*mib.Object{}
		for _, o := range device.Columns(reg, typ) {
			m[o.OID[len(o.OID)-1]] = o
		}
		c.cols[typ] = m
	}
	return c, nil
}

// Solicitations returns how many solicitations the cache has sent.
func (c *Cache) Solicitations() uint64 { return c.solicits.Load() }

// Reports returns how many device reports the cache has heard.
func (c *Cache) Reports() uint64 { return c.reports.Load() }

// conv returns a device type's table (nil for a type without one).
func (c *Cache) conv(typ uint8) *slotTable { return c.types[typ] }

// stale is how long without a report a cache entry stays clean.
func (c *Cache) stale() time.Duration { return 3 * c.cfg.Poll }

// Deadline is when Tick has something to do next (zero: nothing).
func (c *Cache) Deadline(primary bool) time.Time {
	if c.cfg.Poll == 0 {
		return time.Time{}
	}
	var d time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if primary {
		earliest(c.next)
		if !c.polling {
			// Just became Primary: poll at once. The last time the cache
			// was driven with is past; the wall clock is not its to read.
			return c.traffic
		}
	}
	if !c.dirty {
		earliest(c.traffic.Add(c.stale()))
	}
	for _, v := range c.slots {
		if (v.clean && c.canGoDirty(v.typ)) || v.ether {
			earliest(v.heard.Add(c.stale()))
		}
	}
	for _, v := range c.cabs {
		if v.ether {
			earliest(v.heard.Add(c.stale()))
		}
	}
	return d
}

// canGoDirty reports whether a device type's table has a CacheClean.
func (c *Cache) canGoDirty(typ uint8) bool { cv := c.conv(typ); return cv != nil && cv.clean != nil }

// Tick solicits every slot when the member is Primary, once a poll; and
// turns rows dirty when nothing has been heard of them for three polls.
func (c *Cache) Tick(now time.Time, primary bool) {
	if c.cfg.Poll == 0 {
		return
	}
	if primary && !c.polling {
		c.polling, c.next = true, now // within one poll interval of taking over: at once
		c.log.WithField("role", "primary").Info("polling the stack devices")
	} else if !primary && c.polling {
		c.polling = false
		c.log.WithField("role", "standby").Info("polling stopped")
	}
	if primary && !now.Before(c.next) {
		c.next = now.Add(c.cfg.Poll)
		if c.cfg.NextPoll != nil {
			c.next = c.cfg.NextPoll(now)
		}
		c.traffic = now
		c.poll()
	}
	c.expire(now)
}

// poll solicits the whole stack in one frame (the chassis answers every
// slot but the management modules', in batches), and each aggregation
// converter over Ethernet. The counter counts the slots solicited.
func (c *Cache) poll() {
	for _, cab := range c.cfg.Cabinets {
		if cab.Model.Ethernet {
			// An SMACF100 unit: the unit itself through its first port's
			// address, then each port, all over Ethernet.
			if addr, ok := c.etherAddr(cab); ok {
				c.solicits.Add(1)
				_ = c.send.SendTo(addr, backplane.TypeSolicit, device.MarshalSolicit(device.Solicit{Bia: uint16(cab.Bia)}))
			}
			for s := int32(1); s <= cab.Model.Slots; s++ {
				at := ident.At(cab.Bia, s)
				if addr, ok := c.cfg.Aggregation[at]; ok {
					c.solicits.Add(1)
					_ = c.send.SendTo(addr, backplane.TypeSolicit, device.MarshalSolicit(device.Solicit{Bia: uint16(at.Cabinet), Slot: uint16(at.Slot)}))
				}
			}
			continue
		}
		c.solicits.Add(1) // the cabinet itself
		for s := int32(1); s <= cab.Model.Slots; s++ {
			at := ident.At(cab.Bia, s)
			if c.cfg.Managers[at] {
				continue
			}
			c.solicits.Add(1)
			if addr, ok := c.cfg.Aggregation[at]; ok {
				c.solicits.Add(1)
				_ = c.send.SendTo(addr, backplane.TypeSolicit, device.MarshalSolicit(device.Solicit{Bia: uint16(at.Cabinet), Slot: uint16(at.Slot)}))
			}
		}
	}
	_ = c.send.SendBackplane(backplane.TypeSolicit, device.MarshalSolicit(device.StackPoll()))
}

// etherAddr is where an Ethernet cabinet answers: the address of its
// lowest port.
func (c *Cache) etherAddr(cab Cabinet) (netip.AddrPort, bool) {
	for s := int32(1); s <= cab.Model.Slots; s++ {
		if addr, ok := c.cfg.Aggregation[ident.At(cab.Bia, s)]; ok {
			return addr, true
		}
	}
	return netip.AddrPort{}, false
}

// expire turns converter rows (and the module's own CacheClean) dirty
// when nothing has been heard of them for three polls, and forgets an
// aggregation converter that stopped answering.
func (c *Cache) expire(now time.Time) {
	for at, v := range c.slots {
		old := now.Sub(v.heard) >= c.stale()
		if v.ether && old {
			delete(c.slots, at)
			if cab := c.cabinet(at.Cabinet); cab != nil && cab.Model.Ethernet {
				if cv, seen := c.cabs[at.Cabinet]; !seen || !cv.present {
					// The unit is forgotten too: nothing of it remains.
					c.store.DeleteRow(c.mo.Module.Entry, at.Index()...)
					continue
				}
			}
			c.putModel(at, device.Empty)
			continue
		}
		if cv := c.conv(v.typ); cv != nil && cv.clean != nil && v.clean && old {
			v.clean = false
			c.store.Write(at.Index(), cv.clean.Of(mib.Dirty))
		}
	}
	for bia, v := range c.cabs {
		if v.ether && now.Sub(v.heard) >= c.stale() {
			// An SMACF100 unit no longer heard (this module stopped being
			// Primary, or the unit went silent): a Standby does not see it.
			delete(c.cabs, bia)
			if cab := c.cabinet(bia); cab != nil {
				c.forgetCabinet(cab)
			}
		}
	}
	dirty := now.Sub(c.traffic) >= c.stale()
	if dirty != c.dirty {
		c.dirty = dirty
		c.mod.SetCacheClean(!dirty)
		reason := "reports heard again"
		if dirty {
			reason = "the Primary's traffic stopped"
		}
		c.log.WithFields(logrus.Fields{"clean": !dirty, "reason": reason}).Info("device cache state changed")
	}
}

// Solicited notes the Primary's traffic on the bus.
func (c *Cache) Solicited(now time.Time) { c.traffic = now }

// Report takes a device's or a cabinet's report heard on a path: into
// the MIB, and, on the Primary, a notification for what changed.
func (c *Cache) Report(now time.Time, overEthernet bool, r device.Report, primary bool) {
	c.reports.Add(1)
	c.traffic = now
	if r.Kind == device.KindCabinet {
		c.cabinetReport(now, overEthernet, r, primary)
		return
	}
	at := ident.At(ident.Cabinet(r.Bia), int32(r.Slot))
	cab := c.cabinet(at.Cabinet)
	if c.cfg.Managers[at] || cab == nil || (cab.Model.Ethernet && !overEthernet) {
		return
	}
	if overEthernet != (r.Type == device.Aggregation) {
		return // the aggregation converter is never on the backplane, nothing else on Ethernet
	}
	prev, known := c.slots[at]
	if known && prev.typ == r.Type && prev.ether == overEthernet && (prev.clean || !c.canGoDirty(r.Type)) && sameItems(prev.items, r.Items) {
		// What every poll brings once the stack is settled: nothing to
		// write, nothing to tell (an idle Standby spent a fifth of its CPU
		// rewriting the same cells).
		prev.heard = now
		return
	}
	if r.Type == device.Empty && known && prev.ether && now.Sub(prev.heard) < c.stale() {
		return // the backplane does not see the aggregation converter
	}
	if overEthernet && (!known || !prev.ether) {
		// The first word over Ethernet (a new Primary's first poll): what
		// it found, not a change.
		known = false
	}
	v := &slotView{typ: r.Type, heard: now, ether: overEthernet, items: cloneItems(r.Items)}
	idx := at.Index()
	if known && prev.typ != r.Type {
		if cv := c.conv(prev.typ); cv != nil {
			c.store.DeleteRow(cv.entry, idx...)
		}
	}
	if cv := c.conv(r.Type); cv != nil {
		cells := []mib.Cell{cv.bia.Of(int32(at.Cabinet)), cv.slot.Of(at.Slot)}
		if cv.clean != nil {
			cells = append(cells, cv.clean.Of(mib.Clean))
		}
		cols := c.cols[r.Type]
		for _, it := range r.Items {
			o, ok := cols[uint32(it.Tag)]
			if !ok || it.Value.Type != o.Syntax.Base {
				continue
			}
			if cell, ok := mib.CellOf(o, it.Value); ok {
				cells = append(cells, cell)
			}
			if cv.fault != nil && o == cv.fault.Object() {
				v.fault = it.Value.Int == mib.Yes
			}
		}
		c.store.Write(idx, cells...)
		v.clean = true
	}
	c.putModel(at, r.Type)
	c.slots[at] = v
	if !primary || !known {
		return // the first word of a slot is no change; only the Primary notifies
	}
	switch {
	case prev.typ == device.Empty && r.Type != device.Empty:
		c.notify(c.obj.Inserted, at.Index(), c.slotValues(at, r.Type))
	case prev.typ != device.Empty && r.Type == device.Empty:
		c.notify(c.obj.Removed, at.Index(), c.slotValues(at, prev.typ))
	case !prev.fault && v.fault && prev.typ == r.Type:
		c.notify(c.obj.Error, at.Index(), c.slotValues(at, r.Type))
	case prev.fault && !v.fault && prev.typ == r.Type:
		c.notify(c.obj.ErrorClear, at.Index(), c.slotValues(at, r.Type))
	}
}

func (c *Cache) cabinet(bia ident.Cabinet) *Cabinet {
	for i := range c.cfg.Cabinets {
		if c.cfg.Cabinets[i].Bia == bia {
			return &c.cfg.Cabinets[i]
		}
	}
	return nil
}

// putModel writes a slot's cpsModuleTable row.
func (c *Cache) putModel(at ident.Slot, typ uint8) {
	m := &c.mo.Module
	c.store.Write(at.Index(), m.Bia.Of(int32(at.Cabinet)), m.Slot.Of(at.Slot), m.Model.Of(c.cat.Product(typ)))
}

// slotValues are the values of a slot notification's objects (the
// cpsModuleTable row), by the column's name after its table's prefix.
func (c *Cache) slotValues(at ident.Slot, typ uint8) map[string]smi.Value {
	return map[string]smi.Value{"BiaIndex": smi.Integer(int32(at.Cabinet)), "SlotIndex": smi.Integer(at.Slot),
		"Model": smi.ObjectID(c.cat.Product(typ))}
}

// cabinetReport writes a cabinet's rows (or removes them).
func (c *Cache) cabinetReport(now time.Time, overEthernet bool, r device.Report, primary bool) {
	cab := c.cabinet(ident.Cabinet(r.Bia))
	if cab == nil || cab.Model.Ethernet != overEthernet {
		return // an SMACF100 unit is heard over Ethernet only, the others on the backplane only
	}
	mo := c.mo
	b := cab.Bia.Index()
	detail, power := mo.DetailOf(cab.Model.Detail)
	prev, known := c.cabs[cab.Bia]
	if known && prev.present == (r.Type == device.CabinetPresent) && sameItems(prev.items, r.Items) {
		prev.heard = now
		return // unchanged: nothing to write, nothing to tell
	}
	v := &cabView{present: r.Type == device.CabinetPresent, ps1: mib.On, ps2: mib.Yes, items: cloneItems(r.Items),
		heard: now, ether: overEthernet}
	if !v.present {
		c.forgetCabinet(cab)
	} else {
		cells := []mib.Cell{mo.Cabinet.Bia.Of(int32(cab.Bia)), mo.Cabinet.Model.Of(cab.Model.OID), mo.Cabinet.Sequence.Of(cab.Sequence)}
		var dcells []mib.Cell
		if detail != nil {
			dcells = append(dcells, detail.Bia.Of(int32(cab.Bia)), detail.MRevision.Of(1),
				detail.Description.Of(module.DetailDescription(cab.Model, "")))
		}
		for _, it := range r.Items {
			switch it.Tag {
			case device.TagDescription:
				cells = append(cells, mo.Cabinet.Description.Bytes(it.Value.Bytes))
				if detail != nil {
					dcells = append(dcells, detail.Description.Of(module.DetailDescription(cab.Model, string(it.Value.Bytes))))
				}
			case device.TagPS1:
				v.ps1 = it.Value.Int
				if power != nil {
					dcells = append(dcells, power.PSPower1.Of(v.ps1), power.PSInUse1.Of(inUse(v.ps1 == mib.On)))
				}
			case device.TagPS2:
				v.ps2 = it.Value.Int
				if power != nil {
					dcells = append(dcells, power.PSPower2.Of(v.ps2), power.PSInUse2.Of(inUse(v.ps2 == mib.Yes)))
				}
			case device.TagSlotPower:
				v.power = it.Value.Bytes
				for i, p := range it.Value.Bytes {
					at := ident.At(cab.Bia, int32(i+1))
					c.store.Write(at.Index(), mo.SlotPwr.Bia.Of(int32(cab.Bia)), mo.SlotPwr.Slot.Of(at.Slot), mo.SlotPwr.State.Of(int32(p)))
					if _, ok := c.store.Read(mo.Module.Model.Handle, at.Index()...); !ok {
						c.putModel(at, device.Empty)
					}
				}
			case device.TagGroupCtrl:
				c.store.Write([]uint32{0}, mo.GroupCtrl.Bytes(it.Value.Bytes))
			default:
				if it.Tag >= device.TagDetail && detail != nil {
					if o, ok := c.detailCols[cab.Model.Detail][uint32(it.Tag-device.TagDetail)]; ok {
						if cell, ok := mib.CellOf(o, it.Value); ok {
							dcells = append(dcells, cell)
						}
					}
				}
			}
		}
		c.store.Write(b, cells...)
		if detail != nil {
			c.store.Write(b, dcells...)
		}
		if cab.Model.Ethernet {
			// Its ports are its slots (no slot power).
			for s := int32(1); s <= cab.Model.Slots; s++ {
				at := ident.At(cab.Bia, s)
				if _, ok := c.store.Read(mo.Module.Model.Handle, at.Index()...); !ok {
					c.putModel(at, device.Empty)
				}
			}
		}
	}
	c.cabs[cab.Bia] = v
	if !primary || !known {
		return
	}
	cabValues := map[string]smi.Value{"BiaIndex": smi.Integer(int32(cab.Bia)), "Model": smi.ObjectID(cab.Model.OID)}
	switch {
	case prev.present && !v.present:
		c.notify(c.obj.CabRemoved, b, cabValues)
	case !prev.present && v.present:
		c.notify(c.obj.CabAdded, b, cabValues)
	case v.present && ((prev.ps1 == mib.On && v.ps1 != mib.On) || (prev.ps2 == mib.Yes && v.ps2 != mib.Yes)):
		c.notify(c.obj.PowerLost, b, map[string]smi.Value{
			"BiaIndex": smi.Integer(int32(cab.Bia)), "PSPower1": smi.Integer(v.ps1), "PSPower2": smi.Integer(v.ps2)})
	}
	// A converter whose slot power comes back on starts cold.
	for i := range v.power {
		at := ident.At(cab.Bia, int32(i+1))
		if i < len(prev.power) && int32(prev.power[i]) == mib.Off && int32(v.power[i]) == mib.On {
			if sv, ok := c.slots[at]; ok && sv.typ != device.Empty {
				c.notify(c.obj.ColdStart, at.Index(), c.slotValues(at, sv.typ))
			}
		}
	}
}

// forgetCabinet removes a cabinet's rows, and its slots' but the
// management modules'.
func (c *Cache) forgetCabinet(cab *Cabinet) {
	mo := c.mo
	b := cab.Bia.Index()
	c.store.DeleteRow(mo.Cabinet.Entry, b...)
	if detail, _ := mo.DetailOf(cab.Model.Detail); detail != nil {
		c.store.DeleteRow(detail.Entry, b...)
	}
	for s := int32(1); s <= cab.Model.Slots; s++ {
		at := ident.At(cab.Bia, s)
		c.store.DeleteRow(mo.SlotPwr.Entry, at.Index()...)
		if c.cfg.Managers[at] {
			continue
		}
		c.store.DeleteRow(mo.Module.Entry, at.Index()...)
		for _, t := range c.types {
			c.store.DeleteRow(t.entry, at.Index()...)
		}
		delete(c.slots, at)
	}
}

func inUse(powered bool) int32 {
	if powered {
		return mib.Yes
	}
	return mib.No
}

// snmpTrapOID is snmpTrapOID.0 (RFC 3418), the first varbind of a
// notification.
func snmpTrapOID() smi.OID { return smi.OID{1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0} }

// notify sends notification n: snmpTrapOID.0, the objects its definition
// names, each at index idx and valued by its name after its table's prefix
// ("BiaIndex", "Model", "PSPower1"…), and the sending module's name.
// pSPowerLost so carries the cpsMc1800 columns its definition names at the
// cabinet's index, whatever the cabinet's model.
func (c *Cache) notify(n mib.Notification, idx []uint32, bySuffix map[string]smi.Value) {
	vbs := []smi.VarBind{{Name: snmpTrapOID(), Value: smi.ObjectID(n.Object().OID)}}
	for _, name := range n.Object().Objects {
		o, ok := c.reg.Lookup(name)
		if !ok {
			continue
		}
		for suffix, v := range bySuffix {
			if strings.HasSuffix(name, suffix) {
				vbs = append(vbs, smi.VarBind{Name: o.OID.Append(idx...), Value: v})
			}
		}
	}
	vbs = append(vbs, c.mo.EmuName.VarBind(c.mo.EmuName.Of(c.cfg.Name), 0))
	c.log.WithFields(logrus.Fields{"notification": n.Name(), "role": "primary"}).Info("notification sent")
	if c.cfg.Notify != nil {
		c.cfg.Notify(vbs)
	}
}

// sameItems reports whether two reports' items are the same, in order.
func sameItems(a, b []device.Item) bool {
	return slices.EqualFunc(a, b, func(x, y device.Item) bool { return x.Tag == y.Tag && x.Value.Equal(y.Value) })
}

// cloneItems copies items, octets included: a report may share the
// buffer its frame was read into.
func cloneItems(items []device.Item) []device.Item {
	out := slices.Clone(items)
	for i := range out {
		out[i].Value.Bytes = slices.Clone(out[i].Value.Bytes)
		out[i].Value.OID = slices.Clone(out[i].Value.OID)
	}
	return out
}
