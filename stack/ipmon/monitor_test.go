package ipmon

import (
	"testing"
	"time"
)

// TestSetTargets: a changed gateway: the kept target keeps its counts, a
// new one starts up and is polled from the next poll, the peers keep
// theirs; an unanswered new target goes down after its misses.
func TestSetTargets(t *testing.T) {
	s := newSim(Config{Interval: time.Second}, 1)
	if err := s.boot([]string{"a", "b"}, []string{"gw"}, true); err != nil {
		t.Fatal(err)
	}
	s.advance(5050 * time.Millisecond)
	a := s.mods["a"].m
	if err := a.SetTargets(s.now, []string{"gw", "gw"}); err == nil {
		t.Fatal("a target given twice accepted")
	}
	if err := a.SetTargets(s.now, []string{"nowhere", "gw"}); err != nil {
		t.Fatal(err)
	}
	st := a.Status()
	if len(st) != 3 || st[0].Name != "nowhere" || !st[0].Up || st[0].Polls != 0 || st[1].Name != "gw" || st[1].Successes < 5 || st[2].Name != "b" || st[2].Successes < 5 {
		t.Fatalf("after SetTargets: %+v", st)
	}
	s.advance(6 * time.Second)
	st = a.Status()
	if st[0].Up || st[0].Misses < 4 || !st[1].Up || a.Verdict() != (Verdict{}) {
		t.Fatalf("an unanswered new target beside an answering one: %+v, %s", st, a.Verdict())
	}
	if err := a.SetTargets(s.now, []string{"nowhere"}); err != nil {
		t.Fatal(err)
	}
	s.advance(2 * time.Second)
	if v := a.Verdict(); !v.Failed {
		t.Fatalf("only an unanswered target while b's answers: %s", v)
	}
	if err := a.SetTargets(s.now, nil); err != nil {
		t.Fatal(err)
	}
	if v := a.Verdict(); v != (Verdict{}) || len(a.Status()) != 1 {
		t.Fatalf("no target, peers up: %s %+v", v, a.Status())
	}
}
