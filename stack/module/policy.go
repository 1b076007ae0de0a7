package module

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/smi"
)

// policy is the module's Set rules beyond each object's syntax. The store
// calls it with its lock held, on the module's loop: it may consult the
// Stack (loop-owned, never waiting on the network) but not the store.
type policy struct{ m *Module }

func refuse(st smi.ErrorStatus, c mib.Change, why string) *smi.SetError {
	return &smi.SetError{Status: st, Index: c.VarBind, Reason: c.Object.Name + ": " + why}
}

// Check implements mib.Policy.
func (p policy) Check(pr *mib.Proposal) *smi.SetError {
	m, o := p.m, p.m.obj
	own := m.own
	for _, c := range pr.Changes() {
		rc, remote := m.remoteChange(c)
		if remote && m.stack != nil {
			// Another module's row, a device's or a cabinet's
			// configuration: only the Primary distributes it.
			if err := m.stack.CheckRemote(rc); err != nil {
				return refuse(smi.InconsistentValue, c, err.Error())
			}
			if !rc.Module && !(c.Object == o.SlotPwr.State.Object() && c.New.Int == mib.Off && c.Index.Equal(own)) {
				continue
			}
		}
		if strings.HasPrefix(c.Object.Name, "smacf100") {
			// The SMACF100 unit is reached over Ethernet; the emulator shows
			// its settings but does not carry Sets to it.
			return refuse(smi.InconsistentValue, c, "the emulator does not configure SMACF100 units")
		}
		if strings.HasPrefix(c.Object.Name, "cpsmm100") && !c.Index.Equal(own) && (!remote || m.stack == nil) {
			// Another module's row shows what was last heard from it;
			// outside a stack it is set on that module.
			return refuse(smi.InconsistentValue, c, "this row belongs to another module: set it on that module")
		}
		// The rules of each column hold for every module's row: the
		// Primary judges another module's as that module would.
		switch c.Object {
		case o.MM.IPAddress.Object():
			if a := c.New.Addr(); !a.IsUnspecified() && !unicast(a) {
				return refuse(smi.WrongValue, c, "not a unicast address")
			}
		case o.MM.SubnetMask.Object():
			if maskBits(c.New.Addr()) < 0 {
				return refuse(smi.WrongValue, c, "subnet mask is not contiguous")
			}
		case o.MM.TrapInterval.Object():
			if c.New.Int < 0 {
				return refuse(smi.WrongValue, c, "negative interval")
			}
		case o.IsPrimary.Object():
			if m.stack != nil {
				if err := m.stack.CheckForce(c.New.Int == mib.Yes); err != nil {
					return refuse(smi.InconsistentValue, c, err.Error())
				}
				continue
			}
			can, _ := pr.Value(o.MM.CanPrimary.Name(), own...)
			if c.New.Int == mib.Yes && can.Int != mib.Yes {
				return refuse(smi.InconsistentValue, c, "this module is not eligible to be Primary (CanPrimary no)")
			}
			if c.New.Int == mib.No && c.Old.Int == mib.Yes {
				return refuse(smi.InconsistentValue, c, "no other module in the stack could take over as Primary")
			}
		case o.SlotPwr.State.Object():
			if c.New.Int == mib.Off && c.Index.Equal(own) {
				return refuse(smi.InconsistentValue, c, "powering off the module's own slot would cut off its management")
			}
		}
	}
	// The IP configuration of each module's row the Set touches, as a
	// whole, with every varbind applied.
	for _, row := range p.ipRows(pr) {
		a, mask, gw := p.ipConfig(pr, row...)
		if why := ipConsistent(a, mask, gw); why != "" {
			for _, h := range []mib.IP{o.MM.Gateway, o.MM.SubnetMask, o.MM.IPAddress} {
				if c, ok := pr.Changed(h.Name(), row...); ok {
					return refuse(smi.InconsistentValue, c, why)
				}
			}
		}
	}
	return nil
}

// ipRows returns the rows whose IP configuration the Set changes, the
// module's own first.
func (p policy) ipRows(pr *mib.Proposal) [][]uint32 {
	o := p.m.obj
	rows := [][]uint32{p.m.own}
	for _, c := range pr.Changes() {
		if c.Object != o.MM.IPAddress.Object() && c.Object != o.MM.SubnetMask.Object() && c.Object != o.MM.Gateway.Object() {
			continue
		}
		seen := false
		for _, r := range rows {
			seen = seen || c.Index.Equal(r)
		}
		if !seen {
			rows = append(rows, c.Index)
		}
	}
	return rows
}

// ipConfig is the proposed IP configuration of the row at idx.
func (p policy) ipConfig(pr *mib.Proposal, idx ...uint32) (a, mask, gw netip.Addr) {
	o := p.m.obj
	va, _ := pr.Value(o.MM.IPAddress.Name(), idx...)
	vm, _ := pr.Value(o.MM.SubnetMask.Name(), idx...)
	vg, _ := pr.Value(o.MM.Gateway.Name(), idx...)
	return va.Addr(), vm.Addr(), vg.Addr()
}

