package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHungPrimaryResumesAsStandby: the Primary's module process is stopped
// (SIGSTOP) until another module answers Primary and then for two more
// holdtimes; continued (SIGCONT), it answers cpsIsPrimary no(2) from its
// very first answer on, the new Primary keeps the role, and at no moment
// do two modules certainly answer yes. Three cycles, each under a role
// watch that samples every module as fast as its agent answers. Under
// IncumbentRule (preempt: false): under the vendor's, a resumed module
// that comes first takes the role back after the hysteresis
// (negotiation/testdata/vendor-takeback.txt).
func TestHungPrimaryResumesAsStandby(t *testing.T) {
	const (
		hello, hold = 100 * time.Millisecond, 300 * time.Millisecond
		after       = 2 * time.Second // watched after each resume
		minAnswers  = 20              // of the resumed module, after its resume
		minRate     = 20              // Hz: the incumbent's samples after the resume
	)
	s := startStackWith(t, hello, hold, incumbentRule, "yes", "yes", "yes")
	p, _ := s.waitPrimary(-1, 15*time.Second)
	s.waitOnly(p, "after up")
	for cycle := 1; cycle <= 3; cycle++ {
		name := fmt.Sprintf("m%d", p+1)
		w := s.watchRoles()
		w.waitReady(t, 10*time.Second)
		if out, err := s.cli("fail", name, "hang"); err != nil {
			w.finish()
			t.Fatalf("cycle %d: hang %s: %v\n%s", cycle, name, err, out)
		}
		hung := true
		t.Cleanup(func() {
			if hung {
				_, _ = s.cli("restore", name)
			}
		})
		q, took := s.waitPrimary(p, 15*time.Second)
		// Hung two holdtimes more: the scenario's length, not a wait on a
		// condition.
		time.Sleep(2 * hold)
		resumed := time.Now()
		if out, err := s.cli("restore", name); err != nil {
			w.finish()
			t.Fatalf("cycle %d: restore %s: %v\n%s", cycle, name, err, out)
		}
		hung = false
		// Watch until `after` has passed since the resume and the resumed
		// module has answered minAnswers times since.
		for deadline := resumed.Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			w.mu.Lock()
			n, lastQ := 0, time.Time{}
			for _, x := range w.samples[p] {
				if x.got.After(resumed) {
					n++
				}
			}
			if ss := w.samples[q]; len(ss) > 0 {
				lastQ = ss[len(ss)-1].sent
			}
			w.mu.Unlock()
			if n >= minAnswers && lastQ.After(resumed.Add(after)) {
				break
			}
			if time.Now().After(deadline) {
				w.finish()
				st, _ := s.cli("status")
				t.Fatalf("cycle %d: %d answers of m%d in 30s after its resume (want %d), m%d last sampled %s:\n%s",
					cycle, n, p+1, minAnswers, q+1, lastQ.Format("15:04:05.000"), st)
			}
		}
		w.finish()
		// Certain stretches end where a module went unanswered for a
		// holdtime: a hung module's last answer before the pause and its
		// first after it are not one run.
		if o := overlaps(certainPrimary(w.samples, hold)); len(o) > 0 {
			t.Fatalf("cycle %d: two Primaries at once: %v", cycle, o)
		}
		var yes []string // the first few
		answers, nyes := 0, 0
		for _, x := range w.samples[p] {
			// Read after the resume began: answered by the resumed
			// process (a stopped one answers nothing).
			if x.got.After(resumed) {
				answers++
				if x.primary {
					nyes++
				}
				if x.primary && len(yes) < 5 {
					yes = append(yes, fmt.Sprintf("sent %s after the resume, answered in %s", x.sent.Sub(resumed).Round(time.Millisecond), x.got.Sub(x.sent).Round(time.Millisecond)))
				}
			}
		}
		if nyes > 0 {
			logs, _ := exec.Command("tail", "-n", "30", filepath.Join(s.run, name, "cpsmm.log")).CombinedOutput()
			t.Fatalf("cycle %d: resumed m%d answered Primary %d times of %d after its resume at %s: %v\n%s",
				cycle, p+1, nyes, answers, resumed.Format("15:04:05.000"), yes, logs)
		}
		inWindow := 0
		for _, x := range w.samples[q] {
			if x.sent.After(resumed) && x.got.Before(resumed.Add(after)) {
				inWindow++
			}
			if x.got.After(resumed) && !x.primary {
				t.Fatalf("cycle %d: the incumbent m%d answered no at %s, %s after m%d resumed",
					cycle, q+1, x.sent.Format("15:04:05.000"), x.sent.Sub(resumed).Round(time.Millisecond), p+1)
			}
		}
		if inWindow < int(minRate*after/time.Second) {
			t.Fatalf("cycle %d: the incumbent m%d was sampled %d times in the %s after the resume: under %d Hz", cycle, q+1, inWindow, after, minRate)
		}
		t.Logf("cycle %d: m%d hung, m%d Primary %s later; m%d resumed, answered no %d times, m%d yes %d times in %s; no overlap",
			cycle, p+1, q+1, took.Round(time.Millisecond), p+1, answers, q+1, inWindow, after)
		p = q
	}
}

// hungSetError is what snmpset prints for a Set whose target never
// acknowledges: the module fails the CommitSet with commitFailed and the
// index of the varbind sent to the target (net-snmp's AgentX master turns
// an error without an index into genErr: agentx/master.c,
// agentx_got_response).
const hungSetError = "commitFailed"

