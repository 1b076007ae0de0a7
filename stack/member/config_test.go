package member

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/module"
)

// loadedAck is the Ack timeout of tests that want their Sets
// acknowledged: a machine running the whole suite under -race can hold a
// live target's loop past the default 30 ms. It stays under the rig's
// holdtime, so a silent target still fails a Set with commitFailed.
const loadedAck = 250 * time.Millisecond

// str reads module j's string column name in module i's MIB.
func (r *stackRig) str(i, j int, name string) string {
	v, _ := r.mods[i].Store().Value(name, 1, uint32(j+1))
	return string(v.Bytes)
}

// addr reads module j's IpAddress column name in module i's MIB.
func (r *stackRig) addr(i, j int, name string) string {
	v, _ := r.mods[i].Store().Value(name, 1, uint32(j+1))
	return v.Addr().String()
}

func (r *stackRig) uptime(i, j int) uint64 {
	v, _ := r.mods[i].Store().Value("cpsmm100SysUpTime", 1, uint32(j+1))
	return v.Uint
}

func (r *stackRig) eventually(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s\n%s", what, r.dump())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ipv(s string) smi.Value { return smi.IPAddress(netip.MustParseAddr(s)) }

// Every module shows the others' real settings and uptime, from their Row
// reports: a module's own Set shows in the others' rows.
func TestRowsShowRealValues(t *testing.T) {
	r := newStackRig(t, 3)
	r.waitOnePrimary(10 * time.Second)
	// Module 0 changes its own row through its own agent.
	if err := r.set(0,
		r.vb(0, "cpsmm100SysLocation", smi.String("rack 4"), 1, 1),
		r.vb(0, "cpsmm100SNMPTrapMgr3", ipv("127.0.0.3"), 1, 1),
		r.vb(0, "cpsmm100IPAddress", ipv("192.0.2.99"), 1, 1)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		r.eventually("module 0's own Set in the others' rows", func() bool {
			return r.str(i, 0, "cpsmm100SysLocation") == "rack 4" && r.addr(i, 0, "cpsmm100SNMPTrapMgr3") == "127.0.0.3" &&
				r.addr(i, 0, "cpsmm100IPAddress") == "192.0.2.99"
		})
	}
	// Every row of every module has its SysUpTime, close to the module's own.
	for i := range r.mods {
		for j := range r.mods {
			own, seen := r.uptime(j, j), r.uptime(i, j)
			if seen == 0 || own < seen || own-seen > 50 {
				t.Errorf("module %d shows module %d's SysUpTime %d, its own says %d", i, j, seen, own)
			}
		}
	}
	// A module no longer heard: its SysUpTime stops.
	r.cancel[2]()
	<-r.done[2]
	r.eventually("module 2's uptime stopped in module 0's row", func() bool {
		a := r.uptime(0, 2)
		time.Sleep(30 * time.Millisecond)
		return a == r.uptime(0, 2)
	})
}

// A PDU through the Primary with several columns of two Standbys' rows:
// answered after both Acks, held by both, shown by the Primary; bad values
// get their SNMP error from the Primary and reach nobody; a Standby
// refuses it.
func TestRowsConfiguredThroughThePrimary(t *testing.T) {
	r := newStackRigAck(t, 3, loadedAck)
	p := r.waitOnePrimary(10 * time.Second)
	a, b := (p+1)%3, (p+2)%3
	sa, sb := uint32(a+1), uint32(b+1)
	// The Primary knows the Standbys' real rows first.
	r.eventually("the Standbys' uptimes on the Primary", func() bool { return r.uptime(p, a) > 0 && r.uptime(p, b) > 0 })

	if err := r.set(p,
		r.vb(p, "cpsmm100SysName", smi.String("lab-a"), 1, sa),
		r.vb(p, "cpsmm100SNMPTrapMgr", ipv("127.0.0.2"), 1, sa),
		r.vb(p, "cpsmm100IPAddress", ipv("192.0.2.77"), 1, sa),
		r.vb(p, "cpsmm100SNMPTrapInterval", smi.Integer(5), 1, sa),
		r.vb(p, "cpsmm100SysContact", smi.String("noc"), 1, sb),
		r.vb(p, "cpsmm100Groups", smi.String("east"), 1, sb)); err != nil {
		t.Fatalf("Set through the Primary: %v", err)
	}
	// Answered after the Acks: the targets hold the values already.
	check := func(i int, what string) {
		t.Helper()
		if got := r.str(i, a, "cpsmm100SysName") + " " + r.addr(i, a, "cpsmm100SNMPTrapMgr") + " " + r.addr(i, a, "cpsmm100IPAddress") +
			" " + r.str(i, b, "cpsmm100SysContact") + " " + r.str(i, b, "cpsmm100Groups"); got != "lab-a 127.0.0.2 192.0.2.77 noc east" {
			t.Fatalf("%s: module %d shows %q", what, i, got)
		}
	}
	if v, _ := r.mods[a].Store().Value("cpsmm100SysName", 1, sa); string(v.Bytes) != "lab-a" {
		t.Fatalf("acknowledged, but module %d's own SysName is %q", a, v.Bytes)
	}
	if v, _ := r.mods[b].Store().Value("cpsmm100Groups", 1, sb); string(v.Bytes) != "east" {
		t.Fatalf("acknowledged, but module %d's own Groups is %q", b, v.Bytes)
	}
	check(p, "the Primary after the answer")
	for i := range r.mods {
		r.eventually("every module shows the Set", func() bool {
			return r.str(i, a, "cpsmm100SysName") == "lab-a" && r.str(i, b, "cpsmm100Groups") == "east" && r.addr(i, a, "cpsmm100IPAddress") == "192.0.2.77"
		})
	}

	// Bad values: the Primary's own rules, varbind named, nothing sent.
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		name string
		vbs  []smi.VarBind
		st   smi.ErrorStatus
		idx  int
	}{
		{"SysName as an integer", []smi.VarBind{r.vb(p, "cpsmm100SysName", smi.Integer(1), 1, sa)}, smi.WrongType, 1},
		{"SysName of 256 octets", []smi.VarBind{r.vb(p, "cpsmm100SysContact", smi.String("ok"), 1, sb), r.vb(p, "cpsmm100SysName", smi.String(long), 1, sa)}, smi.WrongLength, 2},
		{"a multicast address", []smi.VarBind{r.vb(p, "cpsmm100IPAddress", ipv("224.0.0.1"), 1, sa)}, smi.WrongValue, 1},
		{"a non-contiguous mask", []smi.VarBind{r.vb(p, "cpsmm100SubnetMask", ipv("255.0.255.0"), 1, sb)}, smi.WrongValue, 1},
		{"WantPrimary 7", []smi.VarBind{r.vb(p, "cpsmm100WantPrimary", smi.Integer(7), 1, sb)}, smi.WrongValue, 1},
		{"a negative interval", []smi.VarBind{r.vb(p, "cpsmm100SNMPTrapInterval", smi.Integer(-1), 1, sa)}, smi.WrongValue, 1},
		{"a gateway outside the target's subnet", []smi.VarBind{r.vb(p, "cpsmm100SysName", smi.String("n"), 1, sa), r.vb(p, "cpsmm100Gateway", ipv("198.51.100.1"), 1, sa)}, smi.InconsistentValue, 2},
		{"a read-only column", []smi.VarBind{r.vb(p, "cpsmm100SerialNumber", smi.Integer(5), 1, sa)}, smi.NotWritable, 1},
	} {
		err := r.set(p, tc.vbs...)
		if err == nil || err.Status != tc.st || err.Index != tc.idx {
			t.Errorf("%s: %v, want %s on varbind %d", tc.name, err, tc.st, tc.idx)
		}
	}
	// A Standby does not distribute: inconsistentValue.
	if err := r.set(a, r.vb(a, "cpsmm100SysName", smi.String("via-standby"), 1, sb)); err == nil || err.Status != smi.InconsistentValue {
		t.Errorf("through a Standby: %v, want inconsistentValue", err)
	}
	time.Sleep(50 * time.Millisecond) // anything sent would have landed
	check(p, "the Primary after the refused Sets")
	check(a, "module a after the refused Sets")
	check(b, "module b after the refused Sets")

	// A mask and gateway together, judged as a whole on the target's row:
	// each alone would be refused (the gateway outside the old /24; the
	// mask leaving the old gateway outside).
	if err := r.set(p, r.vb(p, "cpsmm100SubnetMask", ipv("255.255.0.0"), 1, sa), r.vb(p, "cpsmm100Gateway", ipv("192.0.9.1"), 1, sa)); err != nil {
		t.Fatalf("mask and gateway together: %v", err)
	}
	if got := r.addr(a, a, "cpsmm100SubnetMask") + " " + r.addr(a, a, "cpsmm100Gateway"); got != "255.255.0.0 192.0.9.1" {
		t.Fatalf("module %d holds %s", a, got)
	}

	// An IP change is applied as a local Set would be: 0.0.0.0 (unset)
	// makes the target ineligible, in its own MIB and, by its adverts, in
	// the Primary's; a valid address makes it eligible again.
	can := func(i int) int32 { v, _ := r.mods[i].Store().Value("cpsmm100CanPrimary", 1, sa); return v.Int }
	if err := r.set(p, r.vb(p, "cpsmm100IPAddress", ipv("0.0.0.0"), 1, sa)); err != nil {
		t.Fatal(err)
	}
	r.eventually("the target ineligible after its address is unset", func() bool { return can(a) == 2 && can(p) == 2 })
	if err := r.set(p, r.vb(p, "cpsmm100IPAddress", ipv("192.0.9.20"), 1, sa)); err != nil {
		t.Fatal(err)
	}
	r.eventually("the target eligible again", func() bool { return can(a) == 1 && can(p) == 1 })
}

