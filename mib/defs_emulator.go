package mib

import "github.com/cpsmm/cpsmm/mib/smi"

// EmulatorArc is the root of the emulator's own objects
// (CPSMM-EMULATOR-MIB::cpsmmEmulatorMIB = netSnmpPlaypen.868,
// net-snmp's arc for local experiments), outside every
// vendor subtree.
const EmulatorArc = "1.3.6.1.4.1.8072.9999.9999.868"

// EmulatorObjects returns the definitions of CPSMM-EMULATOR-MIB
// (MIBs/CPSMM-EMULATOR-MIB.txt): objects that exist only in the emulator.
func EmulatorObjects() []Object {
	d := &defBuilder{module: "CPSMM-EMULATOR-MIB"}
	objs := EmulatorArc + ".1"
	mac := Syntax{Base: smi.TypeOctetString, TC: "MacAddress", HasSize: true, MinSize: 6, MaxSize: 6}
	d.scalar("cpsEmuModuleName", objs+".1", displayString(), ReadOnly)
	d.scalar("cpsEmuMacAddress", objs+".2", mac, ReadOnly)
	d.scalar("cpsEmuVersion", objs+".3", displayString(), ReadOnly)
	d.scalar("cpsEmuAgentxSessions", objs+".4", counter32(), ReadOnly)
	d.scalar("cpsEmuConfigSaves", objs+".5", counter32(), ReadOnly)
	d.scalar("cpsEmuSolicitations", objs+".6", counter32(), ReadOnly)
	count := Syntax{Base: smi.TypeInteger, HasRange: true, Min: 0, Max: 2147483647}
	d.table("cpsEmuIpMon", objs+".20", []string{"Index"}, []column{
		{"Index", integer32(), NotAccessible}, {"Host", displayString(), ReadOnly},
		{"Kind", enum("target", 1, "peer", 2), ReadOnly}, {"State", enum("up", 1, "down", 2), ReadOnly},
		{"Misses", count, ReadOnly}, {"Successes", count, ReadOnly},
		{"LastChange", timeTicks(), ReadOnly}, {"LastAnswer", timeTicks(), ReadOnly},
	})
	d.scalar("cpsEmuIpMonVerdict", objs+".21", enum("ok", 1, "degraded", 2, "failed", 3), ReadOnly)
	d.scalar("cpsEmuIpMonReason", objs+".22", displayString(), ReadOnly)
	d.scalar("cpsEmuRoleChangeReason", objs+".23", displayString(), ReadOnly)
	return d.objs
}
