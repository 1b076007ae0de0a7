package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freePortPair finds a UDP port p on 127.0.0.1 with p+1000 free as well
// (a module's SNMP address and its Ethernet side).
func freePortPair(t *testing.T, taken map[int]bool) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if p+1000 > 65535 || taken[p] || taken[p+1000] {
			continue
		}
		c2, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", p+1000))
		if err != nil {
			continue
		}
		c2.Close()
		taken[p], taken[p+1000] = true, true
		return p
	}
	t.Fatal("no free port pair")
	return 0
}

// TestStackUpFailoverDown: cpsstack up starts a real three-module stack
// (chassis, three snmpd, three cpsmm); kill -9 of the Primary moves the
// role to another module, as its SNMP agent answers; cpsstack down leaves
// no process behind.
func TestStackUpFailoverDown(t *testing.T) {
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
	defer os.RemoveAll(dir)
	taken := map[int]bool{}
	var mods strings.Builder
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&mods, "  - {name: m%d, cabinet: 1, slot: %d, mac: \"00:c0:f2:00:00:0%d\", ip: 192.0.2.1%d, mask: 255.255.255.0, gateway: 192.0.2.1, snmp: \"127.0.0.1:%d\"}\n",
			i, i, i, i, freePortPair(t, taken))
	}
	file := filepath.Join(dir, "stack.yaml")
	text := "stack: e2e\nkey: \"e2e-stack-key\"\ntimers: {hello: 200ms, holdtime: 600ms}\ncabinets:\n  - {bia: 1, model: cpsmc1800}\nmodules:\n" + mods.String()
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	// cpsstack CMD [-flags] -run RUN FILE [operands...]
	cli := func(args ...string) (string, error) {
		a := []string{args[0], "-run", run}
		rest := args[1:]
		for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
			a, rest = append(a, rest[0]), rest[1:]
		}
		a = append(append(a, file), rest...)
		out, err := exec.Command(filepath.Join(bin, "cpsstack"), a...).CombinedOutput()
		return string(out), err
	}
	out, err := cli("up")
	defer func() { _, _ = cli("down") }()
	if err != nil {
		logs, _ := exec.Command("sh", "-c", "tail -n 20 "+run+"/*/cpsmm.log").CombinedOutput()
		t.Fatalf("up: %v\n%s\n%s", err, out, logs)
	}
	if strings.Count(out, "primary") != 1 || strings.Count(out, "standby") != 2 {
		t.Fatalf("up table:\n%s", out)
	}
	nameOf := func(addr string) string {
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, addr) {
				return strings.TrimSuffix(strings.Fields(l)[2], ",")
			}
		}
		t.Fatalf("no module at %s", addr)
		return ""
	}
	waitPrimary := func(what string, cond func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			p, err := cli("primary")
			if p = strings.TrimSpace(p); err == nil && cond(p) {
				return p
			}
			if time.Now().After(deadline) {
				st, _ := cli("status")
				t.Fatalf("%s:\n%s", what, st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	primary := waitPrimary("no Primary after up", func(p string) bool { return p != "" })

	// The backplane alone fails: a link failure, not a failover. The
	// Primary stays Primary for many holdtimes.
	if out, err := cli("fail", nameOf(primary), "backplane-down"); err != nil {
		t.Fatalf("fail backplane-down: %v\n%s", err, out)
	}
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if p, err := cli("primary"); err == nil && strings.TrimSpace(p) != primary {
			t.Fatalf("backplane-down of the Primary moved the role to %s", p)
		}
	}
	if out, err := cli("restore", nameOf(primary)); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}

	// Its Ethernet link fails: CanPrimary no at once, and a failover.
	if out, err := cli("fail", nameOf(primary), "link-down"); err != nil {
		t.Fatalf("fail link-down: %v\n%s", err, out)
	}
	next := waitPrimary("no failover after link-down", func(p string) bool { return p != primary })
	st, _ := cli("status", "-json")
	if !strings.Contains(st, `"snmp": "`+primary+`",
    "role": "standby",
    "can_primary": "no"`) {
		t.Errorf("after link-down of %s, status:\n%s", primary, st)
	}
	if out, err := cli("restore", nameOf(primary)); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	// The recovered former Primary stays Standby (no preemption between equals).
	primary = waitPrimary("Primary after restore", func(p string) bool { return p == next })

	// kill -9 the Primary's module process.
	pids, err := os.ReadFile(filepath.Join(run, "pids"))
	if err != nil {
		t.Fatal(err)
	}
	name := nameOf(primary)
	var victim int
	for _, l := range strings.Split(string(pids), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "module" && f[1] == name {
			victim, _ = strconv.Atoi(f[2])
		}
	}
	if victim == 0 {
		t.Fatalf("no pid for module %q (%s) in\n%s", name, primary, pids)
	}
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	deadline := start.Add(15 * time.Second)
	for {
		p, err := cli("primary")
		if err == nil && strings.TrimSpace(p) != primary {
			t.Logf("%s took over %s after kill -9 of %s", strings.TrimSpace(p), time.Since(start), primary)
			break
		}
		if time.Now().After(deadline) {
			st, _ := cli("status")
			t.Fatalf("no new Primary after kill -9 of %s:\n%s", primary, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out, err := cli("down"); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(pids), "\n") {
		if f := strings.Fields(l); len(f) == 3 {
			pid, _ := strconv.Atoi(f[2])
			if syscall.Kill(pid, 0) == nil {
				// A zombie of ours would answer too; check the state.
				stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
				if !strings.Contains(string(stat), ") Z ") {
					t.Errorf("%s %s (pid %d) still runs after down", f[0], f[1], pid)
				}
			}
		}
	}
}
