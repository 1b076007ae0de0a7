package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// BenchmarkPendingSet measures what a Set to a silent module costs the
// Primary's readers: snmpd queues every other request while a Set is in
// progress, and a Set to a hung module waits out the Ack timeout (30 ms).
// Three modules, hello 250 ms / holdtime 750 ms. Each round, interleaved:
// (a) a reader gets cpsIsPrimary.0 from the Primary back to back, no Set
// pending; (b) a Standby hangs (SIGSTOP) and, while the Primary still
// hears it (400 ms from the hang, under the holdtime less a hello), one
// goroutine sets its cpsmm100WantPrimary through the Primary back to back
// while the same reader reads on; then it is continued, and the take-back
// must leave its WantPrimary as it was. Every module's role is sampled
// before and after each round: a change is a failure. Printed: read
// latency p50/p99/worst for (a) and (b) per round and their medians, the
// Sets' answers and latencies, and the machine's busy fraction
// (/proc/stat) over the rounds. Target: worst read <= 50 ms while a Set
// is pending, no role change.
//
//	go test -run '^$' -bench PendingSet -benchtime 1x ./cmd/cpsstack
func BenchmarkPendingSet(b *testing.B) {
	const (
		hello, hold = 250 * time.Millisecond, 750 * time.Millisecond
		rounds      = 15
		window      = 400 * time.Millisecond // from the hang: the Primary still hears the Standby
	)
	for n := 0; n < b.N; n++ {
		s := startStack(b, hello, hold, "yes", "yes", "yes")
		p, _ := s.waitPrimary(-1, 30*time.Second)
		s.waitOnly(p, "after up")
		sb := (p + 1) % 3
		name := fmt.Sprintf("m%d", sb+1)
		want := fmt.Sprintf("%s.12.1.%d", oidCpsmm100, sb+1) // cpsmm100WantPrimary.1.<slot>
		if v := s.getInt(sb, want); v != 1 {
			b.Fatalf("m%d's WantPrimary is %d before the rounds, want yes(1)", sb+1, v)
		}
		reader := s.manager(p, "public")
		setter := s.manager(p, "private")
		busy0, total0 := machineTicks(b)
		var refs, pends [][]time.Duration
		var setLat []time.Duration
		answers := map[string]int{}
		roleChanges := 0
		for r := 1; r <= rounds; r++ {
			if got := s.roles(); got != roleString(p, len(s.addrs)) {
				roleChanges++
				b.Errorf("ROLE CHANGE before round %d: %s, want %s", r, got, roleString(p, len(s.addrs)))
			}
			// (a) No Set pending.
			ref, refErrs := readFor(reader, window)
			// (b) A Set to the hung Standby pending, one after another.
			hungAt := time.Now()
			if out, err := s.cli("fail", name, "hang"); err != nil {
				b.Fatalf("hang %s: %v\n%s", name, err, out)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var roundSets []time.Duration
			roundAnswers := map[string]int{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					start := time.Now()
					res, err := setter.Set([]gosnmp.SnmpPDU{{Name: want, Type: gosnmp.Integer, Value: 2}})
					roundSets = append(roundSets, time.Since(start))
					switch {
					case err != nil:
						roundAnswers["no answer"]++
					default:
						roundAnswers[res.Error.String()]++
					}
				}
			}()
			pend, pendErrs := readFor(reader, time.Until(hungAt.Add(window)))
			close(stop)
			wg.Wait()
			if out, err := s.cli("restore", name); err != nil {
				b.Fatalf("restore %s: %v\n%s", name, err, out)
			}
			// Back: heard by the Primary, answering, and its WantPrimary
			// taken back to yes(1).
			s.waitAnswers(sb)
			for deadline := time.Now().Add(15 * time.Second); !s.peerAlive(p, sb) || s.getInt(sb, want) != 1 || s.getInt(p, want) != 1; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatalf("round %d: 15 s after the restore, m%d's WantPrimary is %d (its own agent), %d (the Primary's view), heard by the Primary: %v; want yes(1)",
						r, sb+1, s.getInt(sb, want), s.getInt(p, want), s.peerAlive(p, sb))
				}
			}
			if got := s.roles(); got != roleString(p, len(s.addrs)) {
				roleChanges++
				b.Errorf("ROLE CHANGE in round %d: %s, want %s", r, got, roleString(p, len(s.addrs)))
			}
			refs, pends = append(refs, ref), append(pends, pend)
			setLat = append(setLat, roundSets...)
			for k, v := range roundAnswers {
				answers[k] += v
			}
			fmt.Printf("round %d: no Set pending: %d reads, p50 %s p99 %s worst %s (%d failed); Set pending: %d reads, p50 %s p99 %s worst %s (%d failed); %d Sets %s, p50 %s worst %s\n",
				r, len(ref), pct50(ref), pct99(ref), worst(ref), refErrs, len(pend), pct50(pend), pct99(pend), worst(pend), pendErrs,
				len(roundSets), answerString(roundAnswers), pct50(roundSets), worst(roundSets))
		}
		busy1, total1 := machineTicks(b)
		med := func(v [][]time.Duration, f func([]time.Duration) time.Duration) time.Duration {
			var m []time.Duration
			for _, x := range v {
				m = append(m, f(x))
			}
			return pct50(m)
		}
		worstPending := time.Duration(0)
		for _, x := range pends {
			worstPending = max(worstPending, worst(x))
		}
		fmt.Printf("pending Set, %d rounds (medians): no Set pending: read p50 %s p99 %s worst %s; Set pending: read p50 %s p99 %s worst %s (worst of all rounds %s, target <= 50ms); "+
			"Sets: %s, p50 %s worst %s; machine busy %.0f%%; role changes: %d\n",
			rounds, med(refs, pct50), med(refs, pct99), med(refs, worst), med(pends, pct50), med(pends, pct99), med(pends, worst), worstPending,
			answerString(answers), pct50(setLat), worst(setLat), 100*float64(busy1-busy0)/float64(total1-total0), roleChanges)
		b.ReportMetric(float64(worstPending.Microseconds())/1000, "worst-read-ms-set-pending")
		_, _ = s.cli("down")
	}
}

