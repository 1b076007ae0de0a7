// Command cpsstack launches and inspects an emulated Point System stack
// described by a stack file: the chassis (backplane), and per Base
// Management Module one snmpd and one cpsmm process; and labs, many
// stacks generated from one lab file (lab.go). `cpsstack help` prints the
// commands by group (cli.go holds the table):
//
//	cpsstack up FILE        start everything; returns once every module answers SNMP
//	cpsstack status FILE    role, eligibility and preference of every module (--json)
//	cpsstack primary FILE   the Primary's SNMP address
//	                        (the stack file's address, if any, follows the Primary:
//	                        the chassis relays it; status shows who holds it)
//	cpsstack fail FILE MODULE kill|hang|link-down|backplane-down|isolate
//	                        (kill: the module process and its snmpd; hang: the module process)
//	cpsstack fail FILE device CABINET/SLOT link-down|fault|remove|insert
//	cpsstack fail FILE cabinet CABINET ps1-off|ps2-off|remove
//	cpsstack fail FILE MODULE ip-down   no IP traffic in or out of its Ethernet side, link up
//	cpsstack fail FILE gateway IP down|loss PCT|delay DURATION
//	                        (the responder the IP monitors poll for that address)
//	cpsstack restore FILE MODULE | device CABINET/SLOT | cabinet CABINET | gateway IP
//	cpsstack want FILE MODULE yes|no|always
//	                        set a module's WantPrimary through the Primary
//	cpsstack web [-listen 127.0.0.1:8080] [-controls] FILE
//	                        a live page of the stack (stack/web)
//	cpsstack down FILE      stop everything
//	cpsstack lab up|status|down LABFILE
//	                        every stack of a lab (stack/labfile)
//
// FILE may be left out after an `up`: run/current names the last stack
// brought up from this directory.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/agent/snmpd"
	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/chassis"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/member"
	"github.com/cpsmm/cpsmm/stack/stackaddr"
	"github.com/cpsmm/cpsmm/stack/stackfile"
	"github.com/cpsmm/cpsmm/stack/trapmgr"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cpsstack:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		printHelp(os.Stderr)
		return errors.New("no command given")
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) == 2 && args[1] == "lab" {
			sep := ""
			for _, c := range commands() {
				if c.group == "lab" {
					fmt.Print(sep)
					printCommandHelp(os.Stdout, c)
					sep = "\n"
				}
			}
			return nil
		}
		if len(args) > 1 {
			c, _, ok := lookup(args[1:])
			if !ok {
				return fmt.Errorf("no command %q (cpsstack help lists them)", strings.Join(args[1:], " "))
			}
			printCommandHelp(os.Stdout, c)
			return nil
		}
		printHelp(os.Stdout)
		return nil
	}
	c, rest, ok := lookup(args)
	if !ok {
		if args[0] == "lab" {
			return errors.New("lab needs a subcommand: up, status or down (cpsstack help)")
		}
		return fmt.Errorf("no command %q (cpsstack help lists them)", args[0])
	}
	var o options
	fs := c.flagSet(&o)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandHelp(os.Stdout, c)
			return nil
		}
		return fmt.Errorf("%w\n%s", err, c.shortUsage())
	}
	rest = fs.Args()
	switch c.group {
	case "":
		return runChassis(o.socket, o.control, o.stack, o.state)
	case "lab":
		return runLab(c, o, rest)
	}
	operands := c.operands
	if (c.name == "fail" || c.name == "restore") && (hasTarget(rest, 0) || hasTarget(rest, 1)) {
		operands++ // fail [FILE] device B/S FAULT, restore [FILE] cabinet B
	}
	if c.name == "fail" && (hasArg(rest, 0) || hasArg(rest, 1)) {
		operands++ // fail [FILE] gateway IP loss PCT
	}
	var file string
	switch {
	case len(rest) == operands+1:
		file, rest = rest[0], rest[1:]
	case len(rest) == operands:
		f, err := implicitStackFile(o.run)
		if err != nil {
			return fmt.Errorf("%w\n%s", err, c.shortUsage())
		}
		file = f
	default:
		return errors.New(c.shortUsage())
	}
	st, err := stackfile.Load(file)
	if err != nil {
		return err
	}
	dir := o.run
	if dir == "" {
		dir = filepath.Join("run", "stack-"+st.Name)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	switch c.name {
	case "up":
		rows, err := up(file, st, dir, nil, true)
		if rows != nil {
			if perr := printTable(rows); err == nil {
				err = perr
			}
		}
		return err
	case "fail":
		return inject(file, st, dir, false, rest)
	case "restore":
		return inject(file, st, dir, true, rest)
	case "want":
		return setWant(st, rest[0], rest[1])
	case "web":
		return serveWeb(file, st, dir, o.listen, o.controls)
	case "down":
		return down(dir)
	case "status":
		return status(st, dir, o.json)
	case "primary":
		rows := query(st)
		for _, r := range rows {
			if r.Role == "primary" {
				fmt.Println(r.SNMP)
				return nil
			}
		}
		return errors.New("no module answers as Primary")
	}
	return fmt.Errorf("command %q has no action", c.name)
}