// Commit implements mib.Policy: derived objects follow the change, the
// negotiation hears of what concerns it, and SaveConfig writes the
// configuration before the Set is acknowledged. What other modules and
// devices must take has been distributed and acknowledged before (Serve).
func (p policy) Commit(pr *mib.Proposal) error {
	m, o := p.m, p.m.obj
	own := m.own
	a, mask, gw := p.ipConfig(pr, own...)
	valid := ipConfigValid(a, mask, gw)
	if st := m.stack; st != nil {
		// In a stack the negotiation decides the role (ApplyRole).
		st.IPValid(valid)
		if c, ok := pr.Changed(o.MM.WantPrimary.Name(), own...); ok {
			st.Want(c.New.Int)
		}
		if c, ok := pr.Changed(o.IsPrimary.Name(), 0); ok {
			if err := st.Force(c.New.Int == mib.Yes); err != nil {
				return err
			}
		}
	} else if !m.inStack {
		can := m.link && valid
		// Alone in its stack, the module is Primary exactly while it is eligible.
		pr.Put(o.MM.CanPrimary.Name(), smi.Integer(yesNo(can)), own...)
		pr.Put(o.MM.IsPrimary.Name(), smi.Integer(yesNo(can)), own...)
		pr.Put(o.IsPrimary.Name(), smi.Integer(yesNo(can)), 0)
	}

	if c, ok := pr.Changed(o.Cabinet.Description.Name(), uint32(m.base.Bia)); ok && !m.inStack {
		// A lone module's cabinet: its detail table's Description, where it
		// is a copy, follows. (In a stack the chassis's report brings it.)
		model := CabinetModels()[m.base.CabinetModel]
		if d, _ := o.DetailOf(model.Detail); d != nil {
			pr.Put(d.Description.Name(), smi.String(DetailDescription(model, string(c.New.Bytes))), uint32(m.base.Bia))
		}
	}
	if c, ok := pr.Changed(o.MM.SaveConfig.Name(), own...); ok && c.New.Int == mib.SaveConfig {
		if m.stateDir == "" {
			return fmt.Errorf("no state directory to save the configuration in")
		}
		prev, err := readSaved(m.stateDir)
		if err != nil {
			return err
		}
		if err := Save(m.stateDir, p.settings(pr)); err != nil {
			return err
		}
		m.undoSave = prev
		m.saves.Add(1)
		m.log.WithField("dir", m.stateDir).Info("configuration saved")
		pr.Put(o.MM.SaveConfig.Name(), smi.Integer(mib.NoSaveConfig), own...)
	}
	// SaveConfig and Reset read back noSaveConfig(2)/noReset(2), on every
	// row: another module's were carried out by that module (acknowledged).
	for _, c := range pr.Changes() {
		switch c.Object {
		case o.MM.Reset.Object():
			pr.Put(o.MM.Reset.Name(), smi.Integer(mib.NoReset), c.Index...)
		case o.MM.SaveConfig.Object():
			if !c.Index.Equal(own) {
				pr.Put(o.MM.SaveConfig.Name(), smi.Integer(mib.NoSaveConfig), c.Index...)
			}
		}
	}
	return nil
}

// Undo implements mib.Undoer: a saved configuration whose Set the master
// agent undoes is replaced by the file that was there before.
func (p policy) Undo(pr *mib.Proposal) error {
	m := p.m
	if c, ok := pr.Changed(m.obj.MM.SaveConfig.Name(), m.own...); !ok || c.New.Int != mib.SaveConfig || m.undoSave == nil {
		return nil
	}
	prev := m.undoSave
	m.undoSave = nil
	m.saves.Add(^uint32(0))
	m.log.WithFields(logrus.Fields{"dir": m.stateDir, "reason": "set undone"}).Warn("previously saved configuration restored")
	return restoreSaved(m.stateDir, prev)
}

// Done implements mib.Policy: logs the change and runs a requested reset
// (on the loop, after the Set's answer has gone: a reset must not answer
// its own Set from a freshly rebuilt state).
func (p policy) Done(changes []mib.Change) {
	doReset := false
	for _, c := range changes {
		p.m.log.WithFields(logrus.Fields{"object": c.Object.Name, "index": c.Index.String(), "value": c.New.String()}).Info("set committed")
		if c.Object == p.m.obj.MM.Reset.Object() && c.New.Int == mib.Reset && c.Index.Equal(p.m.own) {
			doReset = true
		}
	}
	if doReset {
		if err := p.m.reset(); err != nil {
			p.m.log.WithError(err).Error("reset failed")
		}
	}
}

// settings reads the module's settings from the proposed state.
func (p policy) settings(pr *mib.Proposal) Settings {
	m, o := p.m, p.m.obj
	own := m.own
	str := func(h mib.Str, idx ...uint32) string { v, _ := pr.Value(h.Name(), idx...); return string(v.Bytes) }
	addr := func(h mib.IP) string { v, _ := pr.Value(h.Name(), own...); return v.Addr().String() }
	num := func(h mib.Int) int32 { v, _ := pr.Value(h.Name(), own...); return v.Int }
	st := Settings{
		IPAddress: addr(o.MM.IPAddress), SubnetMask: addr(o.MM.SubnetMask), Gateway: addr(o.MM.Gateway),
		WantPrimary: enumLabel(wantLabels(), num(o.MM.WantPrimary)),
		Groups:      str(o.MM.Groups, own...), SysContact: str(o.MM.SysContact, own...),
		SysName: str(o.MM.SysName, own...), SysLocation: str(o.MM.SysLocation, own...),
		TrapManagers:       [4]string{addr(o.MM.TrapMgr), addr(o.MM.TrapMgr2), addr(o.MM.TrapMgr3), addr(o.MM.TrapMgr4)},
		TrapInterval:       num(o.MM.TrapInterval),
		CfgMatch:           enumLabel(cfgMatchLabels(), num(o.MM.CfgMatch)),
		CabinetDescription: str(o.Cabinet.Description, uint32(m.base.Bia)),
		GroupCtrl:          str(o.GroupCtrl, 0),
	}
	model := CabinetModels()[m.base.CabinetModel]
	for i := int32(1); i <= model.Slots; i++ {
		if v, ok := pr.Value(o.SlotPwr.State.Name(), uint32(m.base.Bia), uint32(i)); ok && v.Int == mib.Off {
			st.SlotPowerOff = append(st.SlotPowerOff, i)
		}
	}
	return st
}
