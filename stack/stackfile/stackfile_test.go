package stackfile

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/stack/ident"
)

func TestExampleLoads(t *testing.T) {
	st, err := Load("../../examples/stack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "example" || len(st.Cabinets) != 2 || len(st.Modules) != 3 || len(st.Devices) != 5 {
		t.Fatalf("loaded %+v", st)
	}
	if d := st.Devices[4]; d.Type != AggregationType || d.Ethernet.String() != "127.0.0.1:18106" {
		t.Errorf("the aggregation converter: %+v", d)
	}
	if st.Address.String() != "127.0.0.1:16100" {
		t.Errorf("the stack address: %s", st.Address)
	}
	if st.Hello != time.Second || st.Holdtime != 3*time.Second || st.Poll != time.Second || st.TrapSink.IsValid() || st.TrapPort != 162 {
		t.Errorf("timers %s/%s", st.Hello, st.Holdtime)
	}
	if !st.Preempt {
		t.Error("the example takes the vendor's rule (preempt) by default")
	}
	for i, m := range st.Modules {
		if want := 16101 + i; int(m.SNMP.Port()) != want || !m.SNMP.Addr().IsLoopback() {
			t.Errorf("module %s SNMP %s, want 127.0.0.1:%d", m.Name, m.SNMP, want)
		}
	}
	if st.Modules[2].WantPrimary != "no" || st.Modules[0].MAC.String() != "00:c0:f2:00:00:01" {
		t.Errorf("modules %+v", st.Modules)
	}
}

// TestEveryModelExampleLoads: examples/every-model.yaml names every
// cabinet model and device type of the catalog.
func TestEveryModelExampleLoads(t *testing.T) {
	st, err := Load("../../examples/every-model.yaml")
	if err != nil {
		t.Fatal(err)
	}
	models, types := map[string]bool{}, map[string]bool{}
	for _, c := range st.Cabinets {
		models[c.Model] = true
	}
	for _, d := range st.Devices {
		types[d.Type] = true
	}
	cat := catalog.Default()
	for _, m := range cat.CabinetNames() {
		if !models[m] {
			t.Errorf("no %s cabinet", m)
		}
	}
	for _, d := range cat.DeviceTypeNames() {
		if !types[d] {
			t.Errorf("no %s device", d)
		}
	}
	if len(st.Modules) != 3 {
		t.Errorf("%d modules", len(st.Modules))
	}
}

const good = `stack: t
key: "0123456789"
cabinets:
  - bia: 1
    model: cpsmc1800
modules:
  - name: a
    cabinet: 1
    slot: 1
    mac: 00:00:00:00:00:01
    ip: 192.0.2.1
    mask: 255.255.255.0
    snmp: 127.0.0.1:16101
`

