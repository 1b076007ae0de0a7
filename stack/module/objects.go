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
	Mc1800 Detail `mib:"cpsMc1800"`
	Mc1300 Detail `mib:"cpsMc1300"`

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
}

// Detail is a cabinet model's detail table (cpsMc1800Table, cpsMc1300Table).
type Detail struct {
	Entry       mib.Entry `mib:"Entry"`
	Bia         mib.Int   `mib:"BiaIndex"`
	Description mib.Str   `mib:"Description"`
	PSPower1    mib.Int   `mib:"PSPower1"`
	PSInUse1    mib.Int   `mib:"PSInUse1"`
	PSPower2    mib.Int   `mib:"PSPower2"`
	PSInUse2    mib.Int   `mib:"PSInUse2"`
	MRevision   mib.Int   `mib:"MRevision"`
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
// ("cpsMc1800", "cpsMc1300"), or nil for a model without one.
func (o *Objects) DetailOf(prefix string) *Detail {
	switch prefix {
	case "cpsMc1800":
		return &o.Mc1800
	case "cpsMc1300":
		return &o.Mc1300
	}
	return nil
}
