package labfile

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/stack/stackfile"
)

func TestExampleLoads(t *testing.T) {
	lab, err := Load("../../examples/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if lab.Name != "lab" || len(lab.Stacks) != 4 || lab.Modules != 12 {
		t.Fatalf("loaded %s: %d stacks, %d modules", lab.Name, len(lab.Stacks), lab.Modules)
	}
	first, last := lab.Stacks[0].Stack, lab.Stacks[3].Stack
	if first.Name != "lab-01" || last.Name != "lab-04" || len(first.Modules) != 3 || len(first.Devices) != 2 {
		t.Fatalf("stacks %s…%s: %+v", first.Name, last.Name, first)
	}
	if got := first.Modules[0].SNMP.String(); got != "127.0.0.1:20001" {
		t.Errorf("first module's SNMP %s", got)
	}
	if got := last.Modules[2].SNMP.String(); got != "127.0.0.1:20012" {
		t.Errorf("last module's SNMP %s", got)
	}
	if first.Modules[2].WantPrimary != "no" || first.Modules[0].WantPrimary != "yes" {
		t.Errorf("want_primary %s, %s", first.Modules[0].WantPrimary, first.Modules[2].WantPrimary)
	}
	if first.Key == last.Key || !strings.HasPrefix(first.Key, "change-me-lab-key/") {
		t.Errorf("keys %q, %q", first.Key, last.Key)
	}
	if first.Devices[0].Type != "cettf100" || first.Devices[1].Type != "cfetf100" || first.Devices[0].Slot != 4 {
		t.Errorf("devices %+v", first.Devices)
	}
	if first.Hello != time.Second || first.Holdtime != 3*time.Second || first.Poll != time.Second {
		t.Errorf("timers %s/%s/%s", first.Hello, first.Holdtime, first.Poll)
	}
}

// Every port, MAC and name of a lab is its own, across all its stacks,
// the Ethernet sides included, and past the first block of 1000.
func TestAllocationIsUnique(t *testing.T) {
	lab, err := Parse("big.yaml", []byte("lab: big\nkey: 0123456789\nstacks: 335\nmodules: 3\ndevices: 16\nports: {base: 30000, loopback: 127.0.0.2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if lab.Modules != 1005 || len(lab.Stacks) != 335 || lab.Stacks[0].Name != "big-001" {
		t.Fatalf("%d modules, %d stacks, first %s", lab.Modules, len(lab.Stacks), lab.Stacks[0].Name)
	}
	udp := map[netip.AddrPort]string{}
	macs := map[string]string{}
	for _, s := range lab.Stacks {
		if c := len(s.Stack.Cabinets); c != 2 {
			t.Fatalf("%s: %d cabinets for 19 slots", s.Name, c)
		}
		for _, m := range s.Stack.Modules {
			who := s.Name + "/" + m.Name
			for _, ap := range []netip.AddrPort{m.SNMP, m.Ethernet()} {
				if other, dup := udp[ap]; dup {
					t.Fatalf("%s and %s both use %s", other, who, ap)
				}
				udp[ap] = who
			}
			if other, dup := macs[m.MAC.String()]; dup {
				t.Fatalf("%s and %s both have MAC %s", other, who, m.MAC)
			}
			macs[m.MAC.String()] = who
			if m.SNMP.Addr() != netip.MustParseAddr("127.0.0.2") {
				t.Fatalf("%s on %s", who, m.SNMP)
			}
		}
	}
	if got := lab.Stacks[334].Stack.Modules[2].SNMP.Port(); got != 30000+2000+4 {
		t.Errorf("module 1005's port %d", got)
	}
}

const good = `lab: t
key: "0123456789"
stacks: 2
modules: 3
`

func TestValidationNamesFileLineAndField(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"key missing", "lab: t\nstacks: 1\nmodules: 1\n", "l.yaml:1: field key: missing"},
		{"short key", strings.Replace(good, `"0123456789"`, "abc", 1), "l.yaml:2: field key: the shared key must be at least 8 characters"},
		{"bad name", strings.Replace(good, "lab: t", "lab: a/b", 1), "l.yaml:1: field lab: \"a/b\": a lab name is"},
		{"stacks not a number", strings.Replace(good, "stacks: 2", "stacks: two", 1), "l.yaml:3: field stacks: \"two\" is not a whole number"},
		{"no modules", strings.Replace(good, "modules: 3", "modules: 0", 1), "l.yaml:4: field modules: 0 is outside 1..16"},
		{"unknown field", good + "colour: blue\n", "l.yaml:5: field colour: unknown field"},
		{"twice", good + "stacks: 3\n", "l.yaml:5: field stacks: given twice"},
		{"ports beyond 65535", good + "ports:\n  base: 65000\n", "l.yaml:6: field ports.base: 6 modules from port 65000 need ports up to 66005"},
		{"not loopback", good + "ports: {loopback: 192.0.2.1}\n", "l.yaml:5: field ports.loopback: 192.0.2.1: an emulated module listens on loopback"},
		{"base too low", good + "ports: {base: 80}\n", "l.yaml:5: field ports.base: 80 is outside 1024..65535"},
		{"unknown device type", good + "device_types: [cettf100, toaster]\n", "l.yaml:5: field device_types[1]: unknown device type \"toaster\""},
		{"aggregation", good + "device_types: [smacf100p]\n", "l.yaml:5: field device_types[0]: a smacf100p needs an Ethernet address"},
		{"holdtime", good + "timers: {hello: 2s}\n", "l.yaml:5: field timers.holdtime: holdtime 3s must be at least 3 × hello (6s)"},
		{"bad mac base", good + "mac_base: zz\n", "l.yaml:5: field mac_base: \"zz\" is not three octets"},
		{"mac base full", good + "mac_base: \"ff:ff:ff\"\n", "l.yaml:5: field mac_base: no room above it for 6 MACs"},
		{"want", good + "last_module_wants: maybe\n", "l.yaml:5: field last_module_wants: \"maybe\" is not yes, no or always"},
		{"too many slots", strings.Replace(good, "stacks: 2", "stacks: 2000", 1) + "devices: 100\n", "l.yaml:3: field stacks: 2000 stacks of 3 modules and 100 devices fill 206000 slots"},
		{"not YAML", "lab: [\n", "l.yaml:1: field (document): yaml:"},
		{"not a mapping", "- 1\n", "l.yaml:1: field (document): must be a mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("l.yaml", []byte(tc.text))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.text)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error\n%s\nwant it to contain\n%s", err, tc.want)
			}
		})
	}
}