// implicitStackFile is the stack file of a command given none: the one
// run directory dir was brought up from (dir/stack.path), else the one
// last brought up from this directory (run/current).
func implicitStackFile(dir string) (string, error) {
	if dir != "" {
		if b, err := os.ReadFile(filepath.Join(dir, "stack.path")); err == nil {
			return strings.TrimSpace(string(b)), nil
		}
	}
	b, err := os.ReadFile(filepath.Join("run", "current"))
	if err != nil {
		return "", errors.New("no stack file given, none in -run DIR (stack.path) and none brought up from here (run/current)")
	}
	return strings.TrimSpace(string(b)), nil
}

// inject carries out `cpsstack fail` (restoring false) or `cpsstack
// restore` with the operands after FILE: MODULE FAULT, device B/S FAULT,
// cabinet B FAULT; MODULE, device B/S, cabinet B. The command line and the
// web page's controls both come here.
func inject(file string, st *stackfile.Stack, dir string, restoring bool, ops []string) error {
	target := hasTarget(ops, 0)
	want := map[bool]int{false: 2, true: 1}[restoring]
	if target {
		want++
	}
	if !restoring && hasArg(ops, 0) {
		want++
	}
	if len(ops) != want {
		c, _, _ := lookup([]string{map[bool]string{false: "fail", true: "restore"}[restoring]})
		return errors.New(c.shortUsage())
	}
	switch {
	case target && ops[0] == "gateway" && !restoring:
		if f := ops[2]; f != "down" && f != "loss" && f != "delay" {
			return fmt.Errorf("unknown gateway fault %q: one of %s", f, strings.Join(gatewayFaults(), ", "))
		}
		return ask(filepath.Join(dir, "chassis.ctl"), strings.Join(ops, " "))
	case target && !restoring:
		return ask(filepath.Join(dir, "chassis.ctl"), strings.Join(ops, " "))
	case target:
		return ask(filepath.Join(dir, "chassis.ctl"), "restore-"+ops[0]+" "+ops[1])
	case !restoring:
		return fail(st, dir, ops[0], ops[1])
	}
	return restore(file, st, dir, ops[0])
}

// Faults `cpsstack fail` offers, by target.
func moduleFaults() []string {
	return []string{"kill", "hang", "link-down", "backplane-down", "isolate", "ip-down"}
}
func gatewayFaults() []string { return []string{"down", "loss", "delay"} }
func deviceFaults() []string  { return []string{"link-down", "fault", "remove", "insert"} }
func cabinetFaults() []string { return []string{"ps1-off", "ps2-off", "remove"} }

// hasTarget tells whether operand i names a device, cabinet or gateway
// fault.
func hasTarget(rest []string, i int) bool {
	return len(rest) > i && (rest[i] == "device" || rest[i] == "cabinet" || rest[i] == "gateway")
}

// hasArg tells whether operand i starts a gateway fault with an argument
// (gateway IP loss PCT, gateway IP delay DURATION).
func hasArg(rest []string, i int) bool {
	return len(rest) > i+2 && rest[i] == "gateway" && (rest[i+2] == "loss" || rest[i+2] == "delay")
}

// runChassis carries the backplane until SIGTERM; its control socket takes
// "cut MAC" and "restore MAC".
func runChassis(socket, control, stackPath, stateFile string) error {
	// One P, as cmd/cpsmm: the chassis mostly wakes up to pass frames on.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	if socket == "" {
		return errors.New("chassis needs -socket")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := logrus.New()
	ch := backplane.NewChassis(log)
	// The devices and the stack address open their sockets before the
	// backplane's appears: a chassis that cannot (the address taken by
	// another process) exits before `cpsstack up` starts any module.
	var host *chassis.Host
	var relay *stackaddr.Relay
	if stackPath != "" {
		st, err := stackfile.Load(stackPath)
		if err != nil {
			return err
		}
		if st.Address.IsValid() {
			// CPSMM_ADDRESS_SPIN (a duration) turns on the relay's spin,
			// for measurements (stackaddr.Config.Spin); default none.
			spin, _ := time.ParseDuration(os.Getenv("CPSMM_ADDRESS_SPIN"))
			if relay, err = stackaddr.New(stackaddr.Config{Stack: st, ChassisNetwork: "unix", ChassisAddr: socket, Spin: spin,
				Log: log.WithField("part", "address")}); err != nil {
				return err
			}
		}
		if host, err = chassis.New(chassis.Config{Stack: st, ChassisNetwork: "unix", ChassisAddr: socket, StateFile: stateFile,
			Log: log.WithField("part", "devices")}); err != nil {
			return err
		}
	}
	_ = os.Remove(socket)
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	if relay != nil {
		go func() {
			if err := relay.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.WithError(err).Error("stack address stopped")
			}
		}()
	}
	if host != nil {
		go func() {
			if err := host.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.WithError(err).Error("devices stopped")
			}
		}()
	}
	if control != "" {
		_ = os.Remove(control)
		cl, err := net.Listen("unix", control)
		if err != nil {
			return err
		}
		defer cl.Close()
		go func() {
			for {
				c, err := cl.Accept()
				if err != nil {
					return
				}
				line, _ := bufio.NewReader(c).ReadString('\n')
				if strings.TrimSpace(line) == "address" {
					// The stack address's holder and counts, one JSON line.
					answerAddress(c, relay)
					c.Close()
					continue
				}
				reply := "ok"
				if err := chassisCommand(ch, host, strings.Fields(line)); err != nil {
					reply = "error: " + err.Error()
				}
				log.WithField("command", strings.TrimSpace(line)).Info("chassis control: " + reply)
				fmt.Fprintln(c, reply)
				c.Close()
			}
		}()
	}
	err = ch.Serve(ctx, ln)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// answerAddress writes the relay's status as one JSON line (an error
