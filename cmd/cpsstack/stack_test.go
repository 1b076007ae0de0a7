package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/cpsmm/cpsmm/stack/stackfile"
)

// testStack is a real stack started with the cpsstack binary: a chassis,
// and one snmpd and one cpsmm per module, m1, m2, m3… in cabinet 1, slots
// 1, 2, 3…, MACs base+1, base+2… (so m1 has the lowest). Each stack has a
// fresh random key and MAC base: two test runs at once never take each
// other's adverts for their own.
type testStack struct {
	t     testing.TB
	bin   string
	run   string
	file  string
	text  string
	addrs []string // SNMP addresses; module i is m(i+1)
	// address is the stack address, when the stack file names one and the
	// helper that wrote it says so.
	address string
	gs      []*gosnmp.GoSNMP
}

const (
	oidCpsIsPrimary = ".1.3.6.1.4.1.868.2.4.2.2.3.3.0"
	oidCpsmm100     = ".1.3.6.1.4.1.868.2.4.1.2.2.1.1"
)

// startStack builds the binaries and brings a stack up, one module per
// entry of wants (their cpsmm100WantPrimary).
func startStack(t testing.TB, hello, hold time.Duration, wants ...string) *testStack {
	t.Helper()
	return startStackWith(t, hello, hold, "", wants...)
}

// startStackWith is startStack with more of the stack file: extra is
// appended to it (devices, traps); unless it starts with its own
// "cabinets:", the stack has one cabinet, 1 (a cpsmc1800). The devices
// are polled every hello/2, or at the stack file's minimum poll if that is
// longer (hello 100 ms).
func startStackWith(t testing.TB, hello, hold time.Duration, extra string, wants ...string) *testStack {
	t.Helper()
	return startStackExtra(t, hello, hold, func(map[int]bool) string { return extra }, wants...)
}

// startStackExtra is startStackWith whose extra text is made once the
// modules' ports are taken (taken: ports and their + 1000), so that it can
// take free ports of its own.
func startStackExtra(t testing.TB, hello, hold time.Duration, extraOf func(taken map[int]bool) string, wants ...string) *testStack {
	t.Helper()
	key, base := stackIdentity(t, len(wants))
	taken := map[int]bool{}
	var mods strings.Builder
	var addrs []string
	for i, w := range wants {
		p := freePortPair(t, taken)
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", p))
		mac := append(net.HardwareAddr(nil), base...)
		mac[5] += byte(i + 1)
		fmt.Fprintf(&mods, "  - {name: m%d, cabinet: 1, slot: %d, mac: \"%s\", ip: 192.0.2.1%d, mask: 255.255.255.0, gateway: 192.0.2.1, snmp: \"127.0.0.1:%d\", want_primary: %s}\n",
			i+1, i+1, mac, i+1, p, w)
	}
	extra := extraOf(taken)
	cabinets := "cabinets:\n  - {bia: 1, model: cpsmc1800}\n"
	if strings.HasPrefix(extra, "cabinets:") {
		cabinets = "" // extra declares them
	}
	text := fmt.Sprintf("stack: test\nkey: %q\ntimers: {hello: %s, holdtime: %s, poll: %s}\n%smodules:\n%s%s",
		key, hello, hold, max(hello/2, stackfile.MinPoll), cabinets, mods.String(), extra)
	return launchStack(t, text, addrs)
}

// launchStack builds the binaries, writes text as the stack file (a stack
// named "test") and brings it up; addrs are the SNMP addresses of its
// modules m1, m2… in order.
func launchStack(t testing.TB, text string, addrs []string) *testStack {
	t.Helper()
	bin := t.TempDir()
	for _, c := range []string{"cpsstack", "cpsmm"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, c), "../"+c).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", c, err, out)
		}
	}
	dir, err := os.MkdirTemp("", "cpsstack-") // short paths for unix sockets
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &testStack{t: t, bin: bin, run: filepath.Join(dir, "run"), file: filepath.Join(dir, "stack.yaml"), text: text, addrs: addrs}
	if err := os.WriteFile(s.file, []byte(s.text), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := s.cli("up")
	t.Cleanup(func() { _, _ = s.cli("down") })
	if err != nil {
		logs, _ := exec.Command("sh", "-c", "tail -n 20 "+s.run+"/*/cpsmm.log").CombinedOutput()
		t.Fatalf("up: %v\n%s\n%s", err, out, logs)
	}
	for _, a := range s.addrs {
		ap := netip.MustParseAddrPort(a)
		g := &gosnmp.GoSNMP{Target: ap.Addr().String(), Port: ap.Port(), Community: "public", Version: gosnmp.Version2c,
			Timeout: 200 * time.Millisecond, Retries: 0}
		if err := g.Connect(); err != nil {
			t.Fatal(err)
		}
		s.gs = append(s.gs, g)
	}
	return s
}

