package member

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/negotiation"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/ipmon"
	"github.com/cpsmm/cpsmm/stack/module"
	"github.com/cpsmm/cpsmm/stack/transport"
)

var testGateway = netip.MustParseAddrPort("127.0.0.1:9")

// newMonitoredRig is newStackRig with every member's IP monitor on
// (interval the hello, 100 ms; the gateway 192.0.2.1 at testGateway, up;
// peers polled).
func newMonitoredRig(t *testing.T, n int) *stackRig {
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	r := &stackRig{t: t, net: newMemNet()}
	r.net.setGateway(testGateway, true)
	dir := map[ident.MAC]ident.Slot{}
	eth := map[ident.MAC]netip.AddrPort{}
	for i := 0; i < n; i++ {
		r.macs = append(r.macs, macN(i))
		dir[macN(i)] = ident.At(1, int32(i+1))
		eth[macN(i)] = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(17101+i))
	}
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	cfgs := make([]module.Config, n)
	for i := range cfgs {
		cfg := module.Default()
		cfg.Name, cfg.Slot, cfg.MAC = fmt.Sprintf("m%d", i+1), int32(i+1), macN(i).String()
		cfg.IPAddress = fmt.Sprintf("192.0.2.%d", 11+i)
		cfgs[i] = cfg
	}
	const hello = 100 * time.Millisecond
	for i := 0; i < n; i++ {
		mod, err := module.New(module.Options{Config: cfgs[i], Log: quiet, Stack: true})
		if err != nil {
			t.Fatal(err)
		}
		for j, c := range cfgs {
			if j != i {
				if err := mod.AddPeer(c); err != nil {
					t.Fatal(err)
				}
			}
		}
		m, err := New(Config{
			Negotiation: negotiation.Config{Hello: hello, Holdtime: 3 * hello},
			Transport:   transport.Config{ID: backplane.ID(macN(i)), Key: []byte("unused"), Ethernet: eth[macN(i)]},
			Dial:        r.net.dial, Module: mod, Directory: dir, Log: quiet,
			IPMonitor: &IPMonitor{Monitor: ipmon.Config{Interval: hello}, FollowGateway: true,
				Targets: map[string]netip.AddrPort{"192.0.2.1": testGateway}, Peers: eth},
		})
		if err != nil {
			t.Fatal(err)
		}
		mctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = m.Run(mctx) }()
		r.mods, r.members, r.cancel, r.done = append(r.mods, mod), append(r.members, m), append(r.cancel, cancel), append(r.done, done)
	}
	t.Cleanup(func() {
		for i, c := range r.cancel {
			c()
			<-r.done[i]
		}
	})
	return r
}

func (r *stackRig) value(i int, name string, idx ...uint32) string {
	v, ok := r.mods[i].Store().Value(name, idx...)
	if !ok {
		return "(none)"
	}
	if v.Type == smi.TypeOctetString {
		return string(v.Bytes)
	}
	return fmt.Sprint(v.Int)
}

