package module

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFileNamesFileLineAndField(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"bad MAC", "name: a\nmac: 00:11\n", ":2: field mac: \"00:11\" is not a 6-octet MAC address"},
		{"bad IP", "name: a\n\nip: 300.1.1.1\n", ":3: field ip: \"300.1.1.1\" is not an IPv4 address"},
		{"bad want", "want_primary: maybe\n", ":1: field want_primary: \"maybe\" is not yes, no or always"},
		{"unknown model", "cabinet_model: cpsmc9999\n", ":1: field cabinet_model: unknown cabinet model"},
		{"slot out of range", "slot: 40\n", ":1: field slot: slot 40 is outside 1..32"},
		{"trap manager", "trap_managers: [0.0.0.0, x, 0.0.0.0, 0.0.0.0]\n", ":1: field trap_managers[1]"},
		{"unknown key", "nmae: a\n", "field nmae not found"},
		{"long sys name", "sys_name: " + strings.Repeat("n", 256) + "\n", ":1: field sys_name: 256 octets is longer than 255"},
	}
	for _, tc := range tests {
		path := writeFile(t, "module.yaml", tc.yaml)
		_, err := LoadFile(path, Default())
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want file name and %q", tc.name, err, tc.want)
		}
	}
	path := writeFile(t, "ok.yaml", "name: m2\ncabinet: 2\nslot: 3\nmac: 00:c0:f2:00:00:02\nwant_primary: always\n")
	cfg, err := LoadFile(path, Default())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "m2" || cfg.Bia != 2 || cfg.Slot != 3 || cfg.WantPrimary != "always" || cfg.IPAddress != Default().IPAddress {
		t.Errorf("loaded %+v", cfg)
	}
}

func TestSaveIsAtomicAndLoads(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := LoadSaved(dir); ok || err != nil {
		t.Fatalf("empty dir: ok=%v err=%v", ok, err)
	}
	st := Default().Settings
	st.SysName = "saved"
	st.SlotPowerOff = []int32{4, 5}
	if err := Save(dir, st); err != nil {
		t.Fatal(err)
	}
	got, ok, err := LoadSaved(dir)
	if err != nil || !ok || got.SysName != "saved" || len(got.SlotPowerOff) != 2 {
		t.Fatalf("loaded %+v ok=%v err=%v", got, ok, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("save left %d files behind: %v", len(entries), entries)
	}
	// A corrupt file is an error naming it, not a silent default.
	if err := os.WriteFile(filepath.Join(dir, configFileName), []byte("{\"version\": 1, \"settings\": {\"ip\": 5}}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadSaved(dir); err == nil || !strings.Contains(err.Error(), configFileName) {
		t.Errorf("corrupt saved file: %v", err)
	}
}

func TestIPConsistency(t *testing.T) {
	tests := []struct {
		ip, mask, gw string
		ok           bool
	}{
		{"192.0.2.10", "255.255.255.0", "192.0.2.1", true},
		{"192.0.2.10", "255.255.255.0", "0.0.0.0", true},
		{"192.0.2.10", "255.255.255.0", "198.51.100.1", false},
		{"192.0.2.10", "255.255.255.0", "192.0.2.10", false},
		{"192.0.2.10", "255.255.255.0", "192.0.2.255", false},
		{"192.0.2.0", "255.255.255.0", "192.0.2.1", false},
		{"192.0.2.10", "0.0.0.0", "0.0.0.0", false},
		{"0.0.0.0", "0.0.0.0", "0.0.0.0", true}, // unconfigured: consistent, not valid
	}
	for _, tc := range tests {
		why := ipConsistent(ip(tc.ip), ip(tc.mask), ip(tc.gw))
		if (why == "") != tc.ok {
			t.Errorf("%s/%s gw %s: %q", tc.ip, tc.mask, tc.gw, why)
		}
	}
	if ipConfigValid(smiIP("0.0.0.0").Addr(), smiIP("255.255.255.0").Addr(), smiIP("0.0.0.0").Addr()) {
		t.Error("an unconfigured address is valid")
	}
	if maskBits(smiIP("255.0.255.0").Addr()) != -1 || maskBits(smiIP("255.255.254.0").Addr()) != 23 {
		t.Error("maskBits")
	}
}

// FuzzLoadConfig: neither configuration decoder panics on any input, and
// what they accept validates.
func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte("name: a\ncabinet: 2\nslot: 3\nmac: 00:c0:f2:00:00:02\n"))
	f.Add([]byte("{\"version\": 1, \"settings\": {\"ip\": \"192.0.2.1\"}}"))
	f.Add([]byte("trap_managers: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, configFileName)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if cfg, err := LoadFile(p, Default()); err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("accepted an invalid configuration: %v", verr)
			}
		}
		_, _, _ = LoadSaved(dir)
	})
}