func TestValidationNamesFileLineAndField(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"key missing", strings.Replace(good, "key: \"0123456789\"\n", "", 1), "s.yaml:1: field key: missing"},
		{"short key", strings.Replace(good, `"0123456789"`, `"abc"`, 1), "s.yaml:2: field key: the shared key must be at least 8 characters"},
		{"holdtime below 3 hello", good + "timers: {hello: 1s, holdtime: 2s}\n", "s.yaml:14: field timers.holdtime: holdtime 2s must be at least 3 × hello (3s)"},
		{"hello below minimum", good + "timers: {hello: 50ms, holdtime: 1s}\n", "s.yaml:14: field timers.hello: 50ms is below the minimum 100ms"},
		{"bad duration", good + "timers: {hello: soon}\n", "timers.hello: \"soon\" is not a duration"},
		{"unknown cabinet model", strings.Replace(good, "cpsmc1800", "cpsmc9999", 1), "s.yaml:5: field cabinets[0].model: unknown cabinet model \"cpsmc9999\""},
		{"bad MAC", strings.Replace(good, "00:00:00:00:00:01", "00:00:01", 1), "s.yaml:10: field modules[0].mac: \"00:00:01\" is not a 6-octet MAC address"},
		{"bad IP", strings.Replace(good, "192.0.2.1\n", "192.0.2.300\n", 1), "s.yaml:11: field modules[0].ip: \"192.0.2.300\" is not an IPv4 address"},
		{"SNMP not loopback", strings.Replace(good, "127.0.0.1:16101", "192.0.2.9:161", 1), "s.yaml:13: field modules[0].snmp: 192.0.2.9:161: an emulated module listens on loopback"},
		{"duplicate slot", good + "devices:\n  - {cabinet: 1, slot: 1, type: cettf100}\n", "s.yaml:15: field devices[0].slot: cabinet 1 slot 1 is already taken by module \"a\""},
		{"duplicate SNMP address", good + "  - {name: b, cabinet: 1, slot: 2, mac: 00:00:00:00:00:02, ip: 192.0.2.2, mask: 255.255.255.0, snmp: 127.0.0.1:16101}\n",
			"s.yaml:14: field modules[1].snmp: SNMP address 127.0.0.1:16101 is already used by module \"a\""},
		{"duplicate MAC", good + "  - {name: b, cabinet: 1, slot: 2, mac: 00:00:00:00:00:01, ip: 192.0.2.2, mask: 255.255.255.0, snmp: 127.0.0.1:16102}\n",
			"s.yaml:14: field modules[1].mac: MAC 00:00:00:00:00:01 is already used by module \"a\""},
		{"unknown device type", good + "devices:\n  - {cabinet: 1, slot: 3, type: toaster}\n", "s.yaml:15: field devices[0].type: unknown device type \"toaster\""},
		{"unknown connector", good + "devices:\n  - {cabinet: 1, slot: 3, type: cettf100, conn_b: toaster}\n", "s.yaml:15: field devices[0].conn_b: unknown connector \"toaster\""},
		{"undeclared cabinet", good + "devices:\n  - {cabinet: 7, slot: 3, type: cettf100}\n", "s.yaml:15: field devices[0].cabinet: cabinet 7 is not declared"},
		{"slot beyond cabinet", good + "devices:\n  - {cabinet: 1, slot: 19, type: cettf100}\n", "s.yaml:15: field devices[0].slot: slot 19 is beyond the 18 slots of a cpsmc1800"},
		{"unknown field", good + "colour: blue\n", "s.yaml:14: field colour: unknown field"},
		{"poll below minimum", good + "timers: {poll: 10ms}\n", "s.yaml:14: field timers.poll: 10ms is below the minimum 100ms"},
		{"trap sink not loopback", good + "traps: {sink: \"192.0.2.5:162\"}\n", "s.yaml:14: field traps.sink: 192.0.2.5:162: only loopback"},
		{"aggregation without ethernet", good + "devices:\n  - {cabinet: 1, slot: 3, type: smacf100p}\n", "s.yaml:15: field devices[0].ethernet: a smacf100p is seen over Ethernet"},
		{"ethernet on a converter", good + "devices:\n  - {cabinet: 1, slot: 3, type: cettf100, ethernet: \"127.0.0.1:18000\"}\n", "s.yaml:15: field devices[0].ethernet: only a smacf100p"},
		{"aggregation on a module's Ethernet side", good + "devices:\n  - {cabinet: 1, slot: 3, type: smacf100p, ethernet: \"127.0.0.1:17101\"}\n", "s.yaml:15: field devices[0].ethernet: UDP address 127.0.0.1:17101 is already"},
		{"want", strings.Replace(good, "    snmp:", "    want_primary: maybe\n    snmp:", 1), "s.yaml:13: field modules[0].want_primary: \"maybe\" is not yes, no or always"},
		{"SNMP port leaves no room for the Ethernet side", strings.Replace(good, "127.0.0.1:16101", "127.0.0.1:65000", 1),
			"s.yaml:13: field modules[0].snmp: port 65000 leaves no room for the module's Ethernet side (port + 1000 ≤ 65535)"},
		{"SNMP port 0", strings.Replace(good, "127.0.0.1:16101", "127.0.0.1:0", 1), "s.yaml:13: field modules[0].snmp: port 0 is not a fixed port"},
		{"trap sink port 0", good + "traps: {sink: \"127.0.0.1:0\"}\n", "s.yaml:14: field traps.sink: port 0 is not a fixed port"},
		{"aggregation on port 0", good + "devices:\n  - {cabinet: 1, slot: 3, type: smacf100p, ethernet: \"127.0.0.1:0\"}\n", "s.yaml:15: field devices[0].ethernet: port 0 is not a fixed port"},
		{"SNMP on another module's Ethernet side", good + "  - {name: b, cabinet: 1, slot: 2, mac: 00:00:00:00:00:02, ip: 192.0.2.2, mask: 255.255.255.0, snmp: 127.0.0.1:17101}\n",
			"s.yaml:14: field modules[1].snmp: UDP address 127.0.0.1:17101 is already used by module \"a\"'s Ethernet side"},
		{"Ethernet side on another module's SNMP address", strings.Replace(good, "127.0.0.1:16101", "127.0.0.1:17101", 1) +
			"  - {name: b, cabinet: 1, slot: 2, mac: 00:00:00:00:00:02, ip: 192.0.2.2, mask: 255.255.255.0, snmp: 127.0.0.1:16101}\n",
			"s.yaml:14: field modules[1].snmp: UDP address 127.0.0.1:17101 is already used by module \"a\""},
		{"aggregation on a module's SNMP address", good + "devices:\n  - {cabinet: 1, slot: 3, type: smacf100p, ethernet: \"127.0.0.1:16101\"}\n", "s.yaml:15: field devices[0].ethernet: UDP address 127.0.0.1:16101 is already"},
		{"address not loopback", good + "address: \"192.0.2.7:161\"\n", "s.yaml:14: field address: 192.0.2.7:161: the stack address is on loopback (127.0.0.0/8) only"},
		{"address not HOST:PORT", good + "address: 127.0.0.1\n", "s.yaml:14: field address: \"127.0.0.1\" is not HOST:PORT"},
		{"address port 0", good + "address: \"127.0.0.1:0\"\n", "s.yaml:14: field address: port 0 is not a fixed port"},
		{"address leaves no room", good + "address: \"127.0.0.1:65000\"\n", "s.yaml:14: field address: port 65000 leaves no room for the address's Ethernet side"},
		{"address on a module's SNMP address", good + "address: \"127.0.0.1:16101\"\n", "s.yaml:14: field address: SNMP address 127.0.0.1:16101 is already used by module \"a\""},
		{"address on a module's Ethernet side", good + "address: \"127.0.0.1:17101\"\n", "s.yaml:14: field address: UDP address 127.0.0.1:17101 is already used by module \"a\"'s Ethernet side"},
		{"address's Ethernet side on a module's SNMP address", good + "address: \"127.0.0.1:15101\"\n", "s.yaml:14: field address: UDP address 127.0.0.1:16101 is already used by module \"a\""},
		{"preempt not a bool", good + "negotiation: {preempt: sometimes}\n", "s.yaml:14: field negotiation.preempt: \"sometimes\" is not true or false"},
		{"unknown negotiation field", good + "negotiation: {rule: vrrp}\n", "s.yaml:14: field negotiation.rule: unknown field"},
		{"not YAML", "stack: [\n", "s.yaml:"},
		{"ip monitor interval", good + "ip_monitor: {interval: 10ms}\n", "s.yaml:14: field ip_monitor.interval: 10ms is below the minimum 100ms"},
		{"ip monitor misses", good + "ip_monitor: {misses: 0}\n", "s.yaml:14: field ip_monitor.misses: 0 is outside 1..100"},
		{"ip monitor peers", good + "ip_monitor: {peers: maybe}\n", "s.yaml:14: field ip_monitor.peers: \"maybe\" is not on or off"},
		{"ip monitor target", good + "ip_monitor: {targets: [192.0.2.300]}\n", "s.yaml:14: field ip_monitor.targets[0]: \"192.0.2.300\" is not an IPv4 address"},
		{"ip monitor host not loopback", good + "ip_monitor: {hosts: {192.0.2.1: \"192.0.2.5:7\"}}\n", "s.yaml:14: field ip_monitor.hosts.192.0.2.1: 192.0.2.5:7: only loopback"},
		{"ip monitor host on a module's port", good + "ip_monitor: {hosts: {192.0.2.1: \"127.0.0.1:17101\"}}\n",
			"s.yaml:14: field ip_monitor.hosts.192.0.2.1: UDP address 127.0.0.1:17101 is already used by module \"a\"'s Ethernet side"},
		{"SMACF100 unit without ports", withUnit, "s.yaml:6: field cabinets[1].model: a smacf100 is reached over Ethernet through its ports: declare at least one smacf100p"},
		{"converter in an SMACF100 unit", withUnit + "devices:\n  - {cabinet: 2, slot: 1, type: cettf100}\n",
			"s.yaml:16: field devices[0].cabinet: cabinet 2 is a smacf100, whose slots are its ports: only smacf100p devices sit in it, not a cettf100 (devices[0])"},
		{"module in an SMACF100 unit", withUnit + "  - {name: b, cabinet: 2, slot: 1, mac: 00:00:00:00:00:02, ip: 192.0.2.2, mask: 255.255.255.0, snmp: 127.0.0.1:16102}\n",
			"s.yaml:15: field modules[1].cabinet: cabinet 2 is a smacf100, whose slots are its ports: only smacf100p devices sit in it, not module \"b\""},
		{"port beyond an SMACF100 unit", withUnit + "devices:\n  - {cabinet: 2, slot: 6, type: smacf100p, ethernet: \"127.0.0.1:18000\"}\n",
			"s.yaml:16: field devices[0].slot: slot 6 is beyond the 5 slots of a smacf100"},
	}
	for _, tc := range tests {
		_, err := Parse("s.yaml", []byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %q", tc.name, err, tc.want)
		}
	}
	if _, err := Parse("s.yaml", []byte(good)); err != nil {
		t.Errorf("good file: %v", err)
	}
	for text, want := range map[string]bool{good: true, good + "negotiation: {preempt: false}\n": false, good + "negotiation: {preempt: true}\n": true} {
		if st, err := Parse("s.yaml", []byte(text)); err != nil || st.Preempt != want {
			t.Errorf("preempt: %v (%v), want %v", st.Preempt, err, want)
		}
	}
	st, err := Parse("s.yaml", []byte(withUnit+"devices:\n  - {cabinet: 2, slot: 5, type: smacf100p, ethernet: \"127.0.0.1:18000\"}\n"+
		"  - {cabinet: 1, slot: 2, type: cpsmm200, serial: 9}\n"))
	if err != nil {
		t.Fatalf("an SMACF100 unit with a port, and a cpsmm200: %v", err)
	}
	if len(st.Devices) != 2 || st.Devices[1].Type != "cpsmm200" || st.Devices[1].Serial != 9 || st.Cabinets[1].Model != "smacf100" {
		t.Errorf("parsed %+v", st)
	}
}

