package snmpd

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// socketInodes returns the inodes of the sockets pid holds open.
func socketInodes(t *testing.T, pid int) map[string]bool {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	return inodes
}

// procAddr decodes a /proc/net/{tcp,udp}[6] local address: hex, each
// 32-bit word in host (little-endian) order, then ":PORT" in hex.
func procAddr(s string) (netip.AddrPort, error) {
	host, port, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(host)
	if !ok || err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	var p uint16
	if _, err := fmt.Sscanf(port, "%X", &p); err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port in %q", s)
	}
	a, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(a.Unmap(), p), nil
}

func TestProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:3E85":                         "127.0.0.1:16005",
		"00000000:00C7":                         "0.0.0.0:199",
		"00000000000000000000000001000000:00A1": "[::1]:161",
		"0000000000000000FFFF00000100007F:1F90": "127.0.0.1:8080",
		"000080FE00000000FF005450B6AD1DFE:0016": "[fe80::5054:ff:fe1d:adb6]:22",
		"00000000000000000000000000000000:0035": "[::]:53",
	} {
		got, err := procAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("procAddr(%s) = %v, %v; want %s", in, got, err, want)
		}
	}
}

// procTable reads /proc/PID/net/FILE and returns, per socket inode, the
// local address.
func procTable(t *testing.T, pid int, file string) map[string]netip.AddrPort {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, file))
	if os.IsNotExist(err) {
		return nil // no IPv6 in this kernel
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]netip.AddrPort{}
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 10 {
			continue
		}
		ap, err := procAddr(fl[1])
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out[fl[9]] = ap
	}
	return out
}

// TestListensOnLoopbackOnly starts a real snmpd with the generated
// configuration and checks, socket by socket, that it is reachable on
// loopback only: its SNMP address and its own unix sockets. (SMUX left on,
// the first snmpd of a stack listened on TCP 0.0.0.0:199 and the others
// logged bind failures.)
func TestListensOnLoopbackOnly(t *testing.T) {
	if _, err := Binary(); err != nil {
		t.Skip(err)
	}
	dir, err := os.MkdirTemp("", "snmpd-") // short: a unix socket path is at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port, err := FreeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(context.Background(), Options{Dir: dir, UDP: fmt.Sprintf("127.0.0.1:%d", port)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	pid := p.Pid()

	// snmpd opens its sockets before the AgentX one, which Start waited
	// for; wait on the SNMP address too, with a deadline.
	snmpAddr := netip.MustParseAddrPort(p.Opts.UDP)
	var inodes map[string]bool
	tables := map[string]map[string]netip.AddrPort{}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		inodes = socketInodes(t, pid)
		for _, f := range []string{"tcp", "tcp6", "udp", "udp6"} {
			tables[f] = procTable(t, pid, f)
		}
		found := false
		for ino, ap := range tables["udp"] {
			found = found || (inodes[ino] && ap == snmpAddr)
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("snmpd (pid %d) holds no UDP socket on %s", pid, snmpAddr)
		}
	}
	unix := map[string]string{} // inode -> path ("" unnamed)
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/unix", pid)); err == nil {
		for _, l := range strings.Split(string(data), "\n")[1:] {
			if f := strings.Fields(l); len(f) >= 7 {
				path := ""
				if len(f) >= 8 {
					path = f[7]
				}
				unix[f[6]] = path
			}
		}
	}
	netlink := map[string]bool{}
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/netlink", pid)); err == nil {
		for _, l := range strings.Split(string(data), "\n")[1:] {
			if f := strings.Fields(l); len(f) >= 10 {
				netlink[f[len(f)-1]] = true
			}
		}
	}

	sawAgentX := false
	for ino := range inodes {
		inet := false
		for _, file := range []string{"tcp", "tcp6", "udp", "udp6"} {
			if ap, ok := tables[file][ino]; ok {
				inet = true
				if !ap.Addr().IsLoopback() {
					t.Errorf("snmpd holds a %s socket on %s: beyond loopback", file, ap)
				}
			}
		}
		path, isUnix := unix[ino]
		switch {
		case inet:
		case isUnix:
			// Its own sockets, in its run directory (or unnamed).
			if path != "" && !strings.HasPrefix(path, dir+string(filepath.Separator)) {
				t.Errorf("snmpd holds a unix socket %s outside its run directory %s", path, dir)
			}
			sawAgentX = sawAgentX || path == p.Opts.AgentXSocket
		case netlink[ino]:
			// Kernel routing/interface queries: reachable by no one.
		default:
			t.Errorf("snmpd holds socket inode %s of an unexpected kind", ino)
		}
	}
	if !sawAgentX {
		t.Errorf("snmpd's sockets do not include its AgentX socket %s", p.Opts.AgentXSocket)
	}
	// Nor did it try to bind anything it could not (SMUX on TCP 199 of
	// every interface, taken by the first snmpd of a stack).
	if log, _ := os.ReadFile(p.LogFile); strings.Contains(strings.ToLower(string(log)), "smux") ||
		strings.Contains(string(log), "bind") {
		t.Errorf("snmpd log:\n%s", log)
	}
}

// TestServesNoHostTables: the snmpd of a module answers for the SNMP
// engine (system group, snmp counters, engine, USM, VACM…) and nothing of
// the host it runs on — no interfaces, IP, TCP or host-resources tables,
// which describe this machine, not the emulated module, and reload on
// timers (Modules says why). Its log names no unknown configuration token.
func TestServesNoHostTables(t *testing.T) {
	if _, err := Binary(); err != nil {
		t.Skip(err)
	}
	if _, err := exec.LookPath("snmpwalk"); err != nil {
		t.Skip("snmpwalk not found: run scripts/install-deps.sh")
	}
	dir, err := os.MkdirTemp("", "snmpd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port, err := FreeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(context.Background(), Options{Dir: dir, UDP: fmt.Sprintf("127.0.0.1:%d", port), SysDescr: "host tables test"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	var out []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, err = exec.Command("snmpwalk", "-v2c", "-c", "public", "-On", "-t", "1", "-r", "1", p.Opts.UDP, ".1.3.6.1.2.1").CombinedOutput()
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("snmpwalk: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), ".1.3.6.1.2.1.1.1.0 = STRING: \"host tables test\"") {
		t.Errorf("no sysDescr.0 in the walk:\n%s", out)
	}
	for _, host := range []string{".1.3.6.1.2.1.2.", ".1.3.6.1.2.1.4.", ".1.3.6.1.2.1.6.", ".1.3.6.1.2.1.25.", ".1.3.6.1.2.1.31."} {
		if strings.Contains(string(out), "\n"+host) {
			t.Errorf("the walk shows host objects under %s:\n%s", host, out)
		}
	}
	if log, _ := os.ReadFile(p.LogFile); strings.Contains(strings.ToLower(string(log)), "unknown token") {
		t.Errorf("snmpd log:\n%s", log)
	}
}
