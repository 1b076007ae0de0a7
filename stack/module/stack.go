package module

import (
	"fmt"
	"strings"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/configmsg"
)

// Stack is what a module that has joined a multi-module stack defers to:
// the Primary/Standby negotiation (stack/member implements it). Its
// methods are called with the module's store locked and must not call
// the module.
type Stack interface {
	// IPValid reports the module's IP configuration after a Set.
	IPValid(valid bool)
	// Want reports a new cpsmm100WantPrimary.
	Want(w int32)
	// CheckForce tells, changing nothing, whether cpsIsPrimary may be set
	// (true: take over; false: step down).
	CheckForce(primary bool) error
	// Force carries the switchover out.
	Force(primary bool) error
	// CheckRemote tells, changing nothing, whether a change that only the
	// Primary distributes (another module's WantPrimary, a device's
	// configuration) may be made through this module now.
	CheckRemote(rc RemoteChange) error
	// Remote distributes the change and returns once its target has
	// acknowledged it, or an error (then the target was asked to take the
	// old value back).
	Remote(rc RemoteChange) error
}

// JoinStack hands the module's role to a stack negotiation: from now on
// IsPrimary and CanPrimary come from ApplyRole, not from the module alone.
func (m *Module) JoinStack(s Stack) { m.stack.Store(&s) }

func (m *Module) stackOf() Stack {
	if p := m.stack.Load(); p != nil {
		return *p
	}
	return nil
}

// IPValid reports whether the module's current IP configuration lets it
// communicate over Ethernet.
func (m *Module) IPValid() bool {
	b, s := uint32(m.base.Bia), uint32(m.base.Slot)
	a, _ := m.store.Value("cpsmm100IPAddress", b, s)
	mask, _ := m.store.Value("cpsmm100SubnetMask", b, s)
	gw, _ := m.store.Value("cpsmm100Gateway", b, s)
	return ipConfigValid(a.Addr(), mask.Addr(), gw.Addr())
}

// WantPrimary returns the module's current cpsmm100WantPrimary.
func (m *Module) WantPrimary() int32 {
	v, _ := m.store.Value("cpsmm100WantPrimary", uint32(m.base.Bia), uint32(m.base.Slot))
	return v.Int
}

// ApplyRole sets the module's own IsPrimary, CanPrimary and cpsIsPrimary.
func (m *Module) ApplyRole(primary, can bool) {
	b, s := uint32(m.base.Bia), uint32(m.base.Slot)
	_ = m.store.Put("cpsmm100IsPrimary", smi.Integer(yesNo(primary)), b, s)
	_ = m.store.Put("cpsmm100CanPrimary", smi.Integer(yesNo(can)), b, s)
	_ = m.store.Put("cpsIsPrimary", smi.Integer(yesNo(primary)), 0)
}

// AddPeer gives another module of the stack its row in cpsmm100Table
// (and its slot in cpsModuleTable), from its configuration in the stack
// file, until it is heard: IsPrimary and CanPrimary no(2) for now.
func (m *Module) AddPeer(cfg Config) error {
	b, s := uint32(cfg.Bia), uint32(cfg.Slot)
	if b == uint32(m.base.Bia) && s == uint32(m.base.Slot) {
		return fmt.Errorf("module: peer %s sits in this module's own slot %d/%d", cfg.Name, b, s)
	}
	if err := putRow(m.store, moduleRow(cfg, false), b, s); err != nil {
		return err
	}
	return putRow(m.store, []cellValue{
		{"cpsModuleBiaIndex", smi.Integer(cfg.Bia)}, {"cpsModuleSlotIndex", smi.Integer(cfg.Slot)},
		{"cpsModuleModel", m.identity(oidCpsmM100)},
	}, b, s)
}

// PeerView is what a module knows of another Base Management Module of its
// stack, as last heard.
type PeerView struct {
	Bia, Slot         int32
	Primary, Eligible bool
	Want              int32
	EthernetLink      bool // heard over Ethernet within a holdtime
}

