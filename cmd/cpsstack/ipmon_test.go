package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/stack/ipmon"
)

// startMonitoredStack is startStack with every module's IP monitor on
// (interval: the hello; 4 misses, 4 successes; target: the gateway
// 192.0.2.1, answered by the chassis at a free port). It returns the
// stack and the responder's address.
func startMonitoredStack(t testing.TB, hello, hold time.Duration, wants ...string) (*testStack, string) {
	t.Helper()
	gw := fmt.Sprintf("127.0.0.1:%d", freePort(t, map[int]bool{}))
	return startStackWith(t, hello, hold, fmt.Sprintf("ip_monitor: {hosts: {192.0.2.1: %q}}\n", gw), wants...), gw
}

// moduleStatus is one module's row of `cpsstack status --json`, with the
// parts this test reads.
type moduleStatus struct {
	Module      string `json:"module"`
	Role        string `json:"role"`
	Can         string `json:"can_primary"`
	Negotiation struct {
		LastReason string `json:"last_reason"`
		IPMonitor  *struct {
			Verdict ipmon.Verdict      `json:"verdict"`
			Hosts   []ipmon.HostStatus `json:"hosts"`
		} `json:"ip_monitor"`
	} `json:"negotiation"`
}

func (s *testStack) statusJSON() []moduleStatus {
	s.t.Helper()
	out, err := s.cli("status", "-json")
	if err != nil {
		s.t.Fatalf("status: %v\n%s", err, out)
	}
	var rows []moduleStatus
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		s.t.Fatalf("status --json: %v\n%s", err, out)
	}
	return rows
}

// getText returns one object's value as snmpget prints it (-Oqv).
func (s *testStack) getText(i int, object string) string {
	s.t.Helper()
	out, err := s.snmp("snmpget", i, "public", "-Oqv", object)
	if err != nil {
		s.t.Fatalf("snmpget %s from m%d: %v\n%s", object, i+1, err, out)
	}
	return strings.TrimSpace(out)
}

