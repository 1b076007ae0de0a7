// Package stackfile reads and validates stack files: the YAML description
// of a Point System stack (cabinets, management modules, devices, timers and
// the shared backplane key) that cpsstack launches. Every error names the
// file, the line and the field.
package stackfile

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/yamlerr"
)

// Stack is a validated stack file.
type Stack struct {
	Name     string
	Key      string
	Hello    time.Duration
	Holdtime time.Duration
	// Poll is how often the Primary solicits every device.
	Poll time.Duration
	// Preempt selects the election rule: true (the default), the vendor's
	// (a better module that becomes eligible takes the role back); false
	// (negotiation: {preempt: false}), the incumbent keeps the role among
	// equals.
	Preempt bool
	// TrapSink, if valid, is where every module's snmpd sends the
	// notifications the module raises (trap2sink).
	TrapSink netip.AddrPort
	// TrapPort is the UDP port of the trap managers named in
	// cpsmm100SNMPTrapMgr…Mgr4 (default 162).
	TrapPort uint16
	// Address, if valid, is the stack address: a loopback UDP address
	// that answers SNMP as the current Primary's own address does and
	// moves with the role (the chassis relays it; stack/stackaddr). Its
	// Ethernet side (AddressEthernet) hears the modules' adverts.
	Address  netip.AddrPort
	Cabinets []Cabinet
	Modules  []Module
	Devices  []Device
	// IPMonitor is the modules' IP monitor of their Ethernet sides (off
	// unless the file has an ip_monitor section).
	IPMonitor IPMonitor
}

// IPMonitor configures every module's IP monitor (stack/ipmon).
type IPMonitor struct {
	Enabled bool
	// Interval between polls (default: the hello).
	Interval time.Duration
	// Misses and Successes: consecutive polls for down and for up (4, 4).
	Misses, Successes int
	// Targets are the addresses every module polls; none: each module's
	// own gateway (none if it has none).
	Targets []netip.Addr
	// Peers: whether each module polls the others' Ethernet sides (on).
	Peers bool
	// Hosts is where the stack answers for each target address: a
	// loopback UDP address of the chassis process's responder. Targets
	// not given here get 127.0.0.1 at the lowest module SNMP port + 2000,
	// + 1, … in address order.
	Hosts map[netip.Addr]netip.AddrPort
}

// TargetsOf is what module m's IP monitor polls: the stack's targets, or
// its own gateway.
func (s *Stack) TargetsOf(m Module) []netip.Addr {
	if !s.IPMonitor.Enabled {
		return nil
	}
	if len(s.IPMonitor.Targets) > 0 {
		return s.IPMonitor.Targets
	}
	if !m.Gateway.IsValid() || m.Gateway.IsUnspecified() {
		return nil
	}
	return []netip.Addr{m.Gateway}
}

// Cabinet is one chassis.
type Cabinet struct {
	Bia         ident.Cabinet
	Model       string // a catalog cabinet model name
	Description string
}

// Module is one Base Management Module.
type Module struct {
	Name        string
	Cabinet     ident.Cabinet
	Slot        int32
	MAC         ident.MAC
	Serial      int32
	IP          netip.Addr
	Mask        netip.Addr
	Gateway     netip.Addr
	SNMP        netip.AddrPort
	WantPrimary string
}

// Device is one converter in a slot.
type Device struct {
	Cabinet ident.Cabinet
	Slot    int32
	Type    string // a catalog device type name
	Serial  int32
	ConnA   string
	ConnB   string
	// Ethernet is where a Management Aggregation Converter (smacf100p)
	// answers the Primary's solicitations (loopback UDP).
	Ethernet netip.AddrPort
}

// AggregationType is the Management Aggregation Converter: seen over
// Ethernet by the Primary only, not on the backplane.
const AggregationType = catalog.Aggregation

// Defaults and limits of the timers.
const (
	DefaultHello    = time.Second
	DefaultHoldtime = 3 * time.Second
	DefaultPoll     = time.Second
	MinPoll         = 100 * time.Millisecond
	MinHello        = 100 * time.Millisecond
	MinHoldtime     = 300 * time.Millisecond
)

// Error is one problem in a stack file, naming the file, the line and the
// field: the project's one YAML configuration error (stack/yamlerr).
type Error = yamlerr.Error

// Errors is every problem found in a file.
type Errors = yamlerr.List

// Load reads and validates the stack file at path.
func Load(path string) (*Stack, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("stack file: %w", err)
	}
	return Parse(path, data)
}

