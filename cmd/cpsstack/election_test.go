package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestElectionRule: the example stack with the MACs of its first two
// modules swapped, so that m2 (cabinet 1, slot 2) has the lowest MAC.
//
// Under the vendor's rule (the default) m1, in cabinet 1 slot 1, is
// Primary; after its kill -9 m2 takes over, and once m1 is restored it
// takes the role back (after the hysteresis), with never two Primaries
// (a role watch samples every module as fast as its agent answers). Two
// modules set to always(3) then: m1, the lower cabinet/slot, stays
// Primary, and status warns of the conflict.
//
// With negotiation: {preempt: false} m1 is Primary at start-up too (the
// same order), but restored after its kill -9 it stays Standby.
func TestElectionRule(t *testing.T) {
	const hello, hold = 200 * time.Millisecond, 600 * time.Millisecond
	for _, tc := range []struct {
		name, extra, rule string
	}{{"vendor", "", "vendor"}, {"preempt-false", "negotiation: {preempt: false}\n", "incumbent"}} {
		t.Run(tc.name, func(t *testing.T) {
			s := startExampleStackWith(t, hello, hold, hello, true, tc.extra)
			s.waitOnly(0, "after up: m1 (1/1), not m2 (the lowest MAC)")
			if rows := s.statusRows(); len(rows) != 3 || rows[0].Negotiation == nil || rows[0].Negotiation.Rule != tc.rule {
				t.Fatalf("status: %+v, want rule %s", rows, tc.rule)
			}

			w := s.watchRoles()
			w.waitReady(t, 10*time.Second)
			if err := syscall.Kill(s.pid("m1"), syscall.SIGKILL); err != nil {
				w.finish()
				t.Fatal(err)
			}
			if q, took := s.waitPrimary(0, 15*time.Second); q != 1 {
				w.finish()
				t.Fatalf("m%d took over after kill -9 of m1, want m2", q+1)
			} else {
				t.Logf("m2 Primary %s after kill -9 of m1", took.Round(time.Millisecond))
			}
			restored := time.Now()
			if out, err := s.cli("restore", "m1"); err != nil {
				w.finish()
				t.Fatalf("restore m1: %v\n%s", err, out)
			}
			s.waitAnswers(0)
			var want int
			if tc.rule == "vendor" {
				s.waitOnly(0, "m1 restored under the vendor's rule")
				t.Logf("m1 took the role back %s after its restore", time.Since(restored).Round(time.Millisecond))
			} else {
				// m1 has rejoined (m2 hears it), then stays Standby for the
				// hysteresis and a holdtime more, and m2 keeps the role.
				for deadline := time.Now().Add(15 * time.Second); !s.peerAlive(1, 0); time.Sleep(20 * time.Millisecond) {
					if time.Now().After(deadline) {
						w.finish()
						t.Fatal("m2 does not hear the restored m1")
					}
				}
				for end := time.Now().Add(4*hello + 2*hold); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
					if p, _ := s.primary(0); p {
						w.finish()
						t.Fatal("m1 took the role back with preempt: false")
					}
				}
				s.waitOnly(1, "m1 restored with preempt: false")
				want = 1
			}
			// A few more samples of every module after the outcome.
			if !w.waitSampledSince(time.Now(), 10*time.Second) {
				w.finish()
				t.Fatal("the role watch stopped sampling")
			}
			w.finish()
			iv := certainPrimary(w.samples, hold)
			if o := overlaps(iv); len(o) > 0 {
				t.Fatalf("two Primaries at once: %v", o)
			}
			seen := map[int]bool{}
			for _, x := range iv {
				seen[x.module] = true
			}
			if !seen[0] || !seen[1] || seen[2] {
				t.Fatalf("the watch saw Primaries %v, want m1 and m2", seen)
			}
			t.Logf("%d, %d, %d samples; no overlap; m%d Primary at the end", len(w.samples[0]), len(w.samples[1]), len(w.samples[2]), want+1)
			if tc.rule != "vendor" {
				return
			}

			// Two always(3): m2's own, then m1's through m2... both on
			// their own agents (a module's own WantPrimary is settable on it).
			for _, i := range []int{1, 0} {
				if out, err := s.snmp("snmpset", i, "private", wantOIDOf(i), "i", "3"); err != nil || !strings.Contains(out, "always(3)") {
					t.Fatalf("snmpset m%d's WantPrimary always: %v\n%s", i+1, err, out)
				}
			}
			var st string
			for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				st, _ = s.cli("status")
				if strings.Contains(st, "WARNING: more than one module wants always(3): m1 (1/1), m2 (1/2)") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no always(3) warning in status:\n%s", st)
				}
			}
			s.waitOnly(0, "two always(3) modules: the lower cabinet/slot")
			for _, r := range s.statusRows() {
				if n := r.Negotiation; n == nil || len(n.AlwaysConflict) != 2 || n.AlwaysConflict[0].Slot != 1 || n.AlwaysConflict[1].Slot != 2 {
					t.Errorf("%s: always_conflict %+v", r.Module, n)
				}
			}
			logs, _ := os.ReadFile(filepath.Join(s.run, "m2", "cpsmm.log"))
			if !strings.Contains(string(logs), "more than one module wants always(3)") {
				t.Errorf("m2's log has no always(3) warning")
			}
			t.Logf("status:\n%s", st)
		})
	}
}

// wantOIDOf is module i's cpsmm100WantPrimary in the example stack.
func wantOIDOf(i int) string {
	return []string{"MCC16-MIB::cpsmm100WantPrimary.1.1", "MCC16-MIB::cpsmm100WantPrimary.1.2", "MCC16-MIB::cpsmm100WantPrimary.2.1"}[i]
}

// statusRows is `cpsstack status --json`, decoded (nil on an error).
func (s *testStack) statusRows() []row {
	out, err := s.cli("status", "-json")
	var rows []row
	if err != nil || json.Unmarshal([]byte(out), &rows) != nil {
		return nil
	}
	return rows
}
