package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// trapReceiver is a real snmptrapd on a free loopback port, logging every
// notification numerically to a file.
type trapReceiver struct {
	addr string
	log  string
}

func startTrapd(t *testing.T) *trapReceiver {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "snmptrapd.conf")
	if err := os.WriteFile(conf, []byte("disableAuthorization yes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &trapReceiver{addr: addr, log: filepath.Join(dir, "traps.log")}
	cmd := exec.Command("snmptrapd", "-f", "-C", "-c", conf, "-On", "-Lf", r.log, "udp:"+addr)
	cmd.Env = append(os.Environ(), "MIBS=", "MIBDIRS=/nonexistent", "SNMP_PERSISTENT_DIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatalf("snmptrapd: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// Ready once it has written its start-up line.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(r.log); strings.Contains(string(b), "NET-SNMP version") {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatal("snmptrapd did not start")
		}
	}
}

// count returns how many received notifications carry snmpTrapOID oid,
// and the lines that do.
func (r *trapReceiver) count(oid string) (int, string) {
	b, _ := os.ReadFile(r.log)
	n, lines := 0, ""
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, ".1.3.6.1.6.3.1.1.4.1.0 = OID: "+oid+"\t") || strings.HasSuffix(l, ".1.3.6.1.6.3.1.1.4.1.0 = OID: "+oid) {
			n++
			lines += l + "\n"
		}
	}
	return n, lines
}

func (s *testStack) get(i int, oid string) (gosnmp.SnmpPDU, error) {
	res, err := s.gs[i].Get([]string{oid})
	if err != nil {
		return gosnmp.SnmpPDU{}, err
	}
	if len(res.Variables) != 1 {
		return gosnmp.SnmpPDU{}, fmt.Errorf("%d varbinds", len(res.Variables))
	}
	return res.Variables[0], nil
}

func (s *testStack) getInt(i int, oid string) int64 {
	v, err := s.get(i, oid)
	if err != nil || (v.Type != gosnmp.Integer && v.Type != gosnmp.Counter32) {
		return -1
	}
	return gosnmp.ToBigInt(v.Value).Int64()
}

// eventually waits for cond, failing with what after the deadline.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

const (
	oidEnabled15    = ".1.3.6.1.4.1.868.2.4.1.2.2.4.1.13.1.5" // cfetf100Enabled.1.5
	oidModelPrefix  = ".1.3.6.1.4.1.868.2.4.1.2.1.1.1.3.1."   // cpsModuleModel.1.
	oidSolicits     = ".1.3.6.1.4.1.8072.9999.9999.868.1.6.0" // cpsEmuSolicitations.0
	oidRemovedTrap  = ".1.3.6.1.4.1.868.1.4.1.2.1.0.114"
	oidEmptyID      = ".1.3.6.1.4.1.868.1.4.1.2.1001"
	oidAggregation  = ".1.3.6.1.4.1.868.1.4.1.2.15"
	oidOwnCacheBase = ".1.3.6.1.4.1.868.2.4.1.2.2.1.1.31.1." // cpsmm100CacheClean.1.<slot>
)

