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
	if got := strings.Join(c.CabinetNames(), " "); got != "cpsmc0200 cpsmc0800 cpsmc1300 cpsmc1800 cpsmc1850 cpsmc1900" {
		t.Errorf("cabinet names %s", got)
	}
	for _, tc := range []struct {
		name, identity, detail string
		slots                  int32
	}{
		{"cpsmc1800", "chassisCpsmc1800Id", "cpsMc1800", 18},
		{"cpsmc1850", "chassisCpsmc1850Id", "cpsMc1800", 18},
		{"cpsmc1300", "chassisCpsmc1300Id", "cpsMc1300", 13},
		{"cpsmc0200", "chassisCpsmc0200Id", "", 2},
	} {
		m, ok := c.CabinetModel(tc.name)
		if !ok || m.Slots != tc.slots || m.Detail != tc.detail || !m.OID.Equal(reg.MustLookup(tc.identity).OID) {
			t.Errorf("%s: %+v %v", tc.name, m, ok)
		}
	}
	if _, ok := c.CabinetModel("cpsmc9999"); ok {
		t.Error("an unknown cabinet model resolved")
	}
	if got := strings.Join(c.DeviceTypeNames(), " "); got != "cettf100 cfetf100 smacf100p" {
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
