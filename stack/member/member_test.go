package member

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/negotiation"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/member/devcache"
	"github.com/cpsmm/cpsmm/stack/module"
	"github.com/cpsmm/cpsmm/stack/transport"
)

type stackRig struct {
	t          *testing.T
	ctx        context.Context
	cfgs       []module.Config
	dir        map[ident.MAC]ident.Slot
	quiet      *logrus.Logger
	ackTimeout time.Duration
	net        *memNet
	macs       []ident.MAC
	dirs       []string // state directories
	mods       []*module.Module
	members    []*Member
	cancel     []context.CancelFunc
	done       []chan struct{}
	tx         atomic.Uint64
	// notes[i] receives module i's notifications, roles[i] its role
	// changes (RoleChanged).
	notes []chan []smi.VarBind
	roles []chan bool
	names map[ident.MAC]string
}

func macN(i int) ident.MAC { return ident.MAC{0, 0xc0, 0xf2, 0, 0, byte(i + 1)} }

// newStackRig runs n members in one process over an in-memory network,
// each with a real module and its loop.
func newStackRig(t *testing.T, n int) *stackRig { return newStackRigAck(t, n, 0) }

// newStackRigAck is newStackRig with an Ack timeout (0: the default).
func newStackRigAck(t *testing.T, n int, ackTimeout time.Duration) *stackRig {
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	r := &stackRig{t: t, net: newMemNet(), ctx: ctx, dir: map[ident.MAC]ident.Slot{}, ackTimeout: ackTimeout, names: map[ident.MAC]string{}}
	for i := 0; i < n; i++ {
		r.macs = append(r.macs, macN(i))
		r.dir[macN(i)] = ident.At(1, int32(i+1))
		r.names[macN(i)] = fmt.Sprintf("m%d", i+1)
	}
	r.quiet = logrus.New()
	r.quiet.SetOutput(io.Discard)
	for i := 0; i < n; i++ {
		cfg := module.Default()
		cfg.Name, cfg.Slot, cfg.MAC = fmt.Sprintf("m%d", i+1), int32(i+1), macN(i).String()
		cfg.IPAddress = fmt.Sprintf("192.0.2.%d", 11+i)
		r.cfgs = append(r.cfgs, cfg)
		r.dirs = append(r.dirs, t.TempDir())
	}
	r.mods, r.members = make([]*module.Module, n), make([]*Member, n)
	r.cancel, r.done = make([]context.CancelFunc, n), make([]chan struct{}, n)
	r.notes, r.roles = make([]chan []smi.VarBind, n), make([]chan bool, n)
	for i := 0; i < n; i++ {
		r.start(i)
	}
	t.Cleanup(func() {
		for i, c := range r.cancel {
			c()
			<-r.done[i]
		}
	})
	return r
}

