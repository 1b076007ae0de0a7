package main

import (
	"context"
	"net/netip"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/agent"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/module"
)

// notifier sends the module's notifications, in order, on one goroutine:
// through snmpd's trap sinks (AgentX Notify) and, as SNMPv2c traps, to
// the trap managers of the module's own cpsmm100SNMPTrapMgr…Mgr4 (0.0.0.0:
// none) on port trapPort.
type notifier struct {
	sub      *agent.Subagent
	mod      *module.Module
	bia      int32
	slot     int32
	trapPort uint16
	uptime   func() uint32 // sysUpTime.0 of the traps, in centiseconds
	log      logrus.FieldLogger
	queue    chan []smi.VarBind
}

func newNotifier(ctx context.Context, sub *agent.Subagent, mod *module.Module, bia, slot int32, trapPort uint16, log logrus.FieldLogger) *notifier {
	n := &notifier{sub: sub, mod: mod, bia: bia, slot: slot, trapPort: trapPort, uptime: moduleUptime(mod, bia, slot), log: log, queue: make(chan []smi.VarBind, 256)}
	go n.run(ctx)
	return n
}

// moduleUptime reads the module's cpsmm100SysUpTime: the time since the
// module (re)started, which is what its traps carry as sysUpTime.0.
func moduleUptime(mod *module.Module, bia, slot int32) func() uint32 {
	return func() uint32 {
		v, _ := mod.Store().Value("cpsmm100SysUpTime", uint32(bia), uint32(slot))
		return uint32(v.Uint)
	}
}

// Notify queues vbs (snmpTrapOID.0 first); it never blocks.
func (n *notifier) Notify(vbs []smi.VarBind) {
	select {
	case n.queue <- vbs:
	default:
		n.log.Warn("notification dropped: queue full")
	}
}

func (n *notifier) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case vbs := <-n.queue:
			nctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			if err := n.sub.Notify(nctx, vbs); err != nil {
				n.log.WithError(err).Warn("notification not handed to snmpd")
			}
			cancel()
			n.trap(vbs)
		}
	}
}

// trap sends vbs to every configured trap manager.
func (n *notifier) trap(vbs []smi.VarBind) {
	var pdus []gosnmp.SnmpPDU
	for _, name := range []string{"cpsmm100SNMPTrapMgr", "cpsmm100SNMPTrapMgr2", "cpsmm100SNMPTrapMgr3", "cpsmm100SNMPTrapMgr4"} {
		v, ok := n.mod.Store().Value(name, uint32(n.bia), uint32(n.slot))
		if !ok {
			continue
		}
		a := v.Addr()
		if !a.IsValid() || a.IsUnspecified() {
			continue
		}
		to := netip.AddrPortFrom(a, n.trapPort)
		if pdus == nil {
			pdus = trapPDUs(n.uptime(), vbs)
		}
		g := &gosnmp.GoSNMP{Target: a.String(), Port: n.trapPort, Community: "public", Version: gosnmp.Version2c, Timeout: time.Second}
		if err := g.Connect(); err != nil {
			n.log.WithError(err).WithField("manager", to.String()).Warn("trap not sent")
			continue
		}
		if _, err := g.SendTrap(gosnmp.SnmpTrap{Variables: pdus}); err != nil {
			n.log.WithError(err).WithField("manager", to.String()).Warn("trap not sent")
		}
		g.Conn.Close()
	}
}

// sysUpTime0 is sysUpTime.0, the first varbind of an SNMPv2 trap (RFC 3416 4.2.6).
func sysUpTime0() smi.OID { return smi.OID{1, 3, 6, 1, 2, 1, 1, 3, 0} }

// trapPDUs turns a notification's varbinds (snmpTrapOID.0 first) into the
// varbinds of an SNMPv2c trap: sysUpTime.0 = uptime (centiseconds) first,
// then vbs in order, each with its own type. A sysUpTime.0 already in vbs
// is replaced; gosnmp would otherwise prepend the Unix time.
func trapPDUs(uptime uint32, vbs []smi.VarBind) []gosnmp.SnmpPDU {
	pdus := make([]gosnmp.SnmpPDU, 0, len(vbs)+1)
	pdus = append(pdus, gosnmp.SnmpPDU{Name: "." + sysUpTime0().String(), Type: gosnmp.TimeTicks, Value: uptime})
	for _, vb := range vbs {
		if vb.Name.Equal(sysUpTime0()) {
			continue
		}
		pdus = append(pdus, trapPDU(vb))
	}
	return pdus
}

// trapPDU converts one varbind, in the Go types gosnmp marshals for each
// BER type.
func trapPDU(vb smi.VarBind) gosnmp.SnmpPDU {
	p := gosnmp.SnmpPDU{Name: "." + vb.Name.String()}
	v := vb.Value
	switch v.Type {
	case smi.TypeInteger:
		p.Type, p.Value = gosnmp.Integer, int(v.Int)
	case smi.TypeOctetString:
		p.Type, p.Value = gosnmp.OctetString, v.Bytes
	case smi.TypeObjectID:
		p.Type, p.Value = gosnmp.ObjectIdentifier, "."+v.OID.String()
	case smi.TypeIPAddress:
		a := v.Addr()
		if !a.IsValid() {
			a = netip.IPv4Unspecified()
		}
		p.Type, p.Value = gosnmp.IPAddress, a.String()
	case smi.TypeCounter32:
		p.Type, p.Value = gosnmp.Counter32, uint32(v.Uint)
	case smi.TypeGauge32:
		p.Type, p.Value = gosnmp.Gauge32, uint32(v.Uint)
	case smi.TypeTimeTicks:
		p.Type, p.Value = gosnmp.TimeTicks, uint32(v.Uint)
	case smi.TypeCounter64:
		p.Type, p.Value = gosnmp.Counter64, v.Uint
	case smi.TypeOpaque:
		p.Type, p.Value = gosnmp.Opaque, v.Bytes
	case smi.TypeNoSuchObject:
		p.Type = gosnmp.NoSuchObject
	case smi.TypeNoSuchInstance:
		p.Type = gosnmp.NoSuchInstance
	case smi.TypeEndOfMibView:
		p.Type = gosnmp.EndOfMibView
	default: // Null, and anything unknown: the name with no value
		p.Type = gosnmp.Null
	}
	return p
}