// SaveConfig through the Primary writes the target's config.json before
// its Ack; Reset through the Primary brings the saved settings back and
// restarts the target's uptime, which the Primary shows.
func TestSaveAndResetThroughThePrimary(t *testing.T) {
	// The target's Ack waits for its fsyncs, which a loaded machine
	// (tests in parallel, -race) can stretch past the default 250 ms.
	r := newStackRigAck(t, 2, time.Second)
	p := r.waitOnePrimary(10 * time.Second)
	a := 1 - p
	sa := uint32(a + 1)
	if err := r.set(p, r.vb(p, "cpsmm100SysName", smi.String("saved"), 1, sa), r.vb(p, "cpsmm100SaveConfig", smi.Integer(1), 1, sa)); err != nil {
		t.Fatal(err)
	}
	st, ok, err := module.LoadSaved(r.dirs[a])
	if err != nil || !ok || st.SysName != "saved" {
		t.Fatalf("module %d's saved configuration after the Ack: %+v %v %v", a, st, ok, err)
	}
	if _, ok, _ := module.LoadSaved(r.dirs[p]); ok {
		t.Fatal("the Primary saved its own configuration")
	}
	if v, _ := r.mods[p].Store().Value("cpsmm100SaveConfig", 1, sa); v.Int != 2 {
		t.Errorf("the Primary shows module %d's SaveConfig %d, want noSaveConfig(2)", a, v.Int)
	}
	if err := r.set(p, r.vb(p, "cpsmm100SysName", smi.String("unsaved"), 1, sa)); err != nil {
		t.Fatal(err)
	}
	r.eventually("the Primary to have shown the module's uptime past 1 s", func() bool { return r.uptime(p, a) > 100 })
	if err := r.set(p, r.vb(p, "cpsmm100Reset", smi.Integer(1), 1, sa)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.mods[a].Resets():
	case <-time.After(10 * time.Second):
		t.Fatal("no reset")
	}
	select {
	case <-r.mods[p].Resets():
		t.Fatal("the Primary reset itself")
	default:
	}
	r.eventually("the saved SysName and a restarted uptime on the Primary", func() bool {
		return r.str(p, a, "cpsmm100SysName") == "saved" && r.uptime(p, a) < 100
	})
	if got := r.str(a, a, "cpsmm100SysName"); got != "saved" {
		t.Fatalf("after the reset module %d's SysName is %q", a, got)
	}
}

