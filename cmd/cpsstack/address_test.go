package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/cpsmm/cpsmm/mib"
)

// startAddressStack brings up a stack of modules wanting wants, with a
// stack address on a free port; it returns the stack and the address.
func startAddressStack(t testing.TB, hello, hold time.Duration, wants ...string) (*testStack, string) {
	t.Helper()
	var addr string
	s := startStackExtra(t, hello, hold, func(taken map[int]bool) string {
		addr = fmt.Sprintf("127.0.0.1:%d", freePortPair(t, taken))
		// The incumbent keeps the role: a module restored after a fault
		// stays Standby, so each fault of a series hits the Primary the
		// last one made (with the vendor's rule the restored module with
		// the lowest MAC would take the role back, one more move).
		return fmt.Sprintf("address: %q\nnegotiation: {preempt: false}\n", addr)
	}, wants...)
	return s, addr
}

// snmpAt runs a net-snmp tool with our MIBs against addr.
func snmpAt(tool, addr, community string, args ...string) (string, error) {
	base := os.Getenv("CPSMM_BASE_MIBS")
	if base == "" {
		base = "/usr/share/snmp/mibs/ietf"
	}
	repo, _ := filepath.Abs("../../MIBs")
	all := []string{"-M", repo + ":" + base + ":/usr/share/snmp/mibs", "-m", "SNMPv2-MIB:MCC16-MIB:CPSMM-EMULATOR-MIB",
		"-v2c", "-t", "1", "-r", "2", "-c", community, addr}
	out, err := exec.Command(tool, append(all, args...)...).CombinedOutput()
	return string(out), err
}

// addrSample is one answer through the stack address.
type addrSample struct {
	at      time.Time
	primary int64  // cpsIsPrimary.0; -1 when the answer holds no INTEGER (noSuchObject: the snmpd had no subagent)
	module  string // cpsEmuModuleName.0
}

// addressSampler asks the address for cpsIsPrimary.0 and the module's
// name, back to back, until stop is closed.
func addressSampler(t testing.TB, addr string, stop chan struct{}) func() []addrSample {
	t.Helper()
	reg := mib.DefaultRegistry()
	isPrimary := "." + reg.MustLookup("cpsIsPrimary").OID.Append(0).String()
	name := "." + reg.MustLookup("cpsEmuModuleName").OID.Append(0).String()
	ap := netip.MustParseAddrPort(addr)
	g := &gosnmp.GoSNMP{Target: ap.Addr().String(), Port: ap.Port(), Community: "public", Version: gosnmp.Version2c,
		Timeout: 50 * time.Millisecond, Retries: 0}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []addrSample
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer g.Conn.Close()
		for {
			select {
			case <-stop:
				return
			default:
			}
			res, err := g.Get([]string{isPrimary, name})
			if err != nil || len(res.Variables) != 2 {
				continue
			}
			s := addrSample{at: time.Now(), primary: -1}
			for _, v := range res.Variables {
				switch {
				case v.Name == isPrimary && v.Type == gosnmp.Integer:
					s.primary = gosnmp.ToBigInt(v.Value).Int64()
				case v.Name == name:
					b, _ := v.Value.([]byte)
					s.module = string(b)
				}
			}
			mu.Lock()
			got = append(got, s)
			mu.Unlock()
		}
	}()
	return func() []addrSample {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return got
	}
}

// holderOf returns the module status --json says holds the address.
// holderAfterUp is the module holding the address once the stack is up,
// by name and by number (m1 is 1); the test fails if none does.
func (s *testStack) holderAfterUp(t testing.TB, addr string) (string, int) {
	t.Helper()
	holder := s.holderOf(t, addr)
	var n int
	if _, err := fmt.Sscanf(holder, "m%d", &n); err != nil || n < 1 || n > len(s.addrs) {
		t.Fatalf("the address after up: held by %q", holder)
	}
	return holder, n
}

