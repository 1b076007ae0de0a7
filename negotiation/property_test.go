package negotiation

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/stack/ident"
)

// TestRandomSchedules runs twenty thousand random schedules, each under
// both rules (VendorRule and IncumbentRule), of boots, kills,
// hangs, pauses and resumptions (SIGSTOP, SIGCONT: the clock of the
// resumed module jumps, what reached it meanwhile is read at once),
// restarts, link flaps, IP changes, WantPrimary changes, forced
// switchovers, graceful stops, partitions, one-path cuts and message loss,
// and checks at every instant and at the end:
//
//   - safety: two modules that hear each other are never both Primary for
//     longer than one hello (the time for the loser to hear the winner
//     after they meet);
//   - never two Primaries: no module becomes Primary while another that it
//     has heard (without loss) for a holdtime is Primary: a takeover, by
//     preemption or otherwise, is break-before-make;
//   - a module resumed after it sent nothing for a holdtime is not Primary
//     in its first Ready, and says neither Primary nor a claim for a
//     holdtime (rule 8);
//   - when such a module resumes beside a single Primary it hears, which
//     the rules put before it (IncumbentRule: of equal or higher
//     preference), that incumbent keeps the role until the next
//     disturbance (unless a module the rules put first takes it) and the
//     resumed module does not take it;
//   - liveness: once the disturbances stop and every live module is
//     connected, exactly one Primary exists within holdtime + 2 × hello
//     whenever an eligible module is live;
//   - stability: with no input change, no role changes afterwards.
//
// The nodes are ticked only at their deadlines (TestDeadline shows that this
// is the same as ticking them every millisecond).
func TestRandomSchedules(t *testing.T) {
	runs := 20000
	switch {
	case testing.Short():
		runs = 2000
	case raceEnabled:
		runs = 2500
	}
	// Two shards, run in parallel: the machine has two cores.
	var shards [2]schedStats
	t.Run("shards", func(t *testing.T) {
		for i := range shards {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				for seed := int64(1 + i); seed <= int64(runs); seed += int64(len(shards)) {
					for _, rule := range []Rule{VendorRule, IncumbentRule} {
						if err := randomSchedule(seed, schedOpts{byDeadline: true, stats: &shards[i], rule: rule}); err != nil {
							t.Fatalf("seed %d, %s rule: %v", seed, rule, err)
						}
					}
				}
			})
		}
	})
	var st schedStats
	for _, sh := range shards {
		st.resumed += sh.resumed
		st.pausedPrimaries += sh.pausedPrimaries
		st.incumbents += sh.incumbents
		st.takebacks += sh.takebacks
		st.alwaysConflicts += sh.alwaysConflicts
	}
	t.Logf("%+v", st)
	// The schedules must exercise what they claim to.
	if st.pausedPrimaries < runs/10 || st.incumbents < runs/20 || st.takebacks < runs/10 || st.alwaysConflicts < runs/10 {
		t.Fatalf("too few cases in %d schedules: %+v", runs, st)
	}
}

// schedStats counts the cases the random schedules exercised.
type schedStats struct {
	resumed         int // resumptions after a holdtime's silence
	pausedPrimaries int // of a module that was Primary
	incumbents      int // beside a single Primary it hears
	takebacks       int // VendorRule: a Primary stepped down for a module of its preference
	alwaysConflicts int // AlwaysConflict events
}