// A PDU for a live Standby and a silent one: commitFailed, and nothing of
// it stays anywhere (the live Standby's part is taken back).
func TestRowSetNotHalfApplied(t *testing.T) {
	r := newStackRigAck(t, 3, loadedAck)
	p := r.waitOnePrimary(10 * time.Second)
	a, b := (p+1)%3, (p+2)%3
	sa, sb := uint32(a+1), uint32(b+1)
	nameA, nameB := r.str(a, a, "cpsmm100SysName"), r.str(b, b, "cpsmm100SysName")
	// b hears nothing more, but the Primary believes it alive for a holdtime.
	r.net.cut(r.macs[b], true)
	r.members[b].tr.SetLink(false)
	err := r.set(p, r.vb(p, "cpsmm100SysName", smi.String("half"), 1, sa), r.vb(p, "cpsmm100SysName", smi.String("half"), 1, sb))
	if err == nil || (err.Status != smi.CommitFailed && err.Status != smi.InconsistentValue) {
		t.Fatalf("Set with a silent target: %v, want commitFailed (or inconsistentValue past its holdtime)", err)
	}
	t.Logf("Set with a silent target: %v", err)
	if got := r.str(p, a, "cpsmm100SysName") + " " + r.str(p, b, "cpsmm100SysName"); got != nameA+" "+nameB {
		t.Fatalf("the Primary shows %q after the failed Set", got)
	}
	r.eventually("module a's SysName taken back", func() bool { return r.str(a, a, "cpsmm100SysName") == nameA })
	if got := r.str(b, b, "cpsmm100SysName"); got != nameB {
		t.Fatalf("the silent module holds %q", got)
	}
	// The take-back reached the others too (a's Row), nothing "half" left.
	time.Sleep(100 * time.Millisecond)
	for i := range r.mods {
		for j := range r.mods {
			if got := r.str(i, j, "cpsmm100SysName"); got == "half" {
				t.Errorf("module %d shows module %d's SysName %q", i, j, got)
			}
		}
	}

	// A target that refuses what the Primary accepted (the Primary's copy
	// of its row stale): commitFailed, the other target's part taken back.
	r.net.cut(r.macs[b], false)
	r.members[b].tr.SetLink(true)
	r.eventually("the Primary hears b again", func() bool {
		return r.aliveOn(p, b)
	})
	// The Primary's copy of a's row goes stale: a's mask /16, reported;
	// then /24 again on a itself, its Row lost. A gateway in the /16 but
	// outside the /24 passes the Primary and not a.
	if err := r.set(a, r.vb(a, "cpsmm100SubnetMask", ipv("255.255.0.0"), 1, sa)); err != nil {
		t.Fatal(err)
	}
	r.eventually("a's /16 on the Primary", func() bool { return r.addr(p, a, "cpsmm100SubnetMask") == "255.255.0.0" })
	r.net.lose(r.macs[a], backplane.TypeModuleRow, true)
	if err := r.set(a, r.vb(a, "cpsmm100SubnetMask", ipv("255.255.255.0"), 1, sa)); err != nil {
		t.Fatal(err)
	}
	err = r.set(p, r.vb(p, "cpsmm100SysContact", smi.String("both"), 1, sb), r.vb(p, "cpsmm100Gateway", ipv("192.0.7.1"), 1, sa))
	if err == nil || err.Status != smi.CommitFailed {
		t.Fatalf("Set refused by its target: %v, want commitFailed", err)
	}
	if got := r.str(p, b, "cpsmm100SysContact") + " " + r.addr(p, a, "cpsmm100Gateway"); got != " 192.0.2.1" {
		t.Fatalf("the Primary shows b's SysContact and a's gateway %q after the refused Set", got)
	}
	r.eventually("module b's SysContact taken back", func() bool { return r.str(b, b, "cpsmm100SysContact") == "" })
	if got := r.addr(a, a, "cpsmm100Gateway"); got != "192.0.2.1" {
		t.Fatalf("module a's gateway is %s", got)
	}
	// a's Rows heard again: the Primary's copy of its mask is right again.
	r.net.lose(r.macs[a], backplane.TypeModuleRow, false)
	if err := r.set(a, r.vb(a, "cpsmm100SysLocation", smi.String("here"), 1, sa)); err != nil {
		t.Fatal(err)
	}
	r.eventually("a's /24 on the Primary", func() bool { return r.addr(p, a, "cpsmm100SubnetMask") == "255.255.255.0" })
}

