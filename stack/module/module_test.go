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

// TestCabinetDetailOfEveryModel: a lone module shows its cabinet's detail
// row whatever the model; where the Description is a copy of
// cpsCabinetDescription, a Set of the latter carries over. An SMACF100
// unit is no cabinet for a Base Management Module, and smacf100Table
// refuses Sets.
func TestCabinetDetailOfEveryModel(t *testing.T) {
	l := logrus.New()
	l.SetOutput(io.Discard)
	for _, tc := range []struct{ model, detail, desc string }{
		{"cpsmc0200", "cpsMc0200", "lab"}, {"cpsmc0800", "cpsMc0800", "lab"}, {"cpsmc1900", "cpsMc1900", "lab"},
		{"cpsmc1300", "cpsMc1300", "CPSMC1300 Point System chassis"}, {"cpsmc1800", "cpsMc1800", "CPSMC1800 Point System chassis"},
	} {
		cfg := Default()
		cfg.CabinetModel, cfg.CabinetDescription = tc.model, "lab"
		m, err := New(Options{Config: cfg, Log: l})
		if err != nil {
			t.Fatal(err)
		}
		s := m.Store()
		if v, ok := s.Value(tc.detail+"Description", 1); !ok || string(v.Bytes) != tc.desc {
			t.Errorf("%s: %sDescription %v %v, want %q", tc.model, tc.detail, v, ok, tc.desc)
		}
		if v, ok := s.Value(tc.detail+"MRevision", 1); !ok || v.Int != 1 {
			t.Errorf("%s: %sMRevision %v %v", tc.model, tc.detail, v, ok)
		}
		if err := s.Set([]smi.VarBind{vb(m, "cpsCabinetDescription", smi.String("moved"), 1)}); err != nil {
			t.Fatalf("%s: %v", tc.model, err)
		}
		want := tc.desc
		if want == "lab" {
			want = "moved"
		}
		if v, _ := s.Value(tc.detail+"Description", 1); string(v.Bytes) != want {
			t.Errorf("%s: %sDescription %q after the Set, want %q", tc.model, tc.detail, v.Bytes, want)
		}
		if tc.model == "cpsmc0200" {
			// A row of smacf100Table (a Primary's, written as its device
			// cache would): its settings are shown, not set.
			sm := m.Objects().Smacf100
			s.Write([]uint32{2}, sm.Bia.Of(2), sm.SpanningTree.Of(1), sm.AgingTimer.Of(300))
			err := s.Set([]smi.VarBind{vb(m, "smacf100SpanningTree", smi.Integer(2), 2)})
			if err == nil || err.Status != smi.InconsistentValue {
				t.Errorf("a Set of smacf100SpanningTree: %v, want inconsistentValue", err)
			}
			if v, _ := s.Value("smacf100SpanningTree", 2); v.Int != 1 {
				t.Errorf("smacf100SpanningTree %v after a refused Set", v)
			}
		}
	}
	cfg := Default()
	cfg.CabinetModel = "smacf100"
	if _, err := New(Options{Config: cfg, Log: l}); err == nil {
		t.Error("a module in an SMACF100 unit was accepted")
	}
}
