package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestHungPrimaryResumesAsStandby: the Primary's module process is stopped
// (SIGSTOP) until another module answers Primary and then for two more
// holdtimes; continued (SIGCONT), it answers cpsIsPrimary no(2) from its
// very first answer on, the new Primary keeps the role, and at no moment
// do two modules certainly answer yes. Three cycles, each under a role
// watch that samples every module as fast as its agent answers.
func TestHungPrimaryResumesAsStandby(t *testing.T) {
	const (
		hello, hold = 100 * time.Millisecond, 300 * time.Millisecond
		after       = 2 * time.Second // watched after each resume
		minAnswers  = 20              // of the resumed module, after its resume
		minRate     = 20              // Hz: the incumbent's samples after the resume
	)
	s := startStack(t, hello, hold, "yes", "yes", "yes")
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
