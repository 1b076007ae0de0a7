package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// TestSoak runs the example stack (hello 100 ms, holdtime 300 ms) under
// random module faults for CPSMM_SOAK (a duration; `make soak`), while a
// role sampler reads every module's cpsIsPrimary at 40 Hz and a writer
// sets the converters' Groups through whichever module answers Primary.
// It reports, and fails unless each is 0: instants at which two modules
// were certainly Primary; periods with no Primary longer than holdtime +
// 1 s; acknowledged Sets lost; answers through the stack address (sampled
// back to back) that say cpsIsPrimary.0 is anything but yes(1). CPSMM_SOAK_SEED replays a fault schedule.
func TestSoak(t *testing.T) {
	env := os.Getenv("CPSMM_SOAK")
	if env == "" {
		t.Skip("set CPSMM_SOAK=DURATION (make soak SOAK=5m) to run the soak test")
	}
	dur, err := time.ParseDuration(env)
	if err != nil || dur <= 0 {
		t.Fatalf("CPSMM_SOAK=%q: want a positive duration such as 5m", env)
	}
	if dl, ok := t.Deadline(); ok && time.Until(dl) < dur+5*time.Minute {
		t.Fatalf("-timeout leaves %s; the soak needs %s and about 5m more", time.Until(dl).Round(time.Second), dur)
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CPSMM_SOAK_SEED"); v != "" {
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("CPSMM_SOAK_SEED: %v", err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	const hello, hold = 100 * time.Millisecond, 300 * time.Millisecond
	s := startExampleStack(t, hello, hold, 2*hello)
	n := len(s.addrs)
	cols := exampleGroups()

	w := s.sampleRoles(25*time.Millisecond, 100*time.Millisecond)
	defer w.halt()
	if !w.waitSettled(30 * time.Second) {
		st, _ := s.cli("status")
		t.Fatalf("the stack never settled with one Primary:\n%s", st)
	}
	for i := range s.addrs {
		eventually(t, 30*time.Second, fmt.Sprintf("m%d shows the converters", i+1), func() bool {
			v, err := s.get(i, cols[len(cols)-1])
			return err == nil && v.Type == gosnmp.OctetString
		})
	}

	wr := s.newSetWriter(cols)
	wrDone := make(chan struct{})
	go func() { defer close(wrDone); wr.run(w) }()
	stopWriter := func() {
		select {
		case <-wr.stop:
		default:
			close(wr.stop)
		}
		<-wrDone
	}
	defer stopWriter()

	// The stack address, sampled back to back: no answer through it may
	// say cpsIsPrimary.0 = no(2).
	addrStop := make(chan struct{})
	addrSamples := addressSampler(t, s.address, addrStop)
	t.Logf("soak for %s, seed %d (CPSMM_SOAK_SEED=%d replays the fault schedule)", dur, seed, seed)
	kinds := []string{"kill", "hang", "link-down", "backplane-down"}
	type fault struct {
		at     time.Duration
		module int
		kind   string
		held   time.Duration
		second bool
		err    string
	}
	var faults []fault
	unsettled := 0
	var lost []string
	var ambiguous, checkpoints int
	seen := map[string]bool{} // column=value of each lost Set, counted once
	checkpoint := func(final bool) {
		p := w.current()
		if p < 0 {
			return
		}
		checkpoints++
		l, a := wr.verify(s, p, final)
		ambiguous += a
		for key, x := range l {
			if !seen[key] {
				seen[key] = true
				lost = append(lost, x)
			}
		}
	}
	start := time.Now()
	for time.Since(start) < dur {
		if !w.waitSettled(15 * time.Second) {
			unsettled++
			st, _ := s.cli("status")
			t.Logf("%s: not settled 15s after the last restore:\n%s", time.Since(start).Round(time.Millisecond), st)
		} else {
			checkpoint(false)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(time.Second)))) // the pace of the fault schedule

		// One fault, and sometimes a second on another module while it lasts.
		type event struct {
			at      time.Duration
			module  int
			kind    string // "" restores
			faultIx int
		}
		a := rng.IntN(n)
		da := 200*time.Millisecond + time.Duration(rng.Int64N(int64(2800*time.Millisecond)))
		evs := []event{{0, a, kinds[rng.IntN(len(kinds))], len(faults)}, {da, a, "", len(faults)}}
		faults = append(faults, fault{module: a, kind: evs[0].kind, held: da})
		if rng.IntN(4) == 0 {
			b := (a + 1 + rng.IntN(n-1)) % n
			at := time.Duration(rng.Int64N(int64(da)))
			db := 200*time.Millisecond + time.Duration(rng.Int64N(int64(2800*time.Millisecond)))
			kb := kinds[rng.IntN(len(kinds))]
			evs = append(evs, event{at, b, kb, len(faults)}, event{at + db, b, "", len(faults)})
			faults = append(faults, fault{module: b, kind: kb, held: db, second: true})
		}
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
		t0 := time.Now()
		for _, e := range evs {
			time.Sleep(time.Until(t0.Add(e.at)))
			name := fmt.Sprintf("m%d", e.module+1)
			if e.kind != "" {
				faults[e.faultIx].at = time.Since(start)
				if out, err := s.cli("fail", name, e.kind); err != nil {
					faults[e.faultIx].err = strings.TrimSpace(out)
				}
				continue
			}
			s.restoreModule(name)
		}
	}
	// Everything restored: let the stack settle, then the last check.
	if !w.waitSettled(30 * time.Second) {
		unsettled++
		st, _ := s.cli("status")
		t.Logf("not settled 30s after the last restore:\n%s", st)
	}
	checkpoint(true)
	stopWriter()
	close(addrStop)
	viaAddr := addrSamples()
	relay := "relay account unavailable"
	if a, err := addressOf(s.run); err == nil {
		relay = fmt.Sprintf("relay: %d answers withheld by its last guard, %d of a former holder dropped, %d requests with no holder, %d moves",
			a.Withheld, a.Stale, a.NoHolder, a.Moves)
	}
	// no(2) is what must never pass; an answer without the module's
	// objects (a restored module's snmpd before its subagent has
	// registered, if that module is elected at once) is what its own
	// address answers too, and is counted apart.
	var saysNo []string
	without := 0
	for _, x := range viaAddr {
		switch x.primary {
		case 1:
		case -1:
			without++
		default:
			saysNo = append(saysNo, fmt.Sprintf("%s from %q: cpsIsPrimary.0 = %d", x.at.Format("15:04:05.000"), x.module, x.primary))
		}
	}
	end := time.Now()
	iv := w.certain(250 * time.Millisecond)
	dual := overlaps(iv)
	gaps := noPrimary(iv, start, end)
	var long []string
	var longest time.Duration
	for _, g := range gaps {
		longest = max(longest, g.to.Sub(g.from))
		if d := g.to.Sub(g.from); d > hold+time.Second {
			long = append(long, fmt.Sprintf("%s to %s (%s)", g.from.Format("15:04:05.000"), g.to.Format("15:04:05.000"), d.Round(time.Millisecond)))
		}
	}

	// The fault log.
	byKind := map[string]int{}
	doubles, failed := 0, 0
	for _, f := range faults {
		byKind[f.kind]++
		if f.second {
			doubles++
		}
		if f.err != "" {
			failed++
		}
		note := ""
		if f.second {
			note = " (second fault)"
		}
		if f.err != "" {
			note += " not injected: " + f.err
		}
		t.Logf("fault +%s m%d %s for %s%s", f.at.Round(time.Millisecond), f.module+1, f.kind, f.held.Round(time.Millisecond), note)
	}
	samples := w.count()
	acked, tried, refused, timedOut := wr.stats()
	summary := fmt.Sprintf("soak %s (seed %d): %d faults (kill %d, hang %d, link-down %d, backplane-down %d; %d while another module was faulted; %d not injected); "+
		"%d rounds not settled within 15s\n"+
		"  role samples: %v per module over %s (%.0f Hz each)\n"+
		"  instants with two Primaries: %d (goal 0)\n"+
		"  periods with no Primary > holdtime + 1s (%s): %d (goal 0); longest %s; %d periods in all\n"+
		"  acknowledged Sets lost: %d (goal 0); %d device Sets, %d acknowledged, %d refused, %d unanswered; %d checkpoints, %d column checks ambiguous\n"+
		"  answers through the stack address saying cpsIsPrimary.0 is not yes: %d of %d (goal 0); without the module's objects: %d; %s",
		dur, seed, len(faults), byKind["kill"], byKind["hang"], byKind["link-down"], byKind["backplane-down"], doubles, failed,
		unsettled, samples, end.Sub(start).Round(time.Second), float64(slices.Min(samples))/end.Sub(start).Seconds(),
		len(dual), hold+time.Second, len(long), longest.Round(time.Millisecond), len(gaps),
		len(lost), tried, acked, refused, timedOut, checkpoints, ambiguous, len(saysNo), len(viaAddr), without, relay)
	t.Log(summary)
	fmt.Println(summary)
	for _, d := range dual {
		t.Errorf("two Primaries: %s", d)
	}
	for _, l := range long {
		t.Errorf("no Primary from %s", l)
	}
	for _, l := range lost {
		t.Errorf("acknowledged Set lost: %s", l)
	}
	for _, l := range saysNo {
		t.Errorf("through the stack address: %s", l)
	}
}

