// Package module is one emulated Base Management Module (CPSMM100): its
// identity, its read-write settings and their persistence, and the live
// cpsmm100 view it keeps in a mib.Store.
package module

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cpsmm/cpsmm/stack/atomicfile"
	"github.com/cpsmm/cpsmm/stack/yamlerr"
)

// Identity is what a module is and cannot be changed over SNMP.
type Identity struct {
	Name         string `yaml:"name" json:"name"`
	Bia          int32  `yaml:"cabinet" json:"cabinet"`
	Slot         int32  `yaml:"slot" json:"slot"`
	MAC          string `yaml:"mac" json:"mac"`
	Serial       int32  `yaml:"serial" json:"serial"`
	HwRevision   string `yaml:"hw_revision" json:"hw_revision"`
	SwRevision   string `yaml:"sw_revision" json:"sw_revision"`
	MRevision    int32  `yaml:"m_revision" json:"m_revision"`
	CabinetModel string `yaml:"cabinet_model" json:"cabinet_model"`
	// NotICIF: another management module sits further left in the same
	// cabinet, so this one is not its inter-cabinet interface
	// (cpsmm100ICIF no). Derived from the stack, never configured.
	NotICIF bool `yaml:"-" json:"-"`
}

// Settings are the module's read-write objects; they are what SaveConfig
// persists and Reset restores.
type Settings struct {
	IPAddress    string    `yaml:"ip" json:"ip"`
	SubnetMask   string    `yaml:"mask" json:"mask"`
	Gateway      string    `yaml:"gateway" json:"gateway"`
	WantPrimary  string    `yaml:"want_primary" json:"want_primary"` // yes, no, always
	Groups       string    `yaml:"groups" json:"groups"`
	SysContact   string    `yaml:"sys_contact" json:"sys_contact"`
	SysName      string    `yaml:"sys_name" json:"sys_name"`
	SysLocation  string    `yaml:"sys_location" json:"sys_location"`
	TrapManagers [4]string `yaml:"trap_managers" json:"trap_managers"`
	TrapInterval int32     `yaml:"trap_interval" json:"trap_interval"`
	CfgMatch     string    `yaml:"cfg_match" json:"cfg_match"` // yes, no, notApplicable
	// Cabinet-level objects this module holds while it is alone.
	CabinetDescription string `yaml:"cabinet_description" json:"cabinet_description"`
	GroupCtrl          string `yaml:"group_ctrl" json:"group_ctrl"`
	// SlotPowerOff lists the slots of the cabinet whose power is off.
	SlotPowerOff []int32 `yaml:"slot_power_off" json:"slot_power_off"`
}

// Config is a module's whole configuration.
type Config struct {
	Identity `yaml:",inline"`
	Settings `yaml:",inline"`
}

// Default returns the configuration of a module fresh from the factory in
// cabinet 1, slot 1. Trap managers default to 0.0.0.0 (none).
func Default() Config {
	return Config{
		Identity: Identity{
			Name: "cpsmm-1", Bia: 1, Slot: 1, MAC: "00:c0:f2:00:00:01", Serial: 100001,
			HwRevision: "B", SwRevision: "3.10", MRevision: 2, CabinetModel: "cpsmc1800",
		},
		Settings: Settings{
			IPAddress: "192.0.2.10", SubnetMask: "255.255.255.0", Gateway: "192.0.2.1",
			WantPrimary: "yes", SysName: "cpsmm-1", SysContact: "", SysLocation: "",
			TrapManagers: [4]string{"0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0"},
			TrapInterval: 0, CfgMatch: "notApplicable",
			CabinetDescription: "Point System cabinet 1",
		},
	}
}

// LoadFile reads a YAML module configuration over base. Unknown keys and bad
// values are errors naming the file, line and field.
func LoadFile(path string, base Config) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return base, fmt.Errorf("module config: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return base, fmt.Errorf("%s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	cfg := base
	if err := dec.Decode(&cfg); err != nil {
		return base, fmt.Errorf("%s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.File, fe.Line = path, lineOf(&root, fe.Field)
		}
		return base, err
	}
	return cfg, nil
}

// lineOf finds the line of a top-level key in a YAML document.
func lineOf(root *yaml.Node, key string) int {
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return 0
	}
	top := strings.SplitN(key, "[", 2)[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == top {
			return root.Content[i].Line
		}
	}
	return 0
}

// FieldError is a configuration value that is not acceptable: the one
// YAML configuration error of the project (stack/yamlerr).
type FieldError = yamlerr.Error

func fieldErr(field, format string, a ...any) error {
	return yamlerr.New(field, format, a...)
}