// TestDeadline: nodes ticked only at their deadlines and at arrivals behave
// exactly as nodes ticked every millisecond: the same Readys (roles,
// adverts, events) at the same times, over random schedules.
func TestDeadline(t *testing.T) {
	runs := 60
	if testing.Short() {
		runs = 10
	}
	total := 0
	for seed := int64(1); seed <= int64(runs); seed++ {
		var fine, sparse []string
		rule := Rule(seed % 2)
		if err := randomSchedule(seed, schedOpts{fine: true, trace: &fine, rule: rule}); err != nil {
			t.Fatalf("seed %d, every millisecond: %v", seed, err)
		}
		if err := randomSchedule(seed, schedOpts{fine: true, byDeadline: true, trace: &sparse, rule: rule}); err != nil {
			t.Fatalf("seed %d, at deadlines: %v", seed, err)
		}
		total += len(fine)
		for i := range fine {
			if i >= len(sparse) || fine[i] != sparse[i] {
				got := "(end)"
				if i < len(sparse) {
					got = sparse[i]
				}
				t.Fatalf("seed %d: Ready %d differs:\nevery ms:     %s\nat deadlines: %s", seed, i, fine[i], got)
			}
		}
		if len(sparse) != len(fine) {
			t.Fatalf("seed %d: %d Readys at deadlines, %d every ms", seed, len(sparse), len(fine))
		}
	}
	if total < 50*runs {
		t.Fatalf("%d Readys in %d schedules: the schedules do too little", total, runs)
	}
}

// schedOpts: fine runs at hello 100 ms with the clock in 1 ms steps;
// byDeadline ticks nodes at their deadlines only; trace, if set, gets
// every Ready with adverts or events.
type schedOpts struct {
	fine, byDeadline bool
	trace            *[]string
	stats            *schedStats
	rule             Rule
}

