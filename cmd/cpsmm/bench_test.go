package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/cpsmm/cpsmm/agent/snmpd"
)

// moduleSubtree is what the walks of a module cover.
const moduleSubtree = "1.3.6.1.4.1.868.2.4"

// BenchmarkWalkRates measures walk throughput through snmpd, in varbinds per
// second, all in one run so the figures share the machine's conditions:
//
//   - native:   snmpd walking its own subtree 1.3.6.1.6.3 (no subagent);
//   - cpsmm:    snmpd walking 1.3.6.1.4.1.868.2.4 served by our subagent;
//   - C:        the same instances (dumped from the module) served by
//     agent/cref/cagent.c, a minimal AgentX subagent in C built here with
//     the system compiler (one read(2) and one write(2) per request),
//     behind an identical snmpd: the ceiling of any subagent here;
//   - pyagentx: the same instances served by Debian's python3-pyagentx
//     behind an identical snmpd (skipped if /usr/bin/python3 lacks it);
//   - 10 × cpsmm and 10 × C: ten modules (each with its snmpd) walked at
//     once by ten clients, and ten C subagents likewise; the sum.
//
// Each is walked with GETNEXT and with GETBULK (max-repetitions 10, the
// net-snmp snmpbulkwalk default) by gosnmp, in CPSMM_BENCH_ROUNDS rounds
// (default 5) of CPSMM_BENCH_ROUND each (default 1.5s), interleaved (each
// round visits every target, in an order rotated per round); medians are
// reported, with each subagent's and snmpd's CPU per varbind (the sum of
// /proc/PID/task/*/schedstat run times over the rounds, divided by the
// varbinds walked) and the machine's busy fraction from /proc/stat, during
// the rounds and in the 2 s before them. Targets (issue 11): cpsmm ≥ 0.9 ×
// C for GETNEXT and GETBULK, single walk and ten at once.
//
//	go test -run '^$' -bench WalkRates -benchtime 1x ./cmd/cpsmm
func BenchmarkWalkRates(b *testing.B) {
	rounds := 5
	if s := os.Getenv("CPSMM_BENCH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("CPSMM_BENCH_ROUNDS=%q: want a positive number", s)
		}
		rounds = n
	}
	round := 1500 * time.Millisecond
	if s := os.Getenv("CPSMM_BENCH_ROUND"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			b.Fatalf("CPSMM_BENCH_ROUND=%q: want a positive duration", s)
		}
		round = d
	}
	const fleet = 10
	cagent := buildCAgent(b)

	rigs := []*rig{newRig(b, demoArgs...)}
	inst := dumpInstances(b, rigs[0])
	for len(rigs) < fleet {
		rigs = append(rigs, newRig(b, demoArgs...))
	}
	var crefs []endpoint
	for len(crefs) < fleet {
		crefs = append(crefs, startCAgent(b, cagent, inst))
	}
	var cpsmms []endpoint
	for _, r := range rigs {
		cpsmms = append(cpsmms, endpoint{addr: r.addr, root: moduleSubtree, snmpd: r.snmpd.Pid(), agent: r.mod.Process.Pid})
	}
	targets := []target{
		{"native", []endpoint{{addr: rigs[0].addr, root: "1.3.6.1.6.3", snmpd: rigs[0].snmpd.Pid()}}},
		{"cpsmm", cpsmms[:1]},
		{"C", crefs[:1]},
	}
	if py, ok := startPyAgentX(b, inst); ok {
		targets = append(targets, target{"pyagentx", []endpoint{py}})
	}
	targets = append(targets, target{fmt.Sprintf("%d × cpsmm", fleet), cpsmms}, target{fmt.Sprintf("%d × C", fleet), crefs})

	type result struct {
		rates              []float64
		walked             float64
		agentCPU, snmpdCPU time.Duration
	}
	res := map[string]*result{}
	key := func(name string, bulk bool) string {
		if bulk {
			return name + " GETBULK"
		}
		return name + " GETNEXT"
	}
	for _, tg := range targets {
		for _, bulk := range []bool{false, true} {
			res[key(tg.name, bulk)] = &result{}
		}
	}
	for i := 0; i < b.N; i++ {
		before0 := readMachineTicks(b)
		time.Sleep(2 * time.Second)
		before1 := readMachineTicks(b)
		start := before1
		for rnd := 0; rnd < rounds; rnd++ {
			for j := range targets {
				tg := targets[(j+rnd)%len(targets)]
				for _, bulk := range []bool{rnd%2 == 1, rnd%2 == 0} {
					r := res[key(tg.name, bulk)]
					a0, s0 := tg.cpu()
					rate, n, err := tg.walk(bulk, round)
					if err != nil {
						b.Fatalf("%s: %v", key(tg.name, bulk), err)
					}
					a1, s1 := tg.cpu()
					r.rates = append(r.rates, rate)
					r.walked += float64(n)
					r.agentCPU += a1 - a0
					r.snmpdCPU += s1 - s0
				}
			}
		}
		end := readMachineTicks(b)

		med := map[string]float64{}
		for k, r := range res {
			med[k] = median(r.rates)
		}
		fmt.Printf("\nwalk rates, varbinds/s: median of %d interleaved rounds of %s; machine busy %.0f %% during the rounds, %.0f %% in the 2 s before them\n",
			rounds, round, 100*end.busySince(start), 100*before1.busySince(before0))
		fmt.Printf("  %-11s %9s %9s   %-24s %s\n", "", "GETNEXT", "GETBULK", "subagent CPU/varbind", "snmpd CPU/varbind (GETNEXT / GETBULK)")
		for _, tg := range targets {
			n, k := res[key(tg.name, false)], res[key(tg.name, true)]
			agent := "-"
			if tg.eps[0].agent != 0 {
				agent = fmt.Sprintf("%.1f µs / %.1f µs", perVarbind(n.agentCPU, n.walked), perVarbind(k.agentCPU, k.walked))
			}
			fmt.Printf("  %-11s %9.0f %9.0f   %-24s %.1f µs / %.1f µs\n", tg.name, med[key(tg.name, false)], med[key(tg.name, true)],
				agent, perVarbind(n.snmpdCPU, n.walked), perVarbind(k.snmpdCPU, k.walked))
		}
		ratio := func(a, c string, bulk bool) float64 { return med[key(a, bulk)] / med[key(c, bulk)] }
		// The same ratio round by round (both measured in the same round):
		// how much the machine moved it.
		spread := func(a, c string, bulk bool) string {
			ra, rc := res[key(a, bulk)].rates, res[key(c, bulk)].rates
			lo, hi := ra[0]/rc[0], ra[0]/rc[0]
			for i := range ra {
				lo, hi = min(lo, ra[i]/rc[i]), max(hi, ra[i]/rc[i])
			}
			return fmt.Sprintf("%.2f–%.2f", lo, hi)
		}
		fl, fc := targets[len(targets)-2].name, targets[len(targets)-1].name
		fmt.Printf("  cpsmm / C, single walk:        GETNEXT %.2f, GETBULK %.2f (target ≥ 0.9; per round %s, %s)\n",
			ratio("cpsmm", "C", false), ratio("cpsmm", "C", true), spread("cpsmm", "C", false), spread("cpsmm", "C", true))
		fmt.Printf("  cpsmm / C, %d modules at once: GETNEXT %.2f, GETBULK %.2f (target ≥ 0.9; per round %s, %s)\n",
			fleet, ratio(fl, fc, false), ratio(fl, fc, true), spread(fl, fc, false), spread(fl, fc, true))
		fmt.Printf("  C / native GETNEXT %.2f; cpsmm / native GETNEXT %.2f\n", ratio("C", "native", false), ratio("cpsmm", "native", false))
		if _, ok := med[key("pyagentx", true)]; ok {
			fmt.Printf("  GETBULK / pyagentx GETBULK: cpsmm %.2f, C %.2f\n", ratio("cpsmm", "pyagentx", true), ratio("C", "pyagentx", true))
		}
		b.ReportMetric(ratio("cpsmm", "C", false), "getnext-cpsmm/C")
		b.ReportMetric(ratio("cpsmm", "C", true), "getbulk-cpsmm/C")
		b.ReportMetric(ratio(fl, fc, false), "fleet-getnext-cpsmm/C")
		b.ReportMetric(ratio(fl, fc, true), "fleet-getbulk-cpsmm/C")
		b.ReportMetric(med[key("cpsmm", false)], "cpsmm-getnext-vb/s")
		b.ReportMetric(med[key("cpsmm", true)], "cpsmm-getbulk-vb/s")
	}
}