// aliveOn reports whether member i's loop hears member j (through Status).
func (r *stackRig) aliveOn(i, j int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := r.members[i].Status(ctx)
	if err != nil {
		return false
	}
	for _, p := range st.Peers {
		if p.MAC == r.macs[j].String() && p.Alive {
			return true
		}
	}
	return false
}

// A module restarted faster than a holdtime (never seen dead) learns the
// others' rows again: its first Row makes them send theirs.
func TestRestartedModuleLearnsTheRows(t *testing.T) {
	r := newStackRig(t, 3)
	r.waitOnePrimary(10 * time.Second)
	if err := r.set(0, r.vb(0, "cpsmm100SysLocation", smi.String("rack 9"), 1, 1)); err != nil {
		t.Fatal(err)
	}
	r.eventually("module 0's location on module 2", func() bool { return r.str(2, 0, "cpsmm100SysLocation") == "rack 9" })
	r.restart(2)
	r.eventually("module 0's location and uptime on the restarted module 2", func() bool {
		return r.str(2, 0, "cpsmm100SysLocation") == "rack 9" && r.uptime(2, 0) > 0 && r.uptime(2, 1) > 0
	})
	// Its peers show its restarted uptime.
	r.eventually("module 2's restarted uptime on module 0", func() bool { return r.uptime(0, 2) < r.uptime(0, 1) })
}
