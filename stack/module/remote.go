package module

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/configmsg"
)

// column is a cpsmm100Table column as the stack carries it: its object in
// configmsg, whether the Primary distributes Sets of it to the module the
// row belongs to, and whether a module reports it in its Row.
type column struct {
	h      mib.Handle
	id     configmsg.Object
	set    bool
	report bool
}

// columns lists the cpsmm100Table columns the stack carries. WantPrimary
// is not reported in Rows: the module's adverts carry it.
func (o *Objects) columns() []column {
	r := &o.MM
	return []column{
		{r.WantPrimary.Handle, configmsg.ObjWantPrimary, true, false},
		{r.Groups.Handle, configmsg.ObjGroups, true, true},
		{r.IPAddress.Handle, configmsg.ObjIPAddress, true, true},
		{r.SubnetMask.Handle, configmsg.ObjSubnetMask, true, true},
		{r.Gateway.Handle, configmsg.ObjGateway, true, true},
		{r.TrapMgr.Handle, configmsg.ObjTrapMgr, true, true},
		{r.TrapMgr2.Handle, configmsg.ObjTrapMgr2, true, true},
		{r.TrapMgr3.Handle, configmsg.ObjTrapMgr3, true, true},
		{r.TrapMgr4.Handle, configmsg.ObjTrapMgr4, true, true},
		{r.TrapInterval.Handle, configmsg.ObjTrapInterval, true, true},
		{r.SysContact.Handle, configmsg.ObjSysContact, true, true},
		{r.SysName.Handle, configmsg.ObjSysName, true, true},
		{r.SysLocation.Handle, configmsg.ObjSysLocation, true, true},
		{r.CfgMatch.Handle, configmsg.ObjCfgMatch, true, true},
		{r.SaveConfig.Handle, configmsg.ObjSaveConfig, true, false},
		{r.Reset.Handle, configmsg.ObjReset, true, false},
		{r.HwRevision.Handle, configmsg.ObjHwRevision, false, true},
		{r.SwRevision.Handle, configmsg.ObjSwRevision, false, true},
		{r.Serial.Handle, configmsg.ObjSerialNumber, false, true},
		{r.MRevision.Handle, configmsg.ObjMRevision, false, true},
	}
}

func (m *Module) columnOf(obj *mib.Object) (column, bool) {
	for _, c := range m.cols {
		if c.h.Object() == obj {
			return c, true
		}
	}
	return column{}, false
}

func (m *Module) columnByID(id configmsg.Object) (column, bool) {
	for _, c := range m.cols {
		if c.id == id {
			return c, true
		}
	}
	return column{}, false
}

// ItemOf is the configmsg item of object id with value v.
func ItemOf(id configmsg.Object, v smi.Value) configmsg.Item {
	it := configmsg.Item{Object: id, Type: configmsg.Integer, Int: v.Int}
	switch v.Type {
	case smi.TypeOctetString:
		it.Type, it.Int, it.Bytes = configmsg.Octets, 0, v.Bytes
	case smi.TypeIPAddress:
		it.Type, it.Int, it.Bytes = configmsg.IPAddress, 0, v.Bytes
	}
	return it
}

// valueOf is an item's value as the SNMP value of its type.
func valueOf(it configmsg.Item) smi.Value {
	switch it.Type {
	case configmsg.Octets:
		return smi.OctetString(it.Bytes)
	case configmsg.IPAddress:
		var b [4]byte
		copy(b[:], it.Bytes)
		return smi.IPAddressBytes(b)
	}
	return smi.Integer(it.Int)
}

// ApplyFromPrimary applies to the module's own row the items of a Set the
// Primary distributed, as one SNMP Set on the module itself would: every
// item or none, with the same rules (syntax, the IP configuration judged
// as a whole), the negotiation told (WantPrimary, IP validity), a
// SaveConfig writing config.json before it returns, a Reset after it.
// It returns the status to acknowledge with and, when refused, why.
// Loop only.
func (m *Module) ApplyFromPrimary(items []configmsg.Item) (configmsg.Status, string) {
	vbs := make([]smi.VarBind, 0, len(items))
	for _, it := range items {
		c, ok := m.columnByID(it.Object)
		if !ok || !c.set {
			return configmsg.UnknownObject, fmt.Sprintf("object %d is not settable", it.Object)
		}
		vbs = append(vbs, smi.VarBind{Name: c.h.OID(m.own...), Value: valueOf(it)})
	}
	err := m.store.Set(vbs)
	m.NoteSettingsChanged() // the notifier reads the trap settings again
	if err != nil {
		switch err.Status {
		case smi.CommitFailed, smi.UndoFailed, smi.GenErr, smi.ResourceUnavailable:
			return configmsg.Failed, err.Reason
		}
		return configmsg.BadValue, err.Status.String() + ": " + err.Reason
	}
	return configmsg.OK, ""
}

