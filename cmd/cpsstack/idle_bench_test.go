package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/cpsmm/cpsmm/agent/snmpd"
)

// BenchmarkIdle measures what an idle stack costs: the example stack
// (two cabinets, three modules, four converters and an aggregation
// converter, timers 1 s / 3 s, poll 1 s) on free ports with a fresh key,
// once settled, over CPSMM_IDLE_ROUNDS rounds (default 5) of
// CPSMM_IDLE_ROUND each (default 10s). Per round it reads utime+stime of
// every process of the stack (chassis, snmpds, cpsmms) from /proc/PID/stat
// and the machine's busy fraction from /proc/stat; beside them, in the same
// rounds, one snmpd alone with no subagent (same configuration generator).
// It prints the medians: CPU per module per second as a percentage of one
// core, everything included (target <= 0.1 %), and per process.
//
//	go test -run '^$' -bench Idle -benchtime 1x ./cmd/cpsstack
//	CPSMM_IDLE_ROUND=2s go test -run '^$' -bench Idle -benchtime 1x ./cmd/cpsstack
func BenchmarkIdle(b *testing.B) {
	rounds, roundLen := 5, 10*time.Second
	if v := os.Getenv("CPSMM_IDLE_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("CPSMM_IDLE_ROUNDS=%q: want a positive number", v)
		}
		rounds = n
	}
	if v := os.Getenv("CPSMM_IDLE_ROUND"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("CPSMM_IDLE_ROUND=%q: want a positive duration", v)
		}
		roundLen = d
	}
	for i := 0; i < b.N; i++ {
		s := startExampleStack(b, time.Second, 3*time.Second, time.Second)
		p, _ := s.waitPrimary(-1, 30*time.Second)
		s.waitOnly(p, "after up")
		// Settled: every module has heard every converter.
		cols := exampleGroups()
		for m := range s.addrs {
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				if v, err := s.get(m, cols[len(cols)-1]); err == nil && v.Type == gosnmp.OctetString {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("m%d never showed the converters", m+1)
				}
			}
		}

		// The reference: one snmpd, no subagent.
		port, err := snmpd.FreeUDPPort()
		if err != nil {
			b.Fatal(err)
		}
		dir, err := os.MkdirTemp("", "idle-snmpd-")
		if err != nil {
			b.Fatal(err)
		}
		ref, err := snmpd.Start(context.Background(), snmpd.Options{Dir: dir, UDP: fmt.Sprintf("127.0.0.1:%d", port), SysDescr: "idle reference"})
		if err != nil {
			os.RemoveAll(dir)
			b.Fatal(err)
		}

		// The floor: as many minimal Go processes exchanging the same
		// adverts, aligned, one P (idle_ref_test.go).
		peerPids, stopPeers := startIdlePeers(b, len(s.addrs))
		defer stopPeers()

		type measured struct {
			name string
			pid  int
		}
		procs := []measured{{"chassis", s.chassisPid()}}
		for m := range s.addrs {
			name := fmt.Sprintf("m%d", m+1)
			sp, err := procOf(s.run, "snmpd", name)
			if err != nil {
				b.Fatal(err)
			}
			procs = append(procs, measured{"snmpd " + name, sp.pid}, measured{"cpsmm " + name, s.pid(name)})
		}
		for _, pr := range procs {
			if pr.pid == 0 {
				b.Fatalf("no pid for %s", pr.name)
			}
		}

		perModule := make([]float64, 0, rounds)
		refPct := make([]float64, 0, rounds)
		peerPct := make([]float64, 0, rounds)
		busy := make([]float64, 0, rounds)
		perProc := make([][]float64, len(procs))
		for r := 0; r < rounds; r++ {
			before := make([]time.Duration, len(procs))
			for k, pr := range procs {
				before[k] = cpuTime(pr.pid)
			}
			ref0 := cpuTime(ref.Pid())
			var peers0 time.Duration
			for _, p := range peerPids {
				peers0 += cpuTime(p)
			}
			busy0, total0 := machineTicks(b)
			start := time.Now()
			time.Sleep(roundLen) // the measurement window itself
			wall := time.Since(start)
			busy1, total1 := machineTicks(b)
			var sum time.Duration
			for k, pr := range procs {
				if _, err := os.Stat(fmt.Sprintf("/proc/%d", pr.pid)); err != nil {
					b.Fatalf("%s (pid %d) is gone", pr.name, pr.pid)
				}
				d := cpuTime(pr.pid) - before[k]
				sum += d
				perProc[k] = append(perProc[k], pct(d, wall))
			}
			perModule = append(perModule, pct(sum, wall)/float64(len(s.addrs)))
			refPct = append(refPct, pct(cpuTime(ref.Pid())-ref0, wall))
			var peers1 time.Duration
			for _, p := range peerPids {
				peers1 += cpuTime(p)
			}
			peerPct = append(peerPct, pct(peers1-peers0, wall)/float64(len(peerPids)))
			busy = append(busy, 100*float64(busy1-busy0)/float64(total1-total0))
		}
		_ = ref.Stop()
		os.RemoveAll(dir)

		fmt.Printf("idle example stack (%d modules, 5 devices, timers 1s/3s, poll 1s), %d rounds of %s, medians:\n", len(s.addrs), rounds, roundLen)
		fmt.Printf("  CPU per module, everything included: %.3f %% of one core (target <= 0.1 %%); rounds %s\n", median(perModule), fmtPcts(perModule))
		fmt.Printf("  reference, one idle snmpd with no subagent: %.3f %% of one core\n", median(refPct))
		fmt.Printf("  floor, a minimal Go process per module sending and reading the same adverts (2 per peer per second, aligned, one P): %.3f %% of one core; the stack costs %.1f x that\n",
			median(peerPct), median(perModule)/median(peerPct))
		fmt.Printf("  machine busy during the rounds: %.1f %% of all cores (rounds %s)\n", median(busy), fmtPcts(busy))
		for k, pr := range procs {
			fmt.Printf("  %-9s %.3f %% of one core\n", pr.name, median(perProc[k]))
		}
		b.ReportMetric(median(perModule), "%core/module")
		b.ReportMetric(median(refPct), "%core/idle-snmpd")
		b.ReportMetric(median(peerPct), "%core/floor-peer")
		_, _ = s.cli("down")
	}
}

// pct is d of CPU over wall as a percentage of one core.
func pct(d, wall time.Duration) float64 { return 100 * d.Seconds() / wall.Seconds() }

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

func fmtPcts(v []float64) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, fmt.Sprintf("%.3f", x))
	}
	return strings.Join(parts, " ")
}

// machineTicks returns the busy and total jiffies of all CPUs so far, from
// the "cpu" line of /proc/stat (idle and iowait are not busy).
func machineTicks(b *testing.B) (busy, total uint64) {
	data, err := os.ReadFile(filepath.Join("/proc", "stat"))
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		b.Fatalf("/proc/stat: unexpected first line %q", line)
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			b.Fatalf("/proc/stat: %q: %v", line, err)
		}
		if i >= 8 { // guest and guest_nice are already counted in user and nice
			break
		}
		total += v
		if i != 3 && i != 4 {
			busy += v
		}
	}
	return busy, total
}
