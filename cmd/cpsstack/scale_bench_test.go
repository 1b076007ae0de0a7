package main

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/cpsmm/cpsmm/stack/labfile"
	"github.com/cpsmm/cpsmm/stack/member"
	"github.com/cpsmm/cpsmm/stack/stackfile"
)

// BenchmarkScale brings up 3-module stacks (default timers, no
// converters) with `cpsstack lab up` until CPSMM_SCALE_MODULES (default
// 1000) modules run, on free ports with fresh keys, and reports:
//   - the time to bring them up (modules/s);
//   - PSS per module, every process included (/proc/PID/smaps_rollup);
//   - idle CPU per module over CPSMM_SCALE_WINDOW (default 10m), every
//     process included (schedstat, cpuTime), and the machine's busy
//     fraction over the same window;
//   - false failovers over that window: modules whose role changed (their
//     own last role change, from the control socket, before and after)
//     while no fault was injected (target 0);
//   - one stack's failover after kill -9 of its Primary's module process
//     while the rest idle, CPSMM_SCALE_KILLS times (default 5): p50, max.
//
// Not part of make test:
//
//	go test -run '^$' -bench Scale -benchtime 1x -timeout 3h ./cmd/cpsstack
//	CPSMM_SCALE_MODULES=150 CPSMM_SCALE_WINDOW=60s go test -run '^$' -bench Scale -benchtime 1x ./cmd/cpsstack
func BenchmarkScale(b *testing.B) {
	modules := envInt(b, "CPSMM_SCALE_MODULES", 1000)
	kills := envInt(b, "CPSMM_SCALE_KILLS", 5)
	parallel := envInt(b, "CPSMM_SCALE_PARALLEL", 16)
	window := 10 * time.Minute
	if v := os.Getenv("CPSMM_SCALE_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("CPSMM_SCALE_WINDOW=%q: want a positive duration", v)
		}
		window = d
	}
	stacks := (modules + 2) / 3
	for i := 0; i < b.N; i++ {
		bin := buildCLI(b)
		dir, err := os.MkdirTemp("", "cpsscale-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		file := filepath.Join(dir, "lab.yaml")
		if err := os.WriteFile(file, []byte(labText(b, "scale", stacks, 3, 0, "")), 0o600); err != nil {
			b.Fatal(err)
		}
		lab, err := labfile.Load(file)
		if err != nil {
			b.Fatal(err)
		}
		run := filepath.Join(dir, "run")
		labCLI := func(args ...string) (string, error) {
			cmd := exec.Command(filepath.Join(bin, "cpsstack"), append([]string{"lab", args[0], "-run", run}, args[1:]...)...)
			cmd.Stderr = os.Stderr // progress
			out, err := cmd.Output()
			return string(out), err
		}

		// Bring-up.
		start := time.Now()
		out, err := labCLI("up", "-parallel", strconv.Itoa(parallel), file)
		took := time.Since(start)
		b.Cleanup(func() {
			if out, err := labCLI("down"); err != nil {
				b.Logf("lab down: %v\n%s", err, out)
			}
		})
		fmt.Print(out)
		if err != nil {
			st, _ := labCLI("status")
			summary := st
			if i := strings.LastIndex(st, "\nSTACK "); i > 0 {
				summary = st[:i] // the per-stack part
			}
			// Not every stack settled: which did, and what the others lack.
			b.Fatalf("lab up of %d modules: %v\n%s", lab.Modules, err, summary)
		}

		// Every process of the lab, by kind.
		type measured struct {
			kind string
			pid  int
		}
		var procs []measured
		for _, s := range lab.Stacks {
			ps, err := readProcs(filepath.Join(run, s.Name))
			if err != nil {
				b.Fatal(err)
			}
			for _, p := range ps {
				procs = append(procs, measured{p.kind, p.pid})
			}
		}
		kinds := []string{"module", "snmpd", "chassis"}

		// Settled: a holdtime and more after the last stack came up.
		time.Sleep(5 * time.Second)
		pss := map[string]int64{}
		var pssAll int64
		for _, p := range procs {
			kb := pssKB(b, p.pid)
			pss[p.kind] += kb
			pssAll += kb
		}

		// The idle window: roles before and after, CPU and the machine's
		// busy fraction during it.
		roles0 := labRoles(b, lab, run)
		cpu0 := map[string]time.Duration{}
		for _, p := range procs {
			cpu0[p.kind] += cpuTime(p.pid)
		}
		busy0, total0 := machineTicks(b)
		wStart := time.Now()
		time.Sleep(window) // the observation window itself
		wall := time.Since(wStart)
		busy1, total1 := machineTicks(b)
		cpu1 := map[string]time.Duration{}
		var cpuAll time.Duration
		for _, p := range procs {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", p.pid)); err != nil {
				b.Fatalf("%s (pid %d) died while idle", p.kind, p.pid)
			}
			cpu1[p.kind] += cpuTime(p.pid)
		}
		for _, k := range kinds {
			cpuAll += cpu1[k] - cpu0[k]
		}
		roles1 := labRoles(b, lab, run)
		var changes []string
		for k, r0 := range roles0 {
			if r1 := roles1[k]; r1 != r0 {
				changes = append(changes, fmt.Sprintf("%s: %s -> %s", k, r0, r1))
			}
		}
		perModule := pct(cpuAll, wall) / float64(lab.Modules)
		busy := 100 * float64(busy1-busy0) / float64(total1-total0)

		// One stack's failover while the rest idle.
		ks := lab.Stacks[len(lab.Stacks)/2]
		s := attachStack(b, bin, filepath.Join(run, ks.Name), filepath.Join(run, ks.Name, "stack.yaml"), ks.Stack.Modules)
		p, _ := s.waitPrimary(-1, 30*time.Second)
		var failover []time.Duration
		for k := 0; k < kills; k++ {
			name := ks.Stack.Modules[p].Name
			if err := syscall.Kill(s.pid(name), syscall.SIGKILL); err != nil {
				b.Fatal(err)
			}
			q, d := s.waitPrimary(p, 30*time.Second)
			failover = append(failover, d)
			if out, err := s.cli("restore", name); err != nil {
				b.Fatalf("restore: %v\n%s", err, out)
			}
			s.waitAnswers(p)
			p = q
		}

		fmt.Printf("scale: %d modules in %d stacks of 3 (default timers 1s/3s, no converters), %d CPUs\n", lab.Modules, stacks, runtime.NumCPU())
		fmt.Printf("  bring-up (lab up -parallel %d): %s, %.1f modules/s\n", parallel, took.Round(100*time.Millisecond), float64(lab.Modules)/took.Seconds())
		fmt.Printf("  PSS per module, everything included: %.2f MB (cpsmm %.2f, snmpd %.2f, chassis per module %.2f); all %.0f MB\n",
			mb(pssAll)/float64(lab.Modules), mb(pss["module"])/float64(lab.Modules), mb(pss["snmpd"])/float64(lab.Modules),
			mb(pss["chassis"])/float64(lab.Modules), mb(pssAll))
		fmt.Printf("  idle CPU over %s: %.3f %% of one core per module (cpsmm %.3f, snmpd %.3f, chassis %.3f); all %.1f %% of one core; machine busy %.1f %% of all cores (other work included)\n",
			wall.Round(time.Second), perModule, pct(cpu1["module"]-cpu0["module"], wall)/float64(lab.Modules),
			pct(cpu1["snmpd"]-cpu0["snmpd"], wall)/float64(lab.Modules), pct(cpu1["chassis"]-cpu0["chassis"], wall)/float64(lab.Modules),
			pct(cpuAll, wall), busy)
		if perModule > 0 {
			fmt.Printf("  CPU knee: %d cores / %.3f %% per module = %.0f idle modules\n", runtime.NumCPU(), perModule, float64(runtime.NumCPU())*100/perModule)
		}
		fmt.Printf("  false failovers over %s (role changes, no fault): %d (target 0) %s\n", wall.Round(time.Second), len(changes), strings.Join(changes, "; "))
		fmt.Printf("  kill -9 of one stack's Primary module while the rest idle (%d kills): p50 %s, max %s\n", kills,
			percentile(failover, 0.5).Round(10*time.Millisecond), percentile(failover, 1).Round(10*time.Millisecond))
		b.ReportMetric(float64(lab.Modules)/took.Seconds(), "modules/s")
		b.ReportMetric(mb(pssAll)/float64(lab.Modules), "MB-PSS/module")
		b.ReportMetric(perModule, "%core/module")
		b.ReportMetric(float64(len(changes)), "false-failovers")
		b.ReportMetric(float64(percentile(failover, 0.5).Milliseconds()), "failover-p50-ms")
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func mb(kb int64) float64 { return float64(kb) / 1024 }

// pssKB is a process's proportional set size in kB, from
// /proc/PID/smaps_rollup.
func pssKB(b *testing.B, pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("smaps_rollup of %d: %q", pid, sc.Text())
			}
			return n
		}
	}
	b.Fatalf("smaps_rollup of %d: no Pss line", pid)
	return 0
}

