package main

import (
	"net"
	"testing"
	"time"
)

// The overlap check of the role watch: certain intervals only.
func TestOverlaps(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int, primary bool) sample {
		s := t0.Add(time.Duration(ms) * time.Millisecond)
		return sample{sent: s, got: s.Add(time.Millisecond), primary: primary}
	}
	for _, tc := range []struct {
		name    string
		samples [][]sample
		want    int
	}{
		{"clean handover", [][]sample{
			{at(0, true), at(10, true), at(20, false), at(30, false)},
			{at(0, false), at(10, false), at(25, true), at(35, true)},
		}, 0},
		{"both Primary from 25 to 30 ms", [][]sample{
			{at(0, true), at(10, true), at(30, true), at(40, false)},
			{at(0, false), at(20, true), at(35, true), at(45, true)},
		}, 1},
		// One sample each in the same 1 ms window: not certain.
		{"uncertain", [][]sample{
			{at(0, true), at(10, false)},
			{at(0, true), at(10, true)},
		}, 0},
	} {
		w := &roleWatch{samples: tc.samples, stop: make(chan struct{})}
		if got := overlaps(w.finish()); len(got) != tc.want {
			t.Errorf("%s: %v, want %d overlap(s)", tc.name, got, tc.want)
		}
	}
}

// Every test stack has its own key and MACs: two runs at once never share
// them, and the MACs of its modules rise from m1 without wrapping.
func TestStackIdentity(t *testing.T) {
	k1, b1 := stackIdentity(t, 9)
	k2, b2 := stackIdentity(t, 9)
	if k1 == k2 || len(k1) < 8 {
		t.Errorf("keys %q and %q", k1, k2)
	}
	if b1.String() == b2.String() {
		t.Errorf("two stacks share the MAC base %s", b1)
	}
	for _, b := range []net.HardwareAddr{b1, b2} {
		if b[0] != 0x00 || b[1] != 0xc0 || b[2] != 0xf2 || int(b[5])+9 > 0xff {
			t.Errorf("MAC base %s: not 00:c0:f2, or no room for 9 modules", b)
		}
	}
}
