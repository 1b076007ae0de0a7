package main

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// walkRateAt walks root at addr with GETNEXT for about d and returns
// varbinds per second.
func walkRateAt(t testing.TB, addr, root string, d time.Duration) float64 {
	ap := netip.MustParseAddrPort(addr)
	g := &gosnmp.GoSNMP{Target: ap.Addr().String(), Port: ap.Port(), Community: "public", Version: gosnmp.Version2c,
		Timeout: 2 * time.Second, Retries: 1}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	defer g.Conn.Close()
	n, start := 0, time.Now()
	count := func(gosnmp.SnmpPDU) error { n++; return nil }
	for time.Since(start) < d {
		if err := g.Walk(root, count); err != nil {
			t.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkStackAddress measures what the stack address costs and how it
// moves, on real three-module stacks:
//
//   - the GETNEXT walk rate of the Point System subtree through the stack
//     address beside the same walk through the Primary's own address, in
//     interleaved rounds (CPSMM_ADDR_ROUNDS, default 7, of
//     CPSMM_ADDR_ROUND, default 2 s, each way), medians, the machine's
//     busy fraction, and the chassis's CPU per relayed request; target
//     ratio >= 0.9;
//
//   - 20 kill -9 of the Primary (module and snmpd; CPSMM_BENCH_KILLS),
//     then 5 graceful stops, 5 link-downs and 5 hangs, at hello 100 ms /
//     holdtime 300 ms, with a sampler on the address
//     (cpsIsPrimary.0 and the module's name, back to back, 50 ms timeout):
//     answers that are not yes(1) (target 0), the failover time (first
//     yes(1) on a new Primary's own address, each asked back to back) and
//     the gap on the address (first answer from the new Primary through
//     it), both from the fault, p50/p99; target gap <= failover + 100 ms.
//
//     go test -run '^$' -bench StackAddress -benchtime 1x ./cmd/cpsstack
func BenchmarkStackAddress(b *testing.B) {
	rounds := envInt(b, "CPSMM_ADDR_ROUNDS", 7)
	round := envDuration("CPSMM_ADDR_ROUND", 2*time.Second)
	kills := envInt(b, "CPSMM_BENCH_KILLS", 20)
	const root = ".1.3.6.1.4.1.868"
	for range b.N {
		// Walks, at the default timers.
		s, addr := startAddressStack(b, time.Second, 3*time.Second, "yes", "yes", "yes")
		p, _ := s.waitPrimary(-1, 30*time.Second)
		own := s.addrs[p]
		chassis, err := procOf(s.run, "chassis", "test")
		if err != nil {
			b.Fatal(err)
		}
		var viaOwn, viaAddr []float64
		busy0, total0 := machineTicks(b)
		var chassisCPU time.Duration
		var relayed0, relayed1 uint64
		if a, err := addressOf(s.run); err == nil {
			relayed0 = a.Relayed
		}
		for r := range rounds {
			// Alternate which goes first, so that neither always walks a
			// warmer (or busier) machine.
			if r%2 == 0 {
				viaOwn = append(viaOwn, walkRateAt(b, own, root, round))
			}
			c0 := cpuTime(chassis.pid)
			viaAddr = append(viaAddr, walkRateAt(b, addr, root, round))
			chassisCPU += cpuTime(chassis.pid) - c0
			if r%2 == 1 {
				viaOwn = append(viaOwn, walkRateAt(b, own, root, round))
			}
		}
		busy1, total1 := machineTicks(b)
		if a, err := addressOf(s.run); err == nil {
			relayed1 = a.Relayed
		}
		mo, ma := median(viaOwn), median(viaAddr)
		perReq := time.Duration(0)
		if n := relayed1 - relayed0; n > 0 {
			perReq = chassisCPU / time.Duration(n)
		}
		busyWalk, totalWalk := busy1-busy0, total1-total0
		fmt.Printf("GETNEXT walk of %s, %d rounds of %s each way: through the Primary's own address %s varbinds/s (median %.0f), "+
			"through the stack address %s (median %.0f): ratio %.2f (target >= 0.9); machine busy %.0f%%; "+
			"chassis CPU per relayed request %s (%d relayed)\n",
			root, rounds, round, fmtRates(viaOwn), mo, fmtRates(viaAddr), ma, ma/mo, 100*float64(busyWalk)/float64(totalWalk),
			perReq.Round(100*time.Nanosecond), relayed1-relayed0)
		b.ReportMetric(ma/mo, "addr/own")
		_, _ = s.cli("down")

		// Failovers at hello 100 ms / holdtime 300 ms.
		s, addr = startAddressStack(b, 100*time.Millisecond, 300*time.Millisecond, "yes", "yes", "yes")
		p, _ = s.waitPrimary(-1, 30*time.Second)
		stop := make(chan struct{})
		collect := addressSampler(b, addr, stop)
		plan := []struct {
			kind string
			n    int
		}{{"kill", kills}, {"graceful", 5}, {"link-down", 5}, {"hang", 5}}
		var faults []addrFault
		for _, step := range plan {
			for range step.n {
				time.Sleep(300 * time.Millisecond) // the sampler sees the Primary through the address first
				f, q := s.failPrimary(b, p, step.kind)
				faults = append(faults, f)
				p = q
			}
		}
		time.Sleep(300 * time.Millisecond)
		close(stop)
		samples := collect()
		notYes, without := 0, 0
		for _, x := range samples {
			switch x.primary {
			case 1:
			case -1:
				without++
			default:
				notYes++
			}
		}
		gaps := addressGaps(samples, faults)
		a, _ := addressOf(s.run)
		var withheld, stale, noHolder uint64
		if a != nil {
			withheld, stale, noHolder = a.Withheld, a.Stale, a.NoHolder
		}
		ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
		busy1, total1 = machineTicks(b)
		fmt.Printf("hello 100ms, holdtime 300ms: %d samples through the address (cpsIsPrimary.0 and the module's name, 50 ms timeout): "+
			"answers saying cpsIsPrimary.0 is not yes: %d (target 0), without the module's objects: %d; relay: %d answers withheld (said no(2)), %d answers of a former holder dropped, %d requests with no holder\n",
			len(samples), notYes, without, withheld, stale, noHolder)
		for _, step := range plan {
			var failover, gap, extra []time.Duration
			for i, f := range faults {
				if f.kind != step.kind {
					continue
				}
				if gaps[i] == 0 {
					b.Fatalf("%s of %s at %s: the address never answered from another module", f.kind, f.victim, f.at.Format("15:04:05.000"))
				}
				failover, gap, extra = append(failover, f.failover), append(gap, gaps[i]), append(extra, gaps[i]-f.failover)
			}
			fmt.Printf("  %-9s x%-2d failover (a new Primary's own address answers yes) p50 %s p99 %s; the address answers from it p50 %s p99 %s max %s; "+
				"address - failover p50 %s p99 %s max %s (target <= 100ms)\n",
				step.kind, step.n, ms(percentile(failover, 0.5)), ms(percentile(failover, 0.99)),
				ms(percentile(gap, 0.5)), ms(percentile(gap, 0.99)), ms(percentile(gap, 1)),
				ms(percentile(extra, 0.5)), ms(percentile(extra, 0.99)), ms(percentile(extra, 1)))
		}
		fmt.Printf("  machine busy during the whole benchmark: %.0f%%\n", 100*float64(busy1-busy0)/float64(total1-total0))
		b.ReportMetric(float64(notYes), "answers-not-yes")
		_, _ = s.cli("down")
	}
}

func fmtRates(v []float64) string {
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprintf("%.0f", x))
	}
	return strings.Join(s, "/")
}

// waitPrimaryConcurrently is waitPrimary with every other module asked at
// once, back to back (50 ms timeouts), so that a slow module does not
// delay the answer of another.
func (s *testStack) waitPrimaryConcurrently(skip int, limit time.Duration) (int, time.Duration) {
	s.t.Helper()
	start := time.Now()
	var once sync.Once
	found := make(chan int, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, a := range s.addrs {
		if i == skip {
			continue
		}
		ap := netip.MustParseAddrPort(a)
		wg.Go(func() {
			g := &gosnmp.GoSNMP{Target: ap.Addr().String(), Port: ap.Port(), Community: "public", Version: gosnmp.Version2c,
				Timeout: 50 * time.Millisecond, Retries: 0}
			if g.Connect() != nil {
				return
			}
			defer g.Conn.Close()
			for time.Since(start) < limit {
				select {
				case <-stop:
					return
				default:
				}
				res, err := g.Get([]string{oidCpsIsPrimary})
				if err == nil && len(res.Variables) == 1 && res.Variables[0].Type == gosnmp.Integer &&
					gosnmp.ToBigInt(res.Variables[0].Value).Int64() == 1 {
					once.Do(func() { found <- i })
					return
				}
			}
		})
	}
	var d time.Duration
	q := -1
	select {
	case q = <-found:
		d = time.Since(start)
	case <-time.After(limit):
	}
	close(stop)
	wg.Wait()
	if q < 0 {
		st, _ := s.cli("status")
		s.t.Fatalf("no Primary (other than %d) within %s:\n%s", skip, limit, st)
	}
	return q, d
}