func (s *testStack) holderOf(t testing.TB, addr string) string {
	t.Helper()
	out, err := s.cli("status", "-json")
	var rows []row
	if err == nil {
		err = json.Unmarshal([]byte(out), &rows)
	}
	if err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	holder := ""
	for _, r := range rows {
		if r.StackAddress != addr {
			t.Errorf("row %s: stack_address %q, want %q", r.Module, r.StackAddress, addr)
		}
		if r.HoldsAddress {
			if holder != "" || r.Role != "primary" {
				t.Errorf("row %s holds the address as %s (also %q)", r.Module, r.Role, holder)
			}
			holder = r.Module
		}
	}
	return holder
}

// addrFault is one fault of the Primary while a sampler watches the
// stack address.
type addrFault struct {
	kind, victim string
	at           time.Time     // the fault's instant
	failover     time.Duration // until a new Primary answered yes on its own address
}

// failPrimary injects kind into module p, the Primary, waits for a new
// Primary (asked on its own address), restores p and waits for it to
// answer again; it returns the fault and the new Primary. kill: SIGKILL of
// the module process and its snmpd; graceful: SIGTERM of the module
// process; hang: SIGSTOP of the module process; link-down: its Ethernet
// link (cpsstack fail).
func (s *testStack) failPrimary(t testing.TB, p int, kind string) (addrFault, int) {
	t.Helper()
	name := fmt.Sprintf("m%d", p+1)
	md, err := procOf(s.run, "module", name)
	if err != nil {
		t.Fatal(err)
	}
	sd, _ := procOf(s.run, "snmpd", name)
	f := addrFault{kind: kind, victim: name, at: time.Now()}
	switch kind {
	case "kill":
		if !md.signal(syscall.SIGKILL) || !sd.signal(syscall.SIGKILL) {
			t.Fatalf("kill %s", name)
		}
	case "graceful":
		if !md.signal(syscall.SIGTERM) {
			t.Fatalf("stop %s", name)
		}
	case "hang":
		if !md.signal(syscall.SIGSTOP) {
			t.Fatalf("hang %s", name)
		}
	case "link-down":
		if out, err := s.cli("fail", name, "link-down"); err != nil {
			t.Fatalf("link-down: %v\n%s", err, out)
		}
	default:
		t.Fatalf("fault %q", kind)
	}
	asked := time.Now()
	q, d := s.waitPrimaryConcurrently(p, 30*time.Second)
	f.failover = asked.Sub(f.at) + d // from the fault, as the gap
	if out, err := s.cli("restore", name); err != nil {
		t.Fatalf("restore %s: %v\n%s", name, err, out)
	}
	s.waitAnswers(p)
	return f, q
}

// addressGaps returns, per fault, how long after it the address first
// answered from another module (0: it never did).
func addressGaps(samples []addrSample, faults []addrFault) []time.Duration {
	gaps := make([]time.Duration, len(faults))
	for i, f := range faults {
		for _, x := range samples {
			if x.at.After(f.at) && x.module != f.victim {
				gaps[i] = x.at.Sub(f.at)
				break
			}
		}
	}
	return gaps
}

