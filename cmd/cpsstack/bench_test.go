package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func percentile(d []time.Duration, p float64) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := int(p*float64(len(d))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(d) {
		i = len(d) - 1
	}
	return d[i]
}

// BenchmarkFailover measures, on a real three-module stack, the time from
// kill -9 of the Primary's module process to the first SNMP answer
// cpsIsPrimary yes(1) from another module (20 kills), at the default timers
// and at 100 ms / 300 ms, and the takeover after a graceful stop (SIGTERM).
// Targets: p99 <= holdtime + hello + 100 ms; graceful <= 300 ms.
// VRRP at its defaults (advertisement 1 s) takes 3 x 1 s + skew (~3.6 s
// for priority 100).
//
//	go test -run '^$' -bench Failover -benchtime 1x ./cmd/cpsstack
func BenchmarkFailover(b *testing.B) {
	kills := 20
	if s := os.Getenv("CPSMM_BENCH_KILLS"); s != "" {
		kills, _ = strconv.Atoi(s)
	}
	for i := 0; i < b.N; i++ {
		for _, tm := range []struct{ hello, hold time.Duration }{{time.Second, 3 * time.Second}, {100 * time.Millisecond, 300 * time.Millisecond}} {
			s := startStack(b, tm.hello, tm.hold, "yes", "yes", "yes")
			p, _ := s.waitPrimary(-1, 30*time.Second)
			var took []time.Duration
			for k := 0; k < kills; k++ {
				name := fmt.Sprintf("m%d", p+1)
				if err := syscall.Kill(s.pid(name), syscall.SIGKILL); err != nil {
					b.Fatal(err)
				}
				q, d := s.waitPrimary(p, 30*time.Second)
				took = append(took, d)
				if out, err := s.cli("restore", name); err != nil {
					b.Fatalf("restore: %v\n%s", err, out)
				}
				s.waitAnswers(p)
				p = q
			}
			var graceful []time.Duration
			for k := 0; k < 5; k++ {
				name := fmt.Sprintf("m%d", p+1)
				if err := syscall.Kill(s.pid(name), syscall.SIGTERM); err != nil {
					b.Fatal(err)
				}
				q, d := s.waitPrimary(p, 30*time.Second)
				graceful = append(graceful, d)
				if out, err := s.cli("restore", name); err != nil {
					b.Fatalf("restore: %v\n%s", err, out)
				}
				s.waitAnswers(p)
				p = q
			}
			var dual []time.Duration
			for k := 0; k < 5; k++ {
				dual = append(dual, s.partitionHeal(p, tm.hold))
				p, _ = s.waitPrimary(-1, 30*time.Second)
			}
			fmt.Printf("timers %s/%s: kill -9 -> new Primary answers (%d kills): p50 %s, p99 %s, max %s (target p99 <= %s); "+
				"graceful stop (5): p50 %s, max %s (target <= 300ms); dual Primary after a partition heals (5): p50 %s, max %s (target <= %s)\n",
				tm.hello, tm.hold, kills, percentile(took, 0.5).Round(time.Millisecond), percentile(took, 0.99).Round(time.Millisecond),
				percentile(took, 1).Round(time.Millisecond), tm.hold+tm.hello+100*time.Millisecond,
				percentile(graceful, 0.5).Round(time.Millisecond), percentile(graceful, 1).Round(time.Millisecond),
				percentile(dual, 0.5).Round(time.Millisecond), percentile(dual, 1).Round(time.Millisecond), tm.hello)
			b.ReportMetric(float64(percentile(took, 0.99).Milliseconds()), fmt.Sprintf("p99-ms-hello-%s", tm.hello))
			_, _ = s.cli("down")
		}
	}
}