// start builds module i (from its state directory) and runs its member.
func (r *stackRig) start(i int) {
	t := r.t
	mod, err := module.New(module.Options{Config: r.cfgs[i], Log: r.quiet, Stack: true, StateDir: r.dirs[i]})
	if err != nil {
		t.Fatal(err)
	}
	for j, c := range r.cfgs {
		if j != i {
			if err := mod.AddPeer(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	notes, roles := make(chan []smi.VarBind, 64), make(chan bool, 64)
	r.notes[i], r.roles[i] = notes, roles
	m, err := New(Config{
		Negotiation: negotiation.Config{Hello: 250 * time.Millisecond, Holdtime: 750 * time.Millisecond},
		Transport:   transport.Config{ID: backplane.ID(macN(i)), Key: []byte("unused")},
		Dial:        r.net.dial, Module: mod, Directory: r.dir, Log: r.quiet, Names: r.names,
		AckTimeout: r.ackTimeout, SaveAckTimeout: r.ackTimeout,
		Devices: devcache.Config{Notify: func(vbs []smi.VarBind) {
			select {
			case notes <- vbs:
			default:
			}
		}},
		RoleChanged: func(p bool) {
			select {
			case roles <- p:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(r.ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(mctx) }()
	r.mods[i], r.members[i], r.cancel[i], r.done[i] = mod, m, cancel, done
}

// restart stops member i and starts it again at once (its module rebuilt
// from its state directory), faster than its peers' holdtime.
func (r *stackRig) restart(i int) {
	r.cancel[i]()
	<-r.done[i]
	r.start(i)
}

// set runs a whole Set through module i's AgentX handler, as snmpd would.
func (r *stackRig) set(i int, vbs ...smi.VarBind) *smi.SetError {
	h := r.mods[i].Handler()
	tx := r.tx.Add(1)
	if err := h.TestSet(tx, vbs); err != nil {
		h.CleanupSet(tx)
		return err
	}
	if err := h.CommitSet(tx); err != nil {
		h.UndoSet(tx)
		h.CleanupSet(tx)
		return err
	}
	h.CleanupSet(tx)
	return nil
}

func (r *stackRig) vb(i int, name string, v smi.Value, idx ...uint32) smi.VarBind {
	return smi.VarBind{Name: r.mods[i].Store().InstanceOID(name, idx...), Value: v}
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
			r.t.Fatalf("no single Primary within %s: %v\n%s", within, r.primaries(skip...), r.dump())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dump describes every running member's view, for failure messages.
func (r *stackRig) dump() string {
	var b strings.Builder
	for i, m := range r.members {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := m.Status(ctx)
		cancel()
		if err != nil {
			fmt.Fprintf(&b, "member %d: %v\n", i, err)
			continue
		}
		fmt.Fprintf(&b, "member %d: %s can=%v\n", i, st.Role, st.CanPrimary)
		for _, p := range st.Peers {
			fmt.Fprintf(&b, "  peer %s alive=%v role=%s eligible=%v bp=%v eth=%v\n", p.MAC, p.Alive, p.Role, p.Eligible, p.Backplane.OK, p.Ethernet.OK)
		}
	}
	return b.String()
}

// waitFor polls the set of Primaries until cond holds.
func (r *stackRig) waitFor(what string, cond func([]int) bool) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(r.primaries()) {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s: Primaries %v\n%s", what, r.primaries(), r.dump())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStackElectsAndFailsOver(t *testing.T) {
	r := newStackRig(t, 3)
	r.waitOnePrimary(10 * time.Second)
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

	// SNMP: WantPrimary = always on a Standby preempts.
	if err := r.set(2, r.vb(2, "cpsmm100WantPrimary", smi.Integer(3), 1, 3)); err != nil {
		t.Fatal(err)
	}
	r.waitFor("module 2 alone Primary after WantPrimary always", func(ps []int) bool { return len(ps) == 1 && ps[0] == 2 })

	// cpsIsPrimary = no on the Primary: it steps down, another takes over.
	if err := r.set(2, r.vb(2, "cpsIsPrimary", smi.Integer(2), 0)); err != nil {
		t.Fatalf("step down: %v", err)
	}
	r.waitFor("another Primary after cpsIsPrimary = no on module 2", func(ps []int) bool { return len(ps) == 1 && ps[0] != 2 })
	p := r.primaries()[0]
	// Module 2 (always) does not take the role back while p lives.
	for i := 0; i < 20; i++ {
		if ps := r.primaries(); len(ps) != 1 || ps[0] != p {
			t.Fatalf("module 2 took the role back: %v\n%s", ps, r.dump())
		}
		time.Sleep(25 * time.Millisecond)
	}

	// The Primary is cut off on both paths (as if it died): another takes over.
	r.net.cut(r.macs[p], true)
	r.members[p].tr.SetLink(false)
	start := time.Now()
	q := r.waitOnePrimary(10*time.Second, p)
	t.Logf("module %d took over %s after module %d went silent", q, time.Since(start), p)

	// An ineligible module (its link down) refuses to be forced to Primary.
	other := 3 - p - q
	if err := r.members[other].Control(context.Background(), LinkDown); err != nil {
		t.Fatal(err)
	}
	if err := r.set(other, r.vb(other, "cpsIsPrimary", smi.Integer(1), 0)); err == nil || err.Status != smi.InconsistentValue {
		t.Errorf("forcing an ineligible module: %v", err)
	}
}

func TestGracefulStopHandsOverAtOnce(t *testing.T) {
	r := newStackRig(t, 2)
	p := r.waitOnePrimary(10 * time.Second)
	r.cancel[p]()
	<-r.done[p]
	q := r.waitOnePrimary(10*time.Second, p)
	// At once: the new Primary took the role on hearing the resignation,
	// not after waiting out the holdtime (750 ms) since it last heard the
	// old one. Both instants come from the new Primary's own clock, so a
	// loaded machine that delays the test itself does not change them.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := r.members[q].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var heard time.Time
	for _, ps := range st.Peers {
		for _, h := range []time.Time{ps.Backplane.LastHeard, ps.Ethernet.LastHeard} {
			if h.After(heard) {
				heard = h
			}
		}
	}
	if heard.IsZero() || st.Role != "primary" {
		t.Fatalf("module %d: role %s, last heard its peer at %v", q, st.Role, heard)
	}
	took := st.LastChange.Sub(heard)
	t.Logf("graceful handover from %d to %d: Primary %s after the last advert heard (%s)", p, q, took, st.LastReason)
	if holdtime := 750 * time.Millisecond; took >= holdtime {
		t.Errorf("the new Primary took the role %s after it last heard the old one: it waited out the holdtime (%s) instead of hearing the resignation", took, holdtime)
	}
}

// roleChange waits for module i's next cpsEmuRoleChange and returns its
// previous Primary and reason.
func (r *stackRig) roleChange(i int) (prev, reason string) {
	r.t.Helper()
	oid := r.mods[i].Objects().RoleChange.OID().String()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case vbs := <-r.notes[i]:
			if len(vbs) != 4 || vbs[0].Value.OID.String() != oid {
				continue
			}
			if name := string(vbs[1].Value.Bytes); name != fmt.Sprintf("m%d", i+1) {
				r.t.Fatalf("role change from m%d names %q", i+1, name)
			}
			return string(vbs[2].Value.Bytes), string(vbs[3].Value.Bytes)
		case <-deadline:
			r.t.Fatalf("no role change notification from m%d", i+1)
			return "", ""
		}
	}
}

// TestRoleChangeNotification: a module that becomes Primary raises
// cpsEmuRoleChange (at start-up naming none, after a failover naming the
// old Primary) with the negotiation's reason, shows both in its MIB, and
// tells RoleChanged.
func TestRoleChangeNotification(t *testing.T) {
	r := newStackRig(t, 3)
	p := r.waitOnePrimary(10 * time.Second)
	if prev, reason := r.roleChange(p); prev != "" || reason == "" {
		t.Fatalf("start-up role change: previous %q, reason %q", prev, reason)
	}
	select {
	case up := <-r.roles[p]:
		if !up {
			t.Fatal("RoleChanged(false) first")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RoleChanged not called")
	}
	r.cancel[p]()
	<-r.done[p]
	q := r.waitOnePrimary(10*time.Second, p)
	prev, reason := r.roleChange(q)
	if prev != fmt.Sprintf("m%d", p+1) || !strings.HasPrefix(reason, fmt.Sprintf("m%d resigned (graceful stop); ", p+1)) {
		t.Fatalf("failover role change: previous %q, reason %q", prev, reason)
	}
	o := r.mods[q].Objects()
	if v, _ := r.mods[q].Store().Read(o.EmuPrevPrimary.Handle, 0); string(v.Bytes) != prev {
		t.Errorf("cpsEmuPreviousPrimary %q, want %q", v.Bytes, prev)
	}
	if v, _ := r.mods[q].Store().Read(o.EmuReason.Handle, 0); string(v.Bytes) != reason {
		t.Errorf("cpsEmuRoleChangeReason %q, want %q", v.Bytes, reason)
	}
	t.Logf("m%d after m%d: %s", q+1, p+1, reason)
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
	setWant := func(on, of int, w int32) *smi.SetError {
		return r.set(on, r.vb(on, "cpsmm100WantPrimary", smi.Integer(w), 1, uint32(of+1)))
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

	// The other columns of another module's row go the same way.
	if err := r.set(a, r.vb(a, "cpsmm100SysName", smi.OctetString([]byte("x")), 1, uint32(b+1))); err != nil {
		t.Fatalf("SysName of another module through the Primary: %v", err)
	}
	if v, _ := r.mods[b].Store().Value("cpsmm100SysName", 1, uint32(b+1)); string(v.Bytes) != "x" {
		t.Fatalf("acknowledged, but module %d holds SysName %q", b, v.Bytes)
	}

	// A target that does not answer: the Set fails and nothing changes
	// (commitFailed while the Primary still believes the target alive,
	// inconsistentValue once its holdtime has run out).
	r.cancel[b]()
	<-r.done[b]
	before := r.wantOf(a, b)
	start := time.Now()
	err := setWant(a, b, 3)
	if err == nil || (err.Status != smi.CommitFailed && err.Status != smi.InconsistentValue) {
		t.Fatalf("WantPrimary of a stopped module: %v, want commitFailed or inconsistentValue", err)
	}
	t.Logf("WantPrimary of a stopped module: %v after %s", err, time.Since(start))
	if err.Index != 1 {
		t.Errorf("the failed Set blames varbind %d, want 1 (snmpd makes an unindexed error genError)", err.Index)
	}
	if w := r.wantOf(a, b); w != before {
		t.Fatalf("the failed Set changed the Primary's view of module %d: %d, was %d", b, w, before)
	}
}

// A pending Set never holds the loop: while the Primary waits for a
// silent target's Ack, its adverts go on and reads are answered. The proof
// is structural, not a wall-clock bound (that figure is the PendingSet
// benchmark's): the loop answers a Status that counts the Set in flight,
// which it could not do if the pending Set held it.
func TestPendingSetHoldsNothing(t *testing.T) {
	r := newStackRig(t, 3)
	p := r.waitOnePrimary(10 * time.Second)
	a := (p + 1) % 3
	for attempt := 1; ; attempt++ {
		// The Primary believes module a alive (a hang it has not yet
		// noticed) while a hears nothing and acknowledges nothing.
		r.waitPeerAlive(p, a)
		r.net.cut(r.macs[a], true)
		r.members[a].tr.SetLink(false)
		done := make(chan *smi.SetError, 1)
		go func() { done <- r.set(p, r.vb(p, "cpsmm100WantPrimary", smi.Integer(2), 1, uint32(a+1))) }()
		var worst time.Duration
		inFlight := 0 // Status answers that counted the pending Set
		var err *smi.SetError
		for err == nil {
			select {
			case err = <-done:
				continue
			default:
			}
			start := time.Now()
			r.mods[p].Store().Value("cpsIsPrimary", 0)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, serr := r.members[p].Status(ctx)
			cancel()
			if serr != nil {
				t.Fatal(serr)
			}
			if st.SetsInFlight > 0 {
				inFlight++
			}
			worst = max(worst, time.Since(start))
			time.Sleep(time.Millisecond)
		}
		if err.Status != smi.CommitFailed && err.Status != smi.InconsistentValue {
			t.Fatalf("Set to a silent module: %v", err)
		}
		t.Logf("attempt %d: Set answered %v; %d answers of the loop while it was pending, worst read %s", attempt, err, inFlight, worst)
		if inFlight > 0 {
			return
		}
		// A loaded machine may not have run this goroutine during the
		// 30 ms the Set was pending (or the Primary had already taken a
		// for dead): again, with a heard again first.
		if attempt == 5 {
			t.Fatal("in five Sets pending on a silent module, the Primary's loop never answered while one was pending")
		}
		r.net.cut(r.macs[a], false)
		r.members[a].tr.SetLink(true)
	}
}

// waitPeerAlive waits until module i hears module j.
func (r *stackRig) waitPeerAlive(i, j int) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := r.members[i].Status(ctx)
		cancel()
		if err != nil {
			r.t.Fatal(err)
		}
		for _, ps := range st.Peers {
			if ps.MAC == r.macs[j].String() && ps.Alive {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("module %d does not hear module %d:\n%s", i, j, r.dump())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Reset rebuilds the module's settings and the negotiation hears them:
// the MIB and the peers never disagree on WantPrimary.
func TestResetTellsTheNegotiation(t *testing.T) {
	r := newStackRig(t, 2)
	p := r.waitOnePrimary(10 * time.Second)
	s := 1 - p
	if err := r.set(s, r.vb(s, "cpsmm100WantPrimary", smi.Integer(2), 1, uint32(s+1))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.wantOf(p, s) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the Primary does not hear want=no from %d", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := r.set(s, r.vb(s, "cpsmm100Reset", smi.Integer(1), 1, uint32(s+1))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.mods[s].Resets():
	case <-time.After(10 * time.Second):
		t.Fatal("no reset")
	}
	// Nothing was saved: the reset restores the start value yes(1), in the
	// module's own MIB and, by its adverts, in the Primary's.
	if w := r.wantOf(s, s); w != 1 {
		t.Fatalf("after reset module %d's MIB says WantPrimary %d", s, w)
	}
	for r.wantOf(p, s) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("after reset the Primary still hears WantPrimary %d from %d", r.wantOf(p, s), s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := r.members[s].Status(ctx)
	if err != nil || st.Want != "yes" {
		t.Fatalf("after reset the negotiation wants %q (%v)", st.Want, err)
	}
}

// In a stack a module's own slot in cpsModuleTable is a management
// module's, whatever the device cache fills in around it.
func TestOwnSlotIsAManagementModule(t *testing.T) {
	r := newStackRig(t, 2)
	r.waitOnePrimary(10 * time.Second)
	for i, m := range r.mods {
		want := r.mods[i].Store().Registry().MustLookup("cpsmM100Id").OID
		for j := range r.mods {
			v, ok := m.Store().Value("cpsModuleModel", 1, uint32(j+1))
			if !ok || !v.OID.Equal(want) {
				t.Errorf("module %d shows slot 1/%d as %v (%v), want cpsmM100Id", i, j+1, v.OID, ok)
			}
		}
	}
}

// TestPromotionShowsBeforeItsAdvert: whoever hears a module's advert as
// Primary (the stack address's relay forwards requests to it at once)
// finds its MIB answering cpsIsPrimary yes already. The in-memory network
// delivers a frame inside the sender's Send, so an advert sent before the
// role is shown is caught every time.
func TestPromotionShowsBeforeItsAdvert(t *testing.T) {
	r := newStackRig(t, 3)
	idx := map[ident.MAC]int{}
	for i, m := range r.macs {
		idx[m] = i
	}
	var mu sync.Mutex
	var bad []string
	seen := 0
	obs := ident.MAC{0x02, 0, 0, 0, 0, 9}
	r.net.mu.Lock()
	r.net.ports[obs] = &memPort{net: r.net, mac: obs, backplane: true, ethernet: true, deliver: func(path transport.Path, f backplane.Frame) {
		if f.Type != backplane.TypeAdvert {
			return
		}
		a, err := negotiation.UnmarshalAdvert(ident.MAC(f.From), f.Payload)
		if err != nil || a.Role != negotiation.Primary || a.Resigning {
			return
		}
		i := idx[ident.MAC(f.From)]
		v, _ := r.mods[i].Store().Value("cpsIsPrimary", 0)
		mu.Lock()
		defer mu.Unlock()
		seen++
		if v.Int != 1 {
			bad = append(bad, fmt.Sprintf("m%d advertised Primary (seq %d, %s) while its cpsIsPrimary said %d", i+1, a.Seq, path, v.Int))
		}
	}}
	r.net.mu.Unlock()
	p := r.waitOnePrimary(5 * time.Second)
	r.cancel[p]() // a graceful stop: another module is promoted at once
	<-r.done[p]
	q := r.waitOnePrimary(5*time.Second, p)
	time.Sleep(300 * time.Millisecond) // a hello of the new Primary
	mu.Lock()
	defer mu.Unlock()
	if seen < 2 || len(bad) > 0 {
		t.Errorf("%d Primary adverts heard (m%d, then m%d): %v", seen, p+1, q+1, bad)
	}
}