// TestStackAddress: with real snmpds, the stack address answers reads,
// walks and Sets exactly as the Primary's own address, errors included;
// status shows who holds it; through a kill -9 of the Primary a sampler
// on the address never sees cpsIsPrimary.0 = no(2), and the address
// answers again from the new Primary. check_snmp (monitoring-plugins),
// when installed, watches it too.
func TestStackAddress(t *testing.T) {
	s, addr := startAddressStack(t, 100*time.Millisecond, 300*time.Millisecond, "yes", "yes", "yes")
	holder, pi := s.holderAfterUp(t, addr)
	primary := s.addrs[pi-1]
	if ok, err := s.primary(pi - 1); !ok {
		t.Fatalf("%s holds the address but does not answer Primary: %v", holder, err)
	}

	// Reads, walks and Sets: what the address answers is what the
	// Primary's own address answers (uptimes aside).
	uptime := regexp.MustCompile(`(?m)^.*(SysUpTime|sysUpTime).*$`)
	same := func(what string, tool, community string, args ...string) {
		t.Helper()
		viaAddr, errA := snmpAt(tool, addr, community, args...)
		viaOwn, errO := snmpAt(tool, primary, community, args...)
		a, o := uptime.ReplaceAllString(viaAddr, ""), uptime.ReplaceAllString(viaOwn, "")
		if a != o || (errA == nil) != (errO == nil) {
			t.Errorf("%s: through the address (%v):\n%s\nthrough the Primary %s (%v):\n%s", what, errA, viaAddr, primary, errO, viaOwn)
		}
	}
	same("get", "snmpget", "public", "MCC16-MIB::cpsIsPrimary.0", "CPSMM-EMULATOR-MIB::cpsEmuModuleName.0", "SNMPv2-MIB::sysObjectID.0")
	same("walk", "snmpwalk", "public", "MCC16-MIB::cpsmm100Table")
	same("bulkwalk", "snmpbulkwalk", "public", "MCC16-MIB::cpsModuleTable")
	same("get of nothing", "snmpget", "public", "MCC16-MIB::cpsIsPrimary.1")
	same("wrongValue", "snmpset", "private", "MCC16-MIB::cpsmm100WantPrimary.1."+fmt.Sprint(pi), "i", "7")
	same("inconsistentValue", "snmpset", "private", "MCC16-MIB::cpsmm100Gateway.1."+fmt.Sprint(pi), "a", "198.51.100.1")
	same("notWritable", "snmpset", "private", "MCC16-MIB::cpsmm100SerialNumber.1."+fmt.Sprint(pi), "i", "5")
	same("read-only community", "snmpset", "public", "MCC16-MIB::cpsmm100SysName.1."+fmt.Sprint(pi), "s", "x")
	if out, err := snmpAt("snmpset", addr, "private", "MCC16-MIB::cpsmm100SysName.1."+fmt.Sprint(pi), "s", "via-address"); err != nil {
		t.Fatalf("set through the address: %v\n%s", err, out)
	}
	if out, _ := snmpAt("snmpget", primary, "public", "MCC16-MIB::cpsmm100SysName.1."+fmt.Sprint(pi)); !strings.Contains(out, "via-address") {
		t.Errorf("the Set through the address does not show on the Primary: %s", out)
	}
	if out, err := s.cli("status"); err != nil || !strings.Contains(out, "stack address "+addr+": held by "+holder) {
		t.Errorf("status: %v\n%s", err, out)
	}

	checkSNMP := "/usr/lib/nagios/plugins/check_snmp"
	check := func() (string, error) {
		ap := netip.MustParseAddrPort(addr)
		out, err := exec.Command(checkSNMP, "-H", ap.Addr().String(), "-p", fmt.Sprint(ap.Port()), "-P", "2c", "-C", "public",
			"-o", oidCpsIsPrimary, "-c", "1:1", "-l", "cpsIsPrimary", "-t", "2", "-e", "2").CombinedOutput()
		return string(out), err
	}
	haveCheck := false
	if _, err := os.Stat(checkSNMP); err == nil {
		haveCheck = true
		if out, err := check(); err != nil || !strings.HasPrefix(out, "SNMP OK") {
			t.Errorf("check_snmp on the address: %v\n%s", err, out)
		}
	} else {
		t.Logf("check_snmp not installed (%s): skipped", checkSNMP)
	}

	// kill -9, graceful stop, link-down and hang of the Primary, with a
	// sampler on the address.
	stop := make(chan struct{})
	collect := addressSampler(t, addr, stop)
	var faults []addrFault
	p := pi - 1
	for _, kind := range []string{"kill", "graceful", "link-down", "hang"} {
		time.Sleep(200 * time.Millisecond) // some answers from the Primary first
		f, q := s.failPrimary(t, p, kind)
		faults = append(faults, f)
		p = q
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	samples := collect()
	for _, x := range samples {
		if x.primary != 1 {
			t.Errorf("%s: an answer through the address says cpsIsPrimary.0 = %d (from %q)", x.at.Format("15:04:05.000"), x.primary, x.module)
		}
	}
	for i, g := range addressGaps(samples, faults) {
		f := faults[i]
		t.Logf("%s of %s: a new Primary answered its own address after %s, the address after %s", f.kind, f.victim, f.failover, g)
		// The address may add the relay's margin and a sampler's poll to
		// the failover; a loaded machine more, so the bound is loose.
		if g == 0 || g > f.failover+time.Second {
			t.Errorf("%s of %s: the address answered from the new Primary after %s (failover %s)", f.kind, f.victim, g, f.failover)
		}
	}
	if a, err := addressOf(s.run); err != nil || a.Withheld != 0 {
		t.Logf("relay: %+v %v", a, err)
	}
	newHolder := s.holderOf(t, addr)
	if want := fmt.Sprintf("m%d", p+1); newHolder != want {
		t.Errorf("after the faults, status says %q holds the address, the Primary is %s", newHolder, want)
	}
	if haveCheck {
		if out, err := check(); err != nil || !strings.HasPrefix(out, "SNMP OK") {
			t.Errorf("check_snmp on the address after the failover: %v\n%s", err, out)
		}
	}
}

// TestStackAddressPartition: a Primary cut from the backplane alone keeps
// the address (its adverts reach the address's Ethernet side); an
// isolated Primary loses it to the Primary the others elect, the side the
// chassis hears; after the partition heals, the survivor has it.
func TestStackAddressPartition(t *testing.T) {
	s, addr := startAddressStack(t, 100*time.Millisecond, 300*time.Millisecond, "yes", "yes", "yes")
	holder, pi := s.holderAfterUp(t, addr)
	name := func() string {
		out, err := snmpAt("snmpget", addr, "public", "-Oqv", "CPSMM-EMULATOR-MIB::cpsEmuModuleName.0")
		if err != nil {
			return ""
		}
		return strings.Trim(strings.TrimSpace(out), `"`)
	}
	if out, err := s.cli("fail", holder, "backplane-down"); err != nil {
		t.Fatalf("backplane-down: %v\n%s", err, out)
	}
	// Many holdtimes: the address stays.
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if got := name(); got != holder {
			t.Fatalf("backplane-down of the Primary %s: the address answers from %q", holder, got)
		}
	}
	if out, err := s.cli("restore", holder); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}

	if out, err := s.cli("fail", holder, "isolate"); err != nil {
		t.Fatalf("isolate: %v\n%s", err, out)
	}
	other, _ := s.waitPrimary(pi-1, 10*time.Second)
	if ok, _ := s.primary(pi - 1); !ok {
		t.Fatalf("the isolated %s no longer answers Primary on its own address", holder)
	}
	want := fmt.Sprintf("m%d", other+1)
	eventually(t, 5*time.Second, "the address answers from "+want, func() bool { return name() == want })
	if h := s.holderOf(t, addr); h != want {
		t.Errorf("during the partition status says %q holds the address, want %s", h, want)
	}
	if out, err := s.cli("restore", holder); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	eventually(t, 5*time.Second, "one Primary after the partition heals", func() bool {
		n := 0
		for i := range s.addrs {
			if ok, _ := s.primary(i); ok {
				n++
			}
		}
		return n == 1
	})
	final := -1
	for i := range s.addrs {
		if ok, _ := s.primary(i); ok {
			final = i
		}
	}
	eventually(t, 5*time.Second, "the address answers from the Primary after the partition heals", func() bool {
		return name() == fmt.Sprintf("m%d", final+1)
	})
}
