// Package labfile reads lab files: the YAML description of many stacks at
// once (N stacks of M modules and D converters each) from which cpsstack
// generates one stack file per stack, allocating every port, MAC and
// address itself. Every error names the file, the line and the field
// (stack/yamlerr), as a stack file's do; each generated stack file is
// validated by stack/stackfile.
//
// Ports: the modules of the lab, in order (stack 1's module 1, 2…, then
// stack 2's), take SNMP ports base, base+1, … on the loopback address.
// Each module's Ethernet side is its SNMP port + stackfile.EthernetOffset
// (1000), so the SNMP ports come in blocks of 1000 with a gap of 1000
// between blocks: module t has SNMP port base + 2000·(t/1000) + t%1000.
package labfile

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/stack/stackfile"
	"github.com/cpsmm/cpsmm/stack/yamlerr"
)

// Lab is a validated lab file and the stacks it generates.
type Lab struct {
	Name string
	// Stacks are the generated stacks, in order, named NAME-01, NAME-02…
	Stacks []Stack
	// Modules is the number of modules over all stacks.
	Modules int
}

// Stack is one generated stack: its stack file's text, and that text
// validated.
type Stack struct {
	Name  string
	Text  []byte
	Stack *stackfile.Stack
}

// Limits.
const (
	MaxStacks  = 2000
	MaxModules = 16 // per stack
	// SlotsPerCabinet is the slots of the cabinets a lab fills (cpsmc1800).
	SlotsPerCabinet = 18
	MaxCabinets     = 255
	// MaxSlots is the most modules and devices a lab holds in all.
	MaxSlots     = 50000
	cabinetModel = "cpsmc1800"
	portBlock    = stackfile.EthernetOffset
)

// DefaultDeviceTypes are the converters a lab fills slots with, in turn.
func DefaultDeviceTypes() []string { return []string{"cettf100", "cfetf100"} }

// Error is one problem in a lab file (stack/yamlerr).
type Error = yamlerr.Error

// Errors is every problem found in a lab file.
type Errors = yamlerr.List

// Load reads and validates the lab file at path.
func Load(path string) (*Lab, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("lab file: %w", err)
	}
	return Parse(path, data)
}

// Parse validates lab file content against the built-in catalog and
// generates its stacks; name is used in error messages.
func Parse(name string, data []byte) (*Lab, error) {
	return ParseWith(catalog.Default(), name, data)
}

// ParseWith is Parse against cat (the device types a lab may name).
func ParseWith(cat *catalog.Catalog, name string, data []byte) (*Lab, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, Errors{{File: name, Line: yamlLine(err), Field: "(document)", Msg: err.Error()}}
	}
	p := &parser{file: name, cat: cat}
	spec := p.lab(&doc)
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	lab, err := generate(cat, name, spec)
	if err != nil {
		return nil, err
	}
	return lab, nil
}

func yamlLine(err error) int {
	var line int
	if _, e := fmt.Sscanf(strings.TrimPrefix(err.Error(), "yaml: line "), "%d:", &line); e == nil {
		return line
	}
	return 0
}

