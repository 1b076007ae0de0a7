package catalog

import (
	"strings"
	"testing"

	"github.com/cpsmm/cpsmm/mib"
)

func TestResolvesAgainstTheDefaultRegistry(t *testing.T) {
	reg := mib.DefaultRegistry()
	c, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	if !c.ModuleID().Equal(reg.MustLookup("cpsmM100Id").OID) || !c.EmptyID().Equal(reg.MustLookup("cpsEmptyId").OID) {
		t.Errorf("module %s, empty %s", c.ModuleID(), c.EmptyID())
	}
	sub := c.Subtree()
	for _, name := range []string{"cpsModuleModel", "cpsmm100CacheClean", "cpsIsPrimary", "cpsMc1300MRevision", "cfetf100Enabled"} {
		if !reg.MustLookup(name).OID.HasPrefix(sub) {
			t.Errorf("%s is outside the subtree %s", name, sub)
		}
	}
	for _, name := range []string{"cpsmM100Id", "pSDeviceInserted", "cpsEmuModuleName"} {
		if o, ok := reg.Lookup(name); ok && o.OID.HasPrefix(sub) {
			t.Errorf("%s (not an object of the agent's MIB view) is inside the subtree %s", name, sub)
		}
	}
	if got := strings.Join(c.CabinetNames(), " "); got != "cpsmc0200 cpsmc0800 cpsmc1300 cpsmc1800 cpsmc1850 cpsmc1900 smacf100" {
		t.Errorf("cabinet names %s", got)
	}
	for _, tc := range []struct {
		name, identity, detail string
		slots                  int32
		ethernet               bool
	}{
		{"cpsmc1800", "chassisCpsmc1800Id", "cpsMc1800", 18, false},
		{"cpsmc1850", "chassisCpsmc1850Id", "cpsMc1800", 18, false},
		{"cpsmc1300", "chassisCpsmc1300Id", "cpsMc1300", 13, false},
		{"cpsmc0200", "chassisCpsmc0200Id", "cpsMc0200", 2, false},
		{"cpsmc0800", "chassisCpsmc0800Id", "cpsMc0800", 8, false},
		{"cpsmc1900", "chassisCpsmc1900Id", "cpsMc1900", 19, false},
		{"smacf100", "chassisSmacf100Id", "smacf100", 5, true},
	} {
		m, ok := c.CabinetModel(tc.name)
		if !ok || m.Slots != tc.slots || m.Detail != tc.detail || m.Ethernet != tc.ethernet || !m.OID.Equal(reg.MustLookup(tc.identity).OID) {
			t.Errorf("%s: %+v %v", tc.name, m, ok)
		}
	}
	if _, ok := c.CabinetModel("cpsmc9999"); ok {
		t.Error("an unknown cabinet model resolved")
	}
	if got := strings.Join(c.DeviceTypeNames(), " "); got != "cettf100 cfetf100 smacf100p cpsmm200" {
		t.Errorf("device types %s", got)
	}
	for _, tc := range []struct {
		name, identity string
		code           uint8
		ethernet       bool
	}{
		{"cettf100", "cettf100Id", CodeCettf100, false},
		{"cfetf100", "cfetf100Id", CodeCfetf100, false},
		{"smacf100p", "smacf100PId", CodeAggregation, true},
		{"cpsmm200", "cpsmM200Id", CodeExpansion, false},
	} {
		d, ok := c.DeviceType(tc.name)
		if !ok || d.Code != tc.code || d.Ethernet != tc.ethernet || d.Table == tc.ethernet || !d.Product.Equal(reg.MustLookup(tc.identity).OID) {
			t.Errorf("%s: %+v %v", tc.name, d, ok)
		}
		if !c.Product(tc.code).Equal(d.Product) || TypeName(tc.code) != tc.name {
			t.Errorf("%s: product %s, name %q", tc.name, c.Product(tc.code), TypeName(tc.code))
		}
		if code, ok := TypeCode(tc.name); !ok || code != tc.code {
			t.Errorf("%s: code %d %v", tc.name, code, ok)
		}
	}
	if !c.Product(CodeEmpty).Equal(c.EmptyID()) || !c.Product(200).Equal(c.EmptyID()) || TypeName(CodeEmpty) != "" {
		t.Error("an empty or unknown code is not cpsEmptyId")
	}
	conns := c.Connectors()
	syn := reg.MustLookup("cfetf100ConnB").Syntax
	if len(conns) != len(syn.Enums) || conns[0] != "rj-45" || conns[len(conns)-1] != "sc125km" {
		t.Errorf("connectors %v", conns)
	}
	for _, e := range syn.Enums {
		if !c.Connector(e.Label) {
			t.Errorf("connector %q missing", e.Label)
		}
	}
	if c.Connector("toaster") {
		t.Error("an unknown connector accepted")
	}
}