// restoreModule clears every fault of module name, retrying while it
// cannot (a killed module's socket not yet gone, say).
func (s *testStack) restoreModule(name string) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := s.cli("restore", name)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			st, _ := s.cli("status")
			s.t.Fatalf("restore %s: %v\n%s\n%s", name, err, out, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rateWatch samples every module's cpsIsPrimary at a fixed rate, each
// module on its own manager, until halted.
type rateWatch struct {
	mu      sync.Mutex
	samples [][]sample
	stop    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

func (s *testStack) sampleRoles(every, timeout time.Duration) *rateWatch {
	w := &rateWatch{samples: make([][]sample, len(s.addrs)), stop: make(chan struct{})}
	for i, g := range s.gs {
		mine := &gosnmp.GoSNMP{Target: g.Target, Port: g.Port, Community: g.Community, Version: g.Version,
			Timeout: timeout, Retries: 0}
		if err := mine.Connect(); err != nil {
			s.t.Fatal(err)
		}
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			defer mine.Conn.Close()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-w.stop:
					return
				case <-tick.C:
				}
				smp, ok := sampleRole(mine)
				if !ok {
					continue
				}
				w.mu.Lock()
				w.samples[i] = append(w.samples[i], smp)
				w.mu.Unlock()
			}
		}()
	}
	return w
}