// Parse validates stack file content against the catalog of the built-in
// MIB definitions; name is used in error messages.
func Parse(name string, data []byte) (*Stack, error) {
	return ParseWith(catalog.Default(), name, data)
}

// ParseWith validates stack file content against cat: the cabinet models,
// device types and connectors it may name.
func ParseWith(cat *catalog.Catalog, name string, data []byte) (*Stack, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, Errors{{File: name, Line: yamlLine(err), Field: "(document)", Msg: err.Error()}}
	}
	p := &parser{file: name, cat: cat}
	st := p.stack(&doc)
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return st, nil
}

func yamlLine(err error) int {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return 0
	}
	var line int
	if _, e := fmt.Sscanf(strings.TrimPrefix(err.Error(), "yaml: line "), "%d:", &line); e == nil {
		return line
	}
	return 0
}

type parser struct {
	file string
	cat  *catalog.Catalog
	errs Errors
}

func (p *parser) fail(n *yaml.Node, field, format string, a ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, a...)})
}

// fields returns a mapping's keys and values, reporting unknown keys.
func (p *parser) fields(n *yaml.Node, where string, known ...string) map[string]*yaml.Node {
	// The mapping itself is kept under "" so that a missing field can be
	// reported at the line of the mapping that lacks it.
	m := map[string]*yaml.Node{"": n}
	if n == nil || n.Kind != yaml.MappingNode {
		p.fail(n, where, "must be a mapping")
		return m
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ok := false
		for _, kn := range known {
			if k.Value == kn {
				ok = true
			}
		}
		if !ok {
			p.fail(k, join(where, k.Value), "unknown field (known: %s)", strings.Join(known, ", "))
			continue
		}
		if _, dup := m[k.Value]; dup {
			p.fail(k, join(where, k.Value), "given twice")
		}
		m[k.Value] = v
	}
	return m
}

func join(where, field string) string {
	if where == "" {
		return field
	}
	return where + "." + field
}

func (p *parser) str(m map[string]*yaml.Node, key, where string, required bool) (string, *yaml.Node) {
	n, ok := m[key]
	if !ok {
		if required {
			p.fail(m[""], join(where, key), "missing")
		}
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		p.fail(n, join(where, key), "must be a single value")
		return "", n
	}
	return n.Value, n
}

func (p *parser) int32(m map[string]*yaml.Node, key, where string, required bool, min, max int32) (int32, *yaml.Node) {
	s, n := p.str(m, key, where, required)
	if n == nil {
		return 0, nil
	}
	var v int64
	if _, err := fmt.Sscan(s, &v); err != nil || fmt.Sprint(v) != s {
		p.fail(n, join(where, key), "%q is not a whole number", s)
		return 0, n
	}
	if v < int64(min) || v > int64(max) {
		p.fail(n, join(where, key), "%d is outside %d..%d", v, min, max)
		return 0, n
	}
	return int32(v), n
}

func (p *parser) duration(m map[string]*yaml.Node, key, where string, def, min time.Duration) time.Duration {
	s, n := p.str(m, key, where, false)
	if n == nil {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.fail(n, join(where, key), "%q is not a duration (e.g. 1s, 250ms)", s)
		return def
	}
	if d < min {
		p.fail(n, join(where, key), "%s is below the minimum %s", d, min)
	}
	return d
}

func (p *parser) ipv4(m map[string]*yaml.Node, key, where string, required bool) netip.Addr {
	s, n := p.str(m, key, where, required)
	if n == nil {
		return netip.IPv4Unspecified()
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		p.fail(n, join(where, key), "%q is not an IPv4 address", s)
		return netip.IPv4Unspecified()
	}
	return a
}

// loopback parses a HOST:PORT that must be on 127.0.0.0/8.
func (p *parser) loopback(n *yaml.Node, field, s string) netip.AddrPort {
	ap, err := netip.ParseAddrPort(s)
	switch {
	case err != nil:
		p.fail(n, field, "%q is not HOST:PORT", s)
	case !ap.Addr().IsLoopback():
		p.fail(n, field, "%s: only loopback (127.0.0.0/8) addresses are used", s)
	case ap.Port() == 0:
		p.fail(n, field, "port 0 is not a fixed port")
	default:
		return ap
	}
	return netip.AddrPort{}
}

