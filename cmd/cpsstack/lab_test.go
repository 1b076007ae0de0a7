package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/stack/labfile"
)

// freeLabBase returns a base port from which n modules' SNMP ports and
// Ethernet sides (labfile.Port, + 1000) are all free UDP ports on
// 127.0.0.1 now, chosen at random below the ephemeral range so that two
// runs at once, or other tests' ephemeral ports, rarely meet.
func freeLabBase(t testing.TB, n int) int {
	t.Helper()
	span := labfile.Port(0, n-1) + 1000 + 1
	for try := 0; try < 50; try++ {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		lo, hi := 10000, 32000-span
		if hi <= lo {
			t.Fatalf("%d modules need %d ports: more than below the ephemeral range", n, span)
		}
		base := lo + int(binary.BigEndian.Uint32(b[:])%uint32(hi-lo))
		ok := true
		for m := 0; m < n && ok; m++ {
			for _, p := range []int{labfile.Port(base, m), labfile.Port(base, m) + 1000} {
				c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", p))
				if err != nil {
					ok = false
					break
				}
				c.Close()
			}
		}
		if ok {
			return base
		}
	}
	t.Fatalf("no free run of ports for %d modules", n)
	return 0
}

// labText is a lab file of stacks × modules (and devices per stack) on
// free ports, with a fresh key and MAC base.
func labText(t testing.TB, name string, stacks, modules, devices int, extra string) string {
	t.Helper()
	var b [19]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("lab: %s\nkey: %x\nstacks: %d\nmodules: %d\ndevices: %d\nports: {base: %d}\nmac_base: \"%02x:%02x:%02x\"\n%s",
		name, b[:16], stacks, modules, devices, freeLabBase(t, stacks*modules), b[16], b[17], b[18]&0x7f, extra)
}

// buildCLI builds cpsstack and cpsmm into a temporary directory and
// returns it.
func buildCLI(t testing.TB) string {
	t.Helper()
	bin := t.TempDir()
	for _, c := range []string{"cpsstack", "cpsmm"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, c), "../"+c).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", c, err, out)
		}
	}
	return bin
}

// TestLab: `cpsstack lab up` brings up every stack of a lab file (2 × 2
// modules and a converter each, on free ports); `lab status` summarises
// per stack before the rows and sees a killed module; a stack's run
// directory alone names its stack for `status`, `fail`, `restore`,
// `down`; `lab down` (the lab file named by -run alone) stops the rest and
// leaves no process behind.
func TestLab(t *testing.T) {
	bin := buildCLI(t)
	dir, err := os.MkdirTemp("", "cpslab-") // short paths for unix sockets
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	file := filepath.Join(dir, "lab.yaml")
	if err := os.WriteFile(file, []byte(labText(t, "t", 2, 2, 1, "timers: {hello: 200ms, holdtime: 600ms, poll: 200ms}\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	cli := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(filepath.Join(bin, "cpsstack"), args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), err
	}
	out, err := cli("lab", "up", "-run", run, file)
	t.Cleanup(func() { _, _ = cli("lab", "down", "-run", run) })
	if err != nil {
		t.Fatalf("lab up: %v\n%s", err, out)
	}
	if !strings.Contains(out, "lab t: 2 of 2 stacks up, 4 of 4 modules ready in ") {
		t.Errorf("lab up's summary:\n%s", out)
	}

	out, err = cli("lab", "status", "-run", run)
	if err != nil {
		t.Fatalf("lab status: %v\n%s", err, out)
	}
	summary, detail, ok := strings.Cut(out, "\nlab t: 2 stacks, 4 of 4 modules up, 0 stacks with faults\n")
	if !ok || !hasRow(summary, "t-01", "bmm-1", "2/2", "-") || !hasRow(detail, "t-02", "bmm-2", "1/2", "*", "standby", "yes", "yes") {
		t.Fatalf("lab status:\n%s", out)
	}

	// One stack by its run directory alone.
	one := filepath.Join(run, "t-02")
	if out, err := cli("fail", "-run", one, "bmm-1", "kill"); err != nil {
		t.Fatalf("fail: %v\n%s", err, out)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, err = cli("lab", "status", "-json", "-run", run)
		if err != nil {
			t.Fatalf("lab status -json: %v\n%s", err, out)
		}
		var sums []stackSummary
		if err := json.Unmarshal([]byte(out), &sums); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		s := sums[1]
		if s.Primary == "bmm-2" && s.Up == 1 && strings.Contains(strings.Join(s.Faults, ";"), "not running: module bmm-1, snmpd bmm-1") &&
			len(sums[0].Faults) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a kill of t-02's bmm-1: %+v", sums)
		}
	}
	if out, err := cli("restore", "-run", one, "bmm-1"); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, err := cli("status", "-run", one)
		if err == nil && hasRow(out, "bmm-1", "1/1", "*", "standby", "yes", "yes") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status -run %s after restore: %v\n%s", one, err, out)
		}
	}
	if out, err := cli("down", "-run", one); err != nil {
		t.Fatalf("down -run %s: %v\n%s", one, err, out)
	}
	ps, err := readProcs(filepath.Join(run, "t-01"))
	if err != nil {
		t.Fatal(err)
	}
	out, err = cli("lab", "down", "-run", run)
	if err != nil || !strings.Contains(out, "lab t: 1 stacks stopped, 1 were not running") {
		t.Fatalf("lab down: %v\n%s", err, out)
	}
	for _, p := range ps {
		if p.running() {
			t.Errorf("%s still runs after lab down", p)
		}
	}
}

