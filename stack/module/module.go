package module

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/smi"
)

// Enumerated values used below (from the MIB).
const (
	yes = 1
	no  = 2

	on  = 1
	off = 2

	saveConfig = 1
	noSave     = 2
	reset      = 1
	noReset    = 2
	clean      = 1
)

// Module is one emulated CPSMM100 serving its view from a mib.Store.
type Module struct {
	log      logrus.FieldLogger
	store    *mib.Store
	stateDir string
	version  string

	mu   sync.Mutex // serialises Reset against itself
	base Config     // the configuration the process was started with

	booted   atomic.Int64 // unix nanos of the last (re)start
	saves    atomic.Uint32
	sessions atomic.Pointer[func() uint64]
	solicits atomic.Pointer[func() uint64]
	stack    atomic.Pointer[Stack]
	resets   chan struct{}

	// undoSave is the saved file before the last SaveConfig commit (its
	// bytes, or empty when there was none), for UndoSet. Guarded by the
	// store's lock: only the Policy, called under it, touches it.
	undoSave *snapshot
}

// Options configure New.
type Options struct {
	Config   Config
	StateDir string // where SaveConfig writes; empty disables saving
	Version  string // emulator version for cpsEmuVersion
	Log      logrus.FieldLogger
	Registry *mib.Registry // default mib.DefaultRegistry()
}

// New builds a module: the start configuration, overlaid with the settings
// saved in the state directory if there are any.
func New(o Options) (*Module, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = logrus.New()
	}
	if o.Registry == nil {
		o.Registry = mib.DefaultRegistry()
	}
	m := &Module{
		log:   o.Log.WithFields(logrus.Fields{"module": o.Config.Name, "bia": o.Config.Bia, "slot": o.Config.Slot}),
		store: mib.NewStore(o.Registry), stateDir: o.StateDir, version: o.Version,
		base: o.Config, resets: make(chan struct{}, 1),
	}
	zero := func() uint64 { return 0 }
	m.sessions.Store(&zero)
	m.solicits.Store(&zero)
	if err := m.load(); err != nil {
		return nil, err
	}
	m.store.SetPolicy(policy{m})
	return m, nil
}

// Store returns the module's MIB view (the AgentX Handler).
func (m *Module) Store() *mib.Store { return m.store }

// Resets returns a channel that receives after each Reset completes.
func (m *Module) Resets() <-chan struct{} { return m.resets }

// SetSessionCounter makes cpsEmuAgentxSessions report fn().
func (m *Module) SetSessionCounter(fn func() uint64) { m.sessions.Store(&fn) }

// SetSolicitationCounter makes cpsEmuSolicitations report fn().
func (m *Module) SetSolicitationCounter(fn func() uint64) { m.solicits.Store(&fn) }

// Reset restarts the module's state from the saved configuration (or the
// start configuration when nothing was saved), as cpsmm100Reset does.
func (m *Module) Reset() error {
	if err := m.load(); err != nil {
		return err
	}
	m.log.Info("module reset from saved configuration")
	select {
	case m.resets <- struct{}{}:
	default:
	}
	return nil
}

// load (re)builds every cell from the start configuration and saved settings.
func (m *Module) load() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cfg := m.base
	if m.stateDir != "" {
		st, ok, err := LoadSaved(m.stateDir)
		if err != nil {
			return err
		}
		if ok {
			cfg.Settings = st
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("saved configuration in %s: %w", m.stateDir, err)
			}
			m.log.WithField("dir", m.stateDir).Info("loaded saved configuration")
		}
	}
	m.booted.Store(time.Now().UnixNano())
	return m.populate(cfg)
}

// cellValue is one object's value in a row being written.
type cellValue struct {
	name string
	v    smi.Value
}

// putRow writes every value of cells at index.
func putRow(s *mib.Store, cells []cellValue, index ...uint32) error {
	for _, c := range cells {
		if err := s.Put(c.name, c.v, index...); err != nil {
			return err
		}
	}
	return nil
}

func ip(s string) smi.Value {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		a = netip.IPv4Unspecified()
	}
	return smi.IPAddress(a)
}

