package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/cpsmm/cpsmm/agent/snmpd"
)

// The end-to-end tests run the real thing: net-snmp snmpd as master agent
// on a free loopback port with a private AgentX socket, the cpsmm binary as
// its subagent, and the net-snmp CLI and gosnmp as managers.

var binary string // built once in TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cpsmm-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "cpsmm")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build cpsmm: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// mibArgs make the net-snmp CLI load our MIBs and the IETF base modules.
func mibArgs() []string {
	base := os.Getenv("CPSMM_BASE_MIBS")
	if base == "" {
		base = "/usr/share/snmp/mibs/ietf"
	}
	repo, _ := filepath.Abs("../../MIBs")
	return []string{"-M", repo + ":" + base + ":/usr/share/snmp/mibs", "-m", "SNMPv2-MIB:MCC16-MIB:CPSMM-EMULATOR-MIB"}
}

// rig is one snmpd and one module.
type rig struct {
	t      testing.TB
	dir    string
	addr   string // 127.0.0.1:port
	snmpd  *snmpd.Process
	mod    *exec.Cmd
	modErr chan error
	args   []string
	state  string
}

func newRig(t testing.TB, moduleArgs ...string) *rig {
	t.Helper()
	dir, err := os.MkdirTemp("", "cpsmm-e2e-") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port, err := snmpd.FreeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, dir: dir, addr: fmt.Sprintf("127.0.0.1:%d", port), args: moduleArgs, state: filepath.Join(dir, "state")}
	r.startSnmpd()
	r.startModule()
	t.Cleanup(r.stop)
	r.waitReady(15 * time.Second)
	return r
}

func (r *rig) startSnmpd() {
	r.t.Helper()
	p, err := snmpd.Start(context.Background(), snmpd.Options{Dir: r.dir, UDP: r.addr})
	if err != nil {
		r.t.Fatal(err)
	}
	r.snmpd = p
}

func (r *rig) startModule() {
	r.t.Helper()
	args := append([]string{"-agentx", "unix:" + filepath.Join(r.dir, "agentx.sock"), "-state-dir", r.state, "-log-level", "debug"}, r.args...)
	cmd := exec.Command(binary, args...)
	logf, err := os.OpenFile(filepath.Join(r.dir, "cpsmm.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		r.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	logf.Close()
	r.mod, r.modErr = cmd, make(chan error, 1)
	go func() { r.modErr <- cmd.Wait() }()
}

// stopModule sends SIGTERM and waits for a clean exit.
func (r *rig) stopModule() {
	r.t.Helper()
	if r.mod == nil {
		return
	}
	_ = r.mod.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.modErr:
		if err != nil {
			r.t.Errorf("module exit on SIGTERM: %v\n%s", err, r.log())
		}
	case <-time.After(10 * time.Second):
		_ = r.mod.Process.Kill()
		r.t.Errorf("module did not stop on SIGTERM")
	}
	r.mod = nil
}

func (r *rig) stop() {
	r.stopModule()
	if r.snmpd != nil {
		_ = r.snmpd.Stop()
	}
	if r.t.Failed() {
		r.t.Logf("module log:\n%s", r.log())
	}
}

func (r *rig) log() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "cpsmm.log"))
	return string(b)
}

// waitReady polls until the module's subtree answers through snmpd.
func (r *rig) waitReady(within time.Duration) time.Duration {
	r.t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	for time.Now().Before(deadline) {
		out, err := exec.Command("snmpget", "-v2c", "-c", "public", "-On", "-t", "0.3", "-r", "0", r.addr, isPrimaryOID).CombinedOutput()
		if err == nil && strings.Contains(string(out), "INTEGER") {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("module not answering on %s within %s\n%s", r.addr, within, r.log())
	return 0
}

const (
	cpsmm100Entry = "1.3.6.1.4.1.868.2.4.1.2.2.1.1"
	isPrimaryOID  = cpsmm100Entry + ".11.1.1"
)

// cli runs a net-snmp command with our MIBs and returns its combined output
// and whether it succeeded.
func (r *rig) cli(tool string, args ...string) (string, error) {
	all := append(mibArgs(), "-v2c", "-t", "3", "-r", "1")
	all = append(all, args...)
	out, err := exec.Command(tool, all...).CombinedOutput()
	return string(out), err
}

func (r *rig) mustCLI(tool string, args ...string) string {
	r.t.Helper()
	out, err := r.cli(tool, args...)
	if err != nil {
		r.t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return out
}

// gosnmp returns a connected gosnmp manager for the rig.
func (r *rig) gosnmp(community string) *gosnmp.GoSNMP {
	r.t.Helper()
	host, port, _ := strings.Cut(r.addr, ":")
	var p uint16
	fmt.Sscan(port, &p)
	g := &gosnmp.GoSNMP{Target: host, Port: p, Community: community, Version: gosnmp.Version2c,
		Timeout: 3 * time.Second, Retries: 1, MaxOids: 60}
	if err := g.Connect(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { g.Conn.Close() })
	return g
}
