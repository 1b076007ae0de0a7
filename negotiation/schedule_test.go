package negotiation

import (
	"slices"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/stack/ident"
)

func TestScheduleNext(t *testing.T) {
	at := func(ms int64) time.Time { return time.Unix(0, ms*int64(time.Millisecond)) }
	for _, c := range []struct {
		s      Schedule
		t      time.Time
		period time.Duration
		want   time.Time
	}{
		{Schedule{}, at(1234), time.Second, at(2234)},
		{Schedule{Align: true}, at(1234), time.Second, at(2000)},
		{Schedule{Align: true}, at(2000), time.Second, at(3000)}, // on the grid: the next instant
		{Schedule{Align: true, Phase: 250 * time.Millisecond}, at(1234), time.Second, at(1250)},
		{Schedule{Align: true, Phase: 250 * time.Millisecond}, at(1250), time.Second, at(2250)},
		{Schedule{Align: true, Phase: 1250 * time.Millisecond}, at(1234), time.Second, at(1250)}, // phase taken mod period
		{Schedule{Align: true}, at(-1500), time.Second, at(-1000)},                               // before the epoch: floor, not truncation
		{Schedule{Align: true}, at(-2000), time.Second, at(-1000)},
		{Schedule{Align: true}, at(1234), 0, at(1234)},
	} {
		if got := c.s.Next(c.t, c.period); !got.Equal(c.want) {
			t.Errorf("%+v.Next(%v, %v) = %v, want %v", c.s, c.t.UnixMilli(), c.period, got.UnixMilli(), c.want.UnixMilli())
		}
	}
}

// TestAlignedHellosFallOnTheGrid: two nodes started at different instants
// send their periodic hellos in the same instants, on the grid.
func TestAlignedHellosFallOnTheGrid(t *testing.T) {
	sched := Schedule{Align: true, Phase: 300 * time.Millisecond}
	start := time.Unix(1000, 0)
	var sent [2][]time.Time
	var nodes [2]*Node
	for i := range nodes {
		n, err := New(Config{ID: ident.MACFromUint64(uint64(i + 1)), Hello: time.Second, Schedule: sched}, start.Add(time.Duration(i)*137*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		n.Ready()
		nodes[i] = n
	}
	// Alone (nothing delivered), each settles as Primary after the
	// start-up wait; from then on it sends only its periodic hellos.
	settled := start.Add(4 * time.Second)
	for now := start.Add(500 * time.Millisecond); now.Before(start.Add(9 * time.Second)); now = now.Add(time.Millisecond) {
		for i, n := range nodes {
			if !n.Deadline().After(now) {
				n.Tick(now)
				if len(n.Ready().Adverts) > 0 && now.After(settled) {
					sent[i] = append(sent[i], now)
				}
			}
		}
	}
	if len(sent[0]) < 4 || !slices.Equal(sent[0], sent[1]) {
		t.Fatalf("hellos at %v and %v, want the same instants", sent[0], sent[1])
	}
	for _, at := range sent[0] {
		if at.Sub(start)%time.Second != 300*time.Millisecond {
			t.Errorf("hello at %v: off the grid", at.Sub(start))
		}
	}
}
