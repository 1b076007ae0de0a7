package mib

import (
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// These tests hold the Go definitions and the MIB modules in MIBs/ to each
// other: every node's OID, kind, syntax, enumeration, size or range, access,
// INDEX and notification OBJECTS must agree, in both directions. They run
// the real tools (smidump, smilint, snmptranslate) that scripts/install-deps.sh
// installs, and fail when those are missing.

var mibFiles = []string{"MCC16-MIB.txt", "CPSMM-EMULATOR-MIB.txt"}

func baseMIBDir() string {
	if d := os.Getenv("CPSMM_BASE_MIBS"); d != "" {
		return d
	}
	return "/usr/share/snmp/mibs/ietf"
}

func mibDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("../MIBs")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: run scripts/install-deps.sh (it installs net-snmp and smitools)", name)
	}
	return p
}

func smiEnv(t *testing.T) []string {
	return append(os.Environ(), "SMIPATH="+strings.Join([]string{baseMIBDir(), "/usr/share/snmp/mibs", mibDir(t)}, ":"))
}

// smidump's XML, the parts we compare.
type xmlSMI struct {
	Identity struct {
		Node string `xml:"node,attr"`
	} `xml:"module>identity"`
	Typedefs []xmlTypedef `xml:"typedefs>typedef"`
	Nodes    []xmlNode    `xml:"nodes>node"`
	Scalars  []xmlObject  `xml:"nodes>scalar"`
	Tables   []xmlTable   `xml:"nodes>table"`
	Notifs   []xmlNotif   `xml:"notifications>notification"`
}

type xmlTypedef struct {
	Name     string     `xml:"name,attr"`
	Basetype string     `xml:"basetype,attr"`
	Named    []xmlNamed `xml:"namednumber"`
	Parent   *struct {
		Name string `xml:"name,attr"`
	} `xml:"parent"`
	Range []struct {
		Min string `xml:"min,attr"`
		Max string `xml:"max,attr"`
	} `xml:"range"`
}

type xmlNamed struct {
	Name   string `xml:"name,attr"`
	Number int32  `xml:"number,attr"`
}

type xmlNode struct {
	Name   string `xml:"name,attr"`
	OID    string `xml:"oid,attr"`
	Status string `xml:"status,attr"`
}

type xmlObject struct {
	Name   string `xml:"name,attr"`
	OID    string `xml:"oid,attr"`
	Syntax struct {
		Type *struct {
			Module string `xml:"module,attr"`
			Name   string `xml:"name,attr"`
		} `xml:"type"`
		Typedef *xmlTypedef `xml:"typedef"`
	} `xml:"syntax"`
	Access string `xml:"access"`
}

type xmlTable struct {
	Name string `xml:"name,attr"`
	OID  string `xml:"oid,attr"`
	Row  struct {
		Name    string `xml:"name,attr"`
		OID     string `xml:"oid,attr"`
		Indexes []struct {
			Name string `xml:"name,attr"`
		} `xml:"linkage>index"`
		Columns []xmlObject `xml:"column"`
	} `xml:"row"`
}

type xmlNotif struct {
	Name    string `xml:"name,attr"`
	OID     string `xml:"oid,attr"`
	Objects []struct {
		Name string `xml:"name,attr"`
	} `xml:"objects>object"`
}

// fromMIB is the comparable description of one node.
type fromMIB struct {
	OID     string
	Kind    Kind
	Syntax  Syntax
	Access  Access
	Index   []string
	Objects []string
}

func parseSyntax(t *testing.T, o xmlObject, tcs map[string]xmlTypedef) Syntax {
	t.Helper()
	var s Syntax
	typedef := func(td xmlTypedef) {
		for _, n := range td.Named {
			s.Enums = append(s.Enums, Enum{Label: n.Name, Value: n.Number})
		}
		switch td.Basetype {
		case "Enumeration", "Integer32":
			s.Base = smi.TypeInteger
		case "OctetString":
			s.Base = smi.TypeOctetString
		default:
			t.Errorf("%s: unexpected basetype %q", o.Name, td.Basetype)
		}
		if td.Parent != nil {
			s.TC = td.Parent.Name
		}
		if len(td.Range) == 1 {
			var lo, hi int64
			fmt.Sscan(td.Range[0].Min, &lo)
			fmt.Sscan(td.Range[0].Max, &hi)
			if s.Base == smi.TypeOctetString {
				s.HasSize, s.MinSize, s.MaxSize = true, int(lo), int(hi)
			} else {
				s.HasRange, s.Min, s.Max = true, lo, hi
			}
		}
	}
	switch {
	case o.Syntax.Typedef != nil:
		typedef(*o.Syntax.Typedef)
	case o.Syntax.Type != nil:
		switch n := o.Syntax.Type.Name; n {
		case "Integer32":
			s.Base = smi.TypeInteger
		case "IpAddress":
			s.Base = smi.TypeIPAddress
		case "TimeTicks":
			s.Base = smi.TypeTimeTicks
		case "Counter32":
			s.Base = smi.TypeCounter32
		case "Gauge32":
			s.Base = smi.TypeGauge32
		case "ObjectIdentifier":
			s.Base = smi.TypeObjectID
		case "DisplayString":
			s = Syntax{Base: smi.TypeOctetString, TC: n, HasSize: true, MinSize: 0, MaxSize: 255}
		case "MacAddress":
			s = Syntax{Base: smi.TypeOctetString, TC: n, HasSize: true, MinSize: 6, MaxSize: 6}
		default:
			td, ok := tcs[n]
			if !ok {
				t.Errorf("%s: unknown type %s", o.Name, n)
				break
			}
			typedef(td)
			s.TC = n
		}
	}
	return s
}