// ApplyPeer writes another module's row of cpsmm100Table (as last heard)
// and its slot in cpsModuleTable.
func (m *Module) ApplyPeer(p PeerView) {
	b, s := uint32(p.Bia), uint32(p.Slot)
	for _, c := range []cellValue{
		{"cpsmm100BiaIndex", smi.Integer(p.Bia)}, {"cpsmm100SlotIndex", smi.Integer(p.Slot)},
		{"cpsmm100IsPrimary", smi.Integer(yesNo(p.Primary))}, {"cpsmm100WantPrimary", smi.Integer(p.Want)},
		{"cpsmm100CanPrimary", smi.Integer(yesNo(p.Eligible))}, {"cpsmm100EthernetLink", smi.Integer(onOff(p.EthernetLink))},
	} {
		_ = m.store.Put(c.name, c.v, b, s)
	}
	_ = putRow(m.store, []cellValue{
		{"cpsModuleBiaIndex", smi.Integer(p.Bia)}, {"cpsModuleSlotIndex", smi.Integer(p.Slot)},
		{"cpsModuleModel", m.identity(oidCpsmM100)},
	}, b, s)
}

// SetEthernetLink shows the module's Ethernet link state (the link-down
// fault) in cpsmm100EthernetLink.
func (m *Module) SetEthernetLink(up bool) {
	_ = m.store.Put("cpsmm100EthernetLink", smi.Integer(onOff(up)), uint32(m.base.Bia), uint32(m.base.Slot))
}

// SetOwnWant sets the module's own cpsmm100WantPrimary as the Primary
// distributed it (the negotiation is told by the caller).
func (m *Module) SetOwnWant(w int32) {
	_ = m.store.Put("cpsmm100WantPrimary", smi.Integer(w), uint32(m.base.Bia), uint32(m.base.Slot))
}

func onOff(b bool) int32 {
	if b {
		return on
	}
	return off
}

// RemoteChange is one varbind of a Set that the Primary distributes over
// the backplane to its target: another module (by cabinet and slot), or a
// device (cabinet and slot; slot 0 the cabinet; 0/0 the whole stack).
type RemoteChange struct {
	Module    bool // the target is a management module, else a device
	Bia, Slot int32
	Object    configmsg.Object
	Old, New  smi.Value
	Name      string // the MIB object, for messages
}

// remoteChange tells whether c is distributed by the Primary in a stack,
// and to whom.
func (m *Module) remoteChange(c mib.Change) (RemoteChange, bool) {
	rc := RemoteChange{Old: c.Old, New: c.New, Name: c.Object.Name}
	idx := c.Index
	name := c.Object.Name
	switch {
	case name == "cpsmm100WantPrimary" && len(idx) == 2 && !(int32(idx[0]) == m.base.Bia && int32(idx[1]) == m.base.Slot):
		rc.Module, rc.Bia, rc.Slot, rc.Object = true, int32(idx[0]), int32(idx[1]), configmsg.ObjWantPrimary
	case name == "cpsSlotPwrState" && len(idx) == 2:
		rc.Bia, rc.Slot, rc.Object = int32(idx[0]), int32(idx[1]), configmsg.ObjSlotPower
	case name == "cpsCabinetDescription" && len(idx) == 1:
		rc.Bia, rc.Object = int32(idx[0]), configmsg.ObjCabinetDescription
	case name == "cpsGroupCtrl":
		rc.Object = configmsg.ObjGroupCtrl
	case (strings.HasPrefix(name, "cettf100") || strings.HasPrefix(name, "cfetf100")) && len(idx) == 2:
		rc.Bia, rc.Slot, rc.Object = int32(idx[0]), int32(idx[1]), configmsg.Object(c.Object.OID[len(c.Object.OID)-1])
	default:
		return rc, false
	}
	return rc, true
}

// SetCacheClean shows whether the module's device cache is current
// (cpsmm100CacheClean clean(1)) or stale (dirty(2)).
func (m *Module) SetCacheClean(clean bool) {
	v := int32(1)
	if !clean {
		v = 2
	}
	_ = m.store.Put("cpsmm100CacheClean", smi.Integer(v), uint32(m.base.Bia), uint32(m.base.Slot))
}