// endpoint is one snmpd to walk: its address, the subtree, the pids whose
// CPU is counted (agent 0: snmpd serves the subtree itself).
type endpoint struct {
	addr, root   string
	snmpd, agent int
}

// target is one line of the results: one endpoint, or several walked at
// once and summed.
type target struct {
	name string
	eps  []endpoint
}

// walk walks every endpoint at once for about d; it returns the summed
// rate and the varbinds walked.
func (tg target) walk(bulk bool, d time.Duration) (float64, int, error) {
	var wg sync.WaitGroup
	rates := make([]float64, len(tg.eps))
	counts := make([]int, len(tg.eps))
	errs := make([]error, len(tg.eps))
	for i, ep := range tg.eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rates[i], counts[i], errs[i] = walkRate(ep.addr, ep.root, bulk, d)
		}()
	}
	wg.Wait()
	var rate float64
	var n int
	for i := range tg.eps {
		rate += rates[i]
		n += counts[i]
	}
	return rate, n, errors.Join(errs...)
}

// cpu returns the CPU time used so far by the target's subagents and by
// its snmpds.
func (tg target) cpu() (agent, sd time.Duration) {
	for _, ep := range tg.eps {
		if ep.agent != 0 {
			agent += taskCPU(ep.agent)
		}
		sd += taskCPU(ep.snmpd)
	}
	return agent, sd
}

