package trapmgr

import (
	"fmt"
	"math/rand"
	"net/netip"
	"testing"
	"time"
)

// TestRandomSchedules runs random schedules of managers going down and
// up, notifications, Primary changes and reconfigurations, and checks:
//
//   - at most one manager is active, and it is the first configured one
//     that is not failed;
//   - a notification is sent only to the manager active at that moment;
//     a keepalive only to the active manager or a failed one ranked above
//     it (any configured one while none is active);
//   - conservation: every notification enqueued is acknowledged, dropped,
//     released, or still pending, and pending never exceeds the capacity;
//     nothing acknowledged is lost (every acknowledged notification was
//     received by a manager);
//   - failover: an active manager silent since a keepalive it did not
//     acknowledge is no longer active Misses intervals after that keepalive
//     (plus the timeout);
//   - fail-back: once a manager ranked above the active one has been up
//     for an interval plus its round trip, it is active;
//   - liveness: once some configured manager stays up, every pending
//     notification is acknowledged within a few intervals.
func TestRandomSchedules(t *testing.T) {
	runs := 2000
	if testing.Short() || raceOn {
		runs = 300
	}
	for seed := int64(1); seed <= int64(runs); seed++ {
		if err := randomSchedule(seed); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

func randomSchedule(seed int64) error {
	r := rand.New(rand.NewSource(seed))
	interval := time.Duration(1+r.Intn(3)) * time.Second
	cfg := Config{Capacity: 1 + r.Intn(20), Window: 1 + r.Intn(4)}
	rtt := time.Duration(1+r.Intn(20)) * time.Millisecond
	s := newSim(cfg, rtt)
	for i := range s.addrs {
		if i == 0 || r.Intn(3) > 0 {
			s.addrs[i] = netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)})
		}
		s.setUp(i, r.Intn(2) == 0)
	}
	s.m.SetPrimary(s.now, true)
	s.configure(interval)
	timeout := s.m.Config().Timeout
	var enqueued, released int
	names := 0
	// upSince[i]: when manager i last came up (zero: down).
	var upSince [Slots]time.Time
	for i := range s.up {
		if s.up[i] {
			upSince[i] = s.now
		}
	}
	check := func() error {
		// One active, the first configured not failed.
		st := s.m.Status()
		want := -1
		for i, mg := range s.m.mgrs {
			if mg.addr.IsValid() && !mg.failed {
				want = i
				break
			}
		}
		if s.m.active != want {
			return fmt.Errorf("%s: active %d, want %d", s.at(s.now), s.m.active, want)
		}
		if st.Running && st.Active != want {
			return fmt.Errorf("%s: status active %d, want %d", s.at(s.now), st.Active, want)
		}
		n := 0
		for _, ms := range st.Managers {
			if ms.State == Active {
				n++
			}
		}
		if n > 1 || (n == 1) != (want >= 0 && st.Running) {
			return fmt.Errorf("%s: %d active managers", s.at(s.now), n)
		}
		if st.Queued > s.m.cfg.Capacity {
			return fmt.Errorf("%s: %d pending, capacity %d", s.at(s.now), st.Queued, s.m.cfg.Capacity)
		}
		if int(st.Acked)+int(st.Dropped)+released+st.Queued != enqueued {
			return fmt.Errorf("%s: acked %d + dropped %d + released %d + pending %d != enqueued %d",
				s.at(s.now), st.Acked, st.Dropped, released, st.Queued, enqueued)
		}
		return nil
	}
	for step := 0; step < 60; step++ {
		switch k := r.Intn(10); {
		case k < 3:
			i := r.Intn(Slots)
			s.setUp(i, !s.up[i])
			if s.up[i] {
				upSince[i] = s.now
			} else {
				upSince[i] = time.Time{}
			}
		case k < 6:
			for j := r.Intn(5); j >= 0; j-- {
				names++
				s.m.Enqueue(s.now, fmt.Sprint("n", names))
				enqueued++
			}
		case k == 6:
			p := r.Intn(4) > 0
			if !p || !s.m.primary {
				s.stableSince = s.now
			}
			s.m.SetPrimary(s.now, p)
		case k == 7 && r.Intn(5) == 0:
			// Turn off and on again.
			s.stableSince = s.now
			s.configure(0)
			released += len(s.m.ready.Released)
			s.drain()
			s.configure(interval)
		}
		s.drain()
		from := len(s.sends)
		s.advance(time.Duration(r.Intn(int(4*interval/time.Millisecond))) * time.Millisecond)
		if err := check(); err != nil {
			return err
		}
		if err := checkSends(s, s.sends[from:]); err != nil {
			return err
		}
		// Fail-back: a manager ranked above the active one, up for an
		// interval, a timeout and its round trip, is active. (Only while
		// keepalives run: Primary or pending.)
		st := s.m.Status()
		if s.m.primary && st.Active > 0 {
			for i := 0; i < st.Active; i++ {
				since := upSince[i]
				if since.Before(s.stableSince) {
					since = s.stableSince
				}
				if s.addrs[i].IsValid() && !upSince[i].IsZero() && s.now.Sub(since) > interval+timeout+2*rtt {
					return fmt.Errorf("%s: manager %d up since %s, active is %d", s.at(s.now), i+1, s.at(upSince[i]), st.Active+1)
				}
			}
		}
	}
	// Liveness: the first configured manager comes up and stays up.
	s.setUp(0, true)
	s.m.SetPrimary(s.now, true)
	s.advance(2*interval + timeout + 2*rtt)
	if err := check(); err != nil {
		return err
	}
	if st := s.m.Status(); st.Active != 0 || st.Queued != 0 {
		return fmt.Errorf("%s: manager 1 up: active %d, %d pending", s.at(s.now), st.Active+1, st.Queued)
	}
	// Nothing acknowledged is lost.
	got := map[string]bool{}
	for _, rs := range s.received {
		for _, p := range rs {
			got[p] = true
		}
	}
	for p := range s.acked {
		if !got[p] {
			return fmt.Errorf("%s acknowledged, never received", p)
		}
	}
	return nil
}

// checkSends checks who each send went to, and the failover bound.
func checkSends(s *sim, sends []simSend) error {
	for _, x := range sends {
		snd := x.send
		if !snd.Keepalive && snd.Manager != x.active {
			return fmt.Errorf("%s: notification to manager %d, active %d", s.at(x.at), snd.Manager+1, x.active+1)
		}
		if snd.Keepalive && x.active >= 0 && snd.Manager > x.active {
			return fmt.Errorf("%s: keepalive to standby manager %d (active %d)", s.at(x.at), snd.Manager+1, x.active+1)
		}
	}
	// Failover: a keepalive to the active manager that was not acknowledged
	// (the manager down at the send and ever since), followed by Misses-1
	// more: the manager is no longer active after the last one's timeout.
	for _, a := range s.sends {
		m := a.send.Manager
		if !a.send.Keepalive || m != a.active || s.up[m] || !s.downSince[m].Before(a.at) || !a.at.After(s.stableSince) {
			continue
		}
		deadline := a.at.Add(time.Duration(s.m.cfg.Misses-1)*s.m.cfg.Interval + s.m.cfg.Timeout)
		if s.now.After(deadline) && s.m.primary && s.m.active == m && !s.activeSince.After(a.at) {
			return fmt.Errorf("%s: manager %d silent since %s still active", s.at(s.now), m+1, s.at(a.at))
		}
	}
	return nil
}