func parseAccess(a string) Access {
	switch a {
	case "readonly":
		return ReadOnly
	case "readwrite":
		return ReadWrite
	case "readcreate":
		return ReadCreate
	case "notifyonly", "accessiblefornotify":
		return AccessibleForNotify
	}
	return NotAccessible
}

func loadMIB(t *testing.T, file string) map[string]fromMIB {
	t.Helper()
	cmd := exec.Command(needTool(t, "smidump"), "-f", "xml", filepath.Join(mibDir(t), file))
	cmd.Env = smiEnv(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("smidump %s: %v", file, err)
	}
	var doc xmlSMI
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("parse smidump output of %s: %v", file, err)
	}
	tcs := map[string]xmlTypedef{}
	for _, td := range doc.Typedefs {
		tcs[td.Name] = td
	}
	m := map[string]fromMIB{}
	for _, n := range doc.Nodes {
		// An OBJECT-IDENTITY has a status; plain OID assignments have none.
		// The MODULE-IDENTITY is the module's, not an object.
		if n.Status != "" && n.Name != doc.Identity.Node {
			m[n.Name] = fromMIB{OID: n.OID, Kind: KindIdentity}
		}
	}
	for _, s := range doc.Scalars {
		m[s.Name] = fromMIB{OID: s.OID, Kind: KindScalar, Syntax: parseSyntax(t, s, tcs), Access: parseAccess(s.Access)}
	}
	for _, tb := range doc.Tables {
		m[tb.Name] = fromMIB{OID: tb.OID, Kind: KindTable}
		var idx []string
		for _, i := range tb.Row.Indexes {
			idx = append(idx, i.Name)
		}
		m[tb.Row.Name] = fromMIB{OID: tb.Row.OID, Kind: KindEntry, Index: idx}
		for _, c := range tb.Row.Columns {
			m[c.Name] = fromMIB{OID: c.OID, Kind: KindColumn, Syntax: parseSyntax(t, c, tcs), Access: parseAccess(c.Access)}
		}
	}
	for _, n := range doc.Notifs {
		var objs []string
		for _, o := range n.Objects {
			objs = append(objs, o.Name)
		}
		m[n.Name] = fromMIB{OID: n.OID, Kind: KindNotification, Objects: objs}
	}
	return m
}

func fromGo(o Object) fromMIB {
	f := fromMIB{OID: o.OID.String(), Kind: o.Kind, Index: o.Index, Objects: o.Objects}
	if o.Kind == KindScalar || o.Kind == KindColumn {
		f.Syntax, f.Access = o.Syntax, o.Access
	}
	return f
}

func TestGoDefinitionsMatchMIBFiles(t *testing.T) {
	for _, c := range []struct {
		file string
		defs []Object
	}{{"MCC16-MIB.txt", PointSystemObjects()}, {"CPSMM-EMULATOR-MIB.txt", EmulatorObjects()}} {
		mib := loadMIB(t, c.file)
		goDefs := map[string]fromMIB{}
		for _, o := range c.defs {
			goDefs[o.Name] = fromGo(o)
		}
		var names []string
		for n := range mib {
			names = append(names, n)
		}
		for n := range goDefs {
			if _, ok := mib[n]; !ok {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			m, inMIB := mib[n]
			g, inGo := goDefs[n]
			switch {
			case !inMIB:
				t.Errorf("%s: %s is defined in Go but not in the MIB", c.file, n)
			case !inGo:
				t.Errorf("%s: %s is in the MIB but not defined in Go", c.file, n)
			case !reflect.DeepEqual(m, g):
				t.Errorf("%s: %s differs:\n MIB %+v\n Go  %+v", c.file, n, m, g)
			}
		}
		if len(mib) < len(c.defs) || len(c.defs) == 0 {
			t.Errorf("%s: %d nodes in the MIB, %d in Go", c.file, len(mib), len(c.defs))
		}
	}
}

// TestSmilint: smilint -l 3 reports nothing on our modules. (The messages
// fidelity forces, readable index columns and the vendor's hyphenated
// enumeration label rj-45, are reported at levels 4 and 5.)
func TestSmilintClean(t *testing.T) {
	for _, f := range mibFiles {
		cmd := exec.Command(needTool(t, "smilint"), "-l", "3", "-s", filepath.Join(mibDir(t), f))
		cmd.Env = smiEnv(t)
		out, err := cmd.CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("smilint -l 3 %s: %v\n%s", f, err, out)
		}
	}
}

// TestSnmptranslateResolvesEveryName: net-snmp's parser resolves every
// object of the Go definitions to its OID.
func TestSnmptranslateResolvesEveryName(t *testing.T) {
	reg := DefaultRegistry()
	args := []string{"-M", mibDir(t) + ":" + baseMIBDir() + ":/usr/share/snmp/mibs", "-m", "MCC16-MIB:CPSMM-EMULATOR-MIB", "-On"}
	var want []string
	for _, o := range reg.Objects() {
		args = append(args, o.Module+"::"+o.Name)
		want = append(want, "."+o.OID.String())
	}
	out, err := exec.Command(needTool(t, "snmptranslate"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("snmptranslate: %v\n%s", err, out)
	}
	var got []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			got = append(got, l)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("snmptranslate gave %d lines for %d names:\n%s", len(got), len(want), out)
	}
}