// Validate checks the configuration's syntax (not the consistency of the IP
// settings: a module with an invalid IP configuration runs, ineligible).
func (c Config) Validate() error {
	if c.Name == "" {
		return fieldErr("name", "must not be empty")
	}
	if c.Bia < 1 {
		return fieldErr("cabinet", "BiaIndex %d must be 1 or more", c.Bia)
	}
	if c.Slot < 1 || c.Slot > 32 {
		return fieldErr("slot", "slot %d is outside 1..32", c.Slot)
	}
	if _, err := net.ParseMAC(c.MAC); err != nil || len(mustMAC(c.MAC)) != 6 {
		return fieldErr("mac", "%q is not a 6-octet MAC address", c.MAC)
	}
	if m, ok := CabinetModels()[c.CabinetModel]; !ok {
		return fieldErr("cabinet_model", "unknown cabinet model %q (known: %s)", c.CabinetModel, strings.Join(cabinetModelNames(), ", "))
	} else if m.Ethernet {
		return fieldErr("cabinet_model", "a Base Management Module does not sit in a %s (reached over Ethernet)", c.CabinetModel)
	}
	for _, f := range []struct{ name, v string }{
		{"ip", c.IPAddress}, {"mask", c.SubnetMask}, {"gateway", c.Gateway},
		{"trap_managers[0]", c.TrapManagers[0]}, {"trap_managers[1]", c.TrapManagers[1]},
		{"trap_managers[2]", c.TrapManagers[2]}, {"trap_managers[3]", c.TrapManagers[3]},
	} {
		if a, err := netip.ParseAddr(f.v); err != nil || !a.Is4() {
			return fieldErr(f.name, "%q is not an IPv4 address", f.v)
		}
	}
	if enumValue(wantLabels(), c.WantPrimary) == 0 {
		return fieldErr("want_primary", "%q is not yes, no or always", c.WantPrimary)
	}
	if enumValue(cfgMatchLabels(), c.CfgMatch) == 0 {
		return fieldErr("cfg_match", "%q is not yes, no or notApplicable", c.CfgMatch)
	}
	for _, s := range []struct{ name, v string }{
		{"groups", c.Groups}, {"sys_contact", c.SysContact}, {"sys_name", c.SysName},
		{"sys_location", c.SysLocation}, {"cabinet_description", c.CabinetDescription},
	} {
		if len(s.v) > 255 {
			return fieldErr(s.name, "%d octets is longer than 255", len(s.v))
		}
	}
	if len(c.GroupCtrl) > 256 {
		return fieldErr("group_ctrl", "%d octets is longer than 256", len(c.GroupCtrl))
	}
	return nil
}

func mustMAC(s string) net.HardwareAddr { m, _ := net.ParseMAC(s); return m }

// Enumerations of the settings kept as labels in configuration files,
// indexed by their MIB values.
func wantLabels() []string     { return []string{1: "yes", 2: "no", 3: "always"} }
func cfgMatchLabels() []string { return []string{1: "yes", 2: "no", 3: "notApplicable"} }

// enumValue returns the value of label in labels (0 when absent).
func enumValue(labels []string, label string) int32 {
	for v, l := range labels {
		if l != "" && l == label {
			return int32(v)
		}
	}
	return 0
}

// enumLabel returns the label of v in labels ("" when absent).
func enumLabel(labels []string, v int32) string {
	if v < 1 || int(v) >= len(labels) {
		return ""
	}
	return labels[v]
}

// configFileName is the name of the saved configuration in the state directory.
const configFileName = "config.json"

// saved is what SaveConfig writes: the settings, versioned.
type saved struct {
	Version  int      `json:"version"`
	Settings Settings `json:"settings"`
}

// LoadSaved reads the settings saved in dir; ok is false when none were.
func LoadSaved(dir string) (Settings, bool, error) {
	path := filepath.Join(dir, configFileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Settings{}, false, nil
	}
	if err != nil {
		return Settings{}, false, fmt.Errorf("read saved configuration: %w", err)
	}
	var s saved
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Settings{}, false, fmt.Errorf("%s: %w", path, err)
	}
	if s.Version != 1 {
		return Settings{}, false, fmt.Errorf("%s: field version: unsupported version %d", path, s.Version)
	}
	return s.Settings, true, nil
}

// snapshot is the content of the saved configuration at one moment.
type snapshot struct {
	data   []byte
	exists bool
}

// readSaved returns the current saved file, for undo.
func readSaved(dir string) (*snapshot, error) {
	data, err := os.ReadFile(filepath.Join(dir, configFileName))
	if errors.Is(err, os.ErrNotExist) {
		return &snapshot{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read saved configuration: %w", err)
	}
	return &snapshot{data: data, exists: true}, nil
}

// restoreSaved puts back a file read by readSaved.
func restoreSaved(dir string, f *snapshot) error {
	if !f.exists {
		if err := os.Remove(filepath.Join(dir, configFileName)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("undo save: %w", err)
		}
		return nil
	}
	return writeAtomic(dir, f.data)
}

// Save writes settings to dir atomically: a temporary file, fsync, rename,
// fsync of the directory. A crash leaves either the old or the new file.
func Save(dir string, st Settings) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save configuration: %w", err)
	}
	data, err := json.MarshalIndent(saved{Version: 1, Settings: st}, "", "  ")
	if err != nil {
		return fmt.Errorf("save configuration: %w", err)
	}
	return writeAtomic(dir, append(data, '\n'))
}

// writeAtomic replaces dir's saved file with data (stack/atomicfile).
func writeAtomic(dir string, data []byte) error {
	if err := atomicfile.WriteFile(filepath.Join(dir, configFileName), data, 0o600); err != nil {
		return fmt.Errorf("save configuration: %w", err)
	}
	return nil
}