// manager returns a gosnmp manager of its own for module i.
func (s *testStack) manager(i int, community string) *gosnmp.GoSNMP {
	g := &gosnmp.GoSNMP{Target: s.gs[i].Target, Port: s.gs[i].Port, Community: community, Version: gosnmp.Version2c,
		Timeout: time.Second, Retries: 0}
	if err := g.Connect(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { g.Conn.Close() })
	return g
}

// readFor gets cpsIsPrimary.0 back to back for d and returns the
// latencies of the answered reads and how many failed.
func readFor(g *gosnmp.GoSNMP, d time.Duration) ([]time.Duration, int) {
	var lat []time.Duration
	failed := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		start := time.Now()
		res, err := g.Get([]string{oidCpsIsPrimary})
		if err != nil || res.Error != gosnmp.NoError || len(res.Variables) != 1 || res.Variables[0].Type != gosnmp.Integer {
			failed++
			continue
		}
		lat = append(lat, time.Since(start))
	}
	return lat, failed
}

// roles reads every module's cpsIsPrimary: "P" yes, "-" no, "?" no answer.
func (s *testStack) roles() string {
	var b strings.Builder
	for i := range s.addrs {
		pr, err := s.primary(i)
		switch {
		case err != nil:
			b.WriteByte('?')
		case pr:
			b.WriteByte('P')
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

func roleString(p, n int) string {
	return strings.Repeat("-", p) + "P" + strings.Repeat("-", n-p-1)
}

func answerString(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s x%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func pct50(d []time.Duration) time.Duration { return roundMs(pctOf(d, 0.5)) }
func pct99(d []time.Duration) time.Duration { return roundMs(pctOf(d, 0.99)) }
func worst(d []time.Duration) time.Duration { return roundMs(pctOf(d, 1)) }

func pctOf(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return percentile(append([]time.Duration(nil), d...), p)
}

func roundMs(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
