// Command cpsmm runs one emulated Point System Base Management Module
// (CPSMM100) as an AgentX subagent of a net-snmp snmpd master agent.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/agent"
	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/module"
	"github.com/cpsmm/cpsmm/stack/stackfile"
)

// version is the emulator's version, shown in cpsEmuVersion.
const version = "cpsmm 0.1.0"

func main() {
	// One P: an idle module's CPU goes to waking up, and with two Ps each
	// wake-up also wakes a second thread to look for work (measured on an
	// idle stack here: 2.2 ms/s per module with one, 3.1 with two). While
	// snmpd walks the module, two (see walkProcs). GOMAXPROCS in the
	// environment wins.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cpsmm:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("cpsmm", flag.ContinueOnError)
	var (
		configFile = fs.String("config", "", "YAML module configuration `file` (flags given explicitly override it)")
		agentxAddr = fs.String("agentx", "unix:/var/agentx/master", "AgentX master `address`: unix:PATH, tcp:HOST:PORT, or a socket path")
		stateDir   = fs.String("state-dir", "", "`directory` where cpsmm100SaveConfig writes the configuration (empty: saving fails)")
		logFormat  = fs.String("log-format", "text", "log format: text or json")
		logLevel   = fs.String("log-level", "info", "log level: debug, info, warn, error")
		stackFile  = fs.String("stack", "", "stack `file`: run as the module -name of that stack (identity and timers from the file)")
		chassis    = fs.String("chassis", "", "backplane socket of the stack (unix:PATH or tcp:HOST:PORT); with -stack")
		control    = fs.String("control", "", "fault-injection socket `path` (\"link down\", \"link up\"); with -stack")
	)
	d := module.Default()
	name := fs.String("name", d.Name, "module name")
	bia := fs.Int("cabinet", int(d.Bia), "cabinet BiaIndex")
	slot := fs.Int("slot", int(d.Slot), "slot")
	mac := fs.String("mac", d.MAC, "MAC address")
	serial := fs.Int("serial", int(d.Serial), "serial number")
	ipAddr := fs.String("ip", d.IPAddress, "IP address (data only: never contacted)")
	mask := fs.String("mask", d.SubnetMask, "subnet mask")
	gw := fs.String("gateway", d.Gateway, "gateway")
	want := fs.String("want-primary", d.WantPrimary, "yes, no or always")
	cabModel := fs.String("cabinet-model", d.CabinetModel, "cabinet model (cpsmc1800, cpsmc1300, ...)")
	hwRev := fs.String("hw-revision", d.HwRevision, "hardware revision")
	swRev := fs.String("sw-revision", d.SwRevision, "software revision")
	if err := fs.Parse(args); err != nil {
		return err
	}

	log := logrus.New()
	log.SetOutput(os.Stderr)
	switch *logFormat {
	case "json":
		log.SetFormatter(&logrus.JSONFormatter{})
	case "text":
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, DisableColors: true})
	default:
		return fmt.Errorf("-log-format %q: want text or json", *logFormat)
	}
	lvl, err := logrus.ParseLevel(*logLevel)
	if err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log.SetLevel(lvl)

	cfg := d
	if *configFile != "" {
		if cfg, err = module.LoadFile(*configFile, d); err != nil {
			return err
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	apply := map[string]func(){
		"name": func() { cfg.Name = *name }, "cabinet": func() { cfg.Bia = int32(*bia) },
		"slot": func() { cfg.Slot = int32(*slot) }, "mac": func() { cfg.MAC = *mac },
		"serial": func() { cfg.Serial = int32(*serial) }, "ip": func() { cfg.IPAddress = *ipAddr },
		"mask": func() { cfg.SubnetMask = *mask }, "gateway": func() { cfg.Gateway = *gw },
		"want-primary": func() { cfg.WantPrimary = *want }, "cabinet-model": func() { cfg.CabinetModel = *cabModel },
		"hw-revision": func() { cfg.HwRevision = *hwRev }, "sw-revision": func() { cfg.SwRevision = *swRev },
	}
	for f, fn := range apply {
		if set[f] {
			fn()
		}
	}
	if set["name"] && !set["config"] {
		cfg.SysName = *name
	}
	var st *stackfile.Stack
	var sm stackfile.Module
	if *stackFile != "" {
		if st, err = stackfile.Load(*stackFile); err != nil {
			return err
		}
		if *chassis == "" {
			return errors.New("-stack needs -chassis")
		}
		if cfg, sm, err = stackConfig(st, *name, cfg); err != nil {
			return err
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	network, address := parseAgentX(*agentxAddr)
	m, err := module.New(module.Options{Config: cfg, StateDir: *stateDir, Version: version, Log: log, Stack: st != nil})
	if err != nil {
		return err
	}
	// Register the vendor's management objects and the emulator's own arc.
	cat, err := catalog.New(m.Store().Registry())
	if err != nil {
		return err
	}
	regs := []agent.Registration{{Subtree: cat.Subtree()}, {Subtree: smi.MustOID(mib.EmulatorArc)}}
	sub, err := agent.New(agent.Config{
		Network: network, Address: address,
		ID:    cat.ModuleID(),
		Descr: "cpsmm emulated CPSMM100 " + cfg.Name, Registrations: regs,
		Handler: m.Handler(), Busy: walkProcs(log),
		Log: log.WithFields(logrus.Fields{"module": cfg.Name, "bia": cfg.Bia, "slot": cfg.Slot}),
	})
	if err != nil {
		return err
	}
	m.SetSessionCounter(sub.Sessions)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fields := logrus.Fields{"module": cfg.Name, "bia": cfg.Bia, "slot": cfg.Slot}
	log.WithFields(fields).WithField("agentx", *agentxAddr).Info("module starting")
	// The module's loop: the one writer of its view (the member's in a
	// stack, the module's own alone).
	loopDone := make(chan error, 1)
	if st != nil {
		notes := newNotifier(ctx, sub, m, st.TrapPort, log.WithFields(fields))
		mem, err := newMember(st, sm, m, *chassis, notes, log.WithFields(fields))
		if err != nil {
			return err
		}
		if *control != "" {
			if err := serveControl(ctx, *control, mem, notes, log.WithFields(fields)); err != nil {
				return err
			}
		}
		go func() { loopDone <- mem.Run(ctx) }()
	} else {
		go func() { loopDone <- m.Run(ctx) }()
	}
	if err := sub.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	<-loopDone
	log.WithField("module", cfg.Name).Info("module stopped")
	return nil
}

// parseAgentX splits an AgentX address the way snmpd's agentXSocket does.
func parseAgentX(s string) (network, address string) {
	switch {
	case strings.HasPrefix(s, "unix:"):
		return "unix", strings.TrimPrefix(s, "unix:")
	case strings.HasPrefix(s, "tcp:"):
		return "tcp", strings.TrimPrefix(s, "tcp:")
	}
	return "unix", s
}

// walkProcs returns the subagent's Busy hook: two Ps while snmpd sends
// AgentX requests back to back, one again once quiet. The session reads
// its socket with a blocking read(2); with one P the runtime takes that P
// back from the blocked read and wakes another thread to hold it on
// nearly every request of a walk, which tripled the module's CPU per
// varbind (README, Performance). Nil (no change) when GOMAXPROCS is set
// in the environment or the machine has one CPU.
func walkProcs(log logrus.FieldLogger) func(busy bool) {
	if os.Getenv("GOMAXPROCS") != "" || runtime.NumCPU() < 2 {
		return nil
	}
	return func(busy bool) {
		procs := 1
		if busy {
			procs = 2
		}
		runtime.GOMAXPROCS(procs)
		log.WithField("procs", procs).Debug("agentx requests back to back: procs set")
	}
}
