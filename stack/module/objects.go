package module

import "github.com/cpsmm/cpsmm/mib"

// Objects are the handles of every object a module writes, resolved once
// from the registry (a misspelt name fails New, and TestObjectsResolve).
type Objects struct {
	MM struct {
		Entry        mib.Entry `mib:"Entry"`
		Bia          mib.Int   `mib:"BiaIndex"`
		Slot         mib.Int   `mib:"SlotIndex"`
		Groups       mib.Str   `mib:"Groups"`
		Reset        mib.Int   `mib:"Reset"`
		SaveConfig   mib.Int   `mib:"SaveConfig"`
		HwRevision   mib.Str   `mib:"HwRevision"`
		SwRevision   mib.Str   `mib:"SwRevision"`
		IPAddress    mib.IP    `mib:"IPAddress"`
		SubnetMask   mib.IP    `mib:"SubnetMask"`
		Gateway      mib.IP    `mib:"Gateway"`
		IsPrimary    mib.Int   `mib:"IsPrimary"`
		WantPrimary  mib.Int   `mib:"WantPrimary"`
		CanPrimary   mib.Int   `mib:"CanPrimary"`
		EthernetLink mib.Int   `mib:"EthernetLink"`
		TntRIP       mib.IP    `mib:"TntRIP"`
		TntRIPMask   mib.IP    `mib:"TntRIPMask"`
		TrapMgr      mib.IP    `mib:"SNMPTrapMgr"`
		TrapInterval mib.Int   `mib:"SNMPTrapInterval"`
		SysUpTime    mib.Ticks `mib:"SysUpTime"`
		SysContact   mib.Str   `mib:"SysContact"`
		SysName      mib.Str   `mib:"SysName"`
		SysLocation  mib.Str   `mib:"SysLocation"`
		CfgMatch     mib.Int   `mib:"CfgMatch"`
		Serial       mib.Int   `mib:"SerialNumber"`
		ICIF         mib.Int   `mib:"ICIF"`
		MRevision    mib.Int   `mib:"MRevision"`
		LastGasp     mib.Int   `mib:"LastGasp"`
		TrapMgr2     mib.IP    `mib:"SNMPTrapMgr2"`
		TrapMgr3     mib.IP    `mib:"SNMPTrapMgr3"`
		TrapMgr4     mib.IP    `mib:"SNMPTrapMgr4"`
		CacheClean   mib.Int   `mib:"CacheClean"`
	} `mib:"cpsmm100"`
	Module struct {
		Entry mib.Entry `mib:"Entry"`
		Bia   mib.Int   `mib:"BiaIndex"`
		Slot  mib.Int   `mib:"SlotIndex"`
		Model mib.OID   `mib:"Model"`
	} `mib:"cpsModule"`
	SlotPwr struct {
		Entry mib.Entry `mib:"Entry"`
		Bia   mib.Int   `mib:"BiaIndex"`
		Slot  mib.Int   `mib:"SlotIndex"`
		State mib.Int   `mib:"State"`
	} `mib:"cpsSlotPwr"`
	Cabinet struct {
		Entry       mib.Entry `mib:"Entry"`
		Bia         mib.Int   `mib:"BiaIndex"`
		Model       mib.OID   `mib:"Model"`
		Description mib.Str   `mib:"Description"`
		Sequence    mib.Int   `mib:"Sequence"`
	} `mib:"cpsCabinet"`
	Mc1800   PowerDetail `mib:"cpsMc1800"`
	Mc1300   PowerDetail `mib:"cpsMc1300"`
	Mc0200   Detail      `mib:"cpsMc0200"`
	Mc0800   Detail      `mib:"cpsMc0800"`
	Mc1900   Detail      `mib:"cpsMc1900"`
	Smacf100 Smacf100    `mib:"smacf100"`
	Cpsmm200 struct {
		Entry     mib.Entry `mib:"Entry"`
		Bia       mib.Int   `mib:"BiaIndex"`
		Slot      mib.Int   `mib:"SlotIndex"`
		Serial    mib.Int   `mib:"SerialNumber"`
		ICIF      mib.Int   `mib:"ICIF"`
		MRevision mib.Int   `mib:"MRevision"`
	} `mib:"cpsmm200"`

	GroupCtrl mib.Str `mib:"cpsGroupCtrl"`
	IsPrimary mib.Int `mib:"cpsIsPrimary"`

	EmuName          mib.Str     `mib:"cpsEmuModuleName"`
	EmuMAC           mib.Str     `mib:"cpsEmuMacAddress"`
	EmuVersion       mib.Str     `mib:"cpsEmuVersion"`
	EmuSessions      mib.Counter `mib:"cpsEmuAgentxSessions"`
	EmuSaves         mib.Counter `mib:"cpsEmuConfigSaves"`
	EmuSolicitations mib.Counter `mib:"cpsEmuSolicitations"`
	EmuPrevPrimary   mib.Str     `mib:"cpsEmuPreviousPrimary"`
	EmuReason        mib.Str     `mib:"cpsEmuRoleChangeReason"`
	EmuHeartbeats    mib.Counter `mib:"cpsEmuHeartbeats"`
	EmuQueued        mib.Gauge   `mib:"cpsEmuNotifyQueued"`
	EmuDropped       mib.Counter `mib:"cpsEmuNotifyDropped"`
	TrapMgr          struct {
		Address mib.IP      `mib:"Address"`
		State   mib.Int     `mib:"State"`
		LastAck mib.Ticks   `mib:"LastAck"`
		Misses  mib.Gauge   `mib:"Misses"`
		Sent    mib.Counter `mib:"Sent"`
		Acked   mib.Counter `mib:"Acked"`
		Queued  mib.Gauge   `mib:"Queued"`
		Dropped mib.Counter `mib:"Dropped"`
	} `mib:"cpsEmuTrapMgr"`
	Heartbeat  mib.Notification `mib:"cpsEmuHeartbeat"`
	RoleChange mib.Notification `mib:"cpsEmuRoleChange"`
	// AlwaysConflict: more than one always(3) module (AlwaysModules).
	AlwaysConflict mib.Notification `mib:"cpsEmuAlwaysConflict"`

	IPMon struct {
		Entry      mib.Entry `mib:"Entry"`
		Host       mib.Str   `mib:"Host"`
		Kind       mib.Int   `mib:"Kind"`
		State      mib.Int   `mib:"State"`
		Misses     mib.Int   `mib:"Misses"`
		Successes  mib.Int   `mib:"Successes"`
		LastChange mib.Ticks `mib:"LastChange"`
		LastAnswer mib.Ticks `mib:"LastAnswer"`
	} `mib:"cpsEmuIpMon"`
	IPMonVerdict   mib.Int `mib:"cpsEmuIpMonVerdict"`
	IPMonReason    mib.Str `mib:"cpsEmuIpMonReason"`
	StepDownReason mib.Str `mib:"cpsEmuStepDownReason"`
	AlwaysModules  mib.Str `mib:"cpsEmuAlwaysModules"`
}

