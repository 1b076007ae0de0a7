package main

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/negotiation"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/ipmon"
	"github.com/cpsmm/cpsmm/stack/member"
	"github.com/cpsmm/cpsmm/stack/member/devcache"
	"github.com/cpsmm/cpsmm/stack/module"
	"github.com/cpsmm/cpsmm/stack/stackfile"
	"github.com/cpsmm/cpsmm/stack/transport"
)

// stackConfig overlays a module's configuration with its entry in a stack
// file.
func stackConfig(st *stackfile.Stack, name string, cfg module.Config) (module.Config, stackfile.Module, error) {
	sm, ok := st.Module(name)
	if !ok {
		return cfg, sm, fmt.Errorf("stack %s has no module %q", st.Name, name)
	}
	cfg.Name, cfg.Bia, cfg.Slot, cfg.MAC, cfg.Serial = sm.Name, int32(sm.Cabinet), sm.Slot, sm.MAC.String(), sm.Serial
	cfg.IPAddress, cfg.SubnetMask, cfg.Gateway = sm.IP.String(), sm.Mask.String(), sm.Gateway.String()
	cfg.WantPrimary, cfg.SysName = sm.WantPrimary, sm.Name
	// ICIF: the Base Management Module in the leftmost slot of its cabinet.
	for _, o := range st.Modules {
		if o.Cabinet == sm.Cabinet && o.Slot < sm.Slot {
			cfg.NotICIF = true
		}
	}
	if c, ok := st.Cabinet(sm.Cabinet); ok {
		cfg.CabinetModel, cfg.CabinetDescription = c.Model, c.Description
	}
	return cfg, sm, nil
}

// newMember joins the module to its stack: the chassis socket in runDir,
// the other modules' Ethernet sides as peers.
func newMember(st *stackfile.Stack, sm stackfile.Module, mod *module.Module, chassis string, notes *notifier, log logrus.FieldLogger) (*member.Member, error) {
	var peers []netip.AddrPort
	dir := map[ident.MAC]ident.Slot{}
	names := map[ident.MAC]string{}
	for _, o := range st.Modules {
		dir[o.MAC] = ident.At(o.Cabinet, o.Slot)
		names[o.MAC] = o.Name
		if o.Name == sm.Name {
			continue
		}
		peers = append(peers, o.Ethernet())
		pc, _, err := stackConfig(st, o.Name, module.Default())
		if err == nil {
			err = mod.AddPeer(pc)
		}
		if err != nil {
			return nil, fmt.Errorf("module %s's row: %w", o.Name, err)
		}
	}
	// The stack address's holder (the chassis's relay) hears adverts on
	// Ethernet as a peer does, so a Primary cut from the backplane keeps it.
	if a := st.AddressEthernet(); a.IsValid() {
		peers = append(peers, a)
	}
	sched := stackSchedule(st)
	devs := devcache.Config{Poll: st.Poll, NextPoll: func(t time.Time) time.Time { return sched.Next(t, st.Poll) }, Managers: map[ident.Slot]bool{}, Aggregation: map[ident.Slot]netip.AddrPort{}, Notify: notes.Notify, Name: sm.Name}
	cat, err := catalog.New(mod.Store().Registry())
	if err != nil {
		return nil, err
	}
	for i, c := range st.Cabinets {
		model, ok := cat.CabinetModel(c.Model)
		if !ok {
			return nil, fmt.Errorf("cabinet %d: unknown model %q", c.Bia, c.Model)
		}
		devs.Cabinets = append(devs.Cabinets, devcache.Cabinet{Bia: c.Bia, Model: model, Sequence: int32(i + 1)})
	}
	for _, o := range st.Modules {
		devs.Managers[ident.At(o.Cabinet, o.Slot)] = true
	}
	for _, d := range st.Devices {
		if d.Type == stackfile.AggregationType {
			devs.Aggregation[ident.At(d.Cabinet, d.Slot)] = d.Ethernet
		}
	}
	var mon *member.IPMonitor
	if st.IPMonitor.Enabled {
		im := st.IPMonitor
		mon = &member.IPMonitor{Monitor: ipmon.Config{Interval: im.Interval, Misses: im.Misses, Successes: im.Successes,
			Next: func(t time.Time) time.Time { return sched.Next(t, im.Interval) }},
			Targets: map[string]netip.AddrPort{}, FollowGateway: len(im.Targets) == 0}
		for _, a := range im.Targets {
			mon.Monitor.Targets = append(mon.Monitor.Targets, a.String())
		}
		for a, at := range im.Hosts {
			mon.Targets[a.String()] = at
		}
		if im.Peers {
			mon.Peers = map[ident.MAC]netip.AddrPort{}
			for _, o := range st.Modules {
				if o.Name != sm.Name {
					mon.Peers[o.MAC] = o.Ethernet()
				}
			}
		}
	}
	network, address := parseAgentX(chassis)
	if !filepath.IsAbs(address) && network == "unix" {
		address, _ = filepath.Abs(address)
	}
	return member.New(member.Config{
		Negotiation: negotiation.Config{Hello: st.Hello, Holdtime: st.Holdtime, Schedule: sched, Rule: stackRule(st),
			Slot: ident.At(sm.Cabinet, sm.Slot)},
		Transport: transport.Config{ID: backplane.ID(sm.MAC), Key: []byte(st.Key),
			ChassisNetwork: network, ChassisAddr: address, Ethernet: sm.Ethernet(), Peers: peers},
		Module: mod, Directory: dir, Devices: devs, Log: log, Names: names, RoleChanged: notes.RoleChanged, IPMonitor: mon,
	})
}

// stackRule is the stack's election rule: the vendor's unless the stack
// file says negotiation: {preempt: false}.
func stackRule(st *stackfile.Stack) negotiation.Rule {
	if st.Preempt {
		return negotiation.VendorRule
	}
	return negotiation.IncumbentRule
}

// stackSchedule is the stack's grid of periodic sends (hellos and polls):
// aligned, at a phase every module of the stack derives from its name and
// key, so that its modules send together (each wakes once a hello, not
// once per peer) while other stacks on the machine fall elsewhere in the
// second. The phase is taken modulo the period by negotiation.Schedule.
func stackSchedule(st *stackfile.Stack) negotiation.Schedule {
	h := fnv.New64a()
	h.Write([]byte(st.Name))
	h.Write([]byte{0})
	h.Write([]byte(st.Key))
	return negotiation.Schedule{Align: true, Phase: time.Duration(h.Sum64() % uint64(time.Hour))}
}