func (p *parser) stack(doc *yaml.Node) *Stack {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	top := p.fields(root, "", "stack", "key", "address", "timers", "negotiation", "traps", "cabinets", "modules", "devices", "ip_monitor")
	st := &Stack{Hello: DefaultHello, Holdtime: DefaultHoldtime, Poll: DefaultPoll, TrapPort: 162, Preempt: true}
	st.Name, _ = p.str(top, "stack", "", true)
	var keyNode *yaml.Node
	st.Key, keyNode = p.str(top, "key", "", true)
	if keyNode != nil && len(st.Key) < 8 {
		p.fail(keyNode, "key", "the shared key must be at least 8 characters")
	}
	if t, ok := top["timers"]; ok {
		tm := p.fields(t, "timers", "hello", "holdtime", "poll")
		st.Hello = p.duration(tm, "hello", "timers", DefaultHello, MinHello)
		st.Poll = p.duration(tm, "poll", "timers", DefaultPoll, MinPoll)
		st.Holdtime = p.duration(tm, "holdtime", "timers", DefaultHoldtime, MinHoldtime)
		if st.Holdtime < 3*st.Hello {
			p.fail(t, "timers.holdtime", "holdtime %s must be at least 3 × hello (%s)", st.Holdtime, 3*st.Hello)
		}
	}

	if t, ok := top["negotiation"]; ok {
		ng := p.fields(t, "negotiation", "preempt")
		if v, n := p.str(ng, "preempt", "negotiation", false); n != nil {
			switch v {
			case "true", "yes", "on":
				st.Preempt = true
			case "false", "no", "off":
				st.Preempt = false
			default:
				p.fail(n, "negotiation.preempt", "%q is not true or false", v)
			}
		}
	}

	if t, ok := top["traps"]; ok {
		tr := p.fields(t, "traps", "sink", "manager_port")
		if s, sn := p.str(tr, "sink", "traps", false); sn != nil {
			st.TrapSink = p.loopback(sn, "traps.sink", s)
		}
		if port, pn := p.int32(tr, "manager_port", "traps", false, 1, 65535); pn != nil {
			st.TrapPort = uint16(port)
		}
	}

	cabs := map[ident.Cabinet]Cabinet{}
	for i, n := range p.list(top, "cabinets", true) {
		where := fmt.Sprintf("cabinets[%d]", i)
		f := p.fields(n, where, "bia", "model", "description")
		var c Cabinet
		var biaNode, modelNode *yaml.Node
		c.Bia, biaNode = p.cabinet(f, "bia", where)
		c.Model, modelNode = p.str(f, "model", where, true)
		c.Description, _ = p.str(f, "description", where, false)
		if modelNode != nil {
			if _, ok := p.cat.CabinetModel(c.Model); !ok {
				p.fail(modelNode, where+".model", "unknown cabinet model %q (known: %s)", c.Model, strings.Join(p.cat.CabinetNames(), ", "))
			}
		}
		if biaNode != nil {
			if _, dup := cabs[c.Bia]; dup {
				p.fail(biaNode, where+".bia", "cabinet %d is declared twice", c.Bia)
			}
			cabs[c.Bia] = c
		}
		st.Cabinets = append(st.Cabinets, c)
	}

	slots := map[ident.Slot]string{}
	ports := map[ident.Cabinet]int{} // smacf100p ports declared per cabinet
	claimSlot := func(n *yaml.Node, where string, k ident.Slot, what, kind string) {
		c, ok := cabs[k.Cabinet]
		if !ok {
			p.fail(n, where+".cabinet", "cabinet %d is not declared under cabinets", k.Cabinet)
			return
		}
		if m, ok := p.cat.CabinetModel(c.Model); ok && k.Slot > m.Slots {
			p.fail(n, where+".slot", "slot %d is beyond the %d slots of a %s", k.Slot, m.Slots, c.Model)
		} else if ok && m.Ethernet && kind != AggregationType {
			// An SMACF100 unit's slots are its ports.
			p.fail(n, where+".cabinet", "cabinet %d is a %s, whose slots are its ports: only %s devices sit in it, not %s", k.Cabinet, c.Model, AggregationType, what)
			return
		}
		if kind == AggregationType {
			ports[k.Cabinet]++
		}
		if other, dup := slots[k]; dup {
			p.fail(n, where+".slot", "cabinet %d slot %d is already taken by %s", k.Cabinet, k.Slot, other)
			return
		}
		slots[k] = what
	}

	seen := map[string]string{} // "kind value" -> owner, for duplicate addresses
	unique := func(n *yaml.Node, field, kind, value, owner string) bool {
		k := kind + " " + value
		if other, dup := seen[k]; dup {
			p.fail(n, field, "%s %s is already used by %s", kind, value, other)
			return false
		}
		seen[k] = owner
		return true
	}
	for i, n := range p.list(top, "modules", true) {
		where := fmt.Sprintf("modules[%d]", i)
		f := p.fields(n, where, "name", "cabinet", "slot", "mac", "serial", "ip", "mask", "gateway", "snmp", "want_primary")
		var m Module
		var nameNode *yaml.Node
		m.Name, nameNode = p.str(f, "name", where, true)
		if nameNode != nil {
			unique(nameNode, where+".name", "name", m.Name, where)
		}
		owner := fmt.Sprintf("module %q", m.Name)
		m.Cabinet, _ = p.cabinet(f, "cabinet", where)
		var slotNode *yaml.Node
		m.Slot, slotNode = p.int32(f, "slot", where, true, 1, 32)
		if slotNode != nil && m.Cabinet != 0 {
			claimSlot(slotNode, where, m.At(), owner, "module")
		}
		if s, mn := p.str(f, "mac", where, true); mn != nil {
			mac, err := ident.ParseMAC(s)
			if err != nil {
				p.fail(mn, where+".mac", "%q is not a 6-octet MAC address", s)
			} else {
				m.MAC = mac
				unique(mn, where+".mac", "MAC", mac.String(), owner)
			}
		}
		m.Serial, _ = p.int32(f, "serial", where, false, 0, 2147483647)
		m.IP = p.ipv4(f, "ip", where, true)
		m.Mask = p.ipv4(f, "mask", where, true)
		m.Gateway = p.ipv4(f, "gateway", where, false)
		if !m.IP.IsUnspecified() {
			unique(f["ip"], where+".ip", "IP address", m.IP.String(), owner)
		}
		if s, sn := p.str(f, "snmp", where, true); sn != nil {
			ap, err := netip.ParseAddrPort(s)
			switch {
			case err != nil:
				p.fail(sn, where+".snmp", "%q is not HOST:PORT", s)
			case !ap.Addr().IsLoopback():
				p.fail(sn, where+".snmp", "%s: an emulated module listens on loopback (127.0.0.0/8) only", s)
			case ap.Port() == 0:
				p.fail(sn, where+".snmp", "port 0 is not a fixed port")
			case int(ap.Port())+EthernetOffset > 65535:
				// Ethernet() would wrap around to a port nobody chose.
				p.fail(sn, where+".snmp", "port %d leaves no room for the module's Ethernet side (port + %d ≤ 65535)", ap.Port(), EthernetOffset)
			default:
				m.SNMP = ap
				// snmpd's SNMP address and the module's Ethernet side are
				// both UDP on loopback: neither may take the other's, nor a
				// converter's, port.
				if unique(sn, where+".snmp", "SNMP address", ap.String(), owner) {
					unique(sn, where+".snmp", "UDP address", ap.String(), owner)
				}
				unique(sn, where+".snmp", "UDP address", m.Ethernet().String(), owner+"'s Ethernet side")
			}
		}
		m.WantPrimary = "yes"
		if s, wn := p.str(f, "want_primary", where, false); wn != nil {
			if s != "yes" && s != "no" && s != "always" {
				p.fail(wn, where+".want_primary", "%q is not yes, no or always", s)
			}
			m.WantPrimary = s
		}
		st.Modules = append(st.Modules, m)
	}
	for i, n := range p.list(top, "devices", false) {
		where := fmt.Sprintf("devices[%d]", i)
		f := p.fields(n, where, "cabinet", "slot", "type", "serial", "conn_a", "conn_b", "ethernet")
		var d Device
		d.Cabinet, _ = p.cabinet(f, "cabinet", where)
		var slotNode *yaml.Node
		d.Slot, slotNode = p.int32(f, "slot", where, true, 1, 32)
		var typeNode *yaml.Node
		d.Type, typeNode = p.str(f, "type", where, true)
		if _, ok := p.cat.DeviceType(d.Type); typeNode != nil && !ok {
			p.fail(typeNode, where+".type", "unknown device type %q (known: %s)", d.Type, strings.Join(p.cat.DeviceTypeNames(), ", "))
		}
		if slotNode != nil && d.Cabinet != 0 {
			claimSlot(slotNode, where, d.At(), fmt.Sprintf("a %s (devices[%d])", d.Type, i), d.Type)
		}
		d.Serial, _ = p.int32(f, "serial", where, false, 0, 2147483647)
		d.ConnA, d.ConnB = "rj-45", "scmm"
		for _, c := range []struct {
			key string
			dst *string
		}{{"conn_a", &d.ConnA}, {"conn_b", &d.ConnB}} {
			if s, cn := p.str(f, c.key, where, false); cn != nil {
				if !p.cat.Connector(s) {
					p.fail(cn, where+"."+c.key, "unknown connector %q", s)
				}
				*c.dst = s
			}
		}
		e, en := p.str(f, "ethernet", where, false)
		switch {
		case d.Type == AggregationType && en == nil:
			p.fail(n, where+".ethernet", "a %s is seen over Ethernet: its UDP address (127.0.0.0/8) is required", AggregationType)
		case d.Type != AggregationType && en != nil:
			p.fail(en, where+".ethernet", "only a %s is seen over Ethernet", AggregationType)
		case en != nil:
			d.Ethernet = p.loopback(en, where+".ethernet", e)
			unique(en, where+".ethernet", "UDP address", d.Ethernet.String(), fmt.Sprintf("a %s (%s)", d.Type, where))
		}
		st.Devices = append(st.Devices, d)
	}
	for i, c := range st.Cabinets {
		if m, ok := p.cat.CabinetModel(c.Model); ok && m.Ethernet && ports[c.Bia] == 0 {
			n := p.list(top, "cabinets", true)[i]
			p.fail(n, fmt.Sprintf("cabinets[%d].model", i), "a %s is reached over Ethernet through its ports: declare at least one %s device in it", c.Model, AggregationType)
		}
	}
	if s, an := p.str(top, "address", "", false); an != nil {
		ap, err := netip.ParseAddrPort(s)
		switch {
		case err != nil:
			p.fail(an, "address", "%q is not HOST:PORT", s)
		case !ap.Addr().IsLoopback():
			p.fail(an, "address", "%s: the stack address is on loopback (127.0.0.0/8) only", s)
		case ap.Port() == 0:
			p.fail(an, "address", "port 0 is not a fixed port")
		case int(ap.Port())+EthernetOffset > 65535:
			p.fail(an, "address", "port %d leaves no room for the address's Ethernet side (port + %d ≤ 65535)", ap.Port(), EthernetOffset)
		default:
			st.Address = ap
			if unique(an, "address", "SNMP address", ap.String(), "the stack address") {
				unique(an, "address", "UDP address", ap.String(), "the stack address")
			}
			unique(an, "address", "UDP address", st.AddressEthernet().String(), "the stack address's Ethernet side")
		}
	}
	if n, ok := top["ip_monitor"]; ok {
		p.ipMonitor(n, st, unique)
	}
	return st
}

