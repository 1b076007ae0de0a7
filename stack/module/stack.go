package module

import (
	"strings"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/configmsg"
)

// Stack is what a module that has joined a multi-module stack defers to:
// the Primary/Standby negotiation and the distribution of configuration
// (stack/member implements it). Every method is called on the module's
// loop, which the Stack's owner runs; none may block on the network.
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
	// Distribute sends the changes to their targets and, once every target
	// has acknowledged, calls done(nil) on the loop; on the first refusal
	// or silence it calls done with the error (and asks the targets to take
	// their old values back). It returns at once.
	Distribute(rcs []RemoteChange, done func(error))
	// Reloaded tells the stack that Reset rebuilt the module's settings:
	// WantPrimary and the IP configuration may have changed.
	Reloaded()
}

// JoinStack hands the module's role to a stack negotiation: from now on
// IsPrimary and CanPrimary come from ApplyRole, not from the module alone.
// Call it before the loop runs, on the goroutine that will run it.
func (m *Module) JoinStack(s Stack) {
	m.stack = s
	m.inStack = true
}

// RemoteChange is one varbind of a Set that the Primary distributes over
// the backplane to its target: another module (by cabinet and slot: any
// read-write column of its cpsmm100Table row), or a device (cabinet and
// slot; slot 0 the cabinet; 0/0 the whole stack).
type RemoteChange struct {
	Module    bool // the target is a management module, else a device
	Bia, Slot int32
	Object    configmsg.Object
	Old, New  smi.Value
	Name      string // the MIB object, for messages
	VarBind   int    // its 1-based position in the Set's PDU
}

// Inverse is the change that takes rc back.
func (rc RemoteChange) Inverse() RemoteChange {
	rc.Old, rc.New = rc.New, rc.Old
	return rc
}

// remoteChange tells whether c is distributed by the Primary in a stack,
// and to whom.
func (m *Module) remoteChange(c mib.Change) (RemoteChange, bool) {
	if !m.inStack {
		return RemoteChange{}, false
	}
	rc := RemoteChange{Old: c.Old, New: c.New, Name: c.Object.Name, VarBind: c.VarBind}
	idx := c.Index
	o := m.obj
	col, isCol := m.columnOf(c.Object)
	switch {
	case isCol && col.set && len(idx) == 2 && !idx.Equal(m.own):
		rc.Module, rc.Bia, rc.Slot, rc.Object = true, int32(idx[0]), int32(idx[1]), col.id
	case c.Object == o.SlotPwr.State.Object() && len(idx) == 2:
		rc.Bia, rc.Slot, rc.Object = int32(idx[0]), int32(idx[1]), configmsg.ObjSlotPower
	case c.Object == o.Cabinet.Description.Object() && len(idx) == 1:
		rc.Bia, rc.Object = int32(idx[0]), configmsg.ObjCabinetDescription
	case c.Object == o.GroupCtrl.Object():
		rc.Object = configmsg.ObjGroupCtrl
	case (strings.HasPrefix(c.Object.Name, "cettf100") || strings.HasPrefix(c.Object.Name, "cfetf100")) && len(idx) == 2:
		rc.Bia, rc.Slot, rc.Object = int32(idx[0]), int32(idx[1]), configmsg.Object(c.Object.OID[len(c.Object.OID)-1])
	default:
		return rc, false
	}
	return rc, true
}
