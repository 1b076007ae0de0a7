package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/stack/trapmgr"
)

const (
	oidHeartbeat  = ".1.3.6.1.4.1.8072.9999.9999.868.0.1"
	oidRoleChange = ".1.3.6.1.4.1.8072.9999.9999.868.0.2"
	oidErrorTrap  = ".1.3.6.1.4.1.868.1.4.1.2.1.0.111" // pSError
	oidClearTrap  = ".1.3.6.1.4.1.868.1.4.1.2.1.0.112" // pSErrorClear
	oidMgrState   = ".1.3.6.1.4.1.8072.9999.9999.868.1.12.1.3."
	oidFault14    = ".1.3.6.1.4.1.868.2.4.1.2.2.3.1.11.1.4" // cettf100Fault.1.4
)

// manager is a real snmptrapd on its own loopback address (127.0.0.N,
// one port for all), which acknowledges informs; it can be killed and
// started again on the same address, each run logging to a file of its
// own.
type manager struct {
	t    testing.TB
	addr string // HOST:PORT
	dir  string
	cmd  *exec.Cmd
	logs []string
}

// managerPort returns a UDP port free on every address of hosts.
func managerPort(t testing.TB, hosts ...string) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		c, err := net.ListenPacket("udp4", hosts[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		ok := true
		var held []net.PacketConn
		for _, h := range hosts[1:] {
			d, err := net.ListenPacket("udp4", net.JoinHostPort(h, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			held = append(held, d)
		}
		c.Close()
		for _, d := range held {
			d.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no UDP port free on every manager address")
	return 0
}

func newManager(t testing.TB, host string, port int) *manager {
	m := &manager{t: t, addr: net.JoinHostPort(host, strconv.Itoa(port)), dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(m.dir, "snmptrapd.conf"), []byte("disableAuthorization yes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m.start()
	t.Cleanup(m.kill)
	return m
}

// start runs snmptrapd and waits until it has written its start-up line.
func (m *manager) start() {
	m.t.Helper()
	log := filepath.Join(m.dir, fmt.Sprintf("traps-%d.log", len(m.logs)))
	m.logs = append(m.logs, log)
	cmd := exec.Command("snmptrapd", "-f", "-C", "-c", filepath.Join(m.dir, "snmptrapd.conf"), "-On", "-Lf", log, "udp:"+m.addr)
	cmd.Env = append(os.Environ(), "MIBS=", "MIBDIRS=/nonexistent", "SNMP_PERSISTENT_DIR="+m.dir)
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("snmptrapd: %v", err)
	}
	m.cmd = cmd
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(log); strings.Contains(string(b), "NET-SNMP version") {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatal("snmptrapd did not start")
		}
	}
}

// kill sends SIGKILL to snmptrapd and waits for it.
func (m *manager) kill() {
	if m.cmd != nil {
		_ = m.cmd.Process.Kill()
		_ = m.cmd.Wait()
		m.cmd = nil
	}
}

// received returns the notifications with snmpTrapOID oid in every run's
// log, one line each.
func (m *manager) received(oid string) []string {
	var out []string
	for _, log := range m.logs {
		b, _ := os.ReadFile(log)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, ".1.3.6.1.6.3.1.1.4.1.0 = OID: "+oid+"\t") || strings.HasSuffix(l, ".1.3.6.1.6.3.1.1.4.1.0 = OID: "+oid) {
				out = append(out, l)
			}
		}
	}
	return out
}

func (m *manager) count(oid string) int { return len(m.received(oid)) }

// managersRig is a stack of three modules (hello 250 ms, holdtime
// 750 ms) with one converter, and two trap managers on 127.0.0.2 and
// 127.0.0.3 configured on every module, with keepalive every second.
type managersRig struct {
	*testStack
	mgrs []*manager
}

func startManagersRig(t testing.TB) *managersRig {
	t.Helper()
	port := managerPort(t, "127.0.0.2", "127.0.0.3")
	r := &managersRig{}
	for _, h := range []string{"127.0.0.2", "127.0.0.3"} {
		r.mgrs = append(r.mgrs, newManager(t, h, port))
	}
	extra := fmt.Sprintf("traps: {manager_port: %d}\ndevices:\n  - {cabinet: 1, slot: 4, type: cettf100, serial: 200001}\n", port)
	r.testStack = startStackWith(t, 250*time.Millisecond, 750*time.Millisecond, extra, "yes", "yes", "yes")
	// Every module's own row: the managers, then the interval.
	for i := range r.addrs {
		row := fmt.Sprintf(".1.%d", i+1)
		out, err := r.snmp("snmpset", i, "private",
			oidCpsmm100+".17"+row, "a", "127.0.0.2", oidCpsmm100+".28"+row, "a", "127.0.0.3", oidCpsmm100+".18"+row, "i", "1")
		if err != nil {
			t.Fatalf("set the trap managers of m%d: %v\n%s", i+1, err, out)
		}
	}
	return r
}

// managerStates returns the Primary p's cpsEmuTrapMgrState.1 and .2.
func (r *managersRig) managerStates(p int) (int64, int64) {
	return r.getInt(p, oidMgrState+"1"), r.getInt(p, oidMgrState+"2")
}

// report returns module i's trap managers as `cpsstack status --json`
// shows them.
func (r *managersRig) report(i int) (*trapmgr.Report, error) {
	out, err := r.cli("status", "-json")
	if err != nil {
		return nil, fmt.Errorf("status: %w\n%s", err, out)
	}
	var rows []row
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		return nil, err
	}
	if rows[i].TrapManagers == nil {
		return nil, fmt.Errorf("m%d: no trap_managers in the status", i+1)
	}
	return rows[i].TrapManagers, nil
}

// waitCount waits until m has received n notifications of oid, and
// returns how long that took.
func waitCount(t testing.TB, m *manager, oid string, n int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for m.count(oid) < n {
		if time.Since(start) > within {
			t.Fatalf("%s: %d of %s within %s, want %d", m.addr, m.count(oid), oid, within, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// toggle raises one notification: a fault of converter 1/4 (pSError) or
// its end (pSErrorClear), and waits until the Primary p shows it (it has
// then raised the notification: a fault and its end within one poll
// would raise none).
func (r *managersRig) toggle(t testing.TB, p, k int) {
	t.Helper()
	var out string
	var err error
	if k%2 == 0 {
		out, err = r.cli("fail", "device", "1/4", "fault")
	} else {
		out, err = r.cli("restore", "device", "1/4")
	}
	if err != nil {
		t.Fatalf("device fault %d: %v\n%s", k, err, out)
	}
	want := int64(2 - (k+1)%2) // yes(1) after a fault, no(2) after its end
	for deadline := time.Now().Add(5 * time.Second); r.getInt(p, oidFault14) != want; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("cettf100Fault.1.4 not %d on the Primary within 5s", want)
		}
	}
}

func (r *managersRig) deviceNotes() int {
	n := 0
	for _, m := range r.mgrs {
		n += m.count(oidErrorTrap) + m.count(oidClearTrap)
	}
	return n
}

// TestManagersFailOverAndBack: keepalives (informs of cpsEmuHeartbeat)
// go to the first manager; killed, the second takes over within 3
// intervals and the notifications follow it; restarted, the first is
// active again; kill -9 of the Primary: the new Primary sends
// cpsEmuRoleChange, naming the old one, to the active manager. No
// acknowledged notification is lost.
func TestManagersFailOverAndBack(t *testing.T) {
	r := startManagersRig(t)
	mgr1, mgr2 := r.mgrs[0], r.mgrs[1]
	p, _ := r.waitPrimary(-1, 5*time.Second)
	waitCount(t, mgr1, oidHeartbeat, 2, 5*time.Second)
	if n := mgr2.count(oidHeartbeat); n != 0 {
		t.Fatalf("the standby manager got %d heartbeats", n)
	}
	for _, l := range mgr1.received(oidHeartbeat) {
		if !strings.Contains(l, fmt.Sprintf("STRING: \"m%d\"", p+1)) {
			t.Fatalf("heartbeat not from the Primary m%d: %s", p+1, l)
		}
	}
	if a, b := r.managerStates(p); a != 1 || b != 2 {
		t.Fatalf("cpsEmuTrapMgrState %d, %d; want active(1), standby(2)", a, b)
	}
	// Notifications go to the active manager only, as informs.
	sent := 0
	for ; sent < 4; sent++ {
		r.toggle(t, p, sent)
	}
	eventually(t, 5*time.Second, "4 device notifications at mgr1", func() bool { return r.deviceNotes() >= 4 })

	// Kill the first manager: keepalives and notifications fail over.
	mgr1.kill()
	hb2 := mgr2.count(oidHeartbeat)
	for ; sent < 8; sent++ {
		r.toggle(t, p, sent)
	}
	took := waitCount(t, mgr2, oidHeartbeat, hb2+1, 6*time.Second)
	t.Logf("failover to mgr2 %s after the kill", took.Round(time.Millisecond))
	if took > 3*time.Second+time.Second { // 3 intervals after the first keepalive missed
		t.Errorf("failover took %s", took)
	}
	eventually(t, 5*time.Second, "the notifications raised while mgr1 was dead at mgr2", func() bool { return r.deviceNotes() >= sent })
	eventually(t, 3*time.Second, "mgr1 failed, mgr2 active in the MIB", func() bool { a, b := r.managerStates(p); return a == 3 && b == 1 })
	rep, err := r.report(p)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := r.cli("status"); err == nil {
		t.Logf("cpsstack status after the failover:\n%s", out)
	}
	if len(rep.Managers) != 2 || rep.Managers[0].State != "failed" || rep.Managers[1].State != "active" || rep.Managers[0].Misses < 3 {
		t.Fatalf("status: %+v", rep)
	}

	// Restart it: fail-back.
	hb1 := mgr1.count(oidHeartbeat)
	mgr1.start()
	took = waitCount(t, mgr1, oidHeartbeat, hb1+1, 4*time.Second)
	t.Logf("fail-back: mgr1 heard a keepalive %s after its restart", took.Round(time.Millisecond))
	eventually(t, 3*time.Second, "mgr1 active again", func() bool { a, b := r.managerStates(p); return a == 1 && b == 2 })
	before := mgr1.count(oidErrorTrap) + mgr1.count(oidClearTrap)
	r.toggle(t, p, sent)
	sent++
	eventually(t, 3*time.Second, "a notification at mgr1 after fail-back", func() bool {
		return mgr1.count(oidErrorTrap)+mgr1.count(oidClearTrap) > before
	})

	// Nothing acknowledged is lost: every notification the Primary says
	// was acknowledged was received.
	rep, err = r.report(p)
	if err != nil {
		t.Fatal(err)
	}
	var acked uint64
	for _, m := range rep.Managers {
		acked += m.Acked
	}
	if got := r.deviceNotes(); uint64(got) < acked || acked != uint64(sent) || rep.Queued != 0 || rep.Dropped != 0 {
		t.Fatalf("%d notifications raised, %d acknowledged, %d received, %d pending, %d dropped", sent, acked, got, rep.Queued, rep.Dropped)
	}

	// kill -9 of the Primary: the new one tells the active manager.
	if out, err := r.cli("fail", fmt.Sprintf("m%d", p+1), "kill"); err != nil {
		t.Fatalf("kill: %v\n%s", err, out)
	}
	q, _ := r.waitPrimary(p, 5*time.Second)
	waitCount(t, mgr1, oidRoleChange, 1, 5*time.Second)
	rc := mgr1.received(oidRoleChange)[0]
	for _, want := range []string{fmt.Sprintf("STRING: \"m%d\"", q+1), fmt.Sprintf("STRING: \"m%d\"", p+1)} {
		if !strings.Contains(rc, want) {
			t.Errorf("role change %q lacks %s", rc, want)
		}
	}
	t.Logf("role change from m%d: %s", q+1, rc)
	// And the new Primary keeps alive with the first manager.
	hb := mgr1.count(oidHeartbeat)
	waitCount(t, mgr1, oidHeartbeat, hb+1, 3*time.Second)
	if l := mgr1.received(oidHeartbeat); !strings.Contains(l[len(l)-1], fmt.Sprintf("STRING: \"m%d\"", q+1)) {
		t.Errorf("last heartbeat not from the new Primary m%d: %s", q+1, l[len(l)-1])
	}
}

// BenchmarkManagerFailover measures, on the rig of
// TestManagersFailOverAndBack (keepalive every 1 s, inform timeout
// 500 ms), rounds of: kill the first manager at a random phase of the
// keepalive → the second receives a keepalive (manager failover); start
// the first again → the Primary's MIB shows it active (fail-back). A
// device notification is raised every 150 ms throughout; at the end the
// notifications acknowledged are compared with those the managers
// received. Rounds: CPSMM_BENCH_MGR_ROUNDS (default 10).
//
//	go test -run '^$' -bench ManagerFailover -benchtime 1x ./cmd/cpsstack
func BenchmarkManagerFailover(b *testing.B) {
	rounds := 10
	if s := os.Getenv("CPSMM_BENCH_MGR_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	for i := 0; i < b.N; i++ {
		r := startManagersRig(b)
		mgr1, mgr2 := r.mgrs[0], r.mgrs[1]
		p, _ := r.waitPrimary(-1, 10*time.Second)
		waitCount(b, mgr1, oidHeartbeat, 1, 5*time.Second)
		stop, done := make(chan struct{}), make(chan int)
		go func() {
			raised := 0
			for k := 0; ; k++ {
				select {
				case <-stop:
					done <- raised
					return
				case <-time.After(150 * time.Millisecond):
				}
				cmd := []string{"restore", "device", "1/4"}
				if k%2 == 0 {
					cmd = []string{"fail", "device", "1/4", "fault"}
				}
				if _, err := r.cli(cmd...); err == nil {
					raised++
				}
			}
		}()
		rnd := func() time.Duration { return time.Duration(time.Now().UnixNano()%1000) * time.Millisecond }
		var over, back []time.Duration
		for k := 0; k < rounds; k++ {
			time.Sleep(rnd())
			hb2 := mgr2.count(oidHeartbeat)
			mgr1.kill()
			t0 := time.Now()
			over = append(over, waitCount(b, mgr2, oidHeartbeat, hb2+1, 10*time.Second))
			for a, _ := r.managerStates(p); a != 3; a, _ = r.managerStates(p) {
				if time.Since(t0) > 10*time.Second {
					b.Fatal("mgr1 not failed in the MIB")
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(rnd())
			mgr1.start()
			t1 := time.Now()
			for a, _ := r.managerStates(p); a != 1; a, _ = r.managerStates(p) {
				if time.Since(t1) > 10*time.Second {
					b.Fatal("mgr1 not active again in the MIB")
				}
				time.Sleep(5 * time.Millisecond)
			}
			back = append(back, time.Since(t1))
		}
		close(stop)
		raised := <-done
		var rep *trapmgr.Report
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			var err error
			if rep, err = r.report(p); err == nil && rep.Queued == 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("notifications still pending: %+v (%v)", rep, err)
			}
		}
		var acked uint64
		for _, m := range rep.Managers {
			acked += m.Acked
		}
		received := r.deviceNotes()
		lost := 0
		if int(acked) > received {
			lost = int(acked) - received
		}
		fmt.Printf("manager failover (%d kills of mgr1, keepalive 1 s, timeout 500 ms): kill -> keepalive at mgr2 p50 %s, max %s (bound 3 intervals: 2 intervals + timeout after the first keepalive missed); "+
			"fail-back: restart -> mgr1 active p50 %s, max %s; notifications raised %d, acknowledged %d, received %d (duplicates %d), dropped %d, acknowledged lost %d\n",
			rounds, percentile(over, 0.5).Round(time.Millisecond), percentile(over, 1).Round(time.Millisecond),
			percentile(back, 0.5).Round(time.Millisecond), percentile(back, 1).Round(time.Millisecond),
			raised, acked, received, received-int(acked), rep.Dropped, lost)
		b.ReportMetric(float64(lost), "acked-lost")
		b.ReportMetric(float64(percentile(over, 1).Milliseconds()), "failover-max-ms")
		b.ReportMetric(float64(percentile(back, 1).Milliseconds()), "failback-max-ms")
	}
}