// TestIPMonitorSection: off without the section; on with every default
// when it is there (even empty): interval the hello, 4/4, peers on, the
// modules' gateways as targets, each answered at the lowest SNMP port +
// 2000, + 1…; explicit targets and hosts are kept.
func TestIPMonitorSection(t *testing.T) {
	st, err := Parse("s.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if st.IPMonitor.Enabled || st.TargetsOf(st.Modules[0]) != nil {
		t.Fatalf("monitor on without the section: %+v", st.IPMonitor)
	}
	two := strings.Replace(good, "    ip: 192.0.2.1\n", "    ip: 192.0.2.10\n    gateway: 192.0.2.1\n", 1) +
		"  - {name: b, cabinet: 1, slot: 2, mac: 00:00:00:00:00:02, ip: 198.51.100.2, mask: 255.255.255.0, gateway: 198.51.100.1, snmp: 127.0.0.1:16102}\n" +
		"  - {name: c, cabinet: 1, slot: 3, mac: 00:00:00:00:00:03, ip: 192.0.2.3, mask: 255.255.255.0, snmp: 127.0.0.1:16103}\n"
	for _, section := range []string{"ip_monitor:\n", "ip_monitor: {}\n"} {
		st, err := Parse("s.yaml", []byte(two+"timers: {hello: 500ms, holdtime: 2s}\n"+section))
		if err != nil {
			t.Fatalf("%q: %v", section, err)
		}
		im := st.IPMonitor
		if !im.Enabled || im.Interval != 500*time.Millisecond || im.Misses != 4 || im.Successes != 4 || !im.Peers || len(im.Targets) != 0 {
			t.Fatalf("%q: %+v", section, im)
		}
		if got := fmt.Sprint(st.TargetsOf(st.Modules[0]), st.TargetsOf(st.Modules[1]), st.TargetsOf(st.Modules[2])); got != "[192.0.2.1] [198.51.100.1] []" {
			t.Errorf("targets %s", got)
		}
		if got := fmt.Sprint(im.Hosts); got != "map[192.0.2.1:127.0.0.1:18101 198.51.100.1:127.0.0.1:18102]" {
			t.Errorf("hosts %s", got)
		}
	}
	st, err = Parse("s.yaml", []byte(two+"ip_monitor: {interval: 2s, misses: 3, successes: 5, peers: off, targets: [203.0.113.9], hosts: {203.0.113.9: \"127.0.0.1:9999\"}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	im := st.IPMonitor
	if im.Interval != 2*time.Second || im.Misses != 3 || im.Successes != 5 || im.Peers || fmt.Sprint(st.TargetsOf(st.Modules[2])) != "[203.0.113.9]" ||
		fmt.Sprint(im.Hosts) != "map[203.0.113.9:127.0.0.1:9999]" {
		t.Errorf("%+v", im)
	}
}

func TestAddress(t *testing.T) {
	st, err := Parse("s.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if st.Address.IsValid() || st.AddressEthernet().IsValid() {
		t.Errorf("no address given: %s, %s", st.Address, st.AddressEthernet())
	}
	st, err = Parse("s.yaml", []byte(good+"address: \"127.0.0.1:16100\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Address.String() != "127.0.0.1:16100" || st.AddressEthernet().String() != "127.0.0.1:17100" {
		t.Errorf("address %s, its Ethernet side %s", st.Address, st.AddressEthernet())
	}
}

// withUnit is good with a second cabinet, an SMACF100 unit.
var withUnit = strings.Replace(good, "    model: cpsmc1800\n", "    model: cpsmc1800\n  - {bia: 2, model: smacf100}\n", 1)

// FuzzParse: no stack file makes the parser panic; an accepted file keeps
// its invariants.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(good + "devices:\n  - {cabinet: 1, slot: 3, type: cettf100}\n"))
	f.Add([]byte("stack: x\nkey: 12345678\ntimers: {hello: 1s}\n"))
	cat := catalog.Default()
	f.Add([]byte(strings.Replace(good, "127.0.0.1:16101", "127.0.0.1:65000", 1)))
	f.Add([]byte(good + "ip_monitor: {interval: 2s, targets: [203.0.113.9], hosts: {203.0.113.9: \"127.0.0.1:9999\"}}\n"))
	f.Add([]byte(good + "address: \"127.0.0.1:16100\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseWith(cat, "f.yaml", data)
		if err != nil {
			return
		}
		if st.Key == "" || len(st.Modules) == 0 || st.Holdtime < 3*st.Hello {
			t.Fatalf("accepted an invalid stack: %+v", st)
		}
		for _, m := range st.Modules {
			if m.SNMP.Port() == 0 || int(m.SNMP.Port())+1000 > 65535 || m.Ethernet().Port() != m.SNMP.Port()+1000 {
				t.Fatalf("module %s: SNMP %s, Ethernet side %s", m.Name, m.SNMP, m.Ethernet())
			}
		}
		if a := st.Address; a.IsValid() {
			if !a.Addr().IsLoopback() || a.Port() == 0 || st.AddressEthernet().Port() != a.Port()+1000 {
				t.Fatalf("stack address %s, its Ethernet side %s", a, st.AddressEthernet())
			}
			for _, m := range st.Modules {
				for _, x := range []netip.AddrPort{a, st.AddressEthernet()} {
					if x == m.SNMP || x == m.Ethernet() {
						t.Fatalf("stack address %s collides with module %s", x, m.Name)
					}
				}
			}
		}
		for _, m := range st.Modules {
			for _, a := range st.TargetsOf(m) {
				if at, ok := st.IPMonitor.Hosts[a]; !ok || !at.Addr().IsLoopback() || at.Port() == 0 {
					t.Fatalf("module %s's target %s answered at %v", m.Name, a, at)
				}
			}
		}
		slots := map[ident.Slot]bool{}
		for _, m := range st.Modules {
			if slots[m.At()] {
				t.Fatalf("two modules in one slot: %+v", st.Modules)
			}
			slots[m.At()] = true
		}
		for _, d := range st.Devices {
			if _, ok := cat.DeviceType(d.Type); !ok || !cat.Connector(d.ConnA) || !cat.Connector(d.ConnB) || slots[d.At()] {
				t.Fatalf("accepted device %+v", d)
			}
			slots[d.At()] = true
		}
	})
}
