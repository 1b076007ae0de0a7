package main

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/agent"
	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/module"
	"github.com/cpsmm/cpsmm/stack/trapmgr"
)

// notifier sends the module's notifications, in order, on one goroutine:
// through snmpd's trap sinks (AgentX Notify, on a goroutine of its own)
// and to the trap managers of the module's own cpsmm100SNMPTrapMgr…Mgr4
// (0.0.0.0: none) on port trapPort. With cpsmm100SNMPTrapInterval 0 they
// go as SNMPv2c traps to every manager; with N > 0 the keepalive and
// failover of package trapmgr decides: InformRequests to the active
// manager, heartbeats every N s, a bounded queue while no manager
// acknowledges.
type notifier struct {
	sub      *agent.Subagent
	mod      *module.Module
	trapPort uint16
	log      logrus.FieldLogger
	queue    chan []smi.VarBind
	sink     chan []smi.VarBind
	acks     chan uint64
	roles    chan bool
	status   atomic.Pointer[trapmgr.Status]
	// cfg configures the machine (zero: the defaults; tests may shorten it).
	cfg trapmgr.Config
}

func newNotifier(ctx context.Context, sub *agent.Subagent, mod *module.Module, trapPort uint16, log logrus.FieldLogger) *notifier {
	n := &notifier{sub: sub, mod: mod, trapPort: trapPort, log: log,
		queue: make(chan []smi.VarBind, 256), sink: make(chan []smi.VarBind, 256),
		acks: make(chan uint64, 64), roles: make(chan bool, 16)}
	n.status.Store(&trapmgr.Status{Active: -1})
	mod.SetNotifyStatus(n.mibStatus)
	go n.runSink(ctx)
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

// RoleChanged tells the notifier the module's role (from the member's
// loop); it never blocks.
func (n *notifier) RoleChanged(primary bool) {
	select {
	case n.roles <- primary:
	default:
		n.log.Warn("role change not told to the notifier: queue full")
	}
}

// runSink hands every notification to snmpd (its trap sinks), in order.
func (n *notifier) runSink(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case vbs := <-n.sink:
			nctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			if err := n.sub.Notify(nctx, vbs); err != nil {
				n.log.WithError(err).Warn("notification not handed to snmpd")
			}
			cancel()
		}
	}
}

func (n *notifier) run(ctx context.Context) {
	sm := trapmgr.New[[]smi.VarBind](n.cfg)
	configure := func() {
		sm.Configure(time.Now(), n.mod.TrapManagers(), time.Duration(n.mod.TrapInterval())*time.Second)
	}
	configure()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		n.flush(ctx, sm)
		st := sm.Status()
		n.status.Store(&st)
		if d := sm.Deadline(); d.IsZero() {
			timer.Reset(time.Hour)
		} else {
			timer.Reset(max(time.Until(d), 0))
		}
		select {
		case <-ctx.Done():
			return
		case vbs := <-n.queue:
			select {
			case n.sink <- vbs:
			default:
				n.log.Warn("notification not handed to snmpd: queue full")
			}
			configure()
			if sm.On() {
				sm.Enqueue(time.Now(), vbs)
			} else {
				n.trap(vbs)
			}
		case id := <-n.acks:
			sm.Ack(time.Now(), id)
		case p := <-n.roles:
			// The settings again too: a Set distributed to this module
			// may have changed them without waking the notifier.
			configure()
			sm.SetPrimary(time.Now(), p)
		case <-n.mod.SettingsChanged():
			configure()
		case <-timer.C:
			sm.Tick(time.Now())
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// flush carries out what the machine wants: informs, each on a goroutine
// of its own, and traps of what it released.
func (n *notifier) flush(ctx context.Context, sm *trapmgr.Machine[[]smi.VarBind]) {
	rd := sm.Ready()
	for _, e := range rd.Events {
		n.log.WithFields(logrus.Fields{"from": managerName(e.From), "to": managerName(e.To), "reason": e.Reason}).Info("active trap manager changed")
	}
	for _, vbs := range rd.Released {
		n.trap(vbs)
	}
	timeout := sm.Config().Timeout
	for _, s := range rd.Sends {
		vbs := s.Payload
		if s.Keepalive {
			vbs = n.mod.Heartbeat(uint32(s.Seq))
		}
		pdus := trapPDUs(n.mod.Uptime(), vbs)
		go n.inform(ctx, s.ID, s.Addr, pdus, timeout)
	}
}

func managerName(slot int) string {
	if slot < 0 {
		return "none"
	}
	return fmt.Sprintf("mgr%d", slot+1)
}

// inform sends one InformRequest and reports its acknowledgement.
func (n *notifier) inform(ctx context.Context, id uint64, to netip.Addr, pdus []gosnmp.SnmpPDU, timeout time.Duration) {
	g := &gosnmp.GoSNMP{Target: to.String(), Port: n.trapPort, Community: "public", Version: gosnmp.Version2c,
		Timeout: timeout, Retries: 0, Context: ctx}
	if err := g.Connect(); err != nil {
		n.log.WithError(err).WithField("manager", to.String()).Debug("inform not sent")
		return
	}
	defer g.Conn.Close()
	if _, err := g.SendTrap(gosnmp.SnmpTrap{Variables: pdus, IsInform: true}); err != nil {
		n.log.WithError(err).WithField("manager", to.String()).Debug("inform not acknowledged")
		return
	}
	select {
	case n.acks <- id:
	case <-ctx.Done():
	}
}

// Managers returns the keepalive's view of the trap managers (any
// goroutine).
func (n *notifier) Managers() trapmgr.Status { return *n.status.Load() }

// mibStatus is the notifier's state as the MIB shows it.
func (n *notifier) mibStatus() module.NotifyStatus {
	st := n.status.Load()
	var out module.NotifyStatus
	var hb uint64
	boot := time.Now().Add(-time.Duration(n.mod.Uptime()) * 10 * time.Millisecond)
	for i, ms := range st.Managers {
		hb += ms.Keepalives
		r := module.ManagerRow{Addr: ms.Addr, Misses: uint32(ms.Misses), Sent: uint32(ms.Sent), Acked: uint32(ms.Acked),
			Queued: uint32(ms.Queued), Dropped: uint32(ms.Dropped)}
		if !ms.LastAck.IsZero() && ms.LastAck.After(boot) {
			r.LastAck = uint32(ms.LastAck.Sub(boot) / (10 * time.Millisecond))
		}
		switch {
		case ms.State == trapmgr.Unconfigured || ms.State == 0:
			r.State = mib.TrapMgrUnconfigured
		case !st.On:
			r.State = mib.TrapMgrKeepaliveOff
		case ms.State == trapmgr.Active:
			r.State = mib.TrapMgrActive
		case ms.State == trapmgr.Failed:
			r.State = mib.TrapMgrFailed
		default:
			r.State = mib.TrapMgrStandby
		}
		if !r.Addr.IsValid() {
			r.Addr = netip.IPv4Unspecified()
		}
		out.Managers[i] = r
	}
	out.Heartbeats, out.Queued, out.Dropped = uint32(hb), uint32(st.Queued), uint32(st.Dropped)
	return out
}

// trap sends vbs to every configured trap manager as an SNMPv2c trap.
func (n *notifier) trap(vbs []smi.VarBind) {
	var pdus []gosnmp.SnmpPDU
	for _, a := range n.mod.TrapManagers() {
		if !a.IsValid() || a.IsUnspecified() {
			continue
		}
		to := netip.AddrPortFrom(a, n.trapPort)
		if pdus == nil {
			pdus = trapPDUs(n.mod.Uptime(), vbs)
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