// The help: grouped commands with their arguments and an example each;
// per command its flags; -h is not an error; every existing flag spelling
// still parses.
func TestHelp(t *testing.T) {
	bin := buildCLI(t)
	cli := func(args ...string) (string, error) {
		out, err := exec.Command(filepath.Join(bin, "cpsstack"), args...).CombinedOutput()
		return string(out), err
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		out, err := cli(args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		last := -1
		for _, g := range groups() {
			i := strings.Index(out, "\n"+g.title+":\n")
			if i < last {
				t.Fatalf("%v: group %q missing or out of order:\n%s", args, g.title, out)
			}
			last = i
		}
		for _, c := range commands() {
			if c.group == "" {
				continue
			}
			if !strings.Contains(out, "  "+c.name+" "+strings.Split(c.args, "\n")[0]+"\n") || !strings.Contains(out, "e.g. "+c.example+"\n") {
				t.Errorf("%v: no line or example for %s:\n%s", args, c.name, out)
			}
		}
	}
	for _, c := range commands() {
		for _, args := range [][]string{append([]string{"help"}, strings.Fields(c.name)...), append(strings.Fields(c.name), "-h")} {
			out, err := cli(args...)
			if err != nil {
				t.Fatalf("%v: %v\n%s", args, err, out)
			}
			if !strings.HasPrefix(out, "usage: cpsstack "+c.name+" ") || !strings.Contains(out, "\nflags:\n") || !strings.Contains(out, "\nexample:\n  "+c.example) {
				t.Errorf("%v:\n%s", args, out)
			}
		}
	}
	// Flags as the README and the tests spell them.
	for _, args := range [][]string{{"status", "--json"}, {"web", "-listen", "127.0.0.1:0", "-controls"}, {"up", "-run", "x"}} {
		c, rest, _ := lookup(args)
		var o options
		if err := c.flagSet(&o).Parse(rest); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
	out, err := cli("up", "-json")
	if err == nil || !strings.Contains(out, "flag provided but not defined: -json") || !strings.Contains(out, "usage: cpsstack up [-run DIR] [FILE] (cpsstack help up)") {
		t.Errorf("up -json: %v\n%s", err, out)
	}
	if out, err := cli(); err == nil || !strings.Contains(out, "Run a stack") {
		t.Errorf("no command: %v\n%s", err, out)
	}
	if out, err := cli("lab"); err == nil || !strings.Contains(out, "lab needs a subcommand") {
		t.Errorf("lab: %v\n%s", err, out)
	}
}

// hasRow tells whether a line of out has exactly these fields ("*": any).
func hasRow(out string, fields ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != len(fields) {
			continue
		}
		ok := true
		for i := range f {
			ok = ok && (fields[i] == "*" || fields[i] == f[i])
		}
		if ok {
			return true
		}
	}
	return false
}
