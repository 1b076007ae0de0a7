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
	log      logrus.FieldLogger
	queue    chan []smi.VarBind
}

func newNotifier(ctx context.Context, sub *agent.Subagent, mod *module.Module, bia, slot int32, trapPort uint16, log logrus.FieldLogger) *notifier {
	n := &notifier{sub: sub, mod: mod, bia: bia, slot: slot, trapPort: trapPort, log: log, queue: make(chan []smi.VarBind, 256)}
	go n.run(ctx)
	return n
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
	for _, vb := range vbs {
		p := gosnmp.SnmpPDU{Name: vb.Name.String()}
		switch vb.Value.Type {
		case smi.TypeInteger:
			p.Type, p.Value = gosnmp.Integer, int(vb.Value.Int)
		case smi.TypeOctetString:
			p.Type, p.Value = gosnmp.OctetString, vb.Value.Bytes
		case smi.TypeObjectID:
			p.Type, p.Value = gosnmp.ObjectIdentifier, vb.Value.OID.String()
		default:
			continue
		}
		pdus = append(pdus, p)
	}
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
