package module

import (
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/smi"
)

// policy is the module's Set rules beyond each object's syntax.
type policy struct{ m *Module }

// own returns the module's own row index.
func (p policy) own() []uint32 { return []uint32{uint32(p.m.base.Bia), uint32(p.m.base.Slot)} }

// Check implements mib.Policy.
func (p policy) Check(pr *mib.Proposal) (smi.ErrorStatus, int) {
	own := p.own()
	for _, c := range pr.Changes() {
		st := p.m.stackOf()
		if rc, ok := p.m.remoteChange(c); ok && st != nil {
			// Another module's WantPrimary, a device's or a cabinet's
			// configuration: only the Primary distributes it.
			if err := st.CheckRemote(rc); err != nil {
				p.reject(c, err.Error())
				return smi.InconsistentValue, c.VarBind
			}
			if !(c.Object.Name == "cpsSlotPwrState" && c.New.Int == off && c.Index.Equal(own)) {
				continue
			}
		}
		if strings.HasPrefix(c.Object.Name, "cpsmm100") && !c.Index.Equal(own) {
			// Another module's row shows what was last heard from it; its
			// configuration is set on that module (WantPrimary also
			// through the Primary).
			p.reject(c, "this row belongs to another module: set it on that module")
			return smi.InconsistentValue, c.VarBind
		}
		switch c.Object.Name {
		case "cpsmm100IPAddress":
			if a := c.New.Addr(); !a.IsUnspecified() && !unicast(a) {
				p.reject(c, "not a unicast address")
				return smi.WrongValue, c.VarBind
			}
		case "cpsmm100SubnetMask":
			if maskBits(c.New.Addr()) < 0 {
				p.reject(c, "subnet mask is not contiguous")
				return smi.WrongValue, c.VarBind
			}
		case "cpsmm100SNMPTrapInterval":
			if c.New.Int < 0 {
				p.reject(c, "negative interval")
				return smi.WrongValue, c.VarBind
			}
		case "cpsIsPrimary":
			if st := p.m.stackOf(); st != nil {
				if err := st.CheckForce(c.New.Int == yes); err != nil {
					p.reject(c, err.Error())
					return smi.InconsistentValue, c.VarBind
				}
				continue
			}
			can, _ := pr.Value("cpsmm100CanPrimary", own...)
			if c.New.Int == yes && can.Int != yes {
				p.reject(c, "this module is not eligible to be Primary (CanPrimary no)")
				return smi.InconsistentValue, c.VarBind
			}
			if c.New.Int == no && c.Old.Int == yes {
				p.reject(c, "no other module in the stack could take over as Primary")
				return smi.InconsistentValue, c.VarBind
			}
		case "cpsSlotPwrState":
			if c.New.Int == off && c.Index.Equal(own) {
				p.reject(c, "powering off the module's own slot would cut off its management")
				return smi.InconsistentValue, c.VarBind
			}
		}
	}
	// The IP configuration as a whole, with every varbind applied.
	a, _ := pr.Value("cpsmm100IPAddress", own...)
	mask, _ := pr.Value("cpsmm100SubnetMask", own...)
	gw, _ := pr.Value("cpsmm100Gateway", own...)
	if why := ipConsistent(a.Addr(), mask.Addr(), gw.Addr()); why != "" {
		for _, name := range []string{"cpsmm100Gateway", "cpsmm100SubnetMask", "cpsmm100IPAddress"} {
			if c, ok := pr.Changed(name, own...); ok {
				p.reject(c, why)
				return smi.InconsistentValue, c.VarBind
			}
		}
	}
	return smi.NoError, 0
}

func (p policy) reject(c mib.Change, why string) {
	p.m.log.WithFields(logrus.Fields{"object": c.Object.Name, "value": c.New.String()}).Info("set rejected: " + why)
}

// Commit implements mib.Policy: derived objects follow the change, and
// SaveConfig writes the configuration before the Set is acknowledged.
func (p policy) Commit(pr *mib.Proposal) error {
	own := p.own()
	a, _ := pr.Value("cpsmm100IPAddress", own...)
	mask, _ := pr.Value("cpsmm100SubnetMask", own...)
	gw, _ := pr.Value("cpsmm100Gateway", own...)
	link, _ := pr.Value("cpsmm100EthernetLink", own...)
	valid := ipConfigValid(a.Addr(), mask.Addr(), gw.Addr())
	if st := p.m.stackOf(); st != nil {
		// What the Primary distributes first (other modules' WantPrimary,
		// device configuration): the Set is answered only once each target
		// has acknowledged, and fails whole if one does not.
		if err := p.distribute(st, pr, false); err != nil {
			return err
		}
		// In a stack the negotiation decides the role (ApplyRole).
		st.IPValid(valid)
		if c, ok := pr.Changed("cpsmm100WantPrimary", own...); ok {
			st.Want(c.New.Int)
		}
		if c, ok := pr.Changed("cpsIsPrimary", 0); ok {
			if err := st.Force(c.New.Int == yes); err != nil {
				_ = p.distribute(st, pr, true)
				return err
			}
		}
	} else {
		can := link.Int == on && valid
		pr.Put("cpsmm100CanPrimary", smi.Integer(yesNo(can)), own...)
		// Alone in its stack, the module is Primary exactly while it is eligible.
		pr.Put("cpsmm100IsPrimary", smi.Integer(yesNo(can)), own...)
		pr.Put("cpsIsPrimary", smi.Integer(yesNo(can)), 0)
	}

	if c, ok := pr.Changed("cpsmm100SaveConfig", own...); ok && c.New.Int == saveConfig {
		if p.m.stateDir == "" {
			return fmt.Errorf("no state directory to save the configuration in")
		}
		prev, err := readSaved(p.m.stateDir)
		if err != nil {
			return err
		}
		st := p.settings(pr)
		if err := Save(p.m.stateDir, st); err != nil {
			return err
		}
		p.m.undoSave = prev
		p.m.saves.Add(1)
		p.m.log.WithField("dir", p.m.stateDir).Info("configuration saved")
		pr.Put("cpsmm100SaveConfig", smi.Integer(noSave), own...)
	}
	if c, ok := pr.Changed("cpsmm100Reset", own...); ok && c.New.Int == reset {
		pr.Put("cpsmm100Reset", smi.Integer(noReset), own...)
	}
	return nil
}