func (r *stackRig) waitValue(i int, name, want string, within time.Duration, idx ...uint32) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for r.value(i, name, idx...) != want {
		if time.Now().After(deadline) {
			r.t.Fatalf("m%d %s.%v = %s, want %s within %s", i+1, name, idx, r.value(i, name, idx...), want, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIPMonitorInTheLoop: the member loop drives the monitor and shows
// it. The Primary's Ethernet side stops carrying IP (link up): after its
// misses another member is Primary, and the old one shows CanPrimary
// no(2), the reason, verdict failed(3) and its target down in its
// cpsEmuIpMonTable; restored, it is eligible again. The shared gateway
// down: every member degraded, the Primary stays.
func TestIPMonitorInTheLoop(t *testing.T) {
	r := newMonitoredRig(t, 3)
	p := r.waitOnePrimary(5 * time.Second)
	for i := range r.mods {
		r.waitValue(i, "cpsEmuIpMonVerdict", "1", 5*time.Second, 0)
		if got := r.value(i, "cpsEmuIpMonHost", 1); got != "192.0.2.1" {
			t.Fatalf("m%d's first monitored host %s", i+1, got)
		}
	}
	if err := r.members[p].Control(context.Background(), IPDown); err != nil {
		t.Fatal(err)
	}
	q := r.waitOnePrimary(5*time.Second, p)
	own := []uint32{1, uint32(p + 1)}
	r.waitValue(p, "cpsmm100CanPrimary", "2", 5*time.Second, own...)
	if got := r.value(p, "cpsEmuStepDownReason", 0); got != ipmon.FailedReason {
		t.Errorf("old Primary's role-change reason %q", got)
	}
	if got := r.value(p, "cpsEmuIpMonVerdict", 0); got != "3" {
		t.Errorf("old Primary's verdict %s", got)
	}
	if got := r.value(p, "cpsEmuIpMonState", 1); got != "2" {
		t.Errorf("old Primary's target state %s", got)
	}
	if got := r.value(q, "cpsEmuIpMonVerdict", 0); got != "2" {
		t.Errorf("new Primary's verdict %s (degraded: a peer down)", got)
	}
	st, err := r.members[p].Status(context.Background())
	if err != nil || st.IPMonitor == nil || !st.IPMonitor.Verdict.Failed || st.LastReason != ipmon.FailedReason || st.IPMonitor.Hosts[0].Misses < 4 {
		t.Fatalf("old Primary's status %+v, %v", st, err)
	}

	if err := r.members[p].Control(context.Background(), LinkUp); err != nil {
		t.Fatal(err)
	}
	r.waitValue(p, "cpsmm100CanPrimary", "1", 5*time.Second, own...)
	r.waitValue(p, "cpsEmuIpMonVerdict", "1", 5*time.Second, 0)
	// Eligible again, the module in the lowest slot takes the role back
	// (the vendor's rule).
	r.waitFor("the recovered module to take the role back", func(ps []int) bool { return len(ps) == 1 && ps[0] == p })

	r.net.setGateway(testGateway, false)
	for i := range r.mods {
		r.waitValue(i, "cpsEmuIpMonVerdict", "2", 5*time.Second, 0)
	}
	for i := range r.mods {
		if got := r.value(i, "cpsmm100CanPrimary", 1, uint32(i+1)); got != "1" {
			t.Errorf("m%d CanPrimary %s with the shared gateway down", i+1, got)
		}
	}
	if ps := r.primaries(); len(ps) != 1 || ps[0] != p {
		t.Errorf("Primaries %v with the shared gateway down, want [%d]", ps, p)
	}
	r.net.setGateway(testGateway, true)
	for i := range r.mods {
		r.waitValue(i, "cpsEmuIpMonVerdict", "1", 5*time.Second, 0)
	}

	// The monitor follows the gateway the MIB shows: a Standby set to a
	// gateway nobody answers for fails its subnet; set back, it recovers.
	s := 3 - p - q // the third module
	sIdx := []uint32{1, uint32(s + 1)}
	if err := r.set(s, r.vb(s, "cpsmm100Gateway", smi.IPAddress(netip.MustParseAddr("192.0.2.254")), sIdx...)); err != nil {
		t.Fatalf("set the gateway: %v", err)
	}
	r.waitValue(s, "cpsEmuIpMonHost", "192.0.2.254", 5*time.Second, 1)
	r.waitValue(s, "cpsEmuIpMonVerdict", "3", 5*time.Second, 0)
	r.waitValue(s, "cpsmm100CanPrimary", "2", 5*time.Second, sIdx...)
	if err := r.set(s, r.vb(s, "cpsmm100Gateway", smi.IPAddress(netip.MustParseAddr("192.0.2.1")), sIdx...)); err != nil {
		t.Fatalf("set the gateway back: %v", err)
	}
	r.waitValue(s, "cpsEmuIpMonVerdict", "1", 5*time.Second, 0)
	r.waitValue(s, "cpsmm100CanPrimary", "1", 5*time.Second, sIdx...)
}