func randomSchedule(seed int64, o schedOpts) error {
	r := rand.New(rand.NewSource(seed))
	hello := time.Second
	if r.Intn(2) == 0 || o.fine {
		hello = 100 * time.Millisecond
	}
	hold := 3 * hello
	s := newSim(hello, hold)
	if seed%2 == 0 { // half the schedules send their hellos on a stack grid
		s.cfg.Schedule = Schedule{Align: true, Phase: time.Duration(seed) * time.Millisecond % hello}
	}
	s.byDeadline = o.byDeadline
	s.cfg.Rule = o.rule
	if o.fine {
		s.step = time.Millisecond
	}
	if o.stats == nil {
		o.stats = &schedStats{}
	}
	var log []string
	var violation error
	// quiet[name]: a resumed module says neither Primary nor a claim
	// before then.
	quiet := map[string]time.Time{}
	// Pairs that hear each other, since when: two Primaries may meet (a
	// healed partition, a cut mended) but must settle within a hello.
	since := map[string]time.Time{}
	s.onReady = func(name string, rd Ready) {
		if o.trace != nil {
			*o.trace = append(*o.trace, fmt.Sprintf("%s %s %s can=%v adverts=%+v events=%+v",
				s.now.Format("05.000"), name, rd.Role, rd.CanPrimary, rd.Adverts, rd.Events))
		}
		for _, e := range rd.Events {
			switch {
			case e.Kind == AlwaysConflict:
				o.stats.alwaysConflicts++
			case e.Kind == RoleChanged && e.Role == Standby && o.rule == VendorRule && strings.HasSuffix(e.Reason, " wins"):
				o.stats.takebacks++
			case e.Kind == RoleChanged && e.Role == Primary && violation == nil:
				// Break-before-make: no other Primary that this module
				// has heard, without loss, for a holdtime.
				for _, other := range s.names() {
					key := pairKey(name, other)
					t0, ok := since[key]
					if d, ok := s.dropped[key]; ok && d.After(t0) {
						t0 = d // a loss between the checks
					}
					if on := s.nodes[other]; other != name && ok && s.now.Sub(t0) >= hold && !on.hung && on.n.Role() == Primary {
						violation = fmt.Errorf("%s became Primary while %s, heard for %s, was Primary", name, other, s.now.Sub(t0))
					}
				}
			}
		}
		if violation != nil || !s.now.Before(quiet[name]) {
			return
		}
		if rd.Role == Primary {
			violation = fmt.Errorf("%s is Primary %s after it resumed from a pause", name, s.now.Sub(quiet[name].Add(-hold)))
		}
		for _, a := range rd.Adverts {
			if a.Role == Primary || a.Claim {
				violation = fmt.Errorf("%s says %+v %s after it resumed from a pause", name, a, s.now.Sub(quiet[name].Add(-hold)))
			}
		}
	}
	fail := func(format string, a ...any) error {
		var ev strings.Builder
		for _, n := range s.names() {
			for _, e := range s.nodes[n].events {
				if e.Kind == RoleChanged || e.Kind == CanPrimaryChanged {
					fmt.Fprintf(&ev, "  %s %s %s %s: %s\n", e.Time.Format("05.000"), n, e.Kind, e.Role, e.Reason)
				}
			}
		}
		return fmt.Errorf(format+"\nschedule:\n  %s\nroles:\n%sevents:\n%s", append(a, strings.Join(log, "\n  "), s.roles(), ev.String())...)
	}
	nodes := []string{"a", "b", "c", "d"}[:2+r.Intn(3)]
	ids := map[string]ID{}
	wants := []Want{WantYes, WantNo, WantAlways}
	for i, n := range nodes {
		ids[n] = ident.MACFromUint64(uint64(i + 1 + r.Intn(3)*10))
		// Cabinets and slots in an order unrelated to the MACs, at times
		// the same twice.
		s.at[n] = ident.At(ident.Cabinet(1+r.Intn(2)), int32(1+r.Intn(3)))
	}
	// Pairs that hear each other and are both Primary, since when.
	dual := map[string]time.Time{}
	hearEachOther := func(a, b string) bool {
		x, y := s.nodes[a], s.nodes[b]
		if x == nil || y == nil || (len(s.drop) > 0 && (s.drop[a+">"+b] > 0 || s.drop[b+">"+a] > 0)) {
			return false
		}
		return s.connected(x, y, Backplane) || s.connected(x, y, Ethernet)
	}
	// watch: an incumbent Primary and a module resumed beside it.
	var watch *struct{ inc, x string }
	outranked := func(p *simNode) bool {
		for _, sn := range s.nodes {
			if sn != p && !sn.hung && sn.n.CanPrimary() && outranks(sn.n, p.n) {
				return true
			}
		}
		return false
	}
	s.onDeliver = func(from, to string, _ Path, _ Advert) {
		x, y := s.nodes[from], s.nodes[to]
		key := from + to
		if from > to {
			key = to + from
		}
		t0, ok := since[key]
		if d, dropped := s.dropped[key]; dropped && d.After(t0) {
			t0 = d // a loss between the checks
		}
		if violation == nil && ok && x.n.Role() == Primary && y.n.Role() == Primary && s.now.Sub(t0) > hello+s.step {
			violation = fail("%s and %s, hearing each other since %s, are both Primary", from, to, s.now.Sub(t0))
		}
	}
	checkSafety := func() error {
		if violation != nil {
			return fail("%v", violation)
		}
		if w := watch; w != nil {
			p, x := s.nodes[w.inc], s.nodes[w.x]
			switch {
			case p == nil || x == nil || p.hung || x.hung:
				watch = nil
			case x.n.Role() == Primary:
				return fail("%s, resumed from a pause, took the role from the incumbent %s", w.x, w.inc)
			case p.n.Role() != Primary && !outranked(p):
				return fail("the incumbent %s lost the role when %s resumed from a pause", w.inc, w.x)
			}
		}
		for i, a := range nodes {
			for _, b := range nodes[i+1:] {
				key := a + b
				if hearEachOther(a, b) {
					if _, ok := since[key]; !ok {
						since[key] = s.now
					}
				} else {
					delete(since, key)
				}
				x, y := s.nodes[a], s.nodes[b]
				both := x != nil && y != nil && x.n.Role() == Primary && y.n.Role() == Primary && hearEachOther(a, b)
				if !both {
					delete(dual, key)
					continue
				}
				if _, ok := dual[key]; !ok {
					dual[key] = s.now
				}
				if d := s.now.Sub(dual[key]); d > hello+s.step {
					return fail("%s and %s hear each other and have both been Primary for %s", a, b, d)
				}
			}
		}
		return nil
	}
	advance := func(d time.Duration) error {
		end := s.now.Add(d)
		for s.now.Before(end) {
			s.next(end)
			if err := checkSafety(); err != nil {
				return err
			}
		}
		return nil
	}
	// resume resumes a paused node and sets up the checks on it.
	resume := func(sn *simNode) error {
		name := sn.name
		if s.now.Sub(sn.lastSent) < hold {
			s.resume(sn)
			return nil
		}
		o.stats.resumed++
		wasPrimary := sn.n.Role() == Primary
		if wasPrimary {
			o.stats.pausedPrimaries++
		}
		quiet[name] = s.now.Add(hold)
		ps := s.primaries() // sn is still paused: not among them
		clean := len(ps) == 1 && len(s.drop) == 0
		for _, other := range s.nodes {
			if other.n.takeover {
				clean = false // a forced takeover under way: it wins
			}
		}
		s.resume(sn)
		if sn.n.Role() == Primary {
			return fail("%s is Primary at once after a pause", name)
		}
		if clean && hearEachOther(name, ps[0]) && !outranks(sn.n, s.nodes[ps[0]].n) {
			watch = &struct{ inc, x string }{ps[0], name}
			o.stats.incumbents++
		}
		return checkSafety()
	}
	for _, n := range nodes {
		if r.Intn(3) > 0 {
			if err := s.boot(n, ids[n], wants[r.Intn(3)]); err != nil {
				return err
			}
			log = append(log, "boot "+n)
		}
	}
	for op := 0; op < 12; op++ {
		n := nodes[r.Intn(len(nodes))]
		other := nodes[r.Intn(len(nodes))]
		sn := s.nodes[n]
		var what string
		watch = nil // the next disturbance: the incumbent may lose the role
		live := sn != nil && !sn.hung
		switch k := r.Intn(16); {
		case k == 0 && sn == nil:
			delete(quiet, n) // a new process
			_ = s.boot(n, ids[n], wants[r.Intn(3)])
			what = "boot " + n
		case k == 1:
			s.kill(n)
			what = "kill " + n
		case k == 2 && live:
			s.pause(sn)
			what = "pause " + n
		case k == 13 && sn != nil && sn.hung:
			if err := resume(sn); err != nil {
				return err
			}
			what = "resume " + n
		case k >= 14 && live:
			s.pause(sn)
			d := hold + time.Duration(r.Intn(20))*hello/10
			log = append(log, fmt.Sprintf("pause %s; tick %s", n, d))
			if err := advance(d); err != nil {
				return err
			}
			if err := resume(sn); err != nil {
				return err
			}
			what = "resume " + n
		case k == 3 && live:
			sn.link = !sn.link
			sn.n.SetLink(s.now, sn.link)
			what = fmt.Sprintf("link %s %v", n, sn.link)
		case k == 4 && live:
			sn.n.SetIPValid(s.now, r.Intn(2) == 0)
			what = "ip " + n
		case k == 5 && live:
			w := wants[r.Intn(3)]
			sn.n.SetWant(s.now, w)
			what = "want " + n + " " + w.String()
		case k == 6 && live:
			_ = sn.n.ForceActive(s.now)
			what = "force-active " + n
		case k == 7 && live:
			_ = sn.n.ForceStandby(s.now)
			what = "force-standby " + n
		case k == 8 && live:
			sn.n.Shutdown(s.now)
			s.flush()
			s.kill(n)
			what = "shutdown " + n
		case k == 9:
			for _, m := range nodes {
				s.group[m] = r.Intn(2)
			}
			what = fmt.Sprintf("partition %v", s.group)
		case k == 10:
			p := Path(1 + r.Intn(2))
			s.cut[n] = map[Path]bool{p: !s.cut[n][p]}
			what = fmt.Sprintf("cut %s %s %v", n, p, s.cut[n][p])
		case k == 11 && n != other:
			if d := r.Intn(6); d > 0 {
				s.drop[n+">"+other] += d
			}
			what = "drop " + n + ">" + other
		case k == 12 && sn != nil && sn.hung:
			delete(quiet, n) // a new process
			_ = s.boot(n, ids[n], sn.n.Want())
			what = "restart " + n
		default:
			what = "nothing"
		}
		s.flush()
		d := time.Duration(r.Intn(40)) * hello / 10
		log = append(log, fmt.Sprintf("%s; tick %s", what, d))
		if err := advance(d); err != nil {
			return err
		}
	}
	// The disturbances stop: everything live is connected again, and some
	// paused modules resume (the others stay hung).
	watch = nil
	for _, n := range nodes {
		if sn := s.nodes[n]; sn != nil && sn.hung && r.Intn(2) == 0 {
			log = append(log, "resume "+n)
			if err := resume(sn); err != nil {
				return err
			}
		}
	}
	s.group = map[string]int{}
	s.drop = map[string]int{}
	for _, n := range nodes {
		s.cut[n] = map[Path]bool{}
		if sn := s.nodes[n]; sn != nil && !sn.hung && !sn.link {
			sn.link = true
			sn.n.SetLink(s.now, true)
		}
	}
	s.flush()
	log = append(log, "heal everything")
	// Eligibility takes HealthyChecks hellos to come back; the bound starts
	// once every module that will be eligible is.
	if err := advance(time.Duration(HealthyChecks) * hello); err != nil {
		return err
	}
	if err := advance(hold + 2*hello); err != nil {
		return err
	}
	live, eligible := 0, 0
	for _, n := range nodes {
		if sn := s.nodes[n]; sn != nil && !sn.hung {
			live++
			if sn.n.CanPrimary() {
				eligible++
			}
		}
	}
	var ps []string
	for _, p := range s.primaries() {
		ps = append(ps, p)
	}
	if eligible > 0 && len(ps) != 1 {
		return fail("%d eligible live modules, Primaries %v after holdtime + 2 hellos", eligible, ps)
	}
	if eligible == 0 && len(ps) != 0 {
		return fail("no eligible module, yet Primaries %v", ps)
	}
	before := map[string]int{}
	for k, v := range s.changes {
		before[k] = v
	}
	if err := advance(5 * hold); err != nil {
		return err
	}
	for _, n := range nodes {
		if sn := s.nodes[n]; sn != nil && !sn.hung && s.changes[n] != before[n] {
			return fail("%s changed role %d times with no input change", n, s.changes[n]-before[n])
		}
	}
	_ = live
	return nil
}