// Undo implements mib.Undoer: a saved configuration whose Set the master
// agent undoes is replaced by the file that was there before.
func (p policy) Undo(pr *mib.Proposal) error {
	own := p.own()
	if st := p.m.stackOf(); st != nil {
		if err := p.distribute(st, pr, true); err != nil {
			return err
		}
	}
	if c, ok := pr.Changed("cpsmm100SaveConfig", own...); !ok || c.New.Int != saveConfig || p.m.undoSave == nil {
		return nil
	}
	prev := p.m.undoSave
	p.m.undoSave = nil
	p.m.saves.Add(^uint32(0))
	p.m.log.WithField("dir", p.m.stateDir).Warn("set undone: restoring the previously saved configuration")
	return restoreSaved(p.m.stateDir, prev)
}

// Done implements mib.Policy: logs the change and runs a requested reset.
func (p policy) Done(changes []mib.Change) {
	doReset := false
	for _, c := range changes {
		p.m.log.WithFields(logrus.Fields{"object": c.Object.Name, "index": c.Index.String(), "value": c.New.String()}).Info("set committed")
		if c.Object.Name == "cpsmm100Reset" && c.New.Int == reset {
			doReset = true
		}
	}
	if doReset {
		// After the Set's answer has gone: a reset must not answer its own Set
		// from a freshly rebuilt state.
		go func() {
			if err := p.m.Reset(); err != nil {
				p.m.log.WithError(err).Error("reset failed")
			}
		}()
	}
}

// settings reads the module's settings from the proposed state.
func (p policy) settings(pr *mib.Proposal) Settings {
	own := p.own()
	str := func(name string, idx ...uint32) string { v, _ := pr.Value(name, idx...); return string(v.Bytes) }
	addr := func(name string) string { v, _ := pr.Value(name, own...); return v.Addr().String() }
	num := func(name string) int32 { v, _ := pr.Value(name, own...); return v.Int }
	st := Settings{
		IPAddress: addr("cpsmm100IPAddress"), SubnetMask: addr("cpsmm100SubnetMask"), Gateway: addr("cpsmm100Gateway"),
		WantPrimary: enumLabel(wantLabels(), num("cpsmm100WantPrimary")),
		Groups:      str("cpsmm100Groups", own...), SysContact: str("cpsmm100SysContact", own...),
		SysName: str("cpsmm100SysName", own...), SysLocation: str("cpsmm100SysLocation", own...),
		TrapManagers:       [4]string{addr("cpsmm100SNMPTrapMgr"), addr("cpsmm100SNMPTrapMgr2"), addr("cpsmm100SNMPTrapMgr3"), addr("cpsmm100SNMPTrapMgr4")},
		TrapInterval:       num("cpsmm100SNMPTrapInterval"),
		CfgMatch:           enumLabel(cfgMatchLabels(), num("cpsmm100CfgMatch")),
		CabinetDescription: str("cpsCabinetDescription", uint32(p.m.base.Bia)),
		GroupCtrl:          str("cpsGroupCtrl", 0),
	}
	model := CabinetModels()[p.m.base.CabinetModel]
	for i := int32(1); i <= model.Slots; i++ {
		if v, ok := pr.Value("cpsSlotPwrState", uint32(p.m.base.Bia), uint32(i)); ok && v.Int == off {
			st.SlotPowerOff = append(st.SlotPowerOff, i)
		}
	}
	return st
}

// distribute sends the Set's changes that only the Primary distributes
// to their targets (undo: their old values back). On a failure the
// targets already changed are asked to take their old values back.
func (p policy) distribute(st Stack, pr *mib.Proposal, undo bool) error {
	var done []RemoteChange
	for _, c := range pr.Changes() {
		rc, ok := p.m.remoteChange(c)
		if !ok {
			continue
		}
		if undo {
			rc.Old, rc.New = rc.New, rc.Old
		}
		err := st.Remote(rc)
		if err != nil && undo {
			p.m.log.WithError(err).WithFields(logrus.Fields{"object": rc.Name, "bia": rc.Bia, "slot": rc.Slot}).Warn("set undone, but its target did not take the old value back")
			continue
		}
		if err != nil {
			for _, d := range done {
				d.Old, d.New = d.New, d.Old
				_ = st.Remote(d)
			}
			return fmt.Errorf("%s of %d/%d: %w", rc.Name, rc.Bia, rc.Slot, err)
		}
		done = append(done, rc)
	}
	return nil
}
