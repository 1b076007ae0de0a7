package member

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/negotiation"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/module"
	"github.com/cpsmm/cpsmm/stack/transport"
)

type stackRig struct {
	t       *testing.T
	chassis *backplane.Chassis
	mods    []*module.Module
	members []*Member
	cancel  []context.CancelFunc
	done    []chan struct{}
}

func freeUDP(t *testing.T) netip.AddrPort {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// newStackRig runs n members in one process over a real chassis socket and
// real UDP, each with a real module store.
func newStackRig(t *testing.T, n int) *stackRig {
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	sock := filepath.Join(t.TempDir(), "bus.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	r := &stackRig{t: t, chassis: backplane.NewChassis(nil)}
	go func() { _ = r.chassis.Serve(ctx, ln) }()
	eth := make([]netip.AddrPort, n)
	dir := map[negotiation.ID]Location{}
	for i := range eth {
		eth[i] = freeUDP(t)
		dir[IDOf(backplane.ID{0, 0xc0, 0xf2, 0, 0, byte(i + 1)})] = Location{1, int32(i + 1)}
	}
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	cfgs := make([]module.Config, n)
	for i := range cfgs {
		cfg := module.Default()
		cfg.Name, cfg.Slot, cfg.MAC = fmt.Sprintf("m%d", i+1), int32(i+1), fmt.Sprintf("00:c0:f2:00:00:%02x", i+1)
		cfg.IPAddress = fmt.Sprintf("192.0.2.%d", 11+i)
		cfgs[i] = cfg
	}
	for i := 0; i < n; i++ {
		mod, err := module.New(module.Options{Config: cfgs[i], Log: quiet})
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
		var peers []netip.AddrPort
		for j, e := range eth {
			if j != i {
				peers = append(peers, e)
			}
		}
		m, err := New(Config{
			Negotiation: negotiation.Config{Hello: 250 * time.Millisecond, Holdtime: 750 * time.Millisecond},
			Transport: transport.Config{ID: backplane.ID{0, 0xc0, 0xf2, 0, 0, byte(i + 1)}, Key: []byte("stack-key"),
				ChassisNetwork: "unix", ChassisAddr: sock, Ethernet: eth[i], Peers: peers, Reattach: 10 * time.Millisecond},
			Module: mod, Directory: dir, Log: quiet,
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

// primaries returns the indexes of the running modules whose MIB says
// cpsIsPrimary yes(1).
func (r *stackRig) primaries(skip ...int) []int {
	var ps []int
outer:
	for i, m := range r.mods {
		for _, s := range skip {
			if s == i {
				continue outer
			}
		}
		if v, _ := m.Store().Value("cpsIsPrimary", 0); v.Int == 1 {
			ps = append(ps, i)
		}
	}
	return ps
}

// waitOnePrimary waits until exactly one of the running modules is
// Primary and returns it.
func (r *stackRig) waitOnePrimary(within time.Duration, skip ...int) int {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if ps := r.primaries(skip...); len(ps) == 1 {
			return ps[0]
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("no single Primary within %s: %v", within, r.primaries(skip...))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dump describes every member's view, for failure messages.
func (r *stackRig) dump() string {
	var b strings.Builder
	for i, m := range r.members {
		m.mu.Lock()
		fmt.Fprintf(&b, "member %d: %s can=%v\n", i, m.node.Role(), m.node.CanPrimary())
		for _, p := range m.node.Peers() {
			fmt.Fprintf(&b, "  peer %s alive=%v role=%s eligible=%v paths=%v\n", p.ID, p.Alive, p.Advert.Role, p.Advert.Eligible, p.PathOK)
		}
		m.mu.Unlock()
	}
	return b.String()
}

// waitFor polls the set of Primaries until cond holds.
func (r *stackRig) waitFor(what string, cond func([]int) bool) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(r.primaries()) {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s: Primaries %v", what, r.primaries())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStackElectsAndFailsOver(t *testing.T) {
	r := newStackRig(t, 3)
	// With equal preference the lowest MAC (module 0) wins a simultaneous
	// start; members started one after the other may let an earlier one
	// take the role first, and then incumbency keeps it. Either way, one.
	p := r.waitOnePrimary(10 * time.Second)
	// Every module shows the others' rows as last heard, agreeing on the
	// one Primary (re-read each time: under load the role may move).
	agree := func() bool {
		ps := r.primaries()
		if len(ps) != 1 {
			return false
		}
		for _, m := range r.mods {
			for j := range r.mods {
				v, ok := m.Store().Value("cpsmm100IsPrimary", 1, uint32(j+1))
				if !ok || (v.Int == 1) != (j == ps[0]) {
					return false
				}
			}
		}
		return true
	}
	deadline := time.Now().Add(10 * time.Second)
	for !agree() {
		if time.Now().After(deadline) {
			t.Fatalf("the modules' views do not agree on one Primary:\n%s", r.dump())
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = p

	// SNMP: WantPrimary = always on a Standby preempts.
	s2 := r.mods[2].Store()
	if err := s2.Set([]smi.VarBind{{Name: s2.InstanceOID("cpsmm100WantPrimary", 1, 3), Value: smi.Integer(3)}}); err != nil {
		t.Fatal(err)
	}
	r.waitFor("module 2 alone Primary after WantPrimary always", func(ps []int) bool { return len(ps) == 1 && ps[0] == 2 })

	// cpsIsPrimary = no on the Primary: it steps down, another takes over.
	if err := s2.Set([]smi.VarBind{{Name: s2.InstanceOID("cpsIsPrimary", 0), Value: smi.Integer(2)}}); err != nil {
		t.Fatalf("step down: %v", err)
	}
	r.waitFor("another Primary after cpsIsPrimary = no on module 2", func(ps []int) bool { return len(ps) == 1 && ps[0] != 2 })
	p = r.primaries()[0]
	// Module 2 (always) yields to it rather than take the role back: the
	// new Primary hears it advertise Yield.
	deadline = time.Now().Add(10 * time.Second)
	for yields := false; !yields; {
		r.members[p].mu.Lock()
		for _, st := range r.members[p].node.Peers() {
			if st.ID == IDOf(backplane.ID{0, 0xc0, 0xf2, 0, 0, 3}) && st.Advert.Yield {
				yields = true
			}
		}
		r.members[p].mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("module 2 does not yield:\n%s", r.dump())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ps := r.primaries(); len(ps) != 1 || ps[0] != p {
		t.Fatalf("module 2 took the role back: %v", ps)
	}

	// The Primary is cut off on both paths (as if it died): another takes over.
	r.chassis.SetFault(backplane.ID{0, 0xc0, 0xf2, 0, 0, byte(p + 1)}, backplane.Fault{Cut: true})
	r.members[p].Transport().SetLink(false)
	start := time.Now()
	q := r.waitOnePrimary(10*time.Second, p)
	t.Logf("module %d took over %s after module %d went silent", q, time.Since(start), p)

	// An ineligible module (its link down) refuses to be forced to Primary.
	other := 3 - p - q
	r.members[other].SetLink(false)
	so := r.mods[other].Store()
	if err := so.Set([]smi.VarBind{{Name: so.InstanceOID("cpsIsPrimary", 0), Value: smi.Integer(1)}}); err == nil || err.Status != smi.InconsistentValue {
		t.Errorf("forcing an ineligible module: %v", err)
	}
}

func TestGracefulStopHandsOverAtOnce(t *testing.T) {
	r := newStackRig(t, 2)
	p := r.waitOnePrimary(10 * time.Second)
	start := time.Now()
	r.cancel[p]()
	<-r.done[p]
	q := r.waitOnePrimary(10*time.Second, p)
	took := time.Since(start)
	t.Logf("graceful handover from %d to %d in %s", p, q, took)
}

// wantOf reads module j's WantPrimary in module i's MIB.
func (r *stackRig) wantOf(i, j int) int32 {
	v, _ := r.mods[i].Store().Value("cpsmm100WantPrimary", 1, uint32(j+1))
	return v.Int
}

func TestWantPrimaryThroughThePrimary(t *testing.T) {
	r := newStackRig(t, 3)
	p := r.waitOnePrimary(10 * time.Second)
	a, b := (p+1)%3, (p+2)%3
	setWant := func(on, of int, w int32) *mib.SetError {
		st := r.mods[on].Store()
		return st.Set([]smi.VarBind{{Name: st.InstanceOID("cpsmm100WantPrimary", 1, uint32(of+1)), Value: smi.Integer(w)}})
	}

	// A Standby does not distribute: inconsistentValue, nothing changes.
	if err := setWant(b, a, 2); err == nil || err.Status != smi.InconsistentValue {
		t.Fatalf("WantPrimary of %d set on Standby %d: %v, want inconsistentValue", a, b, err)
	}
	if w := r.wantOf(a, a); w != 1 {
		t.Fatalf("module %d's WantPrimary changed to %d by a refused Set", a, w)
	}

	// Through the Primary: answered once the target has acknowledged, so
	// the target already holds the value when the Set returns.
	if err := setWant(p, a, 2); err != nil {
		t.Fatalf("WantPrimary of %d set on the Primary %d: %v", a, p, err)
	}
	if w := r.wantOf(a, a); w != 2 {
		t.Fatalf("acknowledged, but module %d holds WantPrimary %d", a, w)
	}
	// Its next advert carries it to the third module.
	deadline := time.Now().Add(10 * time.Second)
	for r.wantOf(b, a) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("module %d still shows WantPrimary %d for module %d", b, r.wantOf(b, a), a)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The target's negotiation took it too: always makes it Primary.
	if err := setWant(p, a, 3); err != nil {
		t.Fatal(err)
	}
	r.waitFor("the target of WantPrimary always to become Primary", func(ps []int) bool { return len(ps) == 1 && ps[0] == a })

	// Other columns of another module's row are not distributed.
	st := r.mods[a].Store()
	if err := st.Set([]smi.VarBind{{Name: st.InstanceOID("cpsmm100SysName", 1, uint32(b+1)), Value: smi.OctetString([]byte("x"))}}); err == nil || err.Status != smi.InconsistentValue {
		t.Fatalf("SysName of another module through the Primary: %v, want inconsistentValue", err)
	}

	// A target that does not answer: the Set fails and nothing changes
	// (commitFailed while the Primary still believes the target alive,
	// inconsistentValue once its holdtime has run out).
	r.cancel[b]()
	<-r.done[b]
	before := r.wantOf(a, b)
	err := setWant(a, b, 3)
	if err == nil || (err.Status != smi.CommitFailed && err.Status != smi.InconsistentValue) {
		t.Fatalf("WantPrimary of a stopped module: %v, want commitFailed or inconsistentValue", err)
	}
	t.Logf("WantPrimary of a stopped module: %v", err)
	if w := r.wantOf(a, b); w != before {
		t.Fatalf("the failed Set changed the Primary's view of module %d: %d, was %d", b, w, before)
	}
}
