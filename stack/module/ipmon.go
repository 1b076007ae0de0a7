package module

import (
	"github.com/cpsmm/cpsmm/mib/smi"
	"net/netip"
	"time"
)

// MonitorRow is one host of the module's IP monitor, as its
// cpsEmuIpMonTable shows it.
type MonitorRow struct {
	Host       string
	Peer       bool // a peer module's Ethernet side; else a target
	Up         bool
	Misses     int
	Successes  int
	LastChange time.Time // zero: never
	LastAnswer time.Time // zero: never
}

// Monitor verdicts (cpsEmuIpMonVerdict).
const (
	MonitorOK       int32 = 1
	MonitorDegraded int32 = 2
	MonitorFailed   int32 = 3
)

// ApplyMonitor shows the IP monitor: a row per host (indexed from 1, in
// the order given; rows beyond them deleted), its verdict and the reason.
// Loop only.
func (m *Module) ApplyMonitor(rows []MonitorRow, verdict int32, reason string) {
	t := &m.obj.IPMon
	for i, r := range rows {
		kind, state := int32(1), int32(1)
		if r.Peer {
			kind = 2
		}
		if !r.Up {
			state = 2
		}
		m.store.Write([]uint32{uint32(i + 1)}, t.Host.Of(r.Host), t.Kind.Of(kind), t.State.Of(state),
			t.Misses.Of(int32(min(r.Misses, 1<<31-1))), t.Successes.Of(int32(min(r.Successes, 1<<31-1))),
			t.LastChange.Of(m.uptimeAt(r.LastChange)), t.LastAnswer.Of(m.uptimeAt(r.LastAnswer)))
	}
	for i := len(rows) + 1; i <= m.monRows; i++ {
		m.store.DeleteRow(t.Entry, uint32(i))
	}
	m.monRows = len(rows)
	m.store.Write([]uint32{0}, m.obj.IPMonVerdict.Of(verdict), m.obj.IPMonReason.Of(reason))
}

// Gateway returns the module's current cpsmm100Gateway.
func (m *Module) Gateway() netip.Addr {
	_, _, gw := m.currentIP()
	return gw
}

// SteppedDown shows why the module last stopped being Primary
// (cpsEmuStepDownReason). Loop only.
func (m *Module) SteppedDown(reason string) {
	if len(reason) > 255 {
		reason = reason[:255]
	}
	m.store.Write([]uint32{0}, m.obj.StepDownReason.Of(reason))
}

// AlwaysConflict shows the always(3) modules the module sees when there
// are more than one, the one kept Primary first, as "BIA/slot,…"
// (cpsEmuAlwaysModules; empty: at most one again), and returns the
// cpsEmuAlwaysConflict notification (snmpTrapOID.0 first). Loop only.
func (m *Module) AlwaysConflict(modules string) []smi.VarBind {
	o := m.obj
	if len(modules) > 255 {
		modules = modules[:255]
	}
	c := o.AlwaysModules.Of(modules)
	m.store.Write([]uint32{0}, c)
	name, _ := m.store.Read(o.EmuName.Handle, 0)
	return []smi.VarBind{
		{Name: snmpTrapOID(), Value: smi.ObjectID(o.AlwaysConflict.OID())},
		{Name: o.EmuName.OID(0), Value: name},
		o.AlwaysModules.VarBind(c, 0),
	}
}

// uptimeAt is the module's cpsmm100SysUpTime at t (0 for the zero time
// or a time before the module last started).
func (m *Module) uptimeAt(t time.Time) uint32 {
	if t.IsZero() {
		return 0
	}
	d := t.Sub(time.Unix(0, m.booted.Load()))
	if d < 0 {
		return 0
	}
	return uint32(d / (10 * time.Millisecond))
}