// line when the stack has no address).
func answerAddress(w io.Writer, relay *stackaddr.Relay) {
	if relay == nil {
		fmt.Fprintln(w, "error: this stack has no address")
		return
	}
	b, _ := json.Marshal(relay.Status())
	fmt.Fprintf(w, "%s\n", b)
}

// chassisCommand carries out one line of the chassis control socket:
// "cut MAC", "restore MAC" (a module's attachment), "device B/S FAULT",
// "restore-device B/S", "cabinet B FAULT", "restore-cabinet B",
// "gateway IP down|loss PCT|delay DURATION", "restore-gateway IP".
func chassisCommand(ch *backplane.Chassis, host *chassis.Host, f []string) error {
	if len(f) == 2 && (f[0] == "cut" || f[0] == "restore") {
		mac, err := net.ParseMAC(f[1])
		if err != nil || len(mac) != 6 {
			return fmt.Errorf("bad MAC %s", f[1])
		}
		ch.SetFault(backplane.ID(mac), backplane.Fault{Cut: f[0] == "cut"})
		return nil
	}
	if host == nil {
		return errors.New("this chassis carries no devices")
	}
	switch {
	case len(f) == 3 && f[0] == "device":
		at, err := ident.ParseSlot(f[1])
		if err != nil {
			return err
		}
		return host.DeviceFault(int32(at.Cabinet), at.Slot, f[2])
	case len(f) == 2 && f[0] == "restore-device":
		at, err := ident.ParseSlot(f[1])
		if err != nil {
			return err
		}
		return host.RestoreDevice(int32(at.Cabinet), at.Slot)
	case (len(f) == 3 || len(f) == 4) && f[0] == "gateway":
		a, err := netip.ParseAddr(f[1])
		if err != nil {
			return fmt.Errorf("bad gateway address %q", f[1])
		}
		arg := ""
		if len(f) == 4 {
			arg = f[3]
		}
		return host.GatewayFault(a, f[2], arg)
	case len(f) == 2 && f[0] == "restore-gateway":
		a, err := netip.ParseAddr(f[1])
		if err != nil {
			return fmt.Errorf("bad gateway address %q", f[1])
		}
		return host.RestoreGateway(a)
	case len(f) == 3 && f[0] == "cabinet":
		b, err := strconv.Atoi(f[1])
		if err != nil {
			return fmt.Errorf("bad cabinet %q", f[1])
		}
		return host.CabinetFault(int32(b), f[2])
	case len(f) == 2 && f[0] == "restore-cabinet":
		b, err := strconv.Atoi(f[1])
		if err != nil {
			return fmt.Errorf("bad cabinet %q", f[1])
		}
		return host.RestoreCabinet(int32(b))
	}
	return fmt.Errorf("unknown command %q", strings.Join(f, " "))
}

// sibling finds a binary next to this one, or on PATH.
func sibling(name string) string {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return name
}

// spawn starts a detached process (its own session: it outlives us) with
// output to logPath, and records it in dir/pids.
func spawn(dir, kind, name, logPath string, env []string, bin string, args ...string) error {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s %s: %w", kind, name, err)
	}
	go func() { _ = cmd.Wait() }() // reap if it dies while we run
	return record(dir, kind, name, cmd.Process.Pid)
}

// proc is one process of a stack as dir/pids records it, one a line:
// "KIND NAME PID start=TICKS". A pid alone may since have been reused by
// someone else's process; the start time tells ours from theirs.
type proc struct {
	kind, name string
	pid        int
	start      uint64 // field 22 of /proc/PID/stat; 0: unknown
}

func (p proc) String() string {
	return fmt.Sprintf("%s %s %d start=%d", p.kind, p.name, p.pid, p.start)
}

// procStat returns a process's state (field 3 of /proc/PID/stat) and start
// time in clock ticks after boot (field 22).
func procStat(pid int) (state string, start uint64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, err
	}
	// The command name, field 2, is in parentheses and may hold anything.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return "", 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	f := strings.Fields(s[i+2:]) // from field 3
	if len(f) < 22-3+1 {
		return "", 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	start, err = strconv.ParseUint(f[22-3], 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("/proc/%d/stat: start time: %w", pid, err)
	}
	return f[0], start, nil
}