// outranks reports whether the rules put a, an eligible module, before b,
// the Primary: whether a would take the role from b.
func outranks(a, b *Node) bool {
	ca := candidate{id: a.cfg.ID, slot: a.cfg.Slot, rank: a.want.rank()}
	cb := candidate{id: b.cfg.ID, slot: b.cfg.Slot, rank: b.want.rank(), incumbent: b.keeps(b.want.rank(), b.forced)}
	return better(ca, cb)
}

// FuzzStep: arbitrary adverts never make a node panic, and an ineligible
// node never becomes Primary whatever it hears.
func FuzzStep(f *testing.F) {
	f.Add(uint64(2), uint64(5), uint8(2), true, uint8(1), false, true, uint8(1), int64(100), uint8(1), uint8(2), false)
	f.Fuzz(func(t *testing.T, from, seq uint64, role uint8, eligible bool, want uint8, resigning, takeover bool, path uint8, dt int64,
		cabinet, slot uint8, incumbent bool) {
		now := time.Unix(100, 0)
		rule := VendorRule
		if incumbent {
			rule = IncumbentRule
		}
		n, err := New(Config{ID: ident.MACFromUint64(1), Slot: ident.At(1, 1), Rule: rule}, now)
		if err != nil {
			t.Fatal(err)
		}
		n.SetLink(now, false)
		for i := 0; i < 5; i++ {
			now = now.Add(time.Duration(dt%int64(10*time.Second)) + time.Millisecond)
			n.Step(now, Path(path), Advert{From: ident.MACFromUint64(from), Seq: seq + uint64(i), Role: Role(role), Eligible: eligible,
				Want: Want(want), Resigning: resigning, Takeover: takeover, Slot: ident.At(ident.Cabinet(cabinet), int32(slot))})
			n.Tick(now)
			if n.Role() == Primary {
				t.Fatal("an ineligible node became Primary")
			}
		}
		_ = n.Ready()
		_ = n.Peers()
	})
}