func perVarbind(cpu time.Duration, walked float64) float64 {
	if walked == 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / walked
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// walkRate walks root repeatedly for about d and returns varbinds/s and
// the varbinds walked.
func walkRate(addr, root string, bulk bool, d time.Duration) (float64, int, error) {
	host, port, _ := net.SplitHostPort(addr)
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return 0, 0, fmt.Errorf("address %s: %w", addr, err)
	}
	g := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Community: "public", Version: gosnmp.Version2c,
		Timeout: 3 * time.Second, Retries: 1, MaxRepetitions: 10}
	if err := g.Connect(); err != nil {
		return 0, 0, fmt.Errorf("connect %s: %w", addr, err)
	}
	defer g.Conn.Close()
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		var pdus []gosnmp.SnmpPDU
		if bulk {
			pdus, err = g.BulkWalkAll(root)
		} else {
			pdus, err = g.WalkAll(root)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("walk %s on %s: %w", root, addr, err)
		}
		if len(pdus) == 0 {
			return 0, 0, fmt.Errorf("walk %s on %s returned nothing", root, addr)
		}
		n += len(pdus)
	}
	return float64(n) / time.Since(start).Seconds(), n, nil
}

// taskCPU is the CPU time all threads of a process have run so far: the
// first field of /proc/PID/task/*/schedstat, in nanoseconds (finer than
// the clock ticks of utime and stime). 0 if the process is gone.
func taskCPU(pid int) time.Duration {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum time.Duration
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		first, _, _ := strings.Cut(string(b), " ")
		ns, _ := strconv.ParseInt(first, 10, 64)
		sum += time.Duration(ns)
	}
	return sum
}

// machineTicks are the busy and total jiffies of all CPUs so far.
type machineTicks struct{ busy, total uint64 }

// readMachineTicks reads the "cpu" line of /proc/stat (idle and iowait are
// not busy).
func readMachineTicks(b testing.TB) machineTicks {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		b.Fatalf("/proc/stat: unexpected first line %q", line)
	}
	var t machineTicks
	for i, s := range f[1:] {
		v, _ := strconv.ParseUint(s, 10, 64)
		t.total += v
		if i != 3 && i != 4 { // idle, iowait
			t.busy += v
		}
	}
	return t
}

// busySince is the busy fraction of all CPUs between then and t.
func (t machineTicks) busySince(then machineTicks) float64 {
	if t.total == then.total {
		return 0
	}
	return float64(t.busy-then.busy) / float64(t.total-then.total)
}

// dumpInstances walks the module's subtree through r's snmpd: the
// instances the references serve.
func dumpInstances(b testing.TB, r *rig) []gosnmp.SnmpPDU {
	g := r.gosnmp("public")
	g.MaxRepetitions = 10
	pdus, err := g.BulkWalkAll(moduleSubtree)
	if err != nil {
		b.Fatal(err)
	}
	if len(pdus) == 0 {
		b.Fatal("the module's walk is empty")
	}
	return pdus
}

