package mib

import (
	"errors"
	"strings"
	"testing"

	"github.com/cpsmm/cpsmm/mib/smi"
)

func newTestStore(t *testing.T) *Store {
	t.Helper()
	s := NewStore(DefaultRegistry())
	for _, c := range []struct {
		name string
		v    smi.Value
	}{
		{"cpsmm100SysName", smi.String("name")},
		{"cpsmm100WantPrimary", smi.Integer(1)},
		{"cpsmm100Reset", smi.Integer(2)},
		{"cpsmm100IsPrimary", smi.Integer(1)},
		{"cpsmm100SerialNumber", smi.Integer(1234)},
		{"cpsmm100SubnetMask", smi.IPAddressBytes([4]byte{255, 255, 255, 0})},
		{"cpsmm100Groups", smi.String("")},
	} {
		if err := s.Put(c.name, c.v, 1, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put("cpsGroupCtrl", smi.String(""), 0); err != nil {
		t.Fatal(err)
	}
	return s
}

func inst(t *testing.T, s *Store, name string, idx ...uint32) smi.OID {
	t.Helper()
	return s.InstanceOID(name, idx...)
}

func TestCheckValueRules(t *testing.T) {
	reg := DefaultRegistry()
	tests := []struct {
		object string
		v      smi.Value
		want   smi.ErrorStatus
	}{
		{"cpsmm100WantPrimary", smi.String("yes"), smi.WrongType},
		{"cpsmm100WantPrimary", smi.Integer(7), smi.WrongValue},
		{"cpsmm100WantPrimary", smi.Integer(0), smi.WrongValue},
		{"cpsmm100WantPrimary", smi.Integer(1), smi.NoError},
		{"cpsmm100WantPrimary", smi.Integer(2), smi.NoError},
		{"cpsmm100WantPrimary", smi.Integer(3), smi.NoError},
		{"cpsmm100Reset", smi.Integer(0), smi.WrongValue},
		{"cpsmm100Reset", smi.Integer(1), smi.NoError},
		{"cpsmm100SaveConfig", smi.Integer(3), smi.WrongValue},
		{"cpsmm100SysName", smi.String(strings.Repeat("x", 255)), smi.NoError},
		{"cpsmm100SysName", smi.String(strings.Repeat("x", 256)), smi.WrongLength},
		{"cpsmm100SysName", smi.Integer(1), smi.WrongType},
		{"cpsmm100SysName", smi.OctetString([]byte{'a', 0xff}), smi.WrongValue},
		{"cpsmm100SysName", smi.String("line\r\nnext"), smi.NoError},
		{"cpsmm100SysName", smi.String("bare\rcr"), smi.WrongValue},
		{"cpsGroupCtrl", smi.String(strings.Repeat("g", 256)), smi.NoError},
		{"cpsGroupCtrl", smi.String(strings.Repeat("g", 257)), smi.WrongLength},
		{"cpsmm100Gateway", smi.Value{Type: smi.TypeIPAddress, Bytes: []byte{1, 2, 3}}, smi.WrongLength},
		{"cpsmm100Gateway", smi.Integer(1), smi.WrongType},
		{"cpsmm100SNMPTrapInterval", smi.Counter32(1), smi.WrongType},
		{"cpsmm100SNMPTrapInterval", smi.Integer(-5), smi.NoError}, // range is the module's rule
		{"cettf100AutoCross", smi.Integer(2), smi.NoError},
		{"cfetf100FarEndFault", smi.Integer(4), smi.WrongValue},
		{"cpsSlotPwrState", smi.Integer(3), smi.WrongValue},
	}
	for _, tc := range tests {
		obj := reg.MustLookup(tc.object)
		if got, why := CheckValue(obj, tc.v); got != tc.want {
			t.Errorf("%s = %v: %s (%s), want %s", tc.object, tc.v, got, why, tc.want)
		}
	}
}

func TestGetAndGetNext(t *testing.T) {
	s := newTestStore(t)
	name := inst(t, s, "cpsmm100SysName", 1, 1)
	if v := s.Get(name); string(v.Bytes) != "name" {
		t.Errorf("get sysName = %v", v)
	}
	if v := s.Get(inst(t, s, "cpsmm100SysName", 2, 1)); v.Type != smi.TypeNoSuchInstance {
		t.Errorf("get missing row = %v, want noSuchInstance", v)
	}
	if v := s.Get(smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.2.1.1.99.1.1")); v.Type != smi.TypeNoSuchObject {
		t.Errorf("get undefined column = %v, want noSuchObject", v)
	}
	// Walk order: column by column, rows within a column.
	var got []string
	start := smi.MustOID("1.3.6.1.4.1.868")
	for {
		oid, _, ok := s.GetNext(start, false, nil)
		if !ok {
			break
		}
		o, _, _ := s.reg.Covering(oid)
		got = append(got, o.Name)
		start = oid
	}
	want := "cpsmm100Groups cpsmm100Reset cpsmm100SubnetMask cpsmm100IsPrimary cpsmm100WantPrimary cpsmm100SysName cpsmm100SerialNumber cpsGroupCtrl"
	if strings.Join(got, " ") != want {
		t.Errorf("walk order:\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	if _, _, ok := s.GetNext(name, false, inst(t, s, "cpsmm100SerialNumber", 1, 1)); ok {
		t.Error("getnext ignored the end of the search range")
	}
	if oid, _, ok := s.GetNext(name, true, nil); !ok || !oid.Equal(name) {
		t.Error("getnext with include did not return the start")
	}
}

func TestSetErrors(t *testing.T) {
	s := newTestStore(t)
	tests := []struct {
		name string
		vbs  []smi.VarBind
		want smi.ErrorStatus
		idx  int
	}{
		{"read-only column", []smi.VarBind{{Name: inst(t, s, "cpsmm100IsPrimary", 1, 1), Value: smi.Integer(1)}}, smi.NotWritable, 1},
		{"serial number", []smi.VarBind{{Name: inst(t, s, "cpsmm100SerialNumber", 1, 1), Value: smi.Integer(1)}}, smi.NotWritable, 1},
		{"row that does not exist", []smi.VarBind{{Name: inst(t, s, "cpsmm100SysName", 9, 9), Value: smi.String("x")}}, smi.NoCreation, 1},
		{"scalar without .0", []smi.VarBind{{Name: s.reg.MustLookup("cpsGroupCtrl").OID, Value: smi.String("x")}}, smi.NoCreation, 1},
		{"undefined object", []smi.VarBind{{Name: smi.MustOID("1.3.6.1.4.1.868.9.9.0"), Value: smi.Integer(1)}}, smi.NotWritable, 1},
		{"second varbind bad", []smi.VarBind{
			{Name: inst(t, s, "cpsmm100SysName", 1, 1), Value: smi.String("changed")},
			{Name: inst(t, s, "cpsmm100WantPrimary", 1, 1), Value: smi.Integer(7)}}, smi.WrongValue, 2},
		{"wrong type", []smi.VarBind{{Name: inst(t, s, "cpsmm100WantPrimary", 1, 1), Value: smi.String("yes")}}, smi.WrongType, 1},
	}
	for _, tc := range tests {
		err := s.Set(tc.vbs)
		if err == nil || err.Status != tc.want || err.Index != tc.idx {
			t.Errorf("%s: %v, want %s at %d", tc.name, err, tc.want, tc.idx)
		}
	}
	if v, _ := s.Value("cpsmm100SysName", 1, 1); string(v.Bytes) != "name" {
		t.Errorf("a rejected Set changed sysName to %q", v.Bytes)
	}
}

type failingPolicy struct{ nopPolicy }

func (failingPolicy) Commit(p *Proposal) error {
	p.Put("cpsmm100Groups", smi.String("side effect"), 1, 1)
	return errors.New("disk full")
}

func TestCommitFailureRestoresEverything(t *testing.T) {
	s := newTestStore(t)
	s.SetPolicy(failingPolicy{})
	err := s.Set([]smi.VarBind{
		{Name: inst(t, s, "cpsmm100SysName", 1, 1), Value: smi.String("new")},
		{Name: inst(t, s, "cpsmm100WantPrimary", 1, 1), Value: smi.Integer(3)},
	})
	if err == nil || err.Status != smi.CommitFailed {
		t.Fatalf("set = %v, want commitFailed", err)
	}
	for name, want := range map[string]string{"cpsmm100SysName": `OCTET STRING: "name"`, "cpsmm100WantPrimary": "INTEGER: 1", "cpsmm100Groups": `OCTET STRING: ""`} {
		if v, _ := s.Value(name, 1, 1); v.String() != want {
			t.Errorf("%s = %s after failed commit, want %s", name, v, want)
		}
	}
}

func TestUndoAfterCommit(t *testing.T) {
	s := newTestStore(t)
	oid := inst(t, s, "cpsmm100WantPrimary", 1, 1)
	if err := s.TestSet(7, []smi.VarBind{{Name: oid, Value: smi.Integer(3)}}); err != nil {
		t.Fatal(err)
	}
	if v := s.Get(oid); v.Int != 1 {
		t.Fatalf("TestSet changed the value to %d", v.Int)
	}
	if err := s.CommitSet(7); err != nil {
		t.Fatal(err)
	}
	if v := s.Get(oid); v.Int != 3 {
		t.Fatalf("commit: %d", v.Int)
	}
	if err := s.UndoSet(7); err != nil {
		t.Fatal(err)
	}
	s.CleanupSet(7)
	if v := s.Get(oid); v.Int != 1 {
		t.Fatalf("undo: %d", v.Int)
	}
}