// moduleRow is a module's cpsmm100Table row (all but SysUpTime, which only
// the module itself counts) for its configuration cfg.
func moduleRow(cfg Config, primary bool) []cellValue {
	return []cellValue{
		{"cpsmm100BiaIndex", smi.Integer(cfg.Bia)},
		{"cpsmm100SlotIndex", smi.Integer(cfg.Slot)},
		{"cpsmm100Groups", smi.String(cfg.Groups)},
		{"cpsmm100Reset", smi.Integer(noReset)},
		{"cpsmm100SaveConfig", smi.Integer(noSave)},
		{"cpsmm100HwRevision", smi.String(cfg.HwRevision)},
		{"cpsmm100SwRevision", smi.String(cfg.SwRevision)},
		{"cpsmm100IPAddress", ip(cfg.IPAddress)},
		{"cpsmm100SubnetMask", ip(cfg.SubnetMask)},
		{"cpsmm100Gateway", ip(cfg.Gateway)},
		{"cpsmm100IsPrimary", smi.Integer(yesNo(primary))},
		{"cpsmm100WantPrimary", smi.Integer(enumValue(wantLabels(), cfg.WantPrimary))},
		{"cpsmm100CanPrimary", smi.Integer(yesNo(primary))},
		{"cpsmm100EthernetLink", smi.Integer(on)},
		{"cpsmm100TntRIP", ip("0.0.0.0")},
		{"cpsmm100TntRIPMask", ip("0.0.0.0")},
		{"cpsmm100SNMPTrapMgr", ip(cfg.TrapManagers[0])},
		{"cpsmm100SNMPTrapInterval", smi.Integer(cfg.TrapInterval)},
		{"cpsmm100SysContact", smi.String(cfg.SysContact)},
		{"cpsmm100SysName", smi.String(cfg.SysName)},
		{"cpsmm100SysLocation", smi.String(cfg.SysLocation)},
		{"cpsmm100CfgMatch", smi.Integer(enumValue(cfgMatchLabels(), cfg.CfgMatch))},
		{"cpsmm100SerialNumber", smi.Integer(cfg.Serial)},
		{"cpsmm100ICIF", smi.Integer(yesNo(!cfg.NotICIF))}, // the leftmost management module of its cabinet
		{"cpsmm100MRevision", smi.Integer(cfg.MRevision)},
		{"cpsmm100LastGasp", smi.Integer(no)},
		{"cpsmm100SNMPTrapMgr2", ip(cfg.TrapManagers[1])},
		{"cpsmm100SNMPTrapMgr3", ip(cfg.TrapManagers[2])},
		{"cpsmm100SNMPTrapMgr4", ip(cfg.TrapManagers[3])},
		{"cpsmm100CacheClean", smi.Integer(clean)},
	}
}

