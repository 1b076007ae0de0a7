package mib

import (
	"strconv"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// Syntax helpers for the definitions below.
func integer32() Syntax { return Syntax{Base: smi.TypeInteger} }
func displayString() Syntax {
	return Syntax{Base: smi.TypeOctetString, TC: "DisplayString", HasSize: true, MinSize: 0, MaxSize: 255}
}
func ipAddress() Syntax { return Syntax{Base: smi.TypeIPAddress} }
func objectID() Syntax  { return Syntax{Base: smi.TypeObjectID} }
func timeTicks() Syntax { return Syntax{Base: smi.TypeTimeTicks} }
func counter32() Syntax { return Syntax{Base: smi.TypeCounter32} }
func gauge32() Syntax   { return Syntax{Base: smi.TypeGauge32} }

// enum builds an enumerated INTEGER from "label", value pairs.
func enum(pairs ...any) Syntax {
	s := Syntax{Base: smi.TypeInteger}
	for i := 0; i+1 < len(pairs); i += 2 {
		s.Enums = append(s.Enums, Enum{Label: pairs[i].(string), Value: int32(pairs[i+1].(int))})
	}
	return s
}

func yesNo() Syntax { return enum("yes", 1, "no", 2) }

// cpsConnector is the CpsConnector textual convention.
func cpsConnector() Syntax {
	s := enum("rj-45", 10, "stmm", 11, "stsm", 12, "scmm", 13, "scsm", 14, "scsmlh", 15,
		"scsmelh", 16, "scsmlhlw", 17, "mtrjmm", 18, "lc", 19, "bnc", 20, "stsmlh", 21,
		"stsmelh", 22, "scmm1300", 23, "stmm1300", 24, "mtrjsm", 25, "serial26", 26,
		"stmmlh", 27, "scsmsh", 28, "scsimplex", 29, "bncdual", 30, "db9rsxxx", 31,
		"termblock", 32, "rj11", 33, "sc40km", 34, "sc125km", 35)
	s.TC = "CpsConnector"
	return s
}

// defBuilder accumulates definitions of one module.
type defBuilder struct {
	module string
	objs   []Object
}

func (d *defBuilder) add(o Object) {
	o.Module = d.module
	d.objs = append(d.objs, o)
}

func (d *defBuilder) identity(name, oid string) {
	d.add(Object{Name: name, OID: smi.MustOID(oid), Kind: KindIdentity, Access: NotAccessible})
}

// column is one column of a table: its name suffix, syntax and access.
type column struct {
	name   string
	syntax Syntax
	access Access
}

// table adds a table, its entry (indexed by the named columns) and columns
// numbered from 1.
func (d *defBuilder) table(prefix, oid string, index []string, cols []column) {
	t := smi.MustOID(oid)
	d.add(Object{Name: prefix + "Table", OID: t, Kind: KindTable, Access: NotAccessible})
	var idx []string
	for _, i := range index {
		idx = append(idx, prefix+i)
	}
	e := t.Append(1)
	d.add(Object{Name: prefix + "Entry", OID: e, Kind: KindEntry, Access: NotAccessible, Index: idx})
	for i, c := range cols {
		for _, ix := range index {
			if ix == c.name && c.syntax.Base == smi.TypeInteger && len(c.syntax.Enums) == 0 && !c.syntax.HasRange {
				// SMIv2 wants a range on an integer index.
				c.syntax.HasRange, c.syntax.Min, c.syntax.Max = true, 1, 2147483647
			}
		}
		d.add(Object{Name: prefix + c.name, OID: e.Append(uint32(i + 1)), Kind: KindColumn, Syntax: c.syntax, Access: c.access})
	}
}

func (d *defBuilder) scalar(name, oid string, s Syntax, a Access) {
	d.add(Object{Name: name, OID: smi.MustOID(oid), Kind: KindScalar, Syntax: s, Access: a})
}

func (d *defBuilder) notification(name, oid string, objects ...string) {
	d.add(Object{Name: name, OID: smi.MustOID(oid), Kind: KindNotification, Access: AccessibleForNotify, Objects: objects})
}

const (
	transition = "1.3.6.1.4.1.868"
	productID  = transition + ".1"
	chSlcps    = productID + ".4.1.2"
	slotCps    = transition + ".2.4.1.2"
	cps        = transition + ".2.4.2.2"
)

// PointSystemObjects returns the definitions of MCC16-MIB (MIBs/MCC16-MIB.txt):
// the vendor's names, numbers, syntaxes and access, kept exactly.
func PointSystemObjects() []Object {
	d := &defBuilder{module: "MCC16-MIB"}
	ro, rw := ReadOnly, ReadWrite
	biaSlot := []string{"BiaIndex", "SlotIndex"}

	// Product identifiers.
	for _, p := range SlideInIDs() {
		d.identity(p.Name, chSlcps+"."+itoa(p.Arc))
	}
	for _, p := range ChassisIDs() {
		d.identity(p.Name, productID+".4."+itoa(p.Arc))
	}

	// Slot summary.
	d.table("cpsModule", slotCps+".1.1", biaSlot, []column{
		{"BiaIndex", integer32(), ro}, {"SlotIndex", integer32(), ro}, {"Model", objectID(), ro},
	})

	// Base Management Module.
	d.table("cpsmm100", slotCps+".2.1", biaSlot, []column{
		{"BiaIndex", integer32(), ro}, {"SlotIndex", integer32(), ro},
		{"Groups", displayString(), rw},
		{"Reset", enum("reset", 1, "noReset", 2), rw},
		{"SaveConfig", enum("saveConfig", 1, "noSaveConfig", 2), rw},
		{"HwRevision", displayString(), ro}, {"SwRevision", displayString(), ro},
		{"IPAddress", ipAddress(), rw}, {"SubnetMask", ipAddress(), rw}, {"Gateway", ipAddress(), rw},
		{"IsPrimary", yesNo(), ro},
		{"WantPrimary", enum("yes", 1, "no", 2, "always", 3), rw},
		{"CanPrimary", yesNo(), ro},
		{"EthernetLink", enum("on", 1, "off", 2), ro},
		{"TntRIP", ipAddress(), ro}, {"TntRIPMask", ipAddress(), ro},
		{"SNMPTrapMgr", ipAddress(), rw}, {"SNMPTrapInterval", integer32(), rw},
		{"SysUpTime", timeTicks(), ro},
		{"SysContact", displayString(), rw}, {"SysName", displayString(), rw}, {"SysLocation", displayString(), rw},
		{"CfgMatch", enum("yes", 1, "no", 2, "notApplicable", 3), rw},
		{"SerialNumber", integer32(), ro}, {"ICIF", yesNo(), ro}, {"MRevision", integer32(), ro},
		{"LastGasp", yesNo(), ro},
		{"SNMPTrapMgr2", ipAddress(), rw}, {"SNMPTrapMgr3", ipAddress(), rw}, {"SNMPTrapMgr4", ipAddress(), rw},
		{"CacheClean", enum("clean", 1, "dirty", 2), ro},
	})

	// Expansion Management Module.
	d.table("cpsmm200", slotCps+".2.2", biaSlot, []column{
		{"BiaIndex", integer32(), ro}, {"SlotIndex", integer32(), ro},
		{"SerialNumber", integer32(), ro}, {"ICIF", yesNo(), ro}, {"MRevision", integer32(), ro},
	})

	// Converters.
	link := enum("linkUp", 1, "linkDown", 2)
	cfgMatch := enum("yes", 1, "no", 2, "notApplicable", 3)
	onOff := enum("on", 1, "off", 2)
	mode := enum("software", 1, "hardware", 2)
	clean := enum("clean", 1, "dirty", 2)
	d.table("cettf100", slotCps+".2.3", biaSlot, []column{
		{"BiaIndex", integer32(), ro}, {"SlotIndex", integer32(), ro},
		{"Groups", displayString(), rw}, {"MRevision", integer32(), ro}, {"CfgMatch", cfgMatch, ro},
		{"SerialNumber", integer32(), ro}, {"ConnA", cpsConnector(), ro}, {"ConnB", cpsConnector(), ro},
		{"TPLink", link, ro}, {"FiberLink", link, ro}, {"Fault", yesNo(), ro},
		{"TPActivity", yesNo(), ro}, {"FiberActivity", yesNo(), ro},
		{"AutoCross", onOff, rw}, {"LinkPassThrough", onOff, rw}, {"ConfigMode", mode, ro},
		{"Enabled", yesNo(), rw}, {"CacheClean", clean, ro},
	})
	enDis := enum("enabled", 1, "disabled", 2)
	activity := enum("yes", 1, "no", 2, "notSupported", 3)
	d.table("cfetf100", slotCps+".2.4", biaSlot, []column{
		{"BiaIndex", integer32(), ro}, {"SlotIndex", integer32(), ro},
		{"Groups", displayString(), rw}, {"MRevision", integer32(), ro}, {"CfgMatch", cfgMatch, ro},
		{"SerialNumber", integer32(), ro}, {"ConnA", cpsConnector(), ro}, {"ConnB", cpsConnector(), ro},
		{"TPLink", link, ro}, {"FiberLink", link, ro}, {"Fault", yesNo(), ro},
		{"FastLinkPulse", enum("autonegotiate", 1, "hdx100Btx", 2), rw},
		{"Enabled", yesNo(), rw}, {"Pause", enDis, rw}, {"LinkPassThrough", enDis, rw}, {"AutoCross", enDis, rw},
		{"TPActivity", activity, ro}, {"FiberActivity", activity, ro}, {"ConfigMode", mode, ro},
		{"FarEndFault", enum("enabled", 1, "disabled", 2, "notSupported", 3), rw},
		{"CacheClean", clean, ro},
	})

	// Cabinets.
	d.table("cpsCabinet", cps+".1.1", []string{"BiaIndex"}, []column{
		{"BiaIndex", integer32(), ro}, {"Model", objectID(), ro},
		{"Description", displayString(), rw}, {"Sequence", integer32(), ro},
	})
	for _, t := range []struct{ prefix, oid string }{{"cpsMc1800", cps + ".2.1"}, {"cpsMc1300", cps + ".2.2"}} {
		d.table(t.prefix, t.oid, []string{"BiaIndex"}, []column{
			{"BiaIndex", integer32(), ro}, {"Description", displayString(), ro},
			{"PSPower1", onOff, ro}, {"PSInUse1", yesNo(), ro},
			{"PSPower2", yesNo(), ro}, {"PSInUse2", yesNo(), ro}, {"MRevision", integer32(), ro},
		})
	}
	// The cabinets without power supply columns.
	for _, t := range []struct{ prefix, oid string }{{"cpsMc0200", cps + ".2.3"}, {"cpsMc1900", cps + ".2.4"}, {"cpsMc0800", cps + ".2.6"}} {
		d.table(t.prefix, t.oid, []string{"BiaIndex"}, []column{
			{"BiaIndex", integer32(), ro}, {"Description", displayString(), ro}, {"MRevision", integer32(), ro},
		})
	}
	// The SMACF100 (a Management Aggregation Converter unit, a cabinet
	// whose ports are its slots).
	enDisNS := enum("enabled", 1, "disabled", 2, "notSupported", 3)
	d.table("smacf100", cps+".2.5", []string{"BiaIndex"}, []column{
		{"BiaIndex", integer32(), ro}, {"Description", displayString(), ro}, {"MRevision", integer32(), ro},
		{"SpanningTree", enDisNS, rw},
		{"ResetCounters", enum("reset", 1, "doNothing", 2), rw},
		{"SelfTest", enum("selfTest", 1, "doNothing", 2), rw},
		{"QosEnable", enDisNS, rw},
		{"QosHPThreshold", integer32(), rw}, {"QosLqWeight", integer32(), rw}, {"QosHqWeight", integer32(), rw},
		{"SNMPModuleInstalled", yesNo(), ro},
		{"AgingTimer", integer32(), rw},
	})

	// Agent objects.
	groupCtrl := displayString()
	groupCtrl.MaxSize = 256
	d.scalar("cpsGroupCtrl", cps+".3.1", groupCtrl, rw)
	d.table("cpsSlotPwr", cps+".3.2", biaSlot, []column{
		{"BiaIndex", integer32(), ro}, {"SlotIndex", integer32(), ro}, {"State", onOff, rw},
	})
	d.scalar("cpsIsPrimary", cps+".3.3", yesNo(), rw)

	// Notifications: cpsmM100Id.0.<specific-trap>.
	dev := []string{"cpsModuleBiaIndex", "cpsModuleSlotIndex", "cpsModuleModel"}
	cab := []string{"cpsCabinetBiaIndex", "cpsCabinetModel"}
	trap := chSlcps + ".1.0."
	d.notification("pSError", trap+"111", dev...)
	d.notification("pSErrorClear", trap+"112", dev...)
	d.notification("pSDeviceInserted", trap+"113", dev...)
	d.notification("pSDeviceRemoved", trap+"114", dev...)
	d.notification("pSDeviceColdStart", trap+"115", dev...)
	d.notification("pSPowerLost", trap+"116", "cpsMc1800BiaIndex", "cpsMc1800PSPower1", "cpsMc1800PSPower2")
	d.notification("pSCabinetAdded", trap+"117", cab...)
	d.notification("pSCabinetRemoved", trap+"118", cab...)
	return d.objs
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// ProductIDName is a product identifier: its MIB name and its last arc.
type ProductIDName struct {
	Name string
	Arc  uint32
}

// SlideInIDs are the product identifiers under chSlcps (the values of
// cpsModuleModel), by arc.
func SlideInIDs() []ProductIDName {
	return []ProductIDName{
		{"cpsmM100Id", 1}, {"cpsmM200Id", 2}, {"cettf100Id", 3}, {"cfetf100Id", 4}, {"cfmff100Id", 5},
		{"cpsmp100Id", 6}, {"csetf100Id", 7}, {"cgetf100Id", 8}, {"csdtf100Id", 9}, {"cpsmp110Id", 10},
		{"cbftf100Id", 11}, {"cetct100Id", 12}, {"ccscf100Id", 13}, {"cfetf105Id", 14}, {"smacf100PId", 15},
		{"cpsld100Id", 16}, {"cdftf100Id", 17}, {"cpsvt100Id", 18}, {"cemtf100Id", 19}, {"captf100Id", 20},
		{"cfetf205Id", 21}, {"cbftf150Id", 22}, {"cgfeb100Id", 23}, {"crmfe100Id", 24}, {"crs2f100Id", 25},
		{"crs4f100Id", 26}, {"cmefg100Id", 27},
		{"cpsEmptyId", 1001}, {"cpsDblWideId", 1002}, {"cpsUnknownDeviceId", 1003},
	}
}

// ChassisIDs are the product identifiers under chassisProdsId (the values
// of cpsCabinetModel), by arc.
func ChassisIDs() []ProductIDName {
	return []ProductIDName{
		{"chassisMcc16Id", 2}, {"chassisCpsmc1800Id", 3}, {"chassisCpsmc1850Id", 4}, {"chassisCpsmc0800Id", 5},
		{"chassisCpsmc1300Id", 6}, {"chassisCpsmc0200Id", 7}, {"chassisSmacf100LCId", 8}, {"chassisCpsmc1900Id", 9},
		{"chassisSmacf100Id", 10},
	}
}