// ipMonitor reads the ip_monitor section: interval, misses, successes,
// targets, peers, hosts.
func (p *parser) ipMonitor(n *yaml.Node, st *Stack, unique func(n *yaml.Node, field, kind, value, owner string) bool) {
	const where = "ip_monitor"
	im := IPMonitor{Enabled: true, Interval: st.Hello, Misses: 4, Successes: 4, Peers: true, Hosts: map[netip.Addr]netip.AddrPort{}}
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == "") {
		n = &yaml.Node{Kind: yaml.MappingNode, Line: n.Line} // "ip_monitor:" alone: every default
	}
	f := p.fields(n, where, "interval", "misses", "successes", "targets", "peers", "hosts")
	im.Interval = p.duration(f, "interval", where, st.Hello, MinHello)
	if v, vn := p.int32(f, "misses", where, false, 1, 100); vn != nil {
		im.Misses = int(v)
	}
	if v, vn := p.int32(f, "successes", where, false, 1, 100); vn != nil {
		im.Successes = int(v)
	}
	if s, sn := p.str(f, "peers", where, false); sn != nil {
		switch strings.ToLower(s) {
		case "on", "true", "yes":
			im.Peers = true
		case "off", "false", "no":
			im.Peers = false
		default:
			p.fail(sn, where+".peers", "%q is not on or off", s)
		}
	}
	seenTarget := map[netip.Addr]bool{}
	if tn, ok := f["targets"]; ok {
		if tn.Kind != yaml.SequenceNode {
			p.fail(tn, where+".targets", "must be a list of IPv4 addresses")
		} else {
			for i, e := range tn.Content {
				a, err := netip.ParseAddr(e.Value)
				field := fmt.Sprintf("%s.targets[%d]", where, i)
				switch {
				case e.Kind != yaml.ScalarNode || err != nil || !a.Is4() || a.IsUnspecified():
					p.fail(e, field, "%q is not an IPv4 address", e.Value)
				case seenTarget[a]:
					p.fail(e, field, "%s is given twice", a)
				default:
					seenTarget[a] = true
					im.Targets = append(im.Targets, a)
				}
			}
		}
	}
	if hn, ok := f["hosts"]; ok {
		if hn.Kind != yaml.MappingNode {
			p.fail(hn, where+".hosts", "must map target addresses to loopback HOST:PORT")
		} else {
			for i := 0; i+1 < len(hn.Content); i += 2 {
				k, v := hn.Content[i], hn.Content[i+1]
				field := where + ".hosts." + k.Value
				a, err := netip.ParseAddr(k.Value)
				if err != nil || !a.Is4() || a.IsUnspecified() {
					p.fail(k, field, "%q is not an IPv4 address", k.Value)
					continue
				}
				if _, dup := im.Hosts[a]; dup {
					p.fail(k, field, "given twice")
					continue
				}
				if ap := p.loopback(v, field, v.Value); ap.IsValid() {
					im.Hosts[a] = ap
					unique(v, field, "UDP address", ap.String(), "the responder of "+a.String())
				}
			}
		}
	}
	st.IPMonitor = im
	// Every target address any module polls gets a responder.
	var all []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, m := range st.Modules {
		for _, a := range st.TargetsOf(m) {
			if !seen[a] {
				seen[a] = true
				all = append(all, a)
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Less(all[j]) })
	base := 0
	for _, m := range st.Modules {
		if port := int(m.SNMP.Port()); port != 0 && (base == 0 || port < base) {
			base = port
		}
	}
	next := base + 2000
	for _, a := range all {
		if _, ok := im.Hosts[a]; ok {
			continue
		}
		if base == 0 || next > 65535 {
			p.fail(n, where+".hosts", "no responder address for target %s: give one under hosts", a)
			continue
		}
		ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(next))
		next++
		if unique(n, where+".hosts", "UDP address", ap.String(), "the responder of "+a.String()) {
			im.Hosts[a] = ap
		}
	}
}