// record appends a process just started to dir/pids, with its start time.
func record(dir, kind, name string, pid int) error {
	p := proc{kind: kind, name: name, pid: pid}
	if _, start, err := procStat(pid); err == nil {
		p.start = start
	} // else it is gone already: start 0 is never ours
	f, err := os.OpenFile(filepath.Join(dir, "pids"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintln(f, p)
	return err
}

// readProcs reads dir/pids. A line it cannot read, or one without a start
// time (written by an older cpsstack), names a process it cannot tell
// from a stranger: it gets start 0, which is never running.
func readProcs(dir string) ([]proc, error) {
	data, err := os.ReadFile(filepath.Join(dir, "pids"))
	if err != nil {
		return nil, fmt.Errorf("no running stack in %s: %w", dir, err)
	}
	var ps []proc
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		pid, err := strconv.Atoi(f[2])
		if err != nil || pid <= 0 {
			continue
		}
		p := proc{kind: f[0], name: f[1], pid: pid}
		for _, kv := range f[3:] {
			if v, ok := strings.CutPrefix(kv, "start="); ok {
				p.start, _ = strconv.ParseUint(v, 10, 64)
			}
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// procOf returns the newest process recorded for kind/name.
func procOf(dir, kind, name string) (proc, error) {
	ps, err := readProcs(dir)
	if err != nil {
		return proc{}, err
	}
	var found proc
	for _, p := range ps {
		if p.kind == kind && p.name == name {
			found = p
		}
	}
	if found.pid == 0 {
		return proc{}, fmt.Errorf("no %s %q in %s", kind, name, dir)
	}
	return found, nil
}

// running reports whether p is still the process we started: its pid runs
// with the recorded start time, and it is not a zombie (dead, not yet
// reaped by whoever inherited it).
func (p proc) running() bool {
	state, start, err := procStat(p.pid)
	return err == nil && p.start != 0 && start == p.start && state != "Z" && state != "X"
}

// signal sends sig to p if it is still ours, and tells whether it did.
func (p proc) signal(sig syscall.Signal) bool {
	// The check and the kill are not atomic; a pid is reused only after
	// the process is reaped, and ours are reaped by init, not by a
	// stranger who could start another in between.
	return p.running() && syscall.Kill(p.pid, sig) == nil
}

func waitSocket(path string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("socket %s did not appear within %s", path, d)
}

// up brings the stack of file up in dir and waits until every module
// answers SNMP and one is Primary; progress, if not nil, is told how many
// modules answer each time that changes (and the modules are then asked
// every 250 ms, not every 50: a lab brings many stacks up at once, and the
// questions cost the machine what the start-up needs). It records the stack file in
// dir/stack.path (so that -run DIR names the stack), and, if current, in
// run/current beside dir.
func up(file string, st *stackfile.Stack, dir string, progress func(answering int), current bool) ([]row, error) {
	if _, err := os.Stat(filepath.Join(dir, "pids")); err == nil {
		return nil, fmt.Errorf("%s already holds a running stack (cpsstack down first)", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	file, _ = filepath.Abs(file)
	sock := filepath.Join(dir, "chassis.sock")
	if err := os.WriteFile(filepath.Join(dir, "stack.path"), []byte(file+"\n"), 0o644); err != nil {
		return nil, err
	}
	if current {
		if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "current"), []byte(file+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	if err := spawn(dir, "chassis", st.Name, filepath.Join(dir, "chassis.log"), nil, sibling("cpsstack"), "chassis", "-socket", sock,
		"-control", filepath.Join(dir, "chassis.ctl"), "-state", filepath.Join(dir, "devices.json"), "-stack", file); err != nil {
		return nil, err
	}
	if err := waitSocket(sock, 10*time.Second); err != nil {
		return nil, fmt.Errorf("the chassis did not start (its log: %s): %w", filepath.Join(dir, "chassis.log"), err)
	}
	sysObjectID := catalog.Default().ModuleID().String()
	for _, m := range st.Modules {
		md := filepath.Join(dir, m.Name)
		if err := os.MkdirAll(filepath.Join(md, "persist"), 0o700); err != nil {
			return nil, err
		}
		ax := filepath.Join(md, "agentx.sock")
		var sinks []string
		if st.TrapSink.IsValid() {
			sinks = append(sinks, st.TrapSink.String())
		}
		conf := snmpd.Config(snmpd.Options{UDP: m.SNMP.String(), AgentXSocket: ax, ReadCommunity: "public",
			WriteCommunity: "private", SysObjectID: sysObjectID, SysDescr: "cpsmm emulated CPSMM100 " + m.Name,
			TrapSinks: sinks})
		if err := os.WriteFile(filepath.Join(md, "snmpd.conf"), []byte(conf), 0o600); err != nil {
			return nil, err
		}
		if err := startSnmpd(dir, m); err != nil {
			return nil, err
		}
		if err := startModule(file, dir, m); err != nil {
			return nil, err
		}
	}
	// Every module answers SNMP, and the stack has settled on a Primary.
	deadline := time.Now().Add(20*time.Second + st.Holdtime + 2*st.Hello)
	told, every := -1, 50*time.Millisecond
	if progress != nil {
		every = 250 * time.Millisecond
	}
	for {
		rows := query(st)
		answered, primaries := 0, 0
		for _, r := range rows {
			if r.Err == "" {
				answered++
			}
			if r.Role == "primary" {
				primaries++
			}
		}
		if progress != nil && answered != told {
			progress(answered)
			told = answered
		}
		// With a stack address, settled means the address answers too.
		held := markAddress(st, dir, rows) || !st.Address.IsValid()
		if answered == len(rows) && primaries == 1 && held {
			return rows, nil
		}
		if time.Now().After(deadline) {
			addr := ""
			if st.Address.IsValid() && !held {
				addr = fmt.Sprintf(", nobody holds the stack address %s", st.Address)
			}
			return rows, fmt.Errorf("the stack did not settle (%d of %d modules answer, %d Primaries%s); logs in %s", answered, len(rows), primaries, addr, dir)
		}
		time.Sleep(every)
	}
}

// startSnmpd starts module m's snmpd on the configuration up wrote in its
// directory, with its persistent data there, and waits for its AgentX
// socket.
func startSnmpd(dir string, m stackfile.Module) error {
	bin, err := snmpd.Binary()
	if err != nil {
		return err
	}
	md := filepath.Join(dir, m.Name)
	ax := filepath.Join(md, "agentx.sock")
	_ = os.Remove(ax) // a killed snmpd leaves it behind
	if err := spawn(dir, "snmpd", m.Name, filepath.Join(md, "snmpd.log"), snmpd.Env(filepath.Join(md, "persist")),
		bin, snmpd.Args(filepath.Join(md, "snmpd.conf"))...); err != nil {
		return err
	}
	return waitSocket(ax, 10*time.Second)
}

// startModule starts one module process of the stack.
func startModule(file, dir string, m stackfile.Module) error {
	md := filepath.Join(dir, m.Name)
	return spawn(dir, "module", m.Name, filepath.Join(md, "cpsmm.log"), nil, sibling("cpsmm"),
		"-stack", file, "-name", m.Name, "-chassis", "unix:"+filepath.Join(dir, "chassis.sock"),
		"-agentx", "unix:"+filepath.Join(md, "agentx.sock"), "-state-dir", filepath.Join(md, "state"),
		"-control", filepath.Join(md, "control.sock"))
}

// ask sends one command line to a control socket and returns the answer.
func ask(path, command string) error {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintln(c, command)
	reply, _ := bufio.NewReader(c).ReadString('\n')
	if reply = strings.TrimSpace(reply); reply != "ok" {
		return fmt.Errorf("%s: %s", command, reply)
	}
	return nil
}

// moduleOf finds a module of the stack and its recorded process.
func moduleOf(st *stackfile.Stack, dir, name string) (stackfile.Module, proc, error) {
	sm, ok := st.Module(name)
	if !ok {
		return sm, proc{}, fmt.Errorf("stack %s has no module %q", st.Name, name)
	}
	p, err := procOf(dir, "module", name)
	return sm, p, err
}

// fail injects a fault into one module.
func fail(st *stackfile.Stack, dir, name, action string) error {
	sm, p, err := moduleOf(st, dir, name)
	if err != nil {
		return err
	}
	notOurs := fmt.Errorf("module %s is not running (pid %d is gone or no longer ours)", name, p.pid)
	switch action {
	case "kill":
		// A module that dies (power, hardware) goes silent as a whole:
		// left running, its snmpd would go on answering sysUpTime and
		// sysObjectID, and to an NMS the dead module would look alive.
		sd, _ := procOf(dir, "snmpd", name)
		killedModule := p.signal(syscall.SIGKILL)
		killedSnmpd := sd.signal(syscall.SIGKILL)
		if !killedModule && !killedSnmpd {
			return notOurs
		}
		// Dead when we return: nothing answers for it from now on.
		for deadline := time.Now().Add(5 * time.Second); p.running() || sd.running(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				return fmt.Errorf("module %s: still running 5s after SIGKILL", name)
			}
		}
		return nil
	case "hang":
		// The module process alone stops: its snmpd answers its own
		// objects (sysUpTime…), the module's time out, and its peers stop
		// hearing it, as when a module's application hangs.
		if !p.signal(syscall.SIGSTOP) {
			return notOurs
		}
		return nil
	case "link-down":
		return ask(filepath.Join(dir, name, "control.sock"), "link down")
	case "backplane-down":
		return ask(filepath.Join(dir, "chassis.ctl"), "cut "+sm.MAC.String())
	case "ip-down":
		// Its Ethernet side carries no IP (no adverts, no probes, no
		// answers), its link up: only its IP monitor can tell.
		return ask(filepath.Join(dir, name, "control.sock"), "ip down")
	case "isolate":
		// A partition: silent on both paths, but its link up, so it stays
		// eligible and keeps (or takes) the Primary role on its side.
		if err := ask(filepath.Join(dir, name, "control.sock"), "ethernet isolate"); err != nil {
			return err
		}
		return ask(filepath.Join(dir, "chassis.ctl"), "cut "+sm.MAC.String())
	}
	return fmt.Errorf("unknown fault %q: one of %s", action, strings.Join(moduleFaults(), ", "))
}

// restore clears every fault of one module: a killed module is started
// again (its snmpd, on the same configuration and persistent data, then
// the module process once the AgentX socket is there), a hung one
// continued, its link and backplane restored.
func restore(file string, st *stackfile.Stack, dir, name string) error {
	sm, p, err := moduleOf(st, dir, name)
	if err != nil {
		return err
	}
	sd, err := procOf(dir, "snmpd", name)
	if err != nil {
		return err
	}
	if !sd.running() {
		if err := startSnmpd(dir, sm); err != nil {
			return err
		}
	}
	if !p.running() {
		if err := startModule(file, dir, sm); err != nil {
			return err
		}
	} else {
		p.signal(syscall.SIGCONT)
		deadline := time.Now().Add(5 * time.Second)
		for ask(filepath.Join(dir, name, "control.sock"), "link up") != nil {
			if time.Now().After(deadline) {
				return fmt.Errorf("module %s does not answer its control socket", name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return ask(filepath.Join(dir, "chassis.ctl"), "restore "+sm.MAC.String())
}

// down stops every process of the run directory that is still ours:
// modules first (they resign), then the snmpds and the chassis. A
// recorded pid whose process has gone, or was reused by another, is left
// alone.
func down(dir string) error {
	ps, err := readProcs(dir)
	if err != nil {
		return err
	}
	var groups [3][]proc
	order := map[string]int{"module": 0, "snmpd": 1, "chassis": 2}
	for _, p := range ps {
		if g, ok := order[p.kind]; ok {
			groups[g] = append(groups[g], p)
		}
	}
	for _, group := range groups {
		for _, p := range group {
			p.signal(syscall.SIGTERM)
		}
		for _, p := range group {
			deadline := time.Now().Add(5 * time.Second)
			for p.running() && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			p.signal(syscall.SIGKILL)
		}
	}
	return os.Remove(filepath.Join(dir, "pids"))
}

// row is one module's state as its SNMP agent reports it.
type row struct {
	Module  string `json:"module"`
	Cabinet int32  `json:"cabinet"`
	Slot    int32  `json:"slot"`
	SNMP    string `json:"snmp"`
	Role    string `json:"role"`
	Can     string `json:"can_primary"`
	Want    string `json:"want_primary"`
	Err     string `json:"error,omitempty"`
	// StackAddress is the stack file's address, on every row when it has
	// one; HoldsAddress marks the row of the module that serves it now
	// (as the chassis's relay says).
	StackAddress string `json:"stack_address,omitempty"`
	HoldsAddress bool   `json:"holds_address,omitempty"`
	// Negotiation is the module's own account (its control socket).
	Negotiation *member.Status `json:"negotiation,omitempty"`
	// TrapManagers: the module's keepalive to its trap managers (its
	// control socket).
	TrapManagers *trapmgr.Report `json:"trap_managers,omitempty"`
}

// query asks every module's agent, all at once (a silent module costs its
// timeout once, not once per module), for its role, eligibility and
// preference.
func query(st *stackfile.Stack) []row {
	rows := make([]row, len(st.Modules))
	reg := mib.DefaultRegistry()
	var wg sync.WaitGroup
	for i, m := range st.Modules {
		wg.Go(func() { rows[i] = queryOne(reg, m) })
	}
	wg.Wait()
	return rows
}

func queryOne(reg *mib.Registry, m stackfile.Module) row {
	r := row{Module: m.Name, Cabinet: int32(m.Cabinet), Slot: m.Slot, SNMP: m.SNMP.String(), Role: "unknown"}
	g := &gosnmp.GoSNMP{Target: m.SNMP.Addr().String(), Port: m.SNMP.Port(), Community: "public",
		Version: gosnmp.Version2c, Timeout: time.Second, Retries: 1}
	var oids []string
	for _, col := range []string{"cpsmm100IsPrimary", "cpsmm100CanPrimary", "cpsmm100WantPrimary"} {
		oids = append(oids, "."+reg.MustLookup(col).OID.Append(m.At().Index()...).String())
	}
	if err := g.Connect(); err != nil {
		r.Err = err.Error()
		return r
	}
	res, err := g.Get(oids)
	g.Conn.Close()
	if err != nil || len(res.Variables) != 3 || res.Variables[0].Type != gosnmp.Integer {
		r.Err = fmt.Sprint("no answer: ", err)
		return r
	}
	v := func(i int) int { return int(gosnmp.ToBigInt(res.Variables[i].Value).Int64()) }
	r.Role = map[int]string{1: "primary", 2: "standby"}[v(0)]
	r.Can = map[int]string{1: "yes", 2: "no"}[v(1)]
	r.Want = map[int]string{1: "yes", 2: "no", 3: "always"}[v(2)]
	return r
}

// setWant sets module name's cpsmm100WantPrimary through the Primary, the
// one module that distributes a Set to another's row.
func setWant(st *stackfile.Stack, name, want string) error {
	m, ok := st.Module(name)
	if !ok {
		return fmt.Errorf("stack %s has no module %q", st.Name, name)
	}
	v, ok := map[string]int{"yes": 1, "no": 2, "always": 3}[want]
	if !ok {
		return fmt.Errorf("WantPrimary %q: want yes, no or always", want)
	}
	var primary string
	for _, r := range query(st) {
		if r.Role == "primary" {
			primary = r.SNMP
		}
	}
	if primary == "" {
		return errors.New("no module answers as Primary")
	}
	ap, err := netip.ParseAddrPort(primary)
	if err != nil {
		return err
	}
	g := &gosnmp.GoSNMP{Target: ap.Addr().String(), Port: ap.Port(), Community: "private",
		Version: gosnmp.Version2c, Timeout: 2 * time.Second, Retries: 0}
	if err := g.Connect(); err != nil {
		return err
	}
	defer g.Conn.Close()
	oid := "." + mib.DefaultRegistry().MustLookup("cpsmm100WantPrimary").OID.Append(m.At().Index()...).String()
	res, err := g.Set([]gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Integer, Value: v}})
	if err != nil {
		return fmt.Errorf("set WantPrimary of %s through the Primary %s: %w", name, primary, err)
	}
	if res.Error != gosnmp.NoError {
		return fmt.Errorf("set WantPrimary of %s through the Primary %s: %s", name, primary, res.Error)
	}
	return nil
}

func printTable(rows []row) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	addr := false
	for _, r := range rows {
		addr = addr || r.StackAddress != ""
	}
	head := "MODULE\tCABINET/SLOT\tSNMP\tROLE\tCAN\tWANT"
	if addr {
		head += "\tADDRESS"
	}
	fmt.Fprintln(w, head)
	for _, r := range rows {
		role := r.Role
		if r.Err != "" {
			role = "not answering"
		}
		fmt.Fprintf(w, "%s\t%d/%d\t%s\t%s\t%s\t%s", r.Module, r.Cabinet, r.Slot, r.SNMP, role, r.Can, r.Want)
		if r.HoldsAddress {
			fmt.Fprintf(w, "\t%s", r.StackAddress)
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}

// statusRows is every module's row as its agent reports it, with the
// module's own account from its control socket: what `status` prints and
// the web page draws.
func statusRows(st *stackfile.Stack, dir string) []row {
	rows := query(st)
	var wg sync.WaitGroup
	for i := range rows {
		wg.Go(func() {
			n, tm, err := negotiationOf(filepath.Join(dir, rows[i].Module, "control.sock"))
			if err != nil {
				if rows[i].Err == "" {
					rows[i].Err = "no negotiation state: " + err.Error()
				}
				return
			}
			rows[i].Negotiation, rows[i].TrapManagers = n, tm
		})
	}
	wg.Wait()
	markAddress(st, dir, rows)
	return rows
}

// markAddress shows the stack address on the rows, and which module holds
// it; it tells whether one does.
func markAddress(st *stackfile.Stack, dir string, rows []row) bool {
	if !st.Address.IsValid() {
		return false
	}
	a, _ := addressOf(dir)
	held := false
	for i := range rows {
		rows[i].StackAddress = st.Address.String()
		rows[i].HoldsAddress = a != nil && a.Holder == rows[i].Module
		held = held || rows[i].HoldsAddress
	}
	return held
}

// addressOf asks the chassis which module holds the stack address.
func addressOf(dir string) (*stackaddr.Status, error) {
	c, err := net.DialTimeout("unix", filepath.Join(dir, "chassis.ctl"), time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintln(c, "address")
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	var a stackaddr.Status
	if err := json.Unmarshal(line, &a); err != nil {
		return nil, fmt.Errorf("stack address: %s", strings.TrimSpace(string(line)))
	}
	return &a, nil
}

// printAddress is status's line about the stack address.
func printAddress(st *stackfile.Stack, dir string) {
	if !st.Address.IsValid() {
		return
	}
	a, err := addressOf(dir)
	if err != nil {
		fmt.Printf("\nstack address %s: the chassis does not answer: %v\n", st.Address, err)
		return
	}
	who := "held by nobody"
	if a.Holder != "" {
		who = "held by " + a.Holder
	}
	fmt.Printf("\nstack address %s: %s since %s (%s ago); %d moves; %d requests, %d answers relayed, "+
		"%d dropped with no holder, %d answers from a former holder dropped, %d withheld (said not Primary)\n",
		a.Address, who, a.Since.Format("15:04:05.000"), time.Since(a.Since).Round(time.Millisecond), a.Moves,
		a.Requests, a.Relayed, a.NoHolder, a.Stale, a.Withheld)
}

func status(st *stackfile.Stack, dir string, asJSON bool) error {
	rows := statusRows(st, dir)
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	if err := printTable(rows); err != nil {
		return err
	}
	printAddress(st, dir)
	// In the spirit of `show failover`: per module, its time as Primary,
	// its last role change, and the state of both paths to each peer.
	names := map[string]string{}
	for _, m := range st.Modules {
		names[m.MAC.String()] = m.Name
	}
	if w := alwaysWarning(rows, names); w != "" {
		fmt.Println("\n" + w)
	}
	now := time.Now()
	ago := func(t time.Time) string { return now.Sub(t).Round(time.Millisecond).String() + " ago" }
	for _, r := range rows {
		n := r.Negotiation
		if n == nil {
			continue
		}
		fmt.Printf("\n%s: %s", r.Module, n.Role)
		if !n.ActiveSince.IsZero() {
			fmt.Printf(", active for %s", now.Sub(n.ActiveSince).Round(time.Millisecond))
		}
		if !n.LastChange.IsZero() {
			fmt.Printf("; last change %s (%s): %s", n.LastChange.Format("15:04:05.000"), ago(n.LastChange), n.LastReason)
		}
		fmt.Printf("; %d solicitations sent, %d device reports heard\n", n.Solicitations, n.Reports)
		for _, p := range n.Peers {
			path := func(name string, ps member.PathState) string {
				state := "down"
				if ps.OK {
					state = "up"
				}
				if ps.LastHeard.IsZero() {
					return name + " " + state + " (never heard)"
				}
				return fmt.Sprintf("%s %s (heard %s)", name, state, ago(ps.LastHeard))
			}
			alive := p.Role
			if !p.Alive {
				alive = "dead"
			}
			note := ""
			if p.LinkFault {
				note = " LINK FAILURE"
			}
			fmt.Printf("  peer %s (%d/%d): %s can=%v want=%s; %s, %s%s\n", names[p.MAC], p.Bia, p.Slot, alive, p.Eligible, p.Want,
				path("backplane", p.Backplane), path("ethernet", p.Ethernet), note)
		}
		if im := n.IPMonitor; im != nil {
			fmt.Printf("  ip monitor: %s; a poll every %s (%d probes), down after %d misses, up after %d successes\n",
				im.Verdict, im.Interval, im.Probes, im.Misses, im.Successes)
			for _, h := range im.Hosts {
				name := h.Name
				if mod, ok := names[h.Name]; ok {
					name = mod + " (" + h.Name + ")"
				}
				state, last := "up", "never answered"
				if !h.Up {
					state = "DOWN"
				}
				if !h.LastAnswer.IsZero() {
					last = "last answer " + ago(h.LastAnswer)
				}
				fmt.Printf("    %s %s: %s, %d consecutive misses, %d consecutive successes, %s; %d of %d polls answered\n",
					h.Kind, name, state, h.Misses, h.Successes, last, h.Answered, h.Polls)
			}
		}
		if tm := r.TrapManagers; tm != nil && len(tm.Managers) > 0 {
			fmt.Printf("  trap managers: keepalive %s; %d pending, %d dropped\n", tm.Keepalive, tm.Queued, tm.Dropped)
			for _, m := range tm.Managers {
				last := "never"
				if !m.LastAck.IsZero() {
					last = ago(m.LastAck)
				}
				fmt.Printf("    mgr%d %s: %s, last ack %s, %d consecutive misses; keepalives %d/%d acknowledged; notifications sent %d, acknowledged %d, queued %d, dropped %d\n",
					m.Manager, m.Address, m.State, last, m.Misses, m.KeepalivesAcked, m.Keepalives, m.Sent, m.Acked, m.Queued, m.Dropped)
			}
		}
	}
	return nil
}

// alwaysWarning is the WARNING status prints when a module reports more
// than one always(3) module in the stack (the largest such report), or "".
func alwaysWarning(rows []row, names map[string]string) string {
	var worst []member.ModuleRef
	for _, r := range rows {
		if n := r.Negotiation; n != nil && len(n.AlwaysConflict) > len(worst) {
			worst = n.AlwaysConflict
		}
	}
	if len(worst) < 2 {
		return ""
	}
	var mods []string
	for _, m := range worst {
		name := names[m.MAC]
		if name == "" {
			name = m.MAC
		}
		mods = append(mods, fmt.Sprintf("%s (%d/%d)", name, m.Bia, m.Slot))
	}
	return fmt.Sprintf("WARNING: more than one module wants always(3): %s. The vendor's modules behave erratically so;\n"+
		"the emulator keeps the lowest cabinet/slot of them, %s, Primary. Set all but one to yes or no.",
		strings.Join(mods, ", "), mods[0])
}

// negotiationOf asks a module's control socket for its negotiation state
// and its trap managers' keepalive.
func negotiationOf(path string) (*member.Status, *trapmgr.Report, error) {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintln(c, "status")
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return nil, nil, err
	}
	var st struct {
		member.Status
		TrapManagers *trapmgr.Report `json:"trap_managers"`
	}
	if err := json.Unmarshal(line, &st); err != nil {
		return nil, nil, fmt.Errorf("status from %s: %w", path, err)
	}
	return &st.Status, st.TrapManagers, nil
}