// labRoles is every module's role and last role change, from its control
// socket, keyed STACK/MODULE.
func labRoles(b *testing.B, lab *labfile.Lab, run string) map[string]string {
	out := map[string]string{}
	var mu sync.Mutex
	eachStack(len(lab.Stacks), 32, func(i int) {
		s := lab.Stacks[i]
		for _, m := range s.Stack.Modules {
			var n *member.Status
			var err error
			for try := 0; try < 3; try++ {
				if n, _, err = negotiationOf(filepath.Join(run, s.Name, m.Name, "control.sock")); err == nil {
					break
				}
			}
			v := "no answer: " + fmt.Sprint(err)
			if err == nil {
				v = n.Role + " since " + n.LastChange.Format(time.RFC3339Nano)
			}
			mu.Lock()
			out[s.Name+"/"+m.Name] = v
			mu.Unlock()
		}
	})
	return out
}

// attachStack is a testStack over a stack already running in run,
// brought up from file.
func attachStack(t testing.TB, bin, run, file string, mods []stackfile.Module) *testStack {
	t.Helper()
	s := &testStack{t: t, bin: bin, run: run, file: file}
	for _, m := range mods {
		s.addrs = append(s.addrs, m.SNMP.String())
		ap := netip.MustParseAddrPort(m.SNMP.String())
		g := &gosnmp.GoSNMP{Target: ap.Addr().String(), Port: ap.Port(), Community: "public", Version: gosnmp.Version2c,
			Timeout: 200 * time.Millisecond, Retries: 0}
		if err := g.Connect(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Conn.Close() })
		s.gs = append(s.gs, g)
	}
	return s
}
