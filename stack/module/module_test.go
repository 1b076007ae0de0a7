package module

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/smi"
)

func newModule(t *testing.T, dir string) *Module {
	t.Helper()
	l := logrus.New()
	l.SetOutput(io.Discard)
	m, err := New(Options{Config: Default(), StateDir: dir, Log: l, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func vb(m *Module, name string, v smi.Value, idx ...uint32) smi.VarBind {
	if len(idx) == 0 {
		idx = []uint32{1, 1}
	}
	return smi.VarBind{Name: m.Store().InstanceOID(name, idx...), Value: v}
}

func TestUndoSetTakesBackASave(t *testing.T) {
	dir := t.TempDir()
	m := newModule(t, dir)
	s := m.Store()
	file := filepath.Join(dir, configFileName)

	// First save, then undone: no file, as before.
	if err := s.TestSet(1, []smi.VarBind{vb(m, "cpsmm100SysName", smi.String("first")), vb(m, "cpsmm100SaveConfig", smi.Integer(mib.SaveConfig))}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("TestSet wrote the file: %v", err)
	}
	if err := s.CommitSet(1); err != nil {
		t.Fatal(err)
	}
	if st, ok, _ := LoadSaved(dir); !ok || st.SysName != "first" {
		t.Fatalf("commit saved %+v ok=%v", st, ok)
	}
	if err := s.UndoSet(1); err != nil {
		t.Fatal(err)
	}
	s.CleanupSet(1)
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("undo left the file: %v", err)
	}
	if v, _ := s.Value("cpsmm100SysName", 1, 1); string(v.Bytes) != "cpsmm-1" {
		t.Errorf("undo left sysName %q", v.Bytes)
	}

	// A committed save, then a second one undone: the first is back.
	if err := s.Set([]smi.VarBind{vb(m, "cpsmm100SysName", smi.String("kept")), vb(m, "cpsmm100SaveConfig", smi.Integer(mib.SaveConfig))}); err != nil {
		t.Fatal(err)
	}
	if err := s.TestSet(2, []smi.VarBind{vb(m, "cpsmm100SysName", smi.String("undone")), vb(m, "cpsmm100SaveConfig", smi.Integer(mib.SaveConfig))}); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitSet(2); err != nil {
		t.Fatal(err)
	}
	if err := s.UndoSet(2); err != nil {
		t.Fatal(err)
	}
	if st, ok, _ := LoadSaved(dir); !ok || st.SysName != "kept" {
		t.Errorf("after undo the saved file has %+v", st)
	}
}

func TestPolicyRules(t *testing.T) {
	m := newModule(t, t.TempDir())
	s := m.Store()
	tests := []struct {
		name string
		vbs  []smi.VarBind
		want smi.ErrorStatus
		idx  int
	}{
		{"multicast address", []smi.VarBind{vb(m, "cpsmm100IPAddress", smiIP("224.0.0.5"))}, smi.WrongValue, 1},
		{"non-contiguous mask", []smi.VarBind{vb(m, "cpsmm100SubnetMask", smiIP("255.0.255.0"))}, smi.WrongValue, 1},
		{"gateway outside", []smi.VarBind{vb(m, "cpsmm100Gateway", smiIP("198.51.100.1"))}, smi.InconsistentValue, 1},
		{"move subnet, gateway blamed", []smi.VarBind{vb(m, "cpsmm100IPAddress", smiIP("198.51.100.7")), vb(m, "cpsmm100Gateway", smiIP("192.0.2.77"))}, smi.InconsistentValue, 2},
		{"negative trap interval", []smi.VarBind{vb(m, "cpsmm100SNMPTrapInterval", smi.Integer(-1))}, smi.WrongValue, 1},
		{"own slot power off", []smi.VarBind{vb(m, "cpsSlotPwrState", smi.Integer(mib.Off), 1, 1)}, smi.InconsistentValue, 1},
		{"step down alone", []smi.VarBind{vb(m, "cpsIsPrimary", smi.Integer(mib.No), 0)}, smi.InconsistentValue, 1},
	}
	for _, tc := range tests {
		err := s.Set(tc.vbs)
		if err == nil || err.Status != tc.want || err.Index != tc.idx {
			t.Errorf("%s: %v, want %s at %d", tc.name, err, tc.want, tc.idx)
		}
	}
	// Valid changes take effect at once, derived objects with them.
	if err := s.Set([]smi.VarBind{vb(m, "cpsmm100IPAddress", smiIP("0.0.0.0"))}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cpsmm100CanPrimary", "cpsmm100IsPrimary"} {
		if v, _ := s.Value(name, 1, 1); v.Int != mib.No {
			t.Errorf("%s = %d with no address", name, v.Int)
		}
	}
	if err := s.Set([]smi.VarBind{vb(m, "cpsSlotPwrState", smi.Integer(mib.Off), 1, 7)}); err != nil {
		t.Errorf("power off an empty slot: %v", err)
	}
}

func TestResetRebuildsFromSaved(t *testing.T) {
	dir := t.TempDir()
	m := newModule(t, dir)
	s := m.Store()
	if err := s.Set([]smi.VarBind{vb(m, "cpsmm100SysLocation", smi.String("saved")), vb(m, "cpsmm100SaveConfig", smi.Integer(mib.SaveConfig))}); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]smi.VarBind{vb(m, "cpsmm100SysLocation", smi.String("lost")), vb(m, "cpsmm100Reset", smi.Integer(mib.Reset))}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Resets():
	case <-time.After(10 * time.Second):
		t.Fatal("no reset")
	}
	if v, _ := s.Value("cpsmm100SysLocation", 1, 1); string(v.Bytes) != "saved" {
		t.Errorf("after reset sysLocation %q", v.Bytes)
	}
	if v, _ := s.Value("cpsmm100Reset", 1, 1); v.Int != mib.NoReset {
		t.Errorf("reset reads %d", v.Int)
	}
}

func smiIP(s string) smi.Value { return smi.IPAddress(ip(s)) }

func TestObjectsResolve(t *testing.T) {
	if _, err := ResolveObjects(mib.DefaultRegistry()); err != nil {
		t.Fatal(err)
	}
}
