package trapmgr

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// FuzzMachine drives a machine with an arbitrary sequence of inputs (each
// byte one: a manager up or down, a notification, a Primary change, a
// reconfiguration, time passing) against simulated managers, and checks
// after each the invariants of TestRandomSchedules that hold for any
// schedule: one active manager, the first configured not failed;
// notifications only to the active manager; pending within capacity;
// every notification acknowledged, dropped, released or pending.
func FuzzMachine(f *testing.F) {
	f.Add([]byte{0x00, 0x13, 0x25, 0x47, 0x81, 0xff, 0x10, 0x90})
	f.Add([]byte("keepalive failover fail-back"))
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 400 {
			ops = ops[:400]
		}
		s := newSim(Config{Capacity: 5, Window: 2}, 3*time.Millisecond)
		for i := range s.addrs {
			s.addrs[i] = netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)})
		}
		s.m.SetPrimary(s.now, true)
		s.configure(time.Second)
		enqueued, released := 0, 0
		for k, op := range ops {
			arg := int(op & 0x0f)
			switch op >> 5 {
			case 0, 1:
				s.setUp(arg%Slots, op&0x10 != 0)
			case 2:
				for j := 0; j <= arg%4; j++ {
					s.m.Enqueue(s.now, fmt.Sprint(k, ".", j))
					enqueued++
				}
			case 3:
				s.m.SetPrimary(s.now, op&0x10 != 0)
			case 4:
				if op&0x10 != 0 {
					s.addrs[arg%Slots] = netip.Addr{}
				} else {
					s.addrs[arg%Slots] = netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + arg%Slots)})
				}
				iv := time.Duration(arg%3) * time.Second
				s.configure(iv)
				released += len(s.m.ready.Released)
			default:
				s.drain()
				from := len(s.sends)
				s.advance(time.Duration(op&0x3f) * 100 * time.Millisecond)
				for _, x := range s.sends[from:] {
					if !x.send.Keepalive && x.send.Manager != x.active {
						t.Fatalf("op %d: notification to manager %d, active %d", k, x.send.Manager+1, x.active+1)
					}
				}
			}
			s.drain()
			want := -1
			if s.m.On() {
				for i, mg := range s.m.mgrs {
					if mg.addr.IsValid() && !mg.failed {
						want = i
						break
					}
				}
			}
			st := s.m.Status()
			if s.m.active != want {
				t.Fatalf("op %d: active %d, want %d", k, s.m.active, want)
			}
			if st.Queued > s.m.cfg.Capacity {
				t.Fatalf("op %d: %d pending", k, st.Queued)
			}
			if int(st.Acked)+int(st.Dropped)+released+st.Queued != enqueued {
				t.Fatalf("op %d: acked %d + dropped %d + released %d + pending %d != %d", k, st.Acked, st.Dropped, released, st.Queued, enqueued)
			}
		}
	})
}
