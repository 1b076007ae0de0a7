package main

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// freePort finds a free UDP port on 127.0.0.1 that taken does not hold.
func freePort(t testing.TB, taken map[int]bool) int { return findPort(t, taken, false) }

// freePortPair finds a UDP port p on 127.0.0.1 with p+1000 free as well
// (a module's SNMP address and its Ethernet side).
func freePortPair(t testing.TB, taken map[int]bool) int { return findPort(t, taken, true) }

// findPort is freePort, or freePortPair when pair; it marks what it
// returns as taken.
func findPort(t testing.TB, taken map[int]bool, pair bool) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if taken[p] || pair && (p+1000 > 65535 || taken[p+1000]) {
			continue
		}
		if pair {
			c2, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", p+1000))
			if err != nil {
				continue
			}
			c2.Close()
			taken[p+1000] = true
		}
		taken[p] = true
		return p
	}
	t.Fatal("no free port")
	return 0
}

// TestStackUpFailoverDown: cpsstack up starts a real three-module stack
// (chassis, three snmpd, three cpsmm); kill -9 of the Primary moves the
// role to another module, as its SNMP agent answers; cpsstack down leaves
// no process behind. Under IncumbentRule (preempt: false), so that a
// restored module stays Standby; TestElectionRule covers the vendor's.
func TestStackUpFailoverDown(t *testing.T) {
	s := startStackWith(t, 200*time.Millisecond, 600*time.Millisecond, incumbentRule, "yes", "yes", "yes")
	cli, run := s.cli, s.run
	out, err := cli("status", "-json")
	var rows []row
	if err == nil {
		err = json.Unmarshal([]byte(out), &rows)
	}
	roles := map[string]int{}
	for _, r := range rows {
		roles[r.Role]++
		// The module's own account agrees with its agent, and it hears
		// both others on both paths.
		if n := r.Negotiation; n == nil || n.Role != r.Role || len(n.Peers) != 2 {
			t.Errorf("%s: negotiation state %+v, agent says %s", r.Module, n, r.Role)
		} else {
			for _, p := range n.Peers {
				if !p.Alive || !p.Backplane.OK || !p.Ethernet.OK {
					t.Errorf("%s's view of %s: %+v", r.Module, p.MAC, p)
				}
			}
		}
	}
	if err != nil || roles["primary"] != 1 || roles["standby"] != 2 {
		t.Fatalf("status after up: %v %v\n%s", err, roles, out)
	}
	nameOf := func(addr string) string {
		for i, a := range s.addrs {
			if a == addr {
				return fmt.Sprintf("m%d", i+1)
			}
		}
		t.Fatalf("no module at %s", addr)
		return ""
	}
	waitPrimary := func(what string, cond func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			p, err := cli("primary")
			if p = strings.TrimSpace(p); err == nil && cond(p) {
				return p
			}
			if time.Now().After(deadline) {
				st, _ := cli("status")
				t.Fatalf("%s:\n%s", what, st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	primary := waitPrimary("no Primary after up", func(p string) bool { return p != "" })

	// The backplane alone fails: a link failure, not a failover. The
	// Primary stays Primary for many holdtimes.
	if out, err := cli("fail", nameOf(primary), "backplane-down"); err != nil {
		t.Fatalf("fail backplane-down: %v\n%s", err, out)
	}
	// The others report it: the Primary's backplane path down, a link
	// failure, the peer alive.
	reported := func() bool {
		out, err := cli("status", "-json")
		var rows []row
		if err != nil || json.Unmarshal([]byte(out), &rows) != nil {
			return false
		}
		n := 0
		for _, r := range rows {
			for _, p := range r.Negotiation.Peers {
				if r.SNMP != primary && fmt.Sprintf("m%d", p.Slot) == nameOf(primary) && p.Alive && p.LinkFault && !p.Backplane.OK && p.Ethernet.OK {
					n++
				}
			}
		}
		return n == 2
	}
	for deadline := time.Now().Add(15 * time.Second); !reported(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			st, _ := cli("status")
			t.Fatalf("the Standbys do not report the Primary's backplane path down:\n%s", st)
		}
	}
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if p, err := cli("primary"); err == nil && strings.TrimSpace(p) != primary {
			t.Fatalf("backplane-down of the Primary moved the role to %s", p)
		}
	}
	if out, err := cli("restore", nameOf(primary)); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}

	// Its Ethernet link fails: CanPrimary no at once, and a failover.
	if out, err := cli("fail", nameOf(primary), "link-down"); err != nil {
		t.Fatalf("fail link-down: %v\n%s", err, out)
	}
	next := waitPrimary("no failover after link-down", func(p string) bool { return p != primary })
	st, _ := cli("status", "-json")
	if !strings.Contains(st, `"snmp": "`+primary+`",
    "role": "standby",
    "can_primary": "no"`) {
		t.Errorf("after link-down of %s, status:\n%s", primary, st)
	}
	if out, err := cli("restore", nameOf(primary)); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	// The recovered former Primary stays Standby (no preemption between equals).
	primary = waitPrimary("Primary after restore", func(p string) bool { return p == next })

	// kill -9 the Primary's module process.
	procs, err := readProcs(run)
	if err != nil {
		t.Fatal(err)
	}
	name := nameOf(primary)
	victim := s.pid(name)
	if victim == 0 {
		t.Fatalf("no pid for module %q (%s) in %v", name, primary, procs)
	}
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	deadline := start.Add(15 * time.Second)
	for {
		p, err := cli("primary")
		if err == nil && strings.TrimSpace(p) != primary {
			t.Logf("%s took over %s after kill -9 of %s", strings.TrimSpace(p), time.Since(start), primary)
			break
		}
		if time.Now().After(deadline) {
			st, _ := cli("status")
			t.Fatalf("no new Primary after kill -9 of %s:\n%s", primary, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out, err := cli("down"); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	if len(procs) != 7 { // chassis, 3 snmpd, 3 cpsmm
		t.Errorf("pids file names %d processes: %v", len(procs), procs)
	}
	for _, p := range procs {
		// A zombie of ours would answer kill 0 too; running checks the
		// state and that the pid is still the one we started.
		if p.running() {
			t.Errorf("%s still runs after down", p)
		}
	}
}

// incumbentRule is the stack file's selection of IncumbentRule, for
// startStackWith: the incumbent keeps the role among equals.
const incumbentRule = "negotiation: {preempt: false}\n"

// waitOnly waits until module want is the only one that answers Primary.
func (s *testStack) waitOnly(want int, what string) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok := true
		for i := range s.addrs {
			if p, err := s.primary(i); err != nil || p != (i == want) {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			st, _ := s.cli("status")
			s.t.Fatalf("%s: m%d is not the only Primary:\n%s", what, want+1, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWantPrimarySteersTheStack: snmpset through real snmpd steers the
// negotiation. A Standby's own WantPrimary = yes makes it Primary (the
// Primary wants no), with no moment at which both answer Primary; another
// module's WantPrimary is set only through the Primary, which answers once
// the target has acknowledged; cpsIsPrimary forces a switchover.
func TestWantPrimarySteersTheStack(t *testing.T) {
	s := startStack(t, 200*time.Millisecond, 600*time.Millisecond, "no", "no", "no")
	p, _ := s.waitPrimary(-1, 15*time.Second)
	s.waitOnly(p, "after up")
	a, b := (p+1)%3, (p+2)%3
	wantOID := func(i int) string { return fmt.Sprintf("MCC16-MIB::cpsmm100WantPrimary.1.%d", i+1) }

	// 1. Standby a wants yes: it outranks the Primary (no), which steps
	// down before a takes over.
	w := s.watchRoles()
	w.waitReady(t, 10*time.Second)
	if out, err := s.snmp("snmpset", a, "private", wantOID(a), "i", "1"); err != nil || !strings.Contains(out, "yes(1)") {
		w.finish()
		t.Fatalf("snmpset own WantPrimary on a Standby: %v\n%s", err, out)
	}
	s.waitOnly(a, "after WantPrimary yes on a Standby")
	// A few more samples of every module after the handover.
	if !w.waitSampledSince(time.Now(), 10*time.Second) {
		t.Fatal("the role watch stopped sampling")
	}
	iv := w.finish()
	if o := overlaps(iv); len(o) > 0 {
		t.Fatalf("two Primaries at once: %v", o)
	}
	seen := map[int]bool{}
	for _, x := range iv {
		seen[x.module] = true
	}
	if !seen[p] || !seen[a] {
		t.Fatalf("the watch did not see both Primaries (m%d then m%d): %v", p+1, a+1, iv)
	}
	t.Logf("m%d handed over to m%d; %d samples per module, no overlap", p+1, a+1, len(w.samples[a]))

	// 2. Another module's WantPrimary through a Standby: refused, unchanged.
	if out, err := s.snmp("snmpset", b, "private", wantOID(p), "i", "3"); err == nil || !strings.Contains(out, "inconsistentValue") {
		t.Fatalf("WantPrimary of m%d set on Standby m%d: %v\n%s", p+1, b+1, err, out)
	}
	if out, _ := s.snmp("snmpget", p, "public", wantOID(p)); !strings.Contains(out, "no(2)") {
		t.Fatalf("a refused Set changed m%d's WantPrimary:\n%s", p+1, out)
	}

	// 3. Through the Primary a: acknowledged by the target before the
	// answer, so m(p) already holds always(3); then it takes the role.
	if out, err := s.snmp("snmpset", a, "private", wantOID(p), "i", "3"); err != nil || !strings.Contains(out, "always(3)") {
		t.Fatalf("WantPrimary of m%d set on the Primary m%d: %v\n%s", p+1, a+1, err, out)
	}
	if out, _ := s.snmp("snmpget", p, "public", wantOID(p)); !strings.Contains(out, "always(3)") {
		t.Fatalf("acknowledged, but m%d's own agent shows:\n%s", p+1, out)
	}
	s.waitOnly(p, "after WantPrimary always set through the Primary")

	// 4. Forced switchover: a Standby that ranks below always is refused;
	// the Primary forced down steps down and does not win again at once.
	if out, err := s.snmp("snmpset", b, "private", "MCC16-MIB::cpsIsPrimary.0", "i", "1"); err == nil || !strings.Contains(out, "inconsistentValue") {
		t.Fatalf("cpsIsPrimary = yes on m%d below an always module: %v\n%s", b+1, err, out)
	}
	if out, err := s.snmp("snmpset", p, "private", "MCC16-MIB::cpsIsPrimary.0", "i", "2"); err != nil {
		t.Fatalf("cpsIsPrimary = no on the Primary m%d: %v\n%s", p+1, err, out)
	}
	q, _ := s.waitPrimary(p, 15*time.Second)
	s.waitOnly(q, "after the Primary was forced down")
	for end := time.Now().Add(3 * 600 * time.Millisecond); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if pr, _ := s.primary(p); pr {
			t.Fatalf("m%d (always) took the role back after it was forced down", p+1)
		}
	}
}

const oidSysUpTime = ".1.3.6.1.2.1.1.3.0"

// TestKilledModuleGoesSilent: `fail MODULE kill` takes the whole module
// down, its snmpd included, so an NMS hears nothing from it (not even
// sysUpTime); `restore` brings both back, and the module rejoins the stack
// (as a Standby: preempt: false).
func TestKilledModuleGoesSilent(t *testing.T) {
	s := startStackWith(t, 200*time.Millisecond, 600*time.Millisecond, incumbentRule, "yes", "yes", "yes")
	p, _ := s.waitPrimary(-1, 15*time.Second)
	s.waitOnly(p, "after up")
	name := fmt.Sprintf("m%d", p+1)
	if _, err := s.gs[p].Get([]string{oidSysUpTime}); err != nil {
		t.Fatalf("sysUpTime.0 of m%d before the kill: %v", p+1, err)
	}
	sdBefore, err := procOf(s.run, "snmpd", name)
	if err != nil || !sdBefore.running() {
		t.Fatalf("m%d's snmpd: %v %v", p+1, sdBefore, err)
	}

	if out, err := s.cli("fail", name, "kill"); err != nil {
		t.Fatalf("fail kill: %v\n%s", err, out)
	}
	for _, oid := range []string{oidSysUpTime, ".1.3.6.1.2.1.1.2.0"} { // sysUpTime, sysObjectID
		if res, err := s.gs[p].Get([]string{oid}); err == nil {
			t.Fatalf("killed m%d still answers %s: %v", p+1, oid, res.Variables)
		}
	}
	if sdBefore.running() {
		t.Fatalf("m%d's snmpd still runs after the kill", p+1)
	}
	q, _ := s.waitPrimary(p, 15*time.Second)

	if out, err := s.cli("restore", name); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	sdAfter, err := procOf(s.run, "snmpd", name)
	if err != nil || sdAfter.pid == sdBefore.pid || !sdAfter.running() {
		t.Fatalf("m%d's snmpd after restore: %v (before %v) %v", p+1, sdAfter, sdBefore, err)
	}
	// Its own row's cpsmm100IsPrimary answers: the module is back behind
	// its snmpd.
	own := fmt.Sprintf("%s.11.1.%d", oidCpsmm100, p+1)
	eventually(t, 30*time.Second, fmt.Sprintf("m%d answers its cpsmm100IsPrimary", p+1), func() bool {
		res, err := s.gs[p].Get([]string{oidSysUpTime, own})
		return err == nil && len(res.Variables) == 2 && res.Variables[1].Type == gosnmp.Integer
	})
	// It rejoins: a Standby under the new Primary (no preemption between
	// equals), heard by both others and hearing them.
	s.waitOnly(q, "after restore")
	eventually(t, 15*time.Second, fmt.Sprintf("m%d heard by all and hearing all", p+1), func() bool {
		out, err := s.cli("status", "-json")
		var rows []row
		if err != nil || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 3 {
			return false
		}
		for _, r := range rows {
			if r.Negotiation == nil || len(r.Negotiation.Peers) != 2 {
				return false
			}
			for _, pe := range r.Negotiation.Peers {
				if !pe.Alive {
					return false
				}
			}
		}
		return true
	})
}

// TestGracefulStopHandsOverAtOnce: SIGTERM of the Primary's module process
// (it resigns) makes a Standby Primary at once: within the claim wait and
// a few ticks, and well before a holdtime, which a silent Primary would
// cost. The bound, holdtime/2 from the stop to the new Primary's first
// SNMP answer, is far above a hand-over (hello/4 + a tick, ~200 ms here
// with the SNMP polling) and well below a holdtime.
func TestGracefulStopHandsOverAtOnce(t *testing.T) {
	const hello, hold = 500 * time.Millisecond, 1500 * time.Millisecond
	s := startStack(t, hello, hold, "yes", "yes", "yes")
	p, _ := s.waitPrimary(-1, 15*time.Second)
	s.waitOnly(p, "after up")
	name := fmt.Sprintf("m%d", p+1)
	victim, err := procOf(s.run, "module", name)
	if err != nil || !victim.running() {
		t.Fatalf("m%d: %v %v", p+1, victim, err)
	}
	start := time.Now()
	if !victim.signal(syscall.SIGTERM) {
		t.Fatalf("m%d is not running", p+1)
	}
	q, _ := s.waitPrimary(p, 15*time.Second)
	took := time.Since(start) // from the stop, not from waitPrimary's first poll
	t.Logf("m%d took over %s after m%d stopped", q+1, took, p+1)
	if took >= hold/2 {
		t.Fatalf("m%d took over %s after m%d's graceful stop: not at once (bound %s, holdtime %s)", q+1, took, p+1, hold/2, hold)
	}
	// It did stop, and gracefully: the process exits by itself.
	eventually(t, 10*time.Second, fmt.Sprintf("m%d exits", p+1), func() bool { return !victim.running() })
	for i := range s.addrs {
		if pr, err := s.primary(i); i != p && i != q && (err != nil || pr) {
			t.Errorf("m%d after the hand-over to m%d: Primary %v (%v)", i+1, q+1, pr, err)
		}
	}
}