// TestSetToHungStandbyThroughPrimary: a Standby hangs (SIGSTOP); within
// its holdtime, while the Primary still hears it as alive, a Set of its
// cpsmm100WantPrimary through the Primary (net-snmp's snmpset) gets no Ack:
// it fails (hungSetError) after the Ack timeout, within the holdtime, and the
// Primary's view of that module does not change. Continued, the Standby
// reads the Set queued for it and the take-backs sent after the failure:
// its own agent shows the old value again.
func TestSetToHungStandbyThroughPrimary(t *testing.T) {
	const (
		hello, hold = 250 * time.Millisecond, 750 * time.Millisecond
	)
	s := startStack(t, hello, hold, "yes", "yes", "yes")
	p, _ := s.waitPrimary(-1, 15*time.Second)
	s.waitOnly(p, "after up")
	sb := (p + 1) % 3
	name := fmt.Sprintf("m%d", sb+1)
	want := fmt.Sprintf("%s.12.1.%d", oidCpsmm100, sb+1) // cpsmm100WantPrimary.1.<slot>
	for i := range s.addrs {
		if v := s.getInt(i, want); v != 1 {
			t.Fatalf("m%d shows m%d's WantPrimary %d before the Set, want yes(1)", i+1, sb+1, v)
		}
	}

	var out string
	var took time.Duration
	for attempt := 1; ; attempt++ {
		hungAt := time.Now()
		if o, err := s.cli("fail", name, "hang"); err != nil {
			t.Fatalf("hang %s: %v\n%s", name, err, o)
		}
		hung := true
		t.Cleanup(func() {
			if hung {
				_, _ = s.cli("restore", name)
			}
		})
		start := time.Now()
		o, err := s.snmp("snmpset", p, "private", fmt.Sprintf("MCC16-MIB::cpsmm100WantPrimary.1.%d", sb+1), "i", "2")
		took, out = time.Since(start), o
		if err == nil {
			t.Fatalf("the Set of hung m%d's WantPrimary through the Primary m%d succeeded:\n%s", sb+1, p+1, out)
		}
		// Meanwhile (the Standby still hung) the Primary's view is unchanged.
		if v := s.getInt(p, want); v != 1 {
			t.Fatalf("after the failed Set the Primary m%d shows m%d's WantPrimary %d, want yes(1)", p+1, sb+1, v)
		}
		inHold := time.Since(hungAt) < hold
		if o, err := s.cli("restore", name); err != nil {
			t.Fatalf("restore %s: %v\n%s", name, err, o)
		}
		hung = false
		if inHold {
			break
		}
		// Too slow (a loaded machine): the Primary may have taken the
		// Standby for dead before the Set, and refused it for that.
		t.Logf("attempt %d: the Set ended %s after the hang, past the holdtime: again (%s)", attempt, time.Since(hungAt).Round(time.Millisecond), strings.TrimSpace(out))
		if attempt == 3 {
			t.Fatalf("three attempts, none within the holdtime of the hang")
		}
		s.waitOnly(p, "after the restore")
		eventually(t, 15*time.Second, fmt.Sprintf("the Primary hears m%d again", sb+1), func() bool { return s.peerAlive(p, sb) })
	}
	t.Logf("snmpset through the Primary: %s after the hang:\n%s", took.Round(time.Millisecond), out)
	if !strings.Contains(out, "Reason: "+hungSetError) {
		t.Errorf("the Set of a hung Standby's WantPrimary answered, want %s:\n%s", hungSetError, out)
	}
	// How long it took is the PendingSet benchmark's figure: here, ending
	// within the holdtime with commitFailed (a dead target would answer
	// inconsistentValue) shows the Ack timeout ended it.

	// Continued: its own agent answers again, and after it has read what
	// was queued for it (the Set, then the take-backs), the old value.
	s.waitAnswers(sb)
	var seen []int64
	for end := time.Now().Add(3 * hold); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if v := s.getInt(sb, want); len(seen) == 0 || seen[len(seen)-1] != v {
			seen = append(seen, v)
		}
	}
	logText, _ := os.ReadFile(filepath.Join(s.run, name, "cpsmm.log"))
	t.Logf("m%d's own WantPrimary after the restore: %v; its log: %d Sets applied from the Primary, %d refused",
		sb+1, seen, strings.Count(string(logText), "set by the Primary"), strings.Count(string(logText), "set from the backplane refused"))
	if seen[len(seen)-1] != 1 {
		t.Fatalf("m%d's own WantPrimary is %d %s after the restore (values seen %v), want yes(1): the take-back was lost", sb+1, seen[len(seen)-1], 3*hold, seen)
	}
	if v := s.getInt(p, want); v != 1 {
		t.Fatalf("the Primary m%d shows m%d's WantPrimary %d after the restore, want yes(1)", p+1, sb+1, v)
	}
	s.waitOnly(p, "after the restore")
}

// peerAlive reports whether module i's negotiation hears module j.
func (s *testStack) peerAlive(i, j int) bool {
	out, err := s.cli("status", "-json")
	var rows []row
	if err != nil || json.Unmarshal([]byte(out), &rows) != nil {
		return false
	}
	for _, r := range rows {
		if r.SNMP != s.addrs[i] || r.Negotiation == nil {
			continue
		}
		for _, pe := range r.Negotiation.Peers {
			if int(pe.Slot) == j+1 && pe.Alive {
				return true
			}
		}
	}
	return false
}