// waitFor polls cond until it holds or limit passes.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// TestIPMonitorFailover: on a real stack, `cpsstack fail PRIMARY ip-down`
// (link up, no IP in or out of its Ethernet side): after the monitor's 4
// missed polls (and the settle poll) another module is Primary, and the
// old one shows cpsmm100CanPrimary no(2), the reason, and its monitor's
// rows; never two Primaries. `restore`: eligible again after the 4
// answered polls. A gateway losing 30 % of the probes flaps no role and
// no target; a shared gateway down fails no module (the stack keeps its
// Primary).
func TestIPMonitorFailover(t *testing.T) {
	const hello, hold = 200 * time.Millisecond, 600 * time.Millisecond
	s, gw := startMonitoredStack(t, hello, hold, "yes", "yes", "yes")
	p, _ := s.waitPrimary(-1, 30*time.Second)
	name := fmt.Sprintf("m%d", p+1)
	own := func(i int, col string) string { return fmt.Sprintf("MCC16-MIB::%s.1.%d", col, i+1) }
	// Every module's monitor is up and ok.
	waitFor(t, 10*time.Second, "every monitor ok with its target answering", func() bool {
		for _, r := range s.statusJSON() {
			im := r.Negotiation.IPMonitor
			if im == nil || im.Verdict != (ipmon.Verdict{}) || len(im.Hosts) != 3 || im.Hosts[0].Name != "192.0.2.1" || im.Hosts[0].Successes < 4 {
				return false
			}
		}
		return true
	})

	w := s.watchRoles()
	w.waitReady(t, 10*time.Second)
	start := time.Now()
	if out, err := s.cli("fail", name, "ip-down"); err != nil {
		t.Fatalf("fail ip-down: %v\n%s", err, out)
	}
	q, _ := s.waitPrimary(p, 30*time.Second)
	took := time.Since(start)
	// 4 misses are counted at the 5th poll after the fault at the earliest
	// (the poll in flight may have been answered), the verdict a poll later.
	if took < 3*hello {
		t.Errorf("takeover %s after ip-down: sooner than the monitor's misses allow", took)
	}
	if took > 7*hello+hold+time.Second {
		t.Errorf("takeover %s after ip-down: later than 7 polls + a holdtime + 1s", took)
	}
	t.Logf("ip-down of m%d: m%d Primary after %s", p+1, q+1, took)
	if got := s.getText(p, own(p, "cpsmm100CanPrimary")); got != "no" {
		t.Errorf("old Primary's CanPrimary %q, want no", got)
	}
	if got := s.getText(p, "CPSMM-EMULATOR-MIB::cpsEmuStepDownReason.0"); !strings.Contains(got, "IP monitor: subnet failed") {
		t.Errorf("old Primary's role-change reason %q", got)
	}
	if got := s.getText(p, "CPSMM-EMULATOR-MIB::cpsEmuIpMonVerdict.0"); got != "failed" {
		t.Errorf("old Primary's verdict %q", got)
	}
	if got := s.getText(p, "CPSMM-EMULATOR-MIB::cpsEmuIpMonState.1"); got != "down" {
		t.Errorf("old Primary's target state %q", got)
	}
	if got := s.getText(q, "CPSMM-EMULATOR-MIB::cpsEmuIpMonVerdict.0"); got != "degraded" {
		t.Errorf("new Primary's verdict %q (a peer unreachable, its target answering)", got)
	}
	// The old Primary's SNMP address still answers (the whole time: the
	// samples above were taken through it).
	rows := s.statusJSON()
	old := rows[p]
	if old.Can != "no" || old.Negotiation.LastReason != ipmon.FailedReason || old.Negotiation.IPMonitor == nil ||
		!old.Negotiation.IPMonitor.Verdict.Failed || old.Negotiation.IPMonitor.Hosts[0].Up || old.Negotiation.IPMonitor.Hosts[0].Misses < 4 {
		t.Errorf("old Primary's status: %+v", old)
	}
	if out, _ := s.cli("status"); !strings.Contains(out, "ip monitor: failed (IP monitor: subnet failed)") || !strings.Contains(out, "target 192.0.2.1: DOWN") {
		t.Errorf("status text:\n%s", out)
	}

	// Restore: eligible again after 4 answered polls; then, under the
	// vendor's rule, the module in cabinet 1 slot 1 takes the role back,
	// break-before-make.
	start = time.Now()
	if out, err := s.cli("restore", name); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	back := waitFor(t, 20*time.Second, "the restored module eligible again", func() bool { return s.getText(p, own(p, "cpsmm100CanPrimary")) == "yes" })
	if back < 3*hello {
		t.Errorf("eligible %s after restore: sooner than 4 answered polls", back)
	}
	t.Logf("restore of m%d: eligible after %s", p+1, back)
	if got := s.getText(p, "CPSMM-EMULATOR-MIB::cpsEmuIpMonVerdict.0"); got != "ok" {
		t.Errorf("restored module's verdict %q", got)
	}
	took = waitFor(t, 20*time.Second, "the restored module to take the role back", func() bool { pr, _ := s.primary(p); return pr })
	t.Logf("m%d Primary again %s after it was eligible", p+1, took)
	if ov := overlaps(w.finish()); len(ov) > 0 {
		t.Errorf("two Primaries: %v", ov)
	}

	// 30 % loss at the gateway: the responder does lose that much (our
	// own probes), and over 60 polls no target goes down and no role moves.
	if out, err := s.cli("fail", "gateway", "192.0.2.1", "loss", "30"); err != nil {
		t.Fatalf("fail gateway loss: %v\n%s", err, out)
	}
	if lost := probeLoss(t, gw, 200); lost < 0.15 || lost > 0.45 {
		t.Errorf("gateway loss 30: %.0f %% of our probes lost", lost*100)
	}
	before := s.statusJSON()
	w = s.watchRoles()
	w.waitReady(t, 10*time.Second)
	time.Sleep(60 * hello)
	ivs := w.finish()
	if ov := overlaps(ivs); len(ov) > 0 {
		t.Errorf("two Primaries under loss: %v", ov)
	}
	for _, iv := range ivs {
		if iv.module != p {
			t.Errorf("m%d was Primary under 30 %% loss (m%d was before)", iv.module+1, p+1)
		}
	}
	after := s.statusJSON()
	missed := uint64(0)
	for i, r := range after {
		h := r.Negotiation.IPMonitor.Hosts[0]
		if !h.Up || !h.LastChange.Equal(before[i].Negotiation.IPMonitor.Hosts[0].LastChange) || r.Negotiation.IPMonitor.Verdict.Failed {
			t.Errorf("%s under 30 %% loss: %+v, verdict %s", r.Module, h, r.Negotiation.IPMonitor.Verdict)
		}
		b := before[i].Negotiation.IPMonitor.Hosts[0]
		missed += (h.Polls - b.Polls) - (h.Answered - b.Answered)
	}
	t.Logf("30 %% loss: %d polls of the gateway missed by the three modules (none 4 in a row)", missed)
	if out, err := s.cli("restore", "gateway", "192.0.2.1"); err != nil {
		t.Fatalf("restore gateway: %v\n%s", err, out)
	}

	// The shared gateway down: every module degraded, none failed, the
	// Primary keeps the role.
	if out, err := s.cli("fail", "gateway", "192.0.2.1", "down"); err != nil {
		t.Fatalf("fail gateway down: %v\n%s", err, out)
	}
	waitFor(t, 10*time.Second, "every module degraded", func() bool {
		for _, r := range s.statusJSON() {
			if v := r.Negotiation.IPMonitor.Verdict; !v.Degraded || v.Failed {
				return false
			}
		}
		return true
	})
	time.Sleep(3 * hello)
	for i := range s.addrs {
		if got := s.getText(i, own(i, "cpsmm100CanPrimary")); got != "yes" {
			t.Errorf("m%d CanPrimary %q with the shared gateway down", i+1, got)
		}
	}
	if pr, _ := s.primary(p); !pr {
		t.Errorf("m%d lost the role to a shared gateway failure", p+1)
	}
	if out, err := s.cli("restore", "gateway", "192.0.2.1"); err != nil {
		t.Fatalf("restore gateway: %v\n%s", err, out)
	}
}