// stackIdentity returns a fresh random stack key and a random MAC base
// (Transition Networks' OUI 00:c0:f2) with room for n modules above it.
func stackIdentity(t testing.TB, n int) (string, net.HardwareAddr) {
	t.Helper()
	var b [16 + 3]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	if n > 0x40 {
		t.Fatalf("%d modules: more than a MAC base leaves room for", n)
	}
	base := net.HardwareAddr{0x00, 0xc0, 0xf2, b[16], b[17], b[18] & 0x3f}
	return hex.EncodeToString(b[:16]), base
}

// cli runs cpsstack CMD [-flags] -run RUN FILE [operands...].
func (s *testStack) cli(args ...string) (string, error) {
	a := []string{args[0], "-run", s.run}
	rest := args[1:]
	for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
		a, rest = append(a, rest[0]), rest[1:]
	}
	a = append(append(a, s.file), rest...)
	out, err := exec.Command(filepath.Join(s.bin, "cpsstack"), a...).CombinedOutput()
	return string(out), err
}

// snmp runs a net-snmp tool with our MIBs against module i.
func (s *testStack) snmp(tool string, i int, community string, args ...string) (string, error) {
	base := os.Getenv("CPSMM_BASE_MIBS")
	if base == "" {
		base = "/usr/share/snmp/mibs/ietf"
	}
	repo, _ := filepath.Abs("../../MIBs")
	all := []string{"-M", repo + ":" + base + ":/usr/share/snmp/mibs", "-m", "SNMPv2-MIB:MCC16-MIB:CPSMM-EMULATOR-MIB",
		"-v2c", "-t", "3", "-r", "1"}
	// Options first (net-snmp's own parser stops at the agent's address).
	for len(args) > 0 && strings.HasPrefix(args[0], "-I") {
		all, args = append(all, args[0]), args[1:]
	}
	all = append(all, "-c", community, s.addrs[i])
	all = append(all, args...)
	out, err := exec.Command(tool, all...).CombinedOutput()
	return string(out), err
}

// primary reports whether module i's agent answers cpsIsPrimary yes(1)
// (false when it does not answer).
func (s *testStack) primary(i int) (bool, error) {
	res, err := s.gs[i].Get([]string{oidCpsIsPrimary})
	if err != nil {
		return false, err
	}
	if len(res.Variables) != 1 || res.Variables[0].Type != gosnmp.Integer {
		return false, fmt.Errorf("cpsIsPrimary: %v", res.Variables)
	}
	return gosnmp.ToBigInt(res.Variables[0].Value).Int64() == 1, nil
}

// waitPrimary waits until a module other than skip (-1: any) answers
// Primary, and returns it and how long that took.
func (s *testStack) waitPrimary(skip int, limit time.Duration) (int, time.Duration) {
	s.t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		for i := range s.addrs {
			// The skipped module is not asked: a stopping module may keep
			// its snmpd waiting, and each wait would add to the time.
			if i == skip {
				continue
			}
			if p, _ := s.primary(i); p {
				return i, time.Since(start)
			}
		}
	}
	st, _ := s.cli("status")
	s.t.Fatalf("no Primary (other than %d) within %s:\n%s", skip, limit, st)
	return -1, 0
}

// pid returns module name's process ID (0 if there is none).
func (s *testStack) pid(name string) int {
	p, _ := procOf(s.run, "module", name)
	return p.pid
}

// sample is one SNMP observation of a module's role: the value was read
// at some instant between sent and got.
type sample struct {
	sent, got time.Time
	primary   bool
}

// roleWatch samples every module's cpsIsPrimary as fast as its agent
// answers, each module on its own manager, until stop.
type roleWatch struct {
	mu      sync.Mutex
	samples [][]sample
	stop    chan struct{}
	wg      sync.WaitGroup
	// ready is closed once every module has been sampled twice: a run of
	// two Primary samples is the shortest certain interval (see finish),
	// so the roles at the start are on record before the caller acts.
	ready chan struct{}
}

// readyRounds is how many samples of every module make a watch ready.
const readyRounds = 2

// waitReady waits until the watch has sampled every module readyRounds
// times; the caller acts only then.
func (w *roleWatch) waitReady(t testing.TB, limit time.Duration) {
	t.Helper()
	select {
	case <-w.ready:
	case <-time.After(limit):
		w.mu.Lock()
		n := make([]int, len(w.samples))
		for i, ss := range w.samples {
			n[i] = len(ss)
		}
		w.mu.Unlock()
		t.Fatalf("the role watch took %d samples per module in %s, want %d of each", n, limit, readyRounds)
	}
}

