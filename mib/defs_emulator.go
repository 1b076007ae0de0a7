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
	return d.objs
}