// Detail is the columns every cabinet detail table has (cpsMc0200Table,
// cpsMc0800Table, cpsMc1900Table; and the first of cpsMc1800Table,
// cpsMc1300Table and smacf100Table).
type Detail struct {
	Entry       mib.Entry `mib:"Entry"`
	Bia         mib.Int   `mib:"BiaIndex"`
	Description mib.Str   `mib:"Description"`
	MRevision   mib.Int   `mib:"MRevision"`
}

// Power is the power supply columns of cpsMc1800Table and cpsMc1300Table.
type Power struct {
	PSPower1 mib.Int `mib:"PSPower1"`
	PSInUse1 mib.Int `mib:"PSInUse1"`
	PSPower2 mib.Int `mib:"PSPower2"`
	PSInUse2 mib.Int `mib:"PSInUse2"`
}

// PowerDetail is a detail table with power supplies.
type PowerDetail struct {
	Detail `mib:""`
	Power  `mib:""`
}

// Smacf100 is smacf100Table: an SMACF100 unit's detail.
type Smacf100 struct {
	Detail          `mib:""`
	SpanningTree    mib.Int `mib:"SpanningTree"`
	ResetCounters   mib.Int `mib:"ResetCounters"`
	SelfTest        mib.Int `mib:"SelfTest"`
	QosEnable       mib.Int `mib:"QosEnable"`
	QosHPThreshold  mib.Int `mib:"QosHPThreshold"`
	QosLqWeight     mib.Int `mib:"QosLqWeight"`
	QosHqWeight     mib.Int `mib:"QosHqWeight"`
	ModuleInstalled mib.Int `mib:"SNMPModuleInstalled"`
	AgingTimer      mib.Int `mib:"AgingTimer"`
}

// ResolveObjects resolves the module's objects from reg.
func ResolveObjects(reg *mib.Registry) (*Objects, error) {
	o := &Objects{}
	if err := mib.Resolve(reg, o); err != nil {
		return nil, err
	}
	return o, nil
}

// DetailOf returns the detail table of a cabinet model's prefix
// ("cpsMc1800", "cpsMc0200", "smacf100"…), or nil for a model without
// one; and its power supply columns, nil for a table without them.
func (o *Objects) DetailOf(prefix string) (*Detail, *Power) {
	switch prefix {
	case "cpsMc1800":
		return &o.Mc1800.Detail, &o.Mc1800.Power
	case "cpsMc1300":
		return &o.Mc1300.Detail, &o.Mc1300.Power
	case "cpsMc0200":
		return &o.Mc0200, nil
	case "cpsMc0800":
		return &o.Mc0800, nil
	case "cpsMc1900":
		return &o.Mc1900, nil
	case "smacf100":
		return &o.Smacf100.Detail, nil
	}
	return nil, nil
}