// The ports of the first modules past a block of 1000 skip the block of
// Ethernet sides.
func TestPort(t *testing.T) {
	for _, c := range []struct{ t, want int }{{0, 20000}, {999, 20999}, {1000, 22000}, {1999, 22999}, {2000, 24000}} {
		if got := Port(20000, c.t); got != c.want {
			t.Errorf("Port(20000, %d) = %d, want %d", c.t, got, c.want)
		}
	}
}

// FuzzParse: no lab file makes the parser panic; an accepted lab keeps its
// invariants: as many stacks and modules as it says, each a valid stack
// file, no UDP address or MAC used twice.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(good + "devices: 20\ndevice_types: [cfetf100]\nports: {base: 40000, loopback: 127.0.0.9}\n"))
	f.Add([]byte(good + "timers: {hello: 100ms, holdtime: 300ms, poll: 100ms}\nmac_base: \"ab:cd:ef\"\nlast_module_wants: always\n"))
	cat := catalog.Default()
	f.Fuzz(func(t *testing.T, data []byte) {
		lab, err := ParseWith(cat, "f.yaml", data)
		if err != nil {
			return
		}
		n := 0
		seen := map[string]bool{}
		for _, s := range lab.Stacks {
			st, err := stackfile.ParseWith(cat, "again.yaml", s.Text)
			if err != nil {
				t.Fatalf("stack %s does not parse again: %v", s.Name, err)
			}
			if st.Name != s.Name || len(st.Modules) == 0 || st.Holdtime < 3*st.Hello {
				t.Fatalf("stack %s: %+v", s.Name, st)
			}
			for _, m := range st.Modules {
				n++
				for _, k := range []string{m.SNMP.String(), m.Ethernet().String(), m.MAC.String()} {
					if seen[k] {
						t.Fatalf("%s used twice", k)
					}
					seen[k] = true
				}
			}
		}
		if n != lab.Modules || n == 0 {
			t.Fatalf("%d modules generated, lab says %d", n, lab.Modules)
		}
	})
}