// TestDevicesThroughThePrimary: a stack with converters and an aggregation
// converter, real snmpd and snmptrapd. Every module answers reads; only
// the Primary solicits, takes configuration (and the device answers the
// Set before the manager gets its answer), and notifies; Standbys listen
// in; an aggregation converter is seen by the Primary only; the caches go
// dirty when the Primary's traffic stops and clean again under a new one.
func TestDevicesThroughThePrimary(t *testing.T) {
	trapd := startTrapd(t)
	taken := map[int]bool{}
	agg := freePortPair(t, taken)
	mgrPort := freePortPair(t, taken)
	// A second, independent receiver: gosnmp's, as the trap manager
	// named in the Primary's cpsmm100SNMPTrapMgr.
	var mu sync.Mutex
	var mgrTraps []string
	tl := gosnmp.NewTrapListener()
	tl.Params = gosnmp.Default
	tl.OnNewTrap = func(p *gosnmp.SnmpPacket, _ *net.UDPAddr) {
		mu.Lock()
		defer mu.Unlock()
		for _, v := range p.Variables {
			if v.Name == ".1.3.6.1.6.3.1.1.4.1.0" {
				mgrTraps = append(mgrTraps, fmt.Sprint(v.Value))
			}
		}
	}
	go func() { _ = tl.Listen(fmt.Sprintf("127.0.0.1:%d", mgrPort)) }()
	select {
	case <-tl.Listening():
	case <-time.After(10 * time.Second):
		t.Fatal("trap listener did not start")
	}
	defer tl.Close()
	mgrCount := func(oid string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, o := range mgrTraps {
			if o == oid {
				n++
			}
		}
		return n
	}
	extra := fmt.Sprintf("traps: {sink: %q, manager_port: %d}\ndevices:\n"+
		"  - {cabinet: 1, slot: 4, type: cettf100, serial: 4004, conn_a: rj-45, conn_b: scmm}\n"+
		"  - {cabinet: 1, slot: 5, type: cfetf100, serial: 5005, conn_a: rj-45, conn_b: lc}\n"+
		"  - {cabinet: 1, slot: 6, type: smacf100p, ethernet: \"127.0.0.1:%d\"}\n", trapd.addr, mgrPort, agg)
	s := startStackWith(t, 200*time.Millisecond, 600*time.Millisecond, extra, "yes", "yes", "yes")
	p, _ := s.waitPrimary(-1, 15*time.Second)
	s.waitOnly(p, "after up")
	standbys := []int{(p + 1) % 3, (p + 2) % 3}
	for i := range s.addrs {
		eventually(t, 10*time.Second, fmt.Sprintf("m%d shows the converters", i+1), func() bool { return s.getInt(i, oidEnabled15) == 1 })
	}

	// Every module answers the same device tables; the aggregation
	// converter shows on the Primary only.
	walk := func(i int, table string) string {
		out, err := s.snmp("snmpwalk", i, "public", "-On", table)
		if err != nil {
			t.Fatalf("walk %s on m%d: %v\n%s", table, i+1, err, out)
		}
		return out
	}
	for _, table := range []string{"MCC16-MIB::cettf100Table", "MCC16-MIB::cfetf100Table", "MCC16-MIB::cpsCabinetTable",
		"MCC16-MIB::cpsMc1800Table", "MCC16-MIB::cpsSlotPwrTable"} {
		want := walk(p, table)
		if strings.Count(want, "\n") < 2 {
			t.Fatalf("%s on the Primary:\n%s", table, want)
		}
		for _, sb := range standbys {
			if got := walk(sb, table); got != want {
				t.Errorf("%s differs between the Primary m%d and Standby m%d:\n%s\n---\n%s", table, p+1, sb+1, want, got)
			}
		}
	}
	eventually(t, 10*time.Second, "the Primary sees the aggregation converter", func() bool {
		v, err := s.get(p, oidModelPrefix+"6")
		return err == nil && v.Value == oidAggregation
	})
	for _, sb := range standbys {
		if v, err := s.get(sb, oidModelPrefix+"6"); err != nil || v.Value != oidEmptyID {
			t.Errorf("Standby m%d shows slot 1/6 as %v (%v), want cpsEmptyId", sb+1, v.Value, err)
		}
	}

	// Only the Primary solicits.
	for _, sb := range standbys {
		if n := s.getInt(sb, oidSolicits); n != 0 {
			t.Errorf("Standby m%d has sent %d solicitations", sb+1, n)
		}
	}
	if n := s.getInt(p, oidSolicits); n <= 0 {
		t.Errorf("the Primary has sent %d solicitations", n)
	}

	// Configuration through the Primary: the device has it when the Set is
	// answered, and the Standbys see it by listening in. A device that
	// does not acknowledge within the Ack timeout (a chassis starved of CPU
	// on a loaded machine) fails the Set whole with commitFailed: nothing
	// is applied, and an NMS sends it again, as this does.
	for attempt := 1; ; attempt++ {
		out, err := s.snmp("snmpset", p, "private", "MCC16-MIB::cfetf100Enabled.1.5", "i", "2", "MCC16-MIB::cettf100AutoCross.1.4", "i", "2")
		if err == nil {
			break
		}
		if !strings.Contains(out, "commitFailed") || attempt == 3 {
			t.Fatalf("device Set through the Primary (attempt %d): %v\n%s", attempt, err, out)
		}
		t.Logf("attempt %d: %s", attempt, strings.TrimSpace(out))
		// A late Ack's change is taken back: every module shows the old value.
		for i := range s.addrs {
			eventually(t, 10*time.Second, fmt.Sprintf("m%d shows the old cfetf100Enabled.1.5 after a failed Set", i+1), func() bool { return s.getInt(i, oidEnabled15) == 1 })
		}
	}
	for _, sb := range standbys {
		took := eventually(t, 10*time.Second, fmt.Sprintf("Standby m%d sees the new value", sb+1), func() bool { return s.getInt(sb, oidEnabled15) == 2 })
		t.Logf("Standby m%d saw the Set after %s", sb+1, took)
	}
	// Through a Standby: inconsistentValue, and nothing changes anywhere.
	if out, err := s.snmp("snmpset", standbys[0], "private", "MCC16-MIB::cfetf100Enabled.1.5", "i", "1"); err == nil || !strings.Contains(out, "inconsistentValue") {
		t.Fatalf("device Set through a Standby: %v\n%s", err, out)
	}
	for i := range s.addrs {
		if v := s.getInt(i, oidEnabled15); v != 2 {
			t.Errorf("m%d shows cfetf100Enabled.1.5 = %d after a refused Set", i+1, v)
		}
	}

	// The inter-cabinet interface is the leftmost management module.
	if out, _ := s.snmp("snmpwalk", standbys[0], "public", "MCC16-MIB::cpsmm100ICIF"); !strings.Contains(out, "ICIF.1.1 = INTEGER: yes(1)") ||
		!strings.Contains(out, "ICIF.1.2 = INTEGER: no(2)") || !strings.Contains(out, "ICIF.1.3 = INTEGER: no(2)") {
		t.Errorf("cpsmm100ICIF:\n%s", out)
	}

	// The Primary's trap manager: 127.0.0.1 (on the stack's manager port).
	if out, err := s.snmp("snmpset", p, "private", fmt.Sprintf("MCC16-MIB::cpsmm100SNMPTrapMgr.1.%d", p+1), "a", "127.0.0.1"); err != nil {
		t.Fatalf("set trap manager: %v\n%s", err, out)
	}

	// A device removed: every module shows the empty slot; snmptrapd gets
	// exactly one pSDeviceRemoved, from the Primary.
	if out, err := s.cli("fail", "device", "1/4", "remove"); err != nil {
		t.Fatalf("fail device: %v\n%s", err, out)
	}
	for i := range s.addrs {
		eventually(t, 10*time.Second, fmt.Sprintf("m%d shows 1/4 empty", i+1), func() bool {
			v, err := s.get(i, oidModelPrefix+"4")
			return err == nil && v.Value == oidEmptyID
		})
	}
	eventually(t, 10*time.Second, "a pSDeviceRemoved at snmptrapd", func() bool { n, _ := trapd.count(oidRemovedTrap); return n > 0 })
	// Let the Primary poll five more rounds: no second notification.
	base := s.getInt(p, oidSolicits)
	eventually(t, 10*time.Second, "five more poll rounds", func() bool { return s.getInt(p, oidSolicits) >= base+5*18 })
	n, lines := trapd.count(oidRemovedTrap)
	if n != 1 || !strings.Contains(lines, fmt.Sprintf("\"m%d\"", p+1)) {
		t.Fatalf("%d pSDeviceRemoved, want 1 from m%d:\n%s", n, p+1, lines)
	}
	if n := mgrCount(oidRemovedTrap); n != 1 {
		t.Errorf("the trap manager received %d pSDeviceRemoved, want 1", n)
	}
	if out, err := s.cli("restore", "device", "1/4"); err != nil {
		t.Fatalf("restore device: %v\n%s", err, out)
	}

	// A cabinet power supply fails: every module shows it, one pSPowerLost.
	if out, err := s.cli("fail", "cabinet", "1", "ps1-off"); err != nil {
		t.Fatalf("fail cabinet: %v\n%s", err, out)
	}
	ps1 := ".1.3.6.1.4.1.868.2.4.2.2.2.1.1.3.1" // cpsMc1800PSPower1.1
	for i := range s.addrs {
		eventually(t, 10*time.Second, fmt.Sprintf("m%d shows PS1 off", i+1), func() bool { return s.getInt(i, ps1) == 2 })
	}
	eventually(t, 10*time.Second, "a pSPowerLost at snmptrapd", func() bool { n, _ := trapd.count(".1.3.6.1.4.1.868.1.4.1.2.1.0.116"); return n == 1 })
	if out, err := s.cli("restore", "cabinet", "1"); err != nil {
		t.Fatalf("restore cabinet: %v\n%s", err, out)
	}

	// The Primary hangs: the Standbys' caches go dirty after three silent
	// poll intervals, and clean again once the new Primary polls.
	if out, err := s.cli("fail", fmt.Sprintf("m%d", p+1), "hang"); err != nil {
		t.Fatalf("hang: %v\n%s", err, out)
	}
	defer s.cli("restore", fmt.Sprintf("m%d", p+1))
	sb := standbys[0]
	own := fmt.Sprintf("%s%d", oidOwnCacheBase, sb+1)
	eventually(t, 10*time.Second, "a Standby's cache goes dirty", func() bool { return s.getInt(sb, own) == 2 })
	q, _ := s.waitPrimary(p, 15*time.Second)
	eventually(t, 10*time.Second, "clean again under the new Primary", func() bool { return s.getInt(sb, own) == 1 })
	eventually(t, 10*time.Second, "the new Primary solicits", func() bool { return s.getInt(q, oidSolicits) > 0 })
}