// cInstances renders the instances for cagent: "OID TYPE VALUE" with the
// AgentX type number (the same as the BER tag gosnmp reports).
func cInstances(pdus []gosnmp.SnmpPDU) (string, error) {
	var sb strings.Builder
	for _, p := range pdus {
		var val string
		switch p.Type {
		case gosnmp.Integer, gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Counter64, gosnmp.Uinteger32:
			val = gosnmp.ToBigInt(p.Value).String()
		case gosnmp.OctetString, gosnmp.Opaque:
			val = hex.EncodeToString(p.Value.([]byte))
		case gosnmp.IPAddress:
			ip := net.ParseIP(fmt.Sprint(p.Value)).To4()
			if ip == nil {
				return "", fmt.Errorf("%s: IpAddress %v", p.Name, p.Value)
			}
			val = hex.EncodeToString(ip)
		case gosnmp.ObjectIdentifier:
			val = strings.TrimPrefix(fmt.Sprint(p.Value), ".")
		default:
			return "", fmt.Errorf("%s: type %s not served by cagent", p.Name, p.Type)
		}
		if val == "" {
			val = "-"
		}
		fmt.Fprintf(&sb, "%s %d %s\n", strings.TrimPrefix(p.Name, "."), int(p.Type), val)
	}
	return sb.String(), nil
}

// buildCAgent compiles agent/cref/cagent.c with the system compiler.
func buildCAgent(b testing.TB) string {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	if _, err := exec.LookPath(cc); err != nil {
		b.Fatalf("no C compiler (%s) for the reference subagent: %v (make bench installs gcc)", cc, err)
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "cagent")
	src, _ := filepath.Abs("../../agent/cref/cagent.c")
	if out, err := exec.Command(cc, "-O2", "-Wall", "-o", bin, src).CombinedOutput(); err != nil {
		b.Fatalf("build %s: %v\n%s", src, err, out)
	}
	return bin
}

// refSnmpd starts an snmpd configured like a module's, in a fresh
// directory, for a reference subagent.
func refSnmpd(b testing.TB) (dir, addr string, sd *snmpd.Process) {
	dir, err := os.MkdirTemp("", "cpsmm-ref-") // short: unix socket paths are limited
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	port, err := snmpd.FreeUDPPort()
	if err != nil {
		b.Fatal(err)
	}
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	sd, err = snmpd.Start(context.Background(), snmpd.Options{Dir: dir, UDP: addr})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sd.Stop() })
	return dir, addr, sd
}

// startRef runs a reference subagent's command line in dir, killed with
// its process group at cleanup.
func startRef(b testing.TB, dir, name string, argv ...string) *exec.Cmd {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	logf.Close()
	b.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return cmd
}

// waitServes polls until oid answers through addr.
func waitServes(b testing.TB, addr, oid, dir, name string) {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.ParseUint(port, 10, 16)
	g := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Community: "public", Version: gosnmp.Version2c, Timeout: 500 * time.Millisecond}
	if err := g.Connect(); err != nil {
		b.Fatal(err)
	}
	defer g.Conn.Close()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		res, err := g.Get([]string{oid})
		if err == nil && len(res.Variables) == 1 && res.Variables[0].Type != gosnmp.NoSuchObject && res.Variables[0].Type != gosnmp.NoSuchInstance {
			return
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, name+".log"))
	b.Fatalf("%s reference did not come up:\n%s", name, log)
}