// RowReport is what the module reports of its own row to the others: its
// uptime and the settings and identity columns. Loop only (it reads the
// loop's own writes).
func (m *Module) RowReport() configmsg.Row {
	r := configmsg.Row{Uptime: m.uptime()}
	for _, c := range m.cols {
		if !c.report {
			continue
		}
		if v, ok := m.store.Read(c.h, m.own...); ok {
			r.Items = append(r.Items, ItemOf(c.id, v))
		}
	}
	return r
}

func (m *Module) uptime() uint32 {
	return uint32(time.Since(time.Unix(0, m.booted.Load())) / (10 * time.Millisecond))
}

// peerClock is another module's uptime as last reported: its SysUpTime
// cell computes from it on the reader's goroutine; the loop writes it.
type peerClock struct {
	booted atomic.Int64 // unix nanos its uptime counts from; 0: not heard yet
	frozen atomic.Int64 // 1 + the ticks it stopped at (not heard any more); 0: running
}

func (c *peerClock) ticks() smi.Value {
	if f := c.frozen.Load(); f > 0 {
		return smi.TimeTicks(uint32(f - 1))
	}
	b := c.booted.Load()
	if b == 0 {
		return smi.TimeTicks(0)
	}
	return smi.TimeTicks(uint32(time.Since(time.Unix(0, b)) / (10 * time.Millisecond)))
}

// ApplyPeerRow writes another module's Row report into its row: every
// reported column whose value its syntax accepts (others are skipped and
// counted), and its uptime. fresh tells that it is the first Row heard
// from that module, or that the module has (re)started since the last: it
// may not know this module's row. Loop only.
func (m *Module) ApplyPeerRow(bia, slot int32, r configmsg.Row) (skipped int, fresh bool) {
	idx := []uint32{uint32(bia), uint32(slot)}
	clock, ok := m.peers[[2]int32{bia, slot}]
	if !ok {
		return len(r.Items), false
	}
	cells := make([]mib.Cell, 0, len(r.Items))
	for _, it := range r.Items {
		c, ok := m.columnByID(it.Object)
		if !ok || !c.report {
			skipped++
			continue
		}
		v := valueOf(it)
		cell, ok := mib.CellOf(c.h.Object(), v)
		if st, _ := mib.CheckValue(c.h.Object(), v); !ok || st != smi.NoError {
			skipped++
			continue
		}
		cells = append(cells, cell)
	}
	m.store.Write(idx, cells...)
	booted := time.Now().Add(-time.Duration(r.Uptime) * 10 * time.Millisecond).UnixNano()
	prev := clock.booted.Swap(booted)
	clock.frozen.Store(0)
	// Its uptime restarted: later than it counted from by more than what
	// the delivery of a Row may vary by.
	fresh = prev == 0 || booted-prev > int64(100*time.Millisecond)
	return skipped, fresh
}

// PeerSilent stops another module's SysUpTime at what it last showed: it
// is no longer heard. Its next Row starts it again. Loop only.
func (m *Module) PeerSilent(bia, slot int32) {
	if c, ok := m.peers[[2]int32{bia, slot}]; ok && c.frozen.Load() == 0 {
		c.frozen.Store(int64(c.ticks().Uint) + 1)
	}
}

// DoItem is the item that carries rc out at its target module. A SaveConfig
// on either side is saveConfig(1): the take-back of a Set that saved saves
// again, so that the saved file holds the old values too.
func (rc RemoteChange) DoItem() configmsg.Item {
	if rc.Object == configmsg.ObjSaveConfig && (rc.New.Int == mib.SaveConfig || rc.Old.Int == mib.SaveConfig) {
		return configmsg.Item{Object: rc.Object, Type: configmsg.Integer, Int: mib.SaveConfig}
	}
	if rc.Object == configmsg.ObjReset && rc.New.Int != mib.Reset {
		return configmsg.Item{Object: rc.Object, Type: configmsg.Integer, Int: mib.NoReset}
	}
	return ItemOf(rc.Object, rc.New)
}

// ColumnName is the name of the cpsmm100Table column a module target's
// object id stands for ("" when none).
func (m *Module) ColumnName(id configmsg.Object) string {
	if c, ok := m.columnByID(id); ok {
		return c.h.Name()
	}
	return ""
}
