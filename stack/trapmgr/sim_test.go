package trapmgr

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// sim drives a Machine against simulated managers: a manager that is up
// acknowledges every inform after rtt; one that is down never does. The
// machine is ticked only at its deadlines and when an acknowledgement
// arrives.
type sim struct {
	m     *Machine[string]
	t0    time.Time
	now   time.Time
	rtt   time.Duration
	up    [Slots]bool
	addrs [Slots]netip.Addr
	acks  []simAck
	log   []string
	// received[slot] lists the notifications each manager received, in
	// order (duplicates included).
	received [Slots][]string
	// acked: payloads whose acknowledgement reached the machine.
	acked map[string]bool
	// sends records every send, for the property test.
	sends []simSend
	// downSince: when each manager went down; stableSince: the last
	// reconfiguration or Primary change (property test).
	downSince   [Slots]time.Time
	stableSince time.Time
	activeSince time.Time // the last change of the active manager
}

func (s *sim) setUp(i int, up bool) {
	if !up && s.up[i] {
		s.downSince[i] = s.now
	}
	if !up && s.downSince[i].IsZero() {
		s.downSince[i] = s.now
	}
	s.up[i] = up
}

type simAck struct {
	at   time.Time
	id   uint64
	slot int
}

type simSend struct {
	at     time.Time
	send   Send[string]
	active int // the machine's active manager right after
}

func newSim(cfg Config, rtt time.Duration) *sim {
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	return &sim{m: New[string](cfg), t0: t0, now: t0, rtt: rtt, acked: map[string]bool{}}
}

func (s *sim) at(t time.Time) string { return fmt.Sprintf("%.3fs", t.Sub(s.t0).Seconds()) }

// drain handles what the machine wants done.
func (s *sim) drain() {
	r := s.m.Ready()
	for _, e := range r.Events {
		s.activeSince = e.At
		s.log = append(s.log, fmt.Sprintf("%s active %s -> %s: %s", s.at(e.At), mgrName(e.From), mgrName(e.To), e.Reason))
	}
	for _, p := range r.Released {
		s.log = append(s.log, fmt.Sprintf("%s released %s", s.at(s.now), p))
	}
	for _, snd := range r.Sends {
		s.sends = append(s.sends, simSend{at: s.now, send: snd, active: s.m.active})
		what := "keepalive"
		if !snd.Keepalive {
			what = fmt.Sprintf("notify %s (attempt %d)", snd.Payload, snd.Attempt)
		}
		state := "down"
		if s.up[snd.Manager] {
			state = "up"
			s.acks = append(s.acks, simAck{at: s.now.Add(s.rtt), id: snd.ID, slot: snd.Manager})
			if !snd.Keepalive {
				s.received[snd.Manager] = append(s.received[snd.Manager], snd.Payload)
			}
		}
		s.log = append(s.log, fmt.Sprintf("%s %s -> %s (%s)", s.at(s.now), what, mgrName(snd.Manager), state))
	}
}

func mgrName(i int) string {
	if i < 0 {
		return "none"
	}
	return fmt.Sprintf("mgr%d", i+1)
}

// advance runs the machine until now+d.
func (s *sim) advance(d time.Duration) {
	end := s.now.Add(d)
	for {
		s.drain()
		next := s.m.Deadline()
		sort.Slice(s.acks, func(i, j int) bool { return s.acks[i].at.Before(s.acks[j].at) })
		if len(s.acks) > 0 && (next.IsZero() || s.acks[0].at.Before(next)) {
			next = s.acks[0].at
		}
		if next.IsZero() || next.After(end) {
			break
		}
		if next.After(s.now) {
			s.now = next
		}
		if len(s.acks) > 0 && !s.acks[0].at.After(s.now) {
			a := s.acks[0]
			s.acks = s.acks[1:]
			s.ackPayload(a.id)
			s.m.Ack(s.now, a.id)
		} else {
			s.m.Tick(s.now)
		}
	}
	s.now = end
	s.m.Tick(s.now)
	s.drain()
}

// ackPayload notes which notification an acknowledgement is for, before
// the machine forgets it.
func (s *sim) ackPayload(id uint64) {
	for _, f := range s.m.inflight {
		if f.id == id && !f.keepalive {
			s.acked[f.note.payload] = true
		}
	}
}

func (s *sim) configure(interval time.Duration) { s.m.Configure(s.now, s.addrs, interval) }

func (s *sim) status() string {
	st := s.m.Status()
	var b strings.Builder
	for _, ms := range st.Managers {
		if ms.State == Unconfigured {
			continue
		}
		last := "never"
		if !ms.LastAck.IsZero() {
			last = s.at(ms.LastAck)
		}
		fmt.Fprintf(&b, "%s %s %s misses=%d keepalives=%d/%d sent=%d acked=%d queued=%d dropped=%d last-ack=%s\n",
			mgrName(ms.Slot), ms.Addr, ms.State, ms.Misses, ms.KeepalivesAcked, ms.Keepalives, ms.Sent, ms.Acked, ms.Queued, ms.Dropped, last)
	}
	fmt.Fprintf(&b, "active=%s pending=%d dropped=%d enqueued=%d acked=%d", mgrName(st.Active), st.Queued, st.Dropped, st.Enqueued, st.Acked)
	return b.String()
}