// waitSampledSince waits until the watch has a sample of every module sent
// after since (the outcome is in the samples); false if not within limit.
func (w *roleWatch) waitSampledSince(since time.Time, limit time.Duration) bool {
	for deadline := time.Now().Add(limit); ; time.Sleep(10 * time.Millisecond) {
		w.mu.Lock()
		n := 0
		for _, ss := range w.samples {
			if len(ss) > 0 && ss[len(ss)-1].sent.After(since) {
				n++
			}
		}
		w.mu.Unlock()
		if n == len(w.samples) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func (s *testStack) watchRoles() *roleWatch {
	w := &roleWatch{samples: make([][]sample, len(s.addrs)), stop: make(chan struct{}), ready: make(chan struct{})}
	var readyOnce sync.Once
	for i, g := range s.gs {
		// A manager of its own: gosnmp clients are not safe for concurrent use.
		mine := &gosnmp.GoSNMP{Target: g.Target, Port: g.Port, Community: g.Community, Version: g.Version,
			Timeout: g.Timeout, Retries: g.Retries}
		if err := mine.Connect(); err != nil {
			s.t.Fatal(err)
		}
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			defer mine.Conn.Close()
			for {
				select {
				case <-w.stop:
					return
				default:
				}
				smp, ok := sampleRole(mine)
				if !ok {
					continue
				}
				w.mu.Lock()
				w.samples[i] = append(w.samples[i], smp)
				full := true
				for _, ss := range w.samples {
					full = full && len(ss) >= readyRounds
				}
				w.mu.Unlock()
				if full {
					readyOnce.Do(func() { close(w.ready) })
				}
			}
		}()
	}
	return w
}

// interval is a stretch of time during which a module was certainly Primary.
type interval struct {
	module   int
	from, to time.Time
}

// finish stops the sampling and returns, per module, the stretches during
// which it was certainly Primary: from the latest instant the first of a
// run of consecutive Primary samples could have been read to the earliest
// the last could.
func (w *roleWatch) finish() []interval {
	close(w.stop)
	w.wg.Wait()
	var out []interval
	for i, ss := range w.samples {
		for j := 0; j < len(ss); {
			if !ss[j].primary {
				j++
				continue
			}
			k := j
			for k+1 < len(ss) && ss[k+1].primary {
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

// overlaps returns a description of every two modules certainly Primary
// at the same time.
func overlaps(iv []interval) []string {
	var out []string
	for a := range iv {
		for b := a + 1; b < len(iv); b++ {
			x, y := iv[a], iv[b]
			if x.module != y.module && x.from.Before(y.to) && y.from.Before(x.to) {
				out = append(out, fmt.Sprintf("m%d and m%d both Primary from %s to %s", x.module+1, y.module+1,
					later(x.from, y.from).Format("15:04:05.000"), earlier(x.to, y.to).Format("15:04:05.000")))
			}
		}
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// waitAnswers waits until module i's agent answers cpsIsPrimary.
func (s *testStack) waitAnswers(i int) {
	s.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := s.primary(i); err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("m%d does not answer", i+1)
		}
	}
}

// partitionHeal isolates the Primary p from the others until they have
// elected a Primary of their own, then heals the partition and returns how
// long two modules went on answering Primary after it.
func (s *testStack) partitionHeal(p int, hold time.Duration) time.Duration {
	s.t.Helper()
	name := fmt.Sprintf("m%d", p+1)
	if out, err := s.cli("fail", name, "isolate"); err != nil {
		s.t.Fatalf("isolate: %v\n%s", err, out)
	}
	s.waitPrimary(p, 30*time.Second)
	if pr, _ := s.primary(p); !pr {
		s.t.Fatalf("isolated m%d is no longer Primary: no partition", p+1)
	}
	start := time.Now()
	if out, err := s.cli("restore", name); err != nil {
		s.t.Fatalf("restore: %v\n%s", err, out)
	}
	for deadline := start.Add(10 * hold); ; {
		n := 0
		for i := range s.addrs {
			if pr, _ := s.primary(i); pr {
				n++
			}
		}
		if n == 1 {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			st, _ := s.cli("status")
			s.t.Fatalf("%d Primaries %s after the partition healed:\n%s", n, 10*hold, st)
		}
	}
}

// chassisPid returns the chassis process's ID.
func (s *testStack) chassisPid() int {
	p, _ := procOf(s.run, "chassis", "test")
	return p.pid
}

// sampleRole asks one module for cpsIsPrimary.0 and returns the sample,
// or false when it did not answer with an integer.
func sampleRole(g *gosnmp.GoSNMP) (sample, bool) {
	sent := time.Now()
	res, err := g.Get([]string{oidCpsIsPrimary})
	if err != nil || len(res.Variables) != 1 || res.Variables[0].Type != gosnmp.Integer {
		return sample{}, false
	}
	return sample{sent: sent, got: time.Now(), primary: gosnmp.ToBigInt(res.Variables[0].Value).Int64() == 1}, true
}