// startCAgent starts an snmpd with cagent serving inst behind it.
func startCAgent(b testing.TB, bin string, inst []gosnmp.SnmpPDU) endpoint {
	text, err := cInstances(inst)
	if err != nil {
		b.Fatal(err)
	}
	dir, addr, sd := refSnmpd(b)
	data := filepath.Join(dir, "instances.txt")
	if err := os.WriteFile(data, []byte(text), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := startRef(b, dir, "cagent", bin, filepath.Join(dir, "agentx.sock"), moduleSubtree, data)
	waitServes(b, addr, inst[len(inst)-1].Name, dir, "cagent")
	return endpoint{addr: addr, root: moduleSubtree, snmpd: sd.Pid(), agent: cmd.Process.Pid}
}

// startPyAgentX starts a second snmpd with the pyagentx reference subagent
// serving inst; false when python3-pyagentx is not installed.
func startPyAgentX(b testing.TB, inst []gosnmp.SnmpPDU) (endpoint, bool) {
	if err := exec.Command("/usr/bin/python3", "-c", "import pyagentx").Run(); err != nil {
		b.Logf("pyagentx reference skipped: %v", err)
		return endpoint{}, false
	}
	// "OID TYPE VALUE" lines for scripts/pyagentx_ref.py.
	var lines []string
	for _, p := range inst {
		oid := strings.TrimPrefix(p.Name, ".")
		var typ, val string
		switch p.Type {
		case gosnmp.Integer:
			typ, val = "INTEGER", fmt.Sprint(p.Value)
		case gosnmp.OctetString:
			typ, val = "STRING", string(p.Value.([]byte))
		case gosnmp.IPAddress:
			// pyagentx 0.4 encodes an IpAddress as the UTF-8 of its string
			// (not 4 octets); serve a same-sized INTEGER in its place.
			typ, val = "INTEGER", "1"
		case gosnmp.ObjectIdentifier:
			typ, val = "OID", strings.TrimPrefix(fmt.Sprint(p.Value), ".")
		case gosnmp.TimeTicks:
			typ, val = "TIMETICKS", fmt.Sprint(p.Value)
		case gosnmp.Counter32:
			typ, val = "COUNTER32", fmt.Sprint(p.Value)
		default:
			continue
		}
		lines = append(lines, oid+" "+typ+" "+strings.ReplaceAll(val, "\n", " "))
	}
	dir, addr, sd := refSnmpd(b)
	data := filepath.Join(dir, "instances.txt")
	if err := os.WriteFile(data, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	script, _ := filepath.Abs("../../scripts/pyagentx_ref.py")
	cmd := startRef(b, dir, "pyagentx", "/usr/bin/python3", script, filepath.Join(dir, "agentx.sock"), data)
	waitServes(b, addr, strings.Fields(lines[len(lines)-1])[0], dir, "pyagentx")
	return endpoint{addr: addr, root: moduleSubtree, snmpd: sd.Pid(), agent: cmd.Process.Pid}, true
}

// TestCAgentServesTheModulesWalk: the C reference subagent, loaded with a
// module's instances, answers walks exactly as the module does, so the
// benchmark compares like with like.
func TestCAgentServesTheModulesWalk(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpds")
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	if _, err := exec.LookPath(cc); err != nil {
		t.Skipf("no C compiler: %v", err)
	}
	bin := buildCAgent(t)
	r := newRig(t, demoArgs...)
	inst := dumpInstances(t, r)
	c := startCAgent(t, bin, inst)
	host, port, _ := net.SplitHostPort(c.addr)
	p, _ := strconv.ParseUint(port, 10, 16)
	g := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Community: "public", Version: gosnmp.Version2c,
		Timeout: 3 * time.Second, Retries: 1, MaxRepetitions: 10}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	defer g.Conn.Close()
	for _, bulk := range []bool{false, true} {
		var got []gosnmp.SnmpPDU
		var err error
		if bulk {
			got, err = g.BulkWalkAll(moduleSubtree)
		} else {
			got, err = g.WalkAll(moduleSubtree)
		}
		if err != nil {
			t.Fatalf("walk the C subagent (bulk %v): %v", bulk, err)
		}
		if len(got) != len(inst) {
			t.Fatalf("C subagent walk (bulk %v): %d varbinds, the module's %d", bulk, len(got), len(inst))
		}
		for i := range got {
			w, h := inst[i], got[i]
			if w.Name != h.Name || w.Type != h.Type || fmt.Sprint(w.Value) != fmt.Sprint(h.Value) {
				t.Errorf("varbind %d (bulk %v): C %s %s %v, module %s %s %v", i, bulk, h.Name, h.Type, h.Value, w.Name, w.Type, w.Value)
			}
		}
	}
	// A Get of an instance and of a name that is none.
	res, err := g.Get([]string{inst[0].Name, moduleSubtree + ".0"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Variables[0].Value) != fmt.Sprint(inst[0].Value) || res.Variables[1].Type != gosnmp.NoSuchObject {
		t.Errorf("get: %+v", res.Variables)
	}
}