// spec is what a lab file says, before generation.
type spec struct {
	name                  string
	key                   string
	stacks, modules, devs int
	types                 []string
	loopback              netip.Addr
	base                  int
	macBase               [3]byte
	hello, holdtime, poll time.Duration
	wantLast              string // want_primary of each stack's last module
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

func join(where, field string) string {
	if where == "" {
		return field
	}
	return where + "." + field
}

// fields returns a mapping's keys and values ("" is the mapping itself),
// reporting unknown and repeated keys.
func (p *parser) fields(n *yaml.Node, where string, known ...string) map[string]*yaml.Node {
	m := map[string]*yaml.Node{"": n}
	if n == nil || n.Kind != yaml.MappingNode {
		p.fail(n, orDoc(where), "must be a mapping")
		return m
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ok := false
		for _, kn := range known {
			ok = ok || k.Value == kn
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

func orDoc(where string) string {
	if where == "" {
		return "(document)"
	}
	return where
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

func (p *parser) count(m map[string]*yaml.Node, key, where string, required bool, def, min, max int) (int, *yaml.Node) {
	s, n := p.str(m, key, where, required)
	if n == nil || n.Kind != yaml.ScalarNode {
		return def, n
	}
	var v int64
	if _, err := fmt.Sscan(s, &v); err != nil || fmt.Sprint(v) != s {
		p.fail(n, join(where, key), "%q is not a whole number", s)
		return def, n
	}
	if v < int64(min) || v > int64(max) {
		p.fail(n, join(where, key), "%d is outside %d..%d", v, min, max)
		return def, n
	}
	return int(v), n
}

func (p *parser) duration(m map[string]*yaml.Node, key, where string, def, min time.Duration) time.Duration {
	s, n := p.str(m, key, where, false)
	if n == nil || n.Kind != yaml.ScalarNode {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.fail(n, join(where, key), "%q is not a duration (e.g. 1s, 250ms)", s)
		return def
	}
	if d < min {
		p.fail(n, join(where, key), "%s is below the minimum %s", d, min)
		return def
	}
	return d
}

func (p *parser) lab(doc *yaml.Node) *spec {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	top := p.fields(root, "", "lab", "key", "stacks", "modules", "devices", "device_types", "ports", "mac_base", "timers", "last_module_wants")
	s := &spec{hello: stackfile.DefaultHello, holdtime: stackfile.DefaultHoldtime, poll: stackfile.DefaultPoll,
		loopback: netip.MustParseAddr("127.0.0.1"), base: 20000, wantLast: "yes", macBase: [3]byte{0x10, 0x00, 0x00}}
	var nameNode *yaml.Node
	s.name, nameNode = p.str(top, "lab", "", true)
	if nameNode != nil && nameNode.Kind == yaml.ScalarNode && !validName(s.name) {
		p.fail(nameNode, "lab", "%q: a lab name is 1 to 32 letters, digits, '-' or '_' (it names run directories)", s.name)
	}
	var keyNode *yaml.Node
	s.key, keyNode = p.str(top, "key", "", true)
	if keyNode != nil && keyNode.Kind == yaml.ScalarNode && len(s.key) < 8 {
		p.fail(keyNode, "key", "the shared key must be at least 8 characters")
	}
	s.stacks, _ = p.count(top, "stacks", "", true, 0, 1, MaxStacks)
	s.modules, _ = p.count(top, "modules", "", true, 0, 1, MaxModules)
	s.devs, _ = p.count(top, "devices", "", false, 0, 0, SlotsPerCabinet*MaxCabinets)
	if s.modules > 0 && (s.modules+s.devs+SlotsPerCabinet-1)/SlotsPerCabinet > MaxCabinets {
		p.fail(top["devices"], "devices", "%d modules and %d devices need more than %d cabinets of %d slots", s.modules, s.devs, MaxCabinets, SlotsPerCabinet)
	} else if n := s.stacks * (s.modules + s.devs); n > MaxSlots {
		p.fail(top["stacks"], "stacks", "%d stacks of %d modules and %d devices fill %d slots; a lab holds at most %d", s.stacks, s.modules, s.devs, n, MaxSlots)
	}
	s.types = DefaultDeviceTypes()
	if n, ok := top["device_types"]; ok {
		s.types = nil
		if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
			p.fail(n, "device_types", "must be a non-empty list of device types")
		} else {
			for i, tn := range n.Content {
				field := fmt.Sprintf("device_types[%d]", i)
				_, ok := p.cat.DeviceType(tn.Value)
				switch {
				case tn.Kind != yaml.ScalarNode:
					p.fail(tn, field, "must be a single value")
				case !ok:
					p.fail(tn, field, "unknown device type %q (known: %s)", tn.Value, strings.Join(p.cat.DeviceTypeNames(), ", "))
				case tn.Value == stackfile.AggregationType:
					p.fail(tn, field, "a %s needs an Ethernet address of its own; a lab generates backplane converters only", tn.Value)
				default:
					s.types = append(s.types, tn.Value)
				}
			}
		}
	}
	if n, ok := top["ports"]; ok {
		f := p.fields(n, "ports", "base", "loopback")
		var baseNode *yaml.Node
		s.base, baseNode = p.count(f, "base", "ports", false, s.base, 1024, 65535)
		if lb, ln := p.str(f, "loopback", "ports", false); ln != nil && ln.Kind == yaml.ScalarNode {
			a, err := netip.ParseAddr(lb)
			switch {
			case err != nil || !a.Is4():
				p.fail(ln, "ports.loopback", "%q is not an IPv4 address", lb)
			case !a.IsLoopback():
				p.fail(ln, "ports.loopback", "%s: an emulated module listens on loopback (127.0.0.0/8) only", lb)
			default:
				s.loopback = a
			}
		}
		if s.stacks > 0 && s.modules > 0 {
			if last := lastPort(s.base, s.stacks*s.modules) + portBlock; last > 65535 {
				at := baseNode
				if at == nil {
					at = n
				}
				p.fail(at, "ports.base", "%d modules from port %d need ports up to %d (SNMP, and SNMP + %d for each module's Ethernet side): beyond 65535",
					s.stacks*s.modules, s.base, last, portBlock)
			}
		}
	} else if s.stacks > 0 && s.modules > 0 {
		if last := lastPort(s.base, s.stacks*s.modules) + portBlock; last > 65535 {
			p.fail(root, "ports.base", "%d modules from the default port %d need ports up to %d: beyond 65535", s.stacks*s.modules, s.base, last)
		}
	}
	if mb, mn := p.str(top, "mac_base", "", false); mn != nil && mn.Kind == yaml.ScalarNode {
		var b [3]byte
		if _, err := fmt.Sscanf(mb, "%02x:%02x:%02x", &b[0], &b[1], &b[2]); err != nil || fmt.Sprintf("%02x:%02x:%02x", b[0], b[1], b[2]) != strings.ToLower(mb) {
			p.fail(mn, "mac_base", "%q is not three octets (e.g. 10:00:00): the fourth to sixth of every module's MAC start there", mb)
		} else {
			s.macBase = b
		}
	}
	if s.stacks > 0 && s.modules > 0 {
		first := int(s.macBase[0])<<16 | int(s.macBase[1])<<8 | int(s.macBase[2])
		if first+s.stacks*s.modules > 1<<24 {
			p.fail(top["mac_base"], "mac_base", "no room above it for %d MACs", s.stacks*s.modules)
		}
	}
	if t, ok := top["timers"]; ok {
		tm := p.fields(t, "timers", "hello", "holdtime", "poll")
		s.hello = p.duration(tm, "hello", "timers", stackfile.DefaultHello, stackfile.MinHello)
		s.holdtime = p.duration(tm, "holdtime", "timers", stackfile.DefaultHoldtime, stackfile.MinHoldtime)
		s.poll = p.duration(tm, "poll", "timers", stackfile.DefaultPoll, stackfile.MinPoll)
		if s.holdtime < 3*s.hello {
			p.fail(t, "timers.holdtime", "holdtime %s must be at least 3 × hello (%s)", s.holdtime, 3*s.hello)
		}
	}
	if w, wn := p.str(top, "last_module_wants", "", false); wn != nil && wn.Kind == yaml.ScalarNode {
		if w != "yes" && w != "no" && w != "always" {
			p.fail(wn, "last_module_wants", "%q is not yes, no or always", w)
		}
		s.wantLast = w
	}
	return s
}

func validName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Port is the SNMP port of the lab's module t (0-based, over all stacks)
// from base: blocks of 1000, each followed by the 1000 Ethernet sides of
// its modules.
func Port(base, t int) int { return base + 2*portBlock*(t/portBlock) + t%portBlock }

// lastPort is the highest SNMP port of n modules from base.
func lastPort(base, n int) int { return Port(base, n-1) }

// generate writes the stack files of a validated spec and validates each.
func generate(cat *catalog.Catalog, file string, s *spec) (*Lab, error) {
	lab := &Lab{Name: s.name, Modules: s.stacks * s.modules}
	width := len(fmt.Sprint(s.stacks))
	if width < 2 {
		width = 2
	}
	mac := int(s.macBase[0])<<16 | int(s.macBase[1])<<8 | int(s.macBase[2])
	t := 0
	for i := 0; i < s.stacks; i++ {
		name := fmt.Sprintf("%s-%0*d", s.name, width, i+1)
		var b strings.Builder
		fmt.Fprintf(&b, "# Generated from the lab file %s: stack %d of %d.\n", file, i+1, s.stacks)
		fmt.Fprintf(&b, "stack: %s\nkey: %q\n", name, s.key+"/"+name)
		fmt.Fprintf(&b, "timers: {hello: %s, holdtime: %s, poll: %s}\n", s.hello, s.holdtime, s.poll)
		slots := s.modules + s.devs
		cabinets := (slots + SlotsPerCabinet - 1) / SlotsPerCabinet
		b.WriteString("cabinets:\n")
		for c := 1; c <= cabinets; c++ {
			fmt.Fprintf(&b, "  - {bia: %d, model: %s}\n", c, cabinetModel)
		}
		b.WriteString("modules:\n")
		for j := 0; j < s.modules; j++ {
			cab, slot := 1+j/SlotsPerCabinet, 1+j%SlotsPerCabinet
			want := "yes"
			if j == s.modules-1 && s.modules > 1 {
				want = s.wantLast
			}
			fmt.Fprintf(&b, "  - {name: bmm-%d, cabinet: %d, slot: %d, mac: \"00:c0:f2:%02x:%02x:%02x\", serial: %d, ip: 192.0.2.%d, mask: 255.255.255.0, gateway: 192.0.2.1, snmp: \"%s\", want_primary: %s}\n",
				j+1, cab, slot, byte(mac>>16), byte(mac>>8), byte(mac), 100001+t, 11+j, netip.AddrPortFrom(s.loopback, uint16(Port(s.base, t))), want)
			mac++
			t++
		}
		if s.devs > 0 {
			b.WriteString("devices:\n")
			for d := 0; d < s.devs; d++ {
				k := s.modules + d
				fmt.Fprintf(&b, "  - {cabinet: %d, slot: %d, type: %s, serial: %d}\n", 1+k/SlotsPerCabinet, 1+k%SlotsPerCabinet,
					s.types[d%len(s.types)], 200001+i*s.devs+d)
			}
		}
		text := []byte(b.String())
		st, err := stackfile.ParseWith(cat, file+" ("+name+")", text)
		if err != nil {
			// A lab that passed validation generates valid stacks; this is
			// a bug of the generator, said as such.
			return nil, fmt.Errorf("lab file %s: generated stack %s is invalid: %w", file, name, err)
		}
		lab.Stacks = append(lab.Stacks, Stack{Name: name, Text: text, Stack: st})
	}
	return lab, nil
}
