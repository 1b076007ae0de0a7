package ipmon

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// TestRandomSchedules runs random schedules of gateway failures, losses
// and flaps and of modules' Ethernet sides cut and restored, over stacks
// of 2 to 4 modules with a shared gateway or gateways of their own, with
// and without peer polling, and checks after every step:
//
//   - hysteresis: every host's up/down state, and its counts of
//     consecutive missed and answered polls, are those of a reference
//     model fed the same poll outcomes (down after Misses missed polls in
//     a row, up after Successes answered in a row);
//   - a module with an answering target never fails (nor, without
//     targets, one with an answering peer);
//   - a failed module has a better-placed module: another that is up and
//     not failed;
//   - never every module failed at once;
//
// and, once the faults stop, that every verdict is ok within Successes + 2
// polls.
func TestRandomSchedules(t *testing.T) {
	runs := 400
	if testing.Short() {
		runs = 50
	}
	var failed, degraded int
	for seed := int64(1); seed <= int64(runs); seed++ {
		f, d, err := randomSchedule(seed)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		failed += f
		degraded += d
	}
	t.Logf("%d schedules: %d steps with a failed module, %d with a degraded one", runs, failed, degraded)
	if failed < runs || degraded < runs {
		t.Fatalf("the schedules exercise too little: %d failed, %d degraded steps", failed, degraded)
	}
}

type modelHost struct {
	up                bool
	misses, successes int
	pending           bool // a poll sent and not answered: a miss at the next poll
}

func randomSchedule(seed int64) (nFailed, nDegraded int, err error) {
	rng := rand.New(rand.NewSource(seed))
	cfg := Config{Interval: time.Second, Misses: 1 + rng.Intn(5), Successes: 1 + rng.Intn(5)}
	s := newSim(cfg, seed)
	n := 2 + rng.Intn(3)
	shared := rng.Intn(2) == 0
	peers := rng.Intn(3) != 0
	var names []string
	for i := 0; i < n; i++ {
		names = append(names, fmt.Sprintf("m%d", i))
	}
	model := map[string]*modelHost{}
	key := func(mod string, h Host) string { return mod + "/" + h.String() }
	s.onPoll = func(mod string, h Host, answered bool) {
		mh := model[key(mod, h)]
		if mh == nil {
			mh = &modelHost{up: true}
			model[key(mod, h)] = mh
		}
		if mh.pending {
			mh.misses++
			mh.successes = 0
			if mh.up && mh.misses >= cfg.Misses {
				mh.up = false
			}
		}
		mh.pending = !answered
		if answered {
			mh.misses = 0
			mh.successes++
			if !mh.up && mh.successes >= cfg.Successes {
				mh.up = true
			}
		}
	}
	if shared {
		if err := s.boot(names, []string{"gw"}, peers); err != nil {
			return 0, 0, err
		}
	} else {
		for i, nm := range names {
			if err := s.boot([]string{nm}, []string{fmt.Sprintf("gw%d", i)}, false); err != nil {
				return 0, 0, err
			}
		}
	}
	var gws []string
	for g := range s.gws {
		gws = append(gws, g)
	}
	check := func() error {
		all := true
		for _, nm := range s.order {
			mod := s.mods[nm]
			v := mod.m.Verdict()
			if v.Failed {
				nFailed++
			} else {
				all = false
			}
			if v.Degraded {
				nDegraded++
			}
			targetUp, peerUp, anyTarget := false, false, false
			for _, hs := range mod.m.Status() {
				h := Host{Kind: Target, Name: hs.Name}
				if hs.Kind == Peer.String() {
					h.Kind = Peer
				}
				mh := model[key(nm, h)]
				if mh == nil {
					mh = &modelHost{up: true}
				}
				if hs.Up != mh.up || hs.Misses != mh.misses || hs.Successes != mh.successes {
					return fmt.Errorf("%s %s at %s: up=%v misses=%d successes=%d, model up=%v misses=%d successes=%d", nm, h,
						s.now.Sub(s.start), hs.Up, hs.Misses, hs.Successes, mh.up, mh.misses, mh.successes)
				}
				if h.Kind == Target {
					anyTarget = true
					targetUp = targetUp || hs.Up
				} else {
					peerUp = peerUp || hs.Up
				}
			}
			if v.Failed && (targetUp || (!anyTarget && peerUp)) {
				return fmt.Errorf("%s failed with an answering host at %s", nm, s.now.Sub(s.start))
			}
			if v.Failed {
				better := false
				for _, o := range s.order {
					if ov := s.mods[o]; o != nm && ov.m.Own().Up && !ov.m.Verdict().Failed {
						better = true
					}
				}
				if !better {
					return fmt.Errorf("%s failed with no better-placed module at %s", nm, s.now.Sub(s.start))
				}
			}
		}
		if all {
			return fmt.Errorf("every module failed at %s", s.now.Sub(s.start))
		}
		return nil
	}
	for step := 0; step < 30; step++ {
		switch r := rng.Intn(10); {
		case r < 4:
			g := s.gws[gws[rng.Intn(len(gws))]]
			switch rng.Intn(4) {
			case 0:
				g.down, g.pattern, g.loss = true, "", 0
			case 1:
				g.down, g.pattern, g.loss = false, "", 0
			case 2:
				g.down, g.pattern, g.loss = false, "", float64(rng.Intn(80))/100
			default:
				p := make([]byte, 1+rng.Intn(6))
				for i := range p {
					p[i] = '0' + byte(rng.Intn(2))
				}
				g.down, g.pattern, g.loss = false, string(p), 0
			}
		case r < 7:
			mod := s.mods[names[rng.Intn(n)]]
			mod.ipdown = !mod.ipdown
		}
		d := time.Duration(1+rng.Intn(80)) * cfg.Interval / 10
		for end := s.now.Add(d); s.now.Before(end); {
			s.advance(s.step)
			if err := check(); err != nil {
				return nFailed, nDegraded, err
			}
		}
	}
	// Heal: every verdict ok within Successes + 2 polls.
	for _, g := range s.gws {
		g.down, g.pattern, g.loss = false, "", 0
	}
	for _, mod := range s.mods {
		mod.ipdown = false
	}
	s.advance(time.Duration(cfg.Successes+2) * cfg.Interval)
	if err := check(); err != nil {
		return nFailed, nDegraded, err
	}
	for _, nm := range s.order {
		if v := s.mods[nm].m.Verdict(); v != (Verdict{}) {
			return nFailed, nDegraded, fmt.Errorf("%s still %s after healing", nm, v)
		}
	}
	return nFailed, nDegraded, nil
}

// TestLossDoesNotFlap: a gateway losing 30 % of the probes, polled with 3
// probes a poll, stays up over 2 000 polls (a poll is missed 2.7 % of the
// time; 4 in a row about once in 2 million polls).
func TestLossDoesNotFlap(t *testing.T) {
	s := newSim(Config{Interval: time.Second}, 7)
	if err := s.boot([]string{"a", "b"}, []string{"gw"}, true); err != nil {
		t.Fatal(err)
	}
	s.gws["gw"].loss = 0.30
	s.advance(2000 * time.Second)
	for _, n := range s.order {
		if v := s.mods[n].m.Verdict(); v != (Verdict{}) {
			t.Fatalf("%s: %s", n, v)
		}
		st := s.mods[n].m.Status()[0]
		if !st.Up || st.LastChange != (time.Time{}) {
			t.Fatalf("%s: %+v", n, st)
		}
		t.Logf("%s: %d of %d polls answered", n, st.Answered, st.Polls)
	}
}