// TestNoAcknowledgedSetIsLost: kill -9 of the Primary in the middle of a
// stream of 200 device Sets; every Set the manager saw acknowledged is
// still there through the new Primary (or was overwritten by a later Set
// whose fate the manager does not know).
func TestNoAcknowledgedSetIsLost(t *testing.T) {
	extra := "devices:\n" +
		"  - {cabinet: 1, slot: 4, type: cettf100}\n" +
		"  - {cabinet: 1, slot: 5, type: cfetf100}\n"
	s := startStackWith(t, 200*time.Millisecond, 600*time.Millisecond, extra, "yes", "yes", "yes")
	p, _ := s.waitPrimary(-1, 15*time.Second)
	s.waitOnly(p, "after up")
	objs := []string{
		".1.3.6.1.4.1.868.2.4.1.2.2.3.1.3.1.4", // cettf100Groups.1.4
		".1.3.6.1.4.1.868.2.4.1.2.2.4.1.3.1.5", // cfetf100Groups.1.5
		".1.3.6.1.4.1.868.2.4.2.2.1.1.1.3.1",   // cpsCabinetDescription.1
		".1.3.6.1.4.1.868.2.4.2.2.3.1.0",       // cpsGroupCtrl.0
	}
	for i := range s.addrs {
		eventually(t, 10*time.Second, fmt.Sprintf("m%d shows the converters", i+1), func() bool {
			v, err := s.get(i, objs[1])
			return err == nil && v.Type == gosnmp.OctetString
		})
	}
	type attempt struct {
		value string
		acked bool
	}
	history := make([][]attempt, len(objs))
	primary := p
	killed := false
	// 200 Sets, more if many failed (a loaded machine misses Ack
	// timeouts): at least 150 acknowledged, so the check below has
	// something to check.
	acked := 0
	sets := 0
	for i := 0; i < 200 || (acked < 150 && i < 800); i++ {
		sets++
		if i == 60 {
			if err := syscall.Kill(s.pid(fmt.Sprintf("m%d", p+1)), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
		k := i % len(objs)
		val := fmt.Sprintf("set-%03d", i)
		w := &gosnmp.GoSNMP{Target: s.gs[primary].Target, Port: s.gs[primary].Port, Community: "private", Version: gosnmp.Version2c,
			Timeout: 500 * time.Millisecond, Retries: 0}
		ok := false
		if err := w.Connect(); err == nil {
			res, err := w.Set([]gosnmp.SnmpPDU{{Name: objs[k], Type: gosnmp.OctetString, Value: []byte(val)}})
			ok = err == nil && res.Error == gosnmp.NoError
			w.Conn.Close()
		}
		history[k] = append(history[k], attempt{val, ok})
		if ok {
			acked++
		}
		if !ok && killed {
			// Follow the Primary through the failover.
			primary, _ = s.waitPrimary(p, 15*time.Second)
		}
	}
	if primary == p {
		t.Fatal("the stream never moved to a new Primary")
	}
	acks := 0
	for k, h := range history {
		last := -1
		for j, a := range h {
			if a.acked {
				last, acks = j, acks+1
			}
		}
		v, err := s.get(primary, objs[k])
		if err != nil {
			t.Fatal(err)
		}
		got, _ := v.Value.([]byte)
		ok := last < 0
		for j := max(last, 0); j < len(h); j++ {
			if string(got) == h[j].value && (j == last || !h[j].acked) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s through the new Primary m%d is %q; the last acknowledged Set wrote %q", objs[k], primary+1, got, h[last].value)
		}
	}
	t.Logf("%d of %d Sets acknowledged; m%d killed after 60, m%d Primary since", acks, sets, p+1, primary+1)
	if acks < 150 {
		t.Errorf("only %d Sets acknowledged", acks)
	}
}
