package mib

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/cpsmm/cpsmm/mib/smi"
)

func TestEnums(t *testing.T) {
	reg := DefaultRegistry()
	for _, c := range []struct {
		object, label string
		value         int32
	}{
		{"cpsmm100IsPrimary", "yes", Yes}, {"cpsmm100IsPrimary", "no", No},
		{"cpsIsPrimary", "yes", Yes}, {"cpsIsPrimary", "no", No},
		{"cpsmm100EthernetLink", "on", On}, {"cpsmm100EthernetLink", "off", Off},
		{"cpsSlotPwrState", "on", On}, {"cpsSlotPwrState", "off", Off},
		{"cpsmm100SaveConfig", "saveConfig", SaveConfig}, {"cpsmm100SaveConfig", "noSaveConfig", NoSaveConfig},
		{"cpsmm100Reset", "reset", Reset}, {"cpsmm100Reset", "noReset", NoReset},
		{"cpsmm100CacheClean", "clean", Clean}, {"cpsmm100CacheClean", "dirty", Dirty},
		{"cettf100CacheClean", "clean", Clean}, {"cfetf100CacheClean", "dirty", Dirty},
		{"cpsmm100WantPrimary", "yes", WantYes}, {"cpsmm100WantPrimary", "no", WantNo}, {"cpsmm100WantPrimary", "always", WantAlways},
		{"cettf100Fault", "yes", Yes}, {"cfetf100Fault", "no", No},
	} {
		o, ok := reg.Lookup(c.object)
		if !ok {
			t.Errorf("no object %s", c.object)
			continue
		}
		if got := o.Syntax.EnumLabel(c.value); got != c.label {
			t.Errorf("%s: %d is %q in the definitions, the constant says %q", c.object, c.value, got, c.label)
		}
	}
}

type testObjects struct {
	IsPrimary Int     `mib:"cpsmm100IsPrimary"`
	Name      Str     `mib:"cpsmm100SysName"`
	Addr      IP      `mib:"cpsmm100IPAddress"`
	Model     OID     `mib:"cpsModuleModel"`
	Up        Ticks   `mib:"cpsmm100SysUpTime"`
	Saves     Counter `mib:"cpsEmuConfigSaves"`
	Row       Entry   `mib:"cpsmm100Entry"`
	Conv      struct {
		Fault Int `mib:"Fault"`
	} `mib:"cettf100"`
}

func TestResolve(t *testing.T) {
	reg := DefaultRegistry()
	var o testObjects
	if err := Resolve(reg, &o); err != nil {
		t.Fatal(err)
	}
	if o.Conv.Fault.Name() != "cettf100Fault" || o.IsPrimary.Name() != "cpsmm100IsPrimary" {
		t.Errorf("resolved %s, %s", o.Conv.Fault.Name(), o.IsPrimary.Name())
	}
	s := NewStore(reg)
	s.Write([]uint32{1, 1}, o.IsPrimary.Of(Yes), o.Name.Of("m1"), o.Addr.Of(netip.MustParseAddr("192.0.2.1")), o.Model.Of(smi.OID{1, 3}))
	if v, ok := s.Read(o.IsPrimary.Handle, 1, 1); !ok || v.Int != Yes {
		t.Errorf("read back %v %v", v, ok)
	}
	if v, _ := s.Read(o.Addr.Handle, 1, 1); v.Addr() != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("address %v", v)
	}
	s.DeleteRow(o.Row, 1, 1)
	if _, ok := s.Read(o.Name.Handle, 1, 1); ok {
		t.Error("row not deleted")
	}

	for _, bad := range []struct {
		dst  any
		want string
	}{
		{&struct {
			X Int `mib:"cpsmm100IsPrimry"`
		}{}, "no object"},
		{&struct {
			X Str `mib:"cpsmm100IsPrimary"`
		}{}, "not OCTET"},
		{&struct{ X Int }{}, "no mib tag"},
		{&struct {
			X Entry `mib:"cpsmm100IsPrimary"`
		}{}, "kind"},
	} {
		err := Resolve(reg, bad.dst)
		if err == nil || !strings.Contains(err.Error(), strings.Fields(bad.want)[0]) {
			t.Errorf("Resolve(%T) = %v, want an error about %q", bad.dst, err, bad.want)
		}
	}
}

// A Set of a live cell is a request: the cell goes on showing its
// function's value, during the Set and after it.
func TestSetKeepsLiveCells(t *testing.T) {
	reg := DefaultRegistry()
	var o testObjects
	if err := Resolve(reg, &o); err != nil {
		t.Fatal(err)
	}
	s := NewStore(reg)
	live := Yes
	s.WriteFunc(o.IsPrimary.Handle, func() smi.Value { return smi.Integer(live) }, 1, 1)
	if err := s.Set([]smi.VarBind{{Name: o.IsPrimary.OID(1, 1), Value: smi.Integer(No)}}); err == nil {
		t.Fatal("a read-only object was set")
	}
	name := reg.MustLookup("cpsIsPrimary")
	s.WriteFunc(Handle{name}, func() smi.Value { return smi.Integer(live) }, 0)
	if err := s.Set([]smi.VarBind{{Name: name.OID.Append(0), Value: smi.Integer(No)}}); err != nil {
		t.Fatal(err)
	}
	live = No
	if v := s.Get(name.OID.Append(0)); v.Int != No {
		t.Fatalf("after the Set the live cell reads %d", v.Int)
	}
	live = Yes
	if v := s.Get(name.OID.Append(0)); v.Int != Yes {
		t.Errorf("the Set replaced the live cell: it reads %d, its function says yes", v.Int)
	}
}