// TestProducts: every product identifier of the vendor's tree, with its
// OID (the reference's table, written out here once more on purpose).
func TestProducts(t *testing.T) {
	c := Default()
	want := map[string]string{
		"cpsmM100Id": "1.4.1.2.1", "cpsmM200Id": "1.4.1.2.2", "cettf100Id": "1.4.1.2.3", "cfetf100Id": "1.4.1.2.4",
		"cfmff100Id": "1.4.1.2.5", "cpsmp100Id": "1.4.1.2.6", "csetf100Id": "1.4.1.2.7", "cgetf100Id": "1.4.1.2.8",
		"csdtf100Id": "1.4.1.2.9", "cpsmp110Id": "1.4.1.2.10", "cbftf100Id": "1.4.1.2.11", "cetct100Id": "1.4.1.2.12",
		"ccscf100Id": "1.4.1.2.13", "cfetf105Id": "1.4.1.2.14", "smacf100PId": "1.4.1.2.15", "cpsld100Id": "1.4.1.2.16",
		"cdftf100Id": "1.4.1.2.17", "cpsvt100Id": "1.4.1.2.18", "cemtf100Id": "1.4.1.2.19", "captf100Id": "1.4.1.2.20",
		"cfetf205Id": "1.4.1.2.21", "cbftf150Id": "1.4.1.2.22", "cgfeb100Id": "1.4.1.2.23", "crmfe100Id": "1.4.1.2.24",
		"crs2f100Id": "1.4.1.2.25", "crs4f100Id": "1.4.1.2.26", "cmefg100Id": "1.4.1.2.27",
		"cpsEmptyId": "1.4.1.2.1001", "cpsDblWideId": "1.4.1.2.1002", "cpsUnknownDeviceId": "1.4.1.2.1003",
		"chassisMcc16Id": "1.4.2", "chassisCpsmc1800Id": "1.4.3", "chassisCpsmc1850Id": "1.4.4",
		"chassisCpsmc0800Id": "1.4.5", "chassisCpsmc1300Id": "1.4.6", "chassisCpsmc0200Id": "1.4.7",
		"chassisSmacf100LCId": "1.4.8", "chassisCpsmc1900Id": "1.4.9", "chassisSmacf100Id": "1.4.10",
	}
	got := c.Products()
	if len(got) != len(want) {
		t.Errorf("%d products, want %d", len(got), len(want))
	}
	for _, p := range got {
		if w, ok := want[p.Name]; !ok || p.OID.String() != "1.3.6.1.4.1.868."+w {
			t.Errorf("%s = %s, want 868.%s", p.Name, p.OID, w)
		}
		if p.Chassis != strings.HasPrefix(p.Name, "chassis") {
			t.Errorf("%s: chassis %v", p.Name, p.Chassis)
		}
		if oid, ok := c.ProductID(p.Name); !ok || !oid.Equal(p.OID) || c.ProductName(p.OID) != p.Name {
			t.Errorf("%s: lookup %s %v, name %q", p.Name, oid, ok, c.ProductName(p.OID))
		}
	}
	if _, ok := c.ProductID("cpsmM300Id"); ok || c.ProductName(c.Subtree()) != "" {
		t.Error("an unknown product resolved")
	}
}

func TestAccessorsReturnCopies(t *testing.T) {
	c := Default()
	c.ModuleID()[0] = 99
	m, _ := c.CabinetModel("cpsmc1800")
	m.OID[0] = 99
	c.DeviceTypes()[0].Product[0] = 99
	c.Connectors()[0] = "x"
	m2, _ := c.CabinetModel("cpsmc1800")
	d, _ := c.DeviceType("cettf100")
	if c.ModuleID()[0] != 1 || m2.OID[0] != 1 || d.Product[0] != 1 || c.Connectors()[0] != "rj-45" {
		t.Error("a caller changed the catalog")
	}
}

// without returns the Point System definitions less the named objects.
func without(t *testing.T, names ...string) *mib.Registry {
	t.Helper()
	var objs []mib.Object
	for _, o := range mib.PointSystemObjects() {
		drop := false
		for _, n := range names {
			drop = drop || o.Name == n
		}
		if !drop {
			objs = append(objs, o)
		}
	}
	reg, err := mib.NewRegistry(objs)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestMissingNamesFail(t *testing.T) {
	for _, tc := range []struct{ drop, want string }{
		{"cpsEmptyId", "cpsEmptyId"},
		{"chassisCpsmc1300Id", "cabinet model cpsmc1300"},
		{"smacf100PId", "device type smacf100p"},
		{"cpsMc1300Table", "cpsMc1300Table"},
		{"cfetf100Entry", "cfetf100Entry"},
		{"cettf100ConnA", "CpsConnector"},
		{"cpsMc0800Table", "cpsMc0800Table"},
		{"cmefg100Id", "cmefg100Id"},
		{"cpsmm200Entry", "cpsmm200Entry"},
	} {
		_, err := New(without(t, tc.drop))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("without %s: %v, want an error naming %q", tc.drop, err, tc.want)
		}
	}
	if _, err := New(without(t)); err != nil {
		t.Errorf("the full definitions: %v", err)
	}
}