func (p *parser) list(top map[string]*yaml.Node, key string, required bool) []*yaml.Node {
	n, ok := top[key]
	if !ok {
		if required {
			p.fail(top[""], key, "missing")
		}
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(n, key, "must be a list")
		return nil
	}
	if required && len(n.Content) == 0 {
		p.fail(n, key, "must not be empty")
	}
	return n.Content
}

// cabinet is a BiaIndex field (1..255).
func (p *parser) cabinet(m map[string]*yaml.Node, key, where string) (ident.Cabinet, *yaml.Node) {
	v, n := p.int32(m, key, where, true, 1, 255)
	return ident.Cabinet(v), n
}

// At is the module's slot address.
func (m Module) At() ident.Slot { return ident.At(m.Cabinet, m.Slot) }

// At is the device's slot address.
func (d Device) At() ident.Slot { return ident.At(d.Cabinet, d.Slot) }

// EthernetOffset is how far above its SNMP port a module's Ethernet side
// lies.
const EthernetOffset = 1000

// Ethernet is the UDP address of a module's "Ethernet" side, on which it
// sends its adverts peer to peer: its SNMP address with the port + 1000
// (a validated stack file leaves room for it: SNMP port ≤ 64535).
func (m Module) Ethernet() netip.AddrPort {
	return netip.AddrPortFrom(m.SNMP.Addr(), m.SNMP.Port()+EthernetOffset)
}

// AddressEthernet is where the holder of the stack address hears the
// modules' adverts on their Ethernet sides: the address's port + 1000, as
// for a module. Invalid when the stack has no address.
func (s *Stack) AddressEthernet() netip.AddrPort {
	if !s.Address.IsValid() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(s.Address.Addr(), s.Address.Port()+EthernetOffset)
}

// Cabinet returns the cabinet with BiaIndex bia.
func (s *Stack) Cabinet(bia ident.Cabinet) (Cabinet, bool) {
	for _, c := range s.Cabinets {
		if c.Bia == bia {
			return c, true
		}
	}
	return Cabinet{}, false
}

// Module returns the module called name.
func (s *Stack) Module(name string) (Module, bool) {
	for _, m := range s.Modules {
		if m.Name == name {
			return m, true
		}
	}
	return Module{}, false
}
