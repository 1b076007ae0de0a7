package main

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/module"
	"github.com/cpsmm/cpsmm/stack/trapmgr"
)

// informListener is a gosnmp trap listener, which acknowledges informs,
// on host:port; it records the snmpTrapOID.0 of each.
type informListener struct {
	tl   *gosnmp.TrapListener
	mu   sync.Mutex
	oids []string
	ups  []uint32
}

func listenInforms(t *testing.T, host string, port uint16) *informListener {
	t.Helper()
	l := &informListener{tl: gosnmp.NewTrapListener()}
	l.tl.Params = &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "public", Logger: gosnmp.NewLogger(nil)}
	l.tl.OnNewTrap = func(p *gosnmp.SnmpPacket, _ *net.UDPAddr) {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, v := range p.Variables {
			switch v.Name {
			case ".1.3.6.1.6.3.1.1.4.1.0":
				l.oids = append(l.oids, v.Value.(string))
			case ".1.3.6.1.2.1.1.3.0":
				l.ups = append(l.ups, v.Value.(uint32))
			}
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- l.tl.Listen(net.JoinHostPort(host, strconv.Itoa(int(port)))) }()
	select {
	case <-l.tl.Listening():
	case err := <-errc:
		t.Fatalf("listener on %s: %v", host, err)
	case <-time.After(5 * time.Second):
		t.Fatal("listener not listening")
	}
	return l
}

func (l *informListener) count(oid string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, o := range l.oids {
		if o == oid {
			n++
		}
	}
	return n
}

// TestInformsFollowTheActiveManager: with cpsmm100SNMPTrapInterval 1 the
// notifier of a Primary sends heartbeats as informs to the first manager
// (sysUpTime.0 the module's uptime); the first silent, the second takes
// over within 3 intervals and the notification follows it; the MIB shows
// the managers' states.
func TestInformsFollowTheActiveManager(t *testing.T) {
	port := freeUDPPort(t)
	cfg := module.Default()
	cfg.TrapManagers = [4]string{"127.0.0.2", "127.0.0.3", "0.0.0.0", "0.0.0.0"}
	cfg.TrapInterval = 1
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	mod, err := module.New(module.Options{Config: cfg, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	l1 := listenInforms(t, "127.0.0.2", port)
	l2 := listenInforms(t, "127.0.0.3", port)
	defer l2.tl.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := &notifier{mod: mod, trapPort: port, log: log, queue: make(chan []smi.VarBind, 8), sink: make(chan []smi.VarBind, 8),
		acks: make(chan uint64, 8), roles: make(chan bool, 1)}
	n.status.Store(&trapmgr.Status{Active: -1})
	mod.SetNotifyStatus(n.mibStatus)
	go n.run(ctx)
	n.RoleChanged(true)

	hb := mod.Objects().Heartbeat.OID().String()
	state := func(i uint32) int32 {
		v, _ := mod.Store().Read(mod.Objects().TrapMgr.State.Handle, i)
		return v.Int
	}
	wait := func(what string, within time.Duration, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > within {
				t.Fatalf("not within %s: %s", within, what)
			}
			time.Sleep(5 * time.Millisecond)
		}
		return time.Since(start)
	}
	wait("2 heartbeats at the first manager", 5*time.Second, func() bool { return l1.count("."+hb) >= 2 })
	if l2.count("."+hb) != 0 || state(1) != mib.TrapMgrActive || state(2) != mib.TrapMgrStandby || state(3) != mib.TrapMgrUnconfigured {
		t.Fatalf("second manager: %d heartbeats; states %d %d %d", l2.count("."+hb), state(1), state(2), state(3))
	}
	l1.mu.Lock()
	up := l1.ups[len(l1.ups)-1]
	l1.mu.Unlock()
	if up > mod.Uptime() || up+500 < mod.Uptime() {
		t.Errorf("sysUpTime.0 %d, the module's uptime %d", up, mod.Uptime())
	}

	l1.tl.Close()
	took := wait("a heartbeat at the second manager", 6*time.Second, func() bool { return l2.count("."+hb) >= 1 })
	t.Logf("failover %s after the first manager stopped", took.Round(time.Millisecond))
	if state(1) != mib.TrapMgrFailed || state(2) != mib.TrapMgrActive {
		t.Fatalf("states %d %d after the failover", state(1), state(2))
	}
	n.Notify([]smi.VarBind{trapOIDVarBind})
	wait("the notification at the second manager", 3*time.Second, func() bool {
		return l2.count("."+trapOIDVarBind.Value.OID.String()) == 1
	})
	wait("the notification acknowledged", 3*time.Second, func() bool {
		v, _ := mod.Store().Read(mod.Objects().TrapMgr.Acked.Handle, 2)
		return v.Uint == 1
	})
}