// probeLoss sends n probes to a responder, one at a time, and returns the
// share left unanswered within 200 ms.
func probeLoss(t testing.TB, at string, n int) float64 {
	t.Helper()
	ua, err := net.ResolveUDPAddr("udp4", at)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp4", nil, ua)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lost := 0
	buf := make([]byte, 64)
	for i := 1; i <= n; i++ {
		if _, err := c.Write(ipmon.MarshalProbe(ipmon.Datagram{Op: ipmon.OpRequest, Seq: uint32(i)})); err != nil {
			t.Fatal(err)
		}
		got := false
		for deadline := time.Now().Add(200 * time.Millisecond); !got; {
			_ = c.SetReadDeadline(deadline)
			k, err := c.Read(buf)
			if err != nil {
				break
			}
			d, err := ipmon.UnmarshalProbe(buf[:k])
			got = err == nil && d.Op == ipmon.OpReply && d.Seq == uint32(i)
		}
		if !got {
			lost++
		}
	}
	return float64(lost) / float64(n)
}

// BenchmarkIPMonitorFailover measures, on a real three-module stack, the
// time from `cpsstack fail PRIMARY ip-down` to the first SNMP answer
// cpsIsPrimary = yes(1) from another module, at the default timers (hello
// and monitor interval 1 s) and at 100 ms; CPSMM_BENCH_IPDOWNS rounds each
// (default 5).
func BenchmarkIPMonitorFailover(b *testing.B) {
	rounds := 5
	if s := os.Getenv("CPSMM_BENCH_IPDOWNS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	for i := 0; i < b.N; i++ {
		for _, tm := range []struct{ hello, hold time.Duration }{{time.Second, 3 * time.Second}, {100 * time.Millisecond, 300 * time.Millisecond}} {
			s, _ := startMonitoredStack(b, tm.hello, tm.hold, "yes", "yes", "yes")
			p, _ := s.waitPrimary(-1, 30*time.Second)
			var took, after []time.Duration
			for k := 0; k < rounds; k++ {
				name := fmt.Sprintf("m%d", p+1)
				// Every module ok (the last restore's successes behind it).
				waitFor(b, 30*time.Second, "every monitor ok", func() bool {
					for _, r := range s.statusJSON() {
						if im := r.Negotiation.IPMonitor; im == nil || im.Verdict != (ipmon.Verdict{}) || r.Can != "yes" {
							return false
						}
					}
					return true
				})
				start := time.Now()
				if out, err := s.cli("fail", name, "ip-down"); err != nil {
					b.Fatalf("ip-down: %v\n%s", err, out)
				}
				injected := time.Now()
				q, _ := s.waitPrimary(p, 60*time.Second)
				took, after = append(took, time.Since(start)), append(after, time.Since(injected))
				if out, err := s.cli("restore", name); err != nil {
					b.Fatalf("restore: %v\n%s", err, out)
				}
				p = q
			}
			fmt.Printf("timers %s/%s, monitor every %s, 4 misses: `cpsstack fail M ip-down` issued -> another module answers Primary (%d): "+
				"min %s, p50 %s, max %s; from the command's return: min %s, p50 %s, max %s\n",
				tm.hello, tm.hold, tm.hello, rounds, percentile(took, 0).Round(time.Millisecond),
				percentile(took, 0.5).Round(time.Millisecond), percentile(took, 1).Round(time.Millisecond),
				percentile(after, 0).Round(time.Millisecond), percentile(after, 0.5).Round(time.Millisecond), percentile(after, 1).Round(time.Millisecond))
			b.ReportMetric(float64(percentile(took, 0.5).Milliseconds()), fmt.Sprintf("p50-ms-hello-%s", tm.hello))
			_, _ = s.cli("down")
		}
	}
}