func (w *rateWatch) halt() {
	w.once.Do(func() { close(w.stop) })
	w.wg.Wait()
}

// fresh is how recent a module's last sample must be to count as its
// current state.
const fresh = 300 * time.Millisecond

// current returns the module that answers Primary now (the most recently
// read if several do), or -1.
func (w *rateWatch) current() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	best, at := -1, time.Time{}
	for i, ss := range w.samples {
		if len(ss) == 0 {
			continue
		}
		l := ss[len(ss)-1]
		if l.primary && time.Since(l.got) < fresh && l.got.After(at) {
			best, at = i, l.got
		}
	}
	return best
}

// settled reports whether every module answers and exactly one says Primary.
func (w *rateWatch) settled() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, ss := range w.samples {
		if len(ss) == 0 || time.Since(ss[len(ss)-1].got) > fresh {
			return false
		}
		if ss[len(ss)-1].primary {
			n++
		}
	}
	return n == 1
}

// waitSettled waits until the stack has been settled for a few samples.
func (w *rateWatch) waitSettled(within time.Duration) bool {
	deadline := time.Now().Add(within)
	var since time.Time
	for time.Now().Before(deadline) {
		if !w.settled() {
			since = time.Time{}
		} else if since.IsZero() {
			since = time.Now()
		} else if time.Since(since) > 200*time.Millisecond {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func (w *rateWatch) count() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	var n []int
	for _, ss := range w.samples {
		n = append(n, len(ss))
	}
	return n
}

// certain halts the sampling and returns, per module, the stretches during
// which it was certainly Primary (as roleWatch.finish), a run of Primary
// samples ending where no answer came for more than hole: a module that
// hangs and comes back is not taken for Primary while it was silent.
func (w *rateWatch) certain(hole time.Duration) []interval {
	w.halt()
	return certainPrimary(w.samples, hole)
}

func certainPrimary(samples [][]sample, hole time.Duration) []interval {
	var out []interval
	for i, ss := range samples {
		for j := 0; j < len(ss); {
			if !ss[j].primary {
				j++
				continue
			}
			k := j
			for k+1 < len(ss) && ss[k+1].primary && ss[k+1].sent.Sub(ss[k].got) <= hole {
				k++
			}
			if ss[j].got.Before(ss[k].sent) {
				out = append(out, interval{module: i, from: ss[j].got, to: ss[k].sent})
			}
			j = k + 1
		}
	}
	return out
}

// noPrimary returns the periods between from and to not covered by any
// certain Primary stretch.
func noPrimary(iv []interval, from, to time.Time) []interval {
	iv = slices.Clone(iv)
	sort.Slice(iv, func(i, j int) bool { return iv[i].from.Before(iv[j].from) })
	var gaps []interval
	at := from
	for _, x := range iv {
		if x.from.After(at) {
			gaps = append(gaps, interval{module: -1, from: at, to: x.from})
		}
		at = later(at, x.to)
	}
	if to.After(at) {
		gaps = append(gaps, interval{module: -1, from: at, to: to})
	}
	return gaps
}

// setAttempt is one device Set as the manager saw it.
type setAttempt struct {
	value string
	acked bool
	at    time.Time
	via   int
}

// setWriter sets the converters' Groups columns in turn through the module
// that answers Primary, a fresh value each time, and keeps every column's
// history. gate keeps it out of the way of a checkpoint.
type setWriter struct {
	cols    []string
	gs      []*gosnmp.GoSNMP
	gate    sync.Mutex
	mu      sync.Mutex
	hist    [][]setAttempt
	next    atomic.Int64
	refused atomic.Int64
	silent  atomic.Int64
	stop    chan struct{}
}

func (s *testStack) newSetWriter(cols []string) *setWriter {
	wr := &setWriter{cols: cols, hist: make([][]setAttempt, len(cols)), stop: make(chan struct{})}
	for _, g := range s.gs {
		c := &gosnmp.GoSNMP{Target: g.Target, Port: g.Port, Community: "private", Version: gosnmp.Version2c,
			Timeout: time.Second, Retries: 0}
		if err := c.Connect(); err != nil {
			s.t.Fatal(err)
		}
		s.t.Cleanup(func() { c.Conn.Close() })
		wr.gs = append(wr.gs, c)
	}
	return wr
}

func (wr *setWriter) run(w *rateWatch) {
	for k := 0; ; {
		select {
		case <-wr.stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
		wr.gate.Lock()
		if p := w.current(); p >= 0 {
			wr.set(k, p)
			k = (k + 1) % len(wr.cols)
		}
		wr.gate.Unlock()
	}
}

// set sets column k through module p and records the outcome.
func (wr *setWriter) set(k, p int) bool {
	val := fmt.Sprintf("soak-%07d", wr.next.Add(1))
	at := time.Now()
	res, err := wr.gs[p].Set([]gosnmp.SnmpPDU{{Name: wr.cols[k], Type: gosnmp.OctetString, Value: []byte(val)}})
	acked := err == nil && res.Error == gosnmp.NoError
	switch {
	case err != nil:
		wr.silent.Add(1)
	case !acked:
		wr.refused.Add(1)
	}
	wr.mu.Lock()
	wr.hist[k] = append(wr.hist[k], setAttempt{value: val, acked: acked, at: at, via: p})
	wr.mu.Unlock()
	return acked
}

func (wr *setWriter) stats() (acked, tried, refused, silent int) {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	for _, h := range wr.hist {
		for _, a := range h {
			tried++
			if a.acked {
				acked++
			}
		}
	}
	return acked, tried, int(wr.refused.Load()), int(wr.silent.Load())
}

// verify pauses the writer and checks every column through the Primary p:
// first it sets again, through p, each column whose last Set went
// unacknowledged; then a column must show its last acknowledged value or,
// if Sets nobody acknowledged came after it (ambiguous: they may have been
// applied), one of theirs. It returns a description of each acknowledged
// Set lost, by column=value, and how many columns were ambiguous.
func (wr *setWriter) verify(s *testStack, p int, final bool) (lost map[string]string, ambiguous int) {
	lost = map[string]string{}
	wr.gate.Lock()
	defer wr.gate.Unlock()
	for k := range wr.cols {
		for try := 0; try < 5; try++ {
			wr.mu.Lock()
			h := wr.hist[k]
			done := len(h) == 0 || h[len(h)-1].acked
			wr.mu.Unlock()
			if done || wr.set(k, p) {
				break
			}
		}
	}
	r := &gosnmp.GoSNMP{Target: wr.gs[p].Target, Port: wr.gs[p].Port, Community: "public", Version: gosnmp.Version2c,
		Timeout: time.Second, Retries: 1}
	if err := r.Connect(); err != nil {
		s.t.Fatal(err)
	}
	defer r.Conn.Close()
	for k, col := range wr.cols {
		wr.mu.Lock()
		h := slices.Clone(wr.hist[k])
		wr.mu.Unlock()
		last := -1
		for j, a := range h {
			if a.acked {
				last = j
			}
		}
		if last < 0 {
			continue
		}
		ok := map[string]bool{}
		for _, a := range h[last:] {
			ok[a.value] = true
		}
		if len(ok) > 1 {
			ambiguous++
		}
		// The Primary's view of the device may lag a poll behind a failover.
		var got string
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			res, err := r.Get([]string{col})
			if err == nil && len(res.Variables) == 1 {
				b, _ := res.Variables[0].Value.([]byte)
				got = string(b)
			}
			if ok[got] || time.Now().After(deadline) {
				break
			}
		}
		if !ok[got] {
			a := h[last]
			when := "at a checkpoint"
			if final {
				when = "at the end"
			}
			lost[col+"="+a.value] = fmt.Sprintf("%s = %q acknowledged by m%d at %s; the Primary m%d shows %q %s",
				col, a.value, a.via+1, a.at.Format("15:04:05.000"), p+1, got, when)
		}
	}
	return lost, ambiguous
}

// The soak's accounting: runs of Primary samples end at a silence longer
// than the hole; what no certain stretch covers is a period with no Primary.
func TestSoakAccounting(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	at := func(n int, primary bool) sample { return sample{sent: ms(n), got: ms(n + 1), primary: primary} }
	samples := [][]sample{
		// m1 Primary, silent (hung) from 40 to 1000 ms, back as Primary.
		{at(0, true), at(20, true), at(40, true), at(1000, true), at(1020, true)},
		// m2 takes over at 500 ms, steps down at 1010.
		{at(0, false), at(480, false), at(500, true), at(520, true), at(760, true), at(1010, true), at(1030, false)},
	}
	iv := certainPrimary(samples, 250*time.Millisecond)
	want := []interval{{0, ms(1), ms(40)}, {0, ms(1001), ms(1020)}, {1, ms(501), ms(1010)}}
	if !slices.Equal(iv, want) {
		t.Fatalf("certain Primary stretches %v, want %v", iv, want)
	}
	if o := overlaps(iv); len(o) != 1 {
		t.Errorf("overlaps %v, want one (1001 to 1010 ms)", o)
	}
	// Without the hole rule the hung m1 would count as Primary throughout.
	if iv := certainPrimary(samples, time.Hour); iv[0] != (interval{0, ms(1), ms(1020)}) {
		t.Errorf("with no hole rule: %v", iv)
	}
	gaps := noPrimary(iv, ms(0), ms(1100))
	wantGaps := []interval{{-1, ms(0), ms(1)}, {-1, ms(40), ms(501)}, {-1, ms(1020), ms(1100)}}
	if !slices.Equal(gaps, wantGaps) {
		t.Errorf("no-Primary periods %v, want %v", gaps, wantGaps)
	}
}