// populate writes the whole view for cfg.
func (m *Module) populate(cfg Config) error {
	s := m.store
	b, sl := uint32(cfg.Bia), uint32(cfg.Slot)
	model := CabinetModels()[cfg.CabinetModel]
	canPrimary := ipConfigValid(ip(cfg.IPAddress).Addr(), ip(cfg.SubnetMask).Addr(), ip(cfg.Gateway).Addr())
	if err := putRow(s, moduleRow(cfg, canPrimary), b, sl); err != nil {
		return err
	}
	booted := &m.booted
	if err := s.PutFunc("cpsmm100SysUpTime", func() smi.Value {
		return smi.TimeTicks(uint32(time.Since(time.Unix(0, booted.Load())) / (10 * time.Millisecond)))
	}, b, sl); err != nil {
		return err
	}
	// The cabinet: its slots, their power, its summary and detail rows.
	for i := int32(1); i <= model.Slots; i++ {
		u := uint32(i)
		modelOID := oidEmpty
		if i == cfg.Slot {
			modelOID = oidCpsmM100
		}
		power := int32(on)
		if slices.Contains(cfg.SlotPowerOff, i) && i != cfg.Slot {
			power = off
		}
		puts := []cellValue{
			{"cpsModuleBiaIndex", smi.Integer(cfg.Bia)}, {"cpsModuleSlotIndex", smi.Integer(i)},
			{"cpsModuleModel", m.identity(modelOID)},
			{"cpsSlotPwrBiaIndex", smi.Integer(cfg.Bia)}, {"cpsSlotPwrSlotIndex", smi.Integer(i)},
			{"cpsSlotPwrState", smi.Integer(power)},
		}
		if err := putRow(s, puts, b, u); err != nil {
			return err
		}
	}
	cab := []cellValue{
		{"cpsCabinetBiaIndex", smi.Integer(cfg.Bia)},
		{"cpsCabinetModel", smi.ObjectID(model.OID)},
		{"cpsCabinetDescription", smi.String(cfg.CabinetDescription)},
		{"cpsCabinetSequence", smi.Integer(1)},
	}
	if d := model.Detail; d != "" {
		cab = append(cab, []cellValue{
			{d + "BiaIndex", smi.Integer(cfg.Bia)},
			{d + "Description", smi.String(strings.ToUpper(model.Name) + " Point System chassis")},
			{d + "PSPower1", smi.Integer(on)},
			{d + "PSInUse1", smi.Integer(yes)},
			{d + "PSPower2", smi.Integer(yes)},
			{d + "PSInUse2", smi.Integer(yes)},
			{d + "MRevision", smi.Integer(1)},
		}...)
	}
	if err := putRow(s, cab, b); err != nil {
		return err
	}
	// Scalars, and the emulator's own objects.
	mac, _ := net.ParseMAC(cfg.MAC)
	if err := putRow(s, []cellValue{
		{"cpsEmuModuleName", smi.String(cfg.Name)},
		{"cpsEmuMacAddress", smi.OctetString(mac)},
		{"cpsEmuVersion", smi.String(m.version)},
		{"cpsGroupCtrl", smi.String(cfg.GroupCtrl)},
		{"cpsIsPrimary", smi.Integer(yesNo(canPrimary))},
	}, 0); err != nil {
		return err
	}
	sessions := &m.sessions
	if err := s.PutFunc("cpsEmuAgentxSessions", func() smi.Value {
		return smi.Counter32(uint32((*sessions.Load())()))
	}, 0); err != nil {
		return err
	}
	saves := &m.saves
	if err := s.PutFunc("cpsEmuConfigSaves", func() smi.Value { return smi.Counter32(saves.Load()) }, 0); err != nil {
		return err
	}
	solicits := &m.solicits
	return s.PutFunc("cpsEmuSolicitations", func() smi.Value { return smi.Counter32(uint32((*solicits.Load())())) }, 0)
}

func yesNo(b bool) int32 {
	if b {
		return yes
	}
	return no
}

// maskBits returns the prefix length of a contiguous mask, or -1.
func maskBits(mask netip.Addr) int {
	b := mask.As4()
	ones, bits := net.IPMask(b[:]).Size()
	if bits == 0 {
		return -1
	}
	return ones
}

// ipConfigValid reports whether address, mask and gateway let the module
// communicate over Ethernet: a unicast address, a contiguous non-zero
// mask, the address neither the subnet's network nor broadcast address,
// and a gateway that is unset (0.0.0.0) or another host of the subnet.
func ipConfigValid(a, mask, gw netip.Addr) bool {
	return !a.IsUnspecified() && unicast(a) && ipConsistent(a, mask, gw) == ""
}

func unicast(a netip.Addr) bool {
	b := a.As4()
	return !a.IsMulticast() && b[0] < 240 && !a.IsUnspecified()
}

// ipConsistent explains what is inconsistent in an IP configuration ("" when
// nothing is). An unset address (0.0.0.0) is consistent with any mask.
func ipConsistent(a, mask, gw netip.Addr) string {
	if a.IsUnspecified() {
		return ""
	}
	bits := maskBits(mask)
	if bits <= 0 {
		return fmt.Sprintf("subnet mask %s is not a contiguous non-zero mask", mask)
	}
	pfx := netip.PrefixFrom(a, bits).Masked()
	bcast := broadcast(pfx)
	if bits <= 30 && (a == pfx.Addr() || a == bcast) {
		return fmt.Sprintf("%s is the network or broadcast address of %s", a, pfx)
	}
	if gw.IsUnspecified() {
		return ""
	}
	if !pfx.Contains(gw) {
		return fmt.Sprintf("gateway %s is outside the module's subnet %s", gw, pfx)
	}
	if gw == a {
		return fmt.Sprintf("gateway %s is the module's own address", gw)
	}
	if bits <= 30 && (gw == pfx.Addr() || gw == bcast) {
		return fmt.Sprintf("gateway %s is the network or broadcast address of %s", gw, pfx)
	}
	return ""
}

func broadcast(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= ^uint32(0) >> p.Bits()
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
