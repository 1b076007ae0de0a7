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
	d.scalar("cpsEmuPreviousPrimary", objs+".7", displayString(), ReadOnly)
	d.scalar("cpsEmuRoleChangeReason", objs+".8", displayString(), ReadOnly)
	d.scalar("cpsEmuHeartbeats", objs+".9", counter32(), ReadOnly)
	d.scalar("cpsEmuNotifyQueued", objs+".10", gauge32(), ReadOnly)
	d.scalar("cpsEmuNotifyDropped", objs+".11", counter32(), ReadOnly)
	idx := integer32()
	idx.HasRange, idx.Min, idx.Max = true, 1, 4
	d.table("cpsEmuTrapMgr", objs+".12", []string{"Index"}, []column{
		{"Index", idx, NotAccessible},
		{"Address", ipAddress(), ReadOnly},
		{"State", enum("active", 1, "standby", 2, "failed", 3, "unconfigured", 4, "keepaliveOff", 5), ReadOnly},
		{"LastAck", timeTicks(), ReadOnly},
		{"Misses", gauge32(), ReadOnly},
		{"Sent", counter32(), ReadOnly},
		{"Acked", counter32(), ReadOnly},
		{"Queued", gauge32(), ReadOnly},
		{"Dropped", counter32(), ReadOnly},
	})
	count := Syntax{Base: smi.TypeInteger, HasRange: true, Min: 0, Max: 2147483647}
	d.table("cpsEmuIpMon", objs+".20", []string{"Index"}, []column{
		{"Index", integer32(), NotAccessible}, {"Host", displayString(), ReadOnly},
		{"Kind", enum("target", 1, "peer", 2), ReadOnly}, {"State", enum("up", 1, "down", 2), ReadOnly},
		{"Misses", count, ReadOnly}, {"Successes", count, ReadOnly},
		{"LastChange", timeTicks(), ReadOnly}, {"LastAnswer", timeTicks(), ReadOnly},
	})
	d.scalar("cpsEmuIpMonVerdict", objs+".21", enum("ok", 1, "degraded", 2, "failed", 3), ReadOnly)
	d.scalar("cpsEmuIpMonReason", objs+".22", displayString(), ReadOnly)
	d.scalar("cpsEmuStepDownReason", objs+".23", displayString(), ReadOnly)
	d.scalar("cpsEmuAlwaysModules", objs+".24", displayString(), ReadOnly)
	notes := EmulatorArc + ".0"
	d.notification("cpsEmuHeartbeat", notes+".1", "cpsEmuModuleName", "cpsEmuHeartbeats")
	d.notification("cpsEmuRoleChange", notes+".2", "cpsEmuModuleName", "cpsEmuPreviousPrimary", "cpsEmuRoleChangeReason")
	d.notification("cpsEmuAlwaysConflict", notes+".3", "cpsEmuModuleName", "cpsEmuAlwaysModules")
	return d.objs
}
