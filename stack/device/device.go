// Package device holds the stack devices as the chassis keeps them — the
// converters in their slots, each with its own memory (its MIB table's
// columns), and the cabinets with their power supplies and slot power —
// and the backplane messages about them: the Primary's Solicit, and the
// Report a device (or a cabinet) answers with, which every module hears.
package device

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/ident"
)

// Type codes on the wire (the catalog's).
const (
	Empty       = catalog.CodeEmpty
	Cettf100    = catalog.CodeCettf100
	Cfetf100    = catalog.CodeCfetf100
	Aggregation = catalog.CodeAggregation // smacf100p, seen over Ethernet only
	Expansion   = catalog.CodeExpansion   // cpsmm200, the Expansion Management Module
)

// TypeName returns a type code's name ("" for Empty or unknown codes).
func TypeName(code uint8) string { return catalog.TypeName(code) }

// TypeCode returns a type name's code.
func TypeCode(name string) (uint8, bool) { return catalog.TypeCode(name) }

// Columns returns the columns of a device type's table that the device
// itself holds: all but the index columns and CacheClean (which is the
// management module's). None for the aggregation converter, which has no
// table.
func Columns(reg *mib.Registry, code uint8) []*mib.Object {
	name := TypeName(code)
	if name == "" || code == Aggregation {
		return nil
	}
	entry, ok := reg.Lookup(name + "Entry")
	if !ok {
		return nil
	}
	skip := map[string]bool{name + "BiaIndex": true, name + "SlotIndex": true, name + "CacheClean": true}
	var cols []*mib.Object
	for _, o := range reg.Objects() {
		if o.Kind == mib.KindColumn && o.OID.HasPrefix(entry.OID) && len(o.OID) == len(entry.OID)+1 && !skip[o.Name] {
			cols = append(cols, o)
		}
	}
	return cols
}

// Column returns the column number col of a type's table.
func Column(reg *mib.Registry, code uint8, col uint32) (*mib.Object, bool) {
	for _, o := range Columns(reg, code) {
		if o.OID[len(o.OID)-1] == col {
			return o, true
		}
	}
	return nil, false
}

// Spec is a device as its owner declares it (the chassis, from the stack
// file): where it sits, what it is, and what is printed on it.
type Spec struct {
	At     ident.Slot
	Type   uint8 // a type code other than Empty
	Serial int32
	ConnA  string // CpsConnector labels
	ConnB  string
	// Ethernet is where an aggregation converter answers (loopback UDP).
	Ethernet netip.AddrPort
}

// Device is one device's memory.
type Device struct {
	Bia, Slot int32
	Type      uint8
	Serial    int32
	// Cols are the device's table columns by number.
	Cols map[uint32]smi.Value
	// Removed: pulled out of its slot (the slot reports Empty); inserting
	// it brings it back as it was.
	Removed bool
	// Ethernet, for the aggregation converter: where it answers.
	Ethernet string
}

// defaults by column name suffix (after the type name).
func defaultValue(suffix string, d Spec, syn mib.Syntax) (smi.Value, error) {
	enum := func(label string) (smi.Value, error) {
		for _, e := range syn.Enums {
			if e.Label == label {
				return smi.Integer(e.Value), nil
			}
		}
		return smi.Value{}, fmt.Errorf("device: no %q in the enumeration of %s", label, suffix)
	}
	switch suffix {
	case "Groups":
		return smi.String(""), nil
	case "MRevision":
		return smi.Integer(1), nil
	case "SerialNumber":
		return smi.Integer(d.Serial), nil
	case "ConnA":
		return enum(d.ConnA)
	case "ConnB":
		return enum(d.ConnB)
	case "CfgMatch", "TPActivity", "FiberActivity", "Enabled":
		return enum("yes")
	case "TPLink", "FiberLink":
		return enum("linkUp")
	case "Fault":
		return enum("no")
	case "ICIF":
		return enum("no") // the chassis decides (SetICIF)
	case "ConfigMode":
		return enum("software")
	case "FastLinkPulse":
		return enum("autonegotiate")
	case "AutoCross":
		if v, err := enum("on"); err == nil {
			return v, nil
		}
		return enum("enabled")
	case "LinkPassThrough", "Pause", "FarEndFault":
		if v, err := enum("off"); err == nil {
			return v, nil
		}
		return enum("disabled")
	}
	return smi.Value{}, fmt.Errorf("device: no default for column %s", suffix)
}

// New returns a device as its spec declares it, fresh from the factory.
func New(reg *mib.Registry, d Spec) (*Device, error) {
	name := TypeName(d.Type)
	if name == "" {
		return nil, fmt.Errorf("device %s: unknown type code %d", d.At, d.Type)
	}
	dev := &Device{Bia: int32(d.At.Cabinet), Slot: d.At.Slot, Type: d.Type, Serial: d.Serial, Cols: map[uint32]smi.Value{}}
	if d.Ethernet.IsValid() {
		dev.Ethernet = d.Ethernet.String()
	}
	for _, o := range Columns(reg, d.Type) {
		v, err := defaultValue(o.Name[len(name):], d, o.Syntax)
		if err != nil {
			return nil, fmt.Errorf("device %s: %w", d.At, err)
		}
		dev.Cols[o.OID[len(o.OID)-1]] = v
	}
	return dev, nil
}

// At returns the device's slot address.
func (d *Device) At() ident.Slot { return ident.At(ident.Cabinet(d.Bia), d.Slot) }

// Set changes one of the device's read-write columns, after the same rules
// an SNMP Set gets (type, length, enumeration).
func (d *Device) Set(reg *mib.Registry, col uint32, v smi.Value) error {
	o, ok := Column(reg, d.Type, col)
	if !ok {
		return fmt.Errorf("%s has no column %d", TypeName(d.Type), col)
	}
	if o.Access != mib.ReadWrite {
		return fmt.Errorf("%s is not writable", o.Name)
	}
	if st, why := mib.CheckValue(o, v); st != smi.NoError {
		return fmt.Errorf("%s: %s: %s", o.Name, st, why)
	}
	d.Cols[col] = v.Clone()
	return nil
}

// put sets a column by suffix, if the type has it, to an enumeration label.
func (d *Device) put(reg *mib.Registry, suffix, label string) {
	o, ok := reg.Lookup(TypeName(d.Type) + suffix)
	if !ok {
		return
	}
	for _, e := range o.Syntax.Enums {
		if e.Label == label {
			d.Cols[o.OID[len(o.OID)-1]] = smi.Integer(e.Value)
		}
	}
}

// SetLink sets both of the converter's links (and their activity).
func (d *Device) SetLink(reg *mib.Registry, up bool) {
	link, act := "linkDown", "no"
	if up {
		link, act = "linkUp", "yes"
	}
	for _, s := range []string{"TPLink", "FiberLink"} {
		d.put(reg, s, link)
	}
	for _, s := range []string{"TPActivity", "FiberActivity"} {
		d.put(reg, s, act)
	}
}

// SetICIF says whether the device, a management module, is its cabinet's
// inter-cabinet communications interface (its ICIF column).
func (d *Device) SetICIF(reg *mib.Registry, on bool) {
	label := "no"
	if on {
		label = "yes"
	}
	d.put(reg, "ICIF", label)
}

// ICIF reports the device's ICIF column (false for types without one).
func (d *Device) ICIF(reg *mib.Registry) bool {
	o, ok := reg.Lookup(TypeName(d.Type) + "ICIF")
	return ok && d.Cols[o.OID[len(o.OID)-1]].Int == mib.Yes
}

// SetFault raises or clears the converter's fault.
func (d *Device) SetFault(reg *mib.Registry, on bool) {
	label := "no"
	if on {
		label = "yes"
	}
	d.put(reg, "Fault", label)
}

// Report is what the device answers a solicitation with.
func (d *Device) Report() Report {
	r := Report{Kind: KindSlot, Bia: uint16(d.Bia), Slot: uint16(d.Slot), Type: d.Type}
	if d.Removed {
		r.Type = Empty
		return r
	}
	cols := make([]uint32, 0, len(d.Cols))
	for c := range d.Cols {
		cols = append(cols, c)
	}
	sort.Slice(cols, func(i, j int) bool { return cols[i] < cols[j] })
	for _, c := range cols {
		r.Items = append(r.Items, Item{Tag: uint8(c), Value: d.Cols[c]})
	}
	return r
}

// Cabinet is one chassis: its description, its two power supplies and the
// power of its slots.
type Cabinet struct {
	Bia         int32
	Model       string
	Description string
	PS1, PS2    bool // power supply on
	Removed     bool // the whole cabinet is gone from the stack
	// SlotPowerOff lists the slots whose power is off.
	SlotPowerOff []int32
	Slots        int32
	// Ethernet: the cabinet is reached over Ethernet (an SMACF100 unit);
	// its report has no slot power.
	Ethernet bool `json:",omitempty"`
	// Detail holds the cabinet's own columns of its detail table beyond
	// BiaIndex, Description and MRevision (smacf100Table's settings), by
	// column number.
	Detail map[uint32]smi.Value `json:",omitempty"`
}

// detailDefaults are the factory values of the cabinets' own detail
// columns, by name after the table's prefix. The MIB gives none; these
// are the emulator's.
func detailDefaults() map[string]string {
	return map[string]string{
		"SpanningTree": "enabled", "ResetCounters": "doNothing", "SelfTest": "doNothing",
		"QosEnable": "enabled", "QosHPThreshold": "4", "QosLqWeight": "1", "QosHqWeight": "4",
		"SNMPModuleInstalled": "no", "AgingTimer": "300",
	}
}

// DetailColumns returns the columns of a detail table (prefix, e.g.
// "smacf100") that the cabinet holds in Detail: all but BiaIndex,
// Description and MRevision, which the management module writes, and the
// power supply columns, which PS1 and PS2 report.
func DetailColumns(reg *mib.Registry, prefix string) []*mib.Object {
	if prefix == "" {
		return nil
	}
	entry, ok := reg.Lookup(prefix + "Entry")
	if !ok {
		return nil
	}
	skip := map[string]bool{prefix + "BiaIndex": true, prefix + "Description": true, prefix + "MRevision": true}
	for _, ps := range []string{"PSPower1", "PSInUse1", "PSPower2", "PSInUse2"} {
		skip[prefix+ps] = true
	}
	var cols []*mib.Object
	for _, o := range reg.Objects() {
		if o.Kind == mib.KindColumn && o.OID.HasPrefix(entry.OID) && len(o.OID) == len(entry.OID)+1 && !skip[o.Name] {
			cols = append(cols, o)
		}
	}
	return cols
}

// NewDetail returns the factory values of the cabinet's own detail
// columns for a detail table prefix (nil when it has none, as every table
// but smacf100Table).
func NewDetail(reg *mib.Registry, prefix string) (map[uint32]smi.Value, error) {
	cols := DetailColumns(reg, prefix)
	if len(cols) == 0 {
		return nil, nil
	}
	out := map[uint32]smi.Value{}
	defs := detailDefaults()
	for _, o := range cols {
		suffix := o.Name[len(prefix):]
		def, ok := defs[suffix]
		if !ok {
			return nil, fmt.Errorf("device: no default for column %s", o.Name)
		}
		v, err := parseDefault(o, def)
		if err != nil {
			return nil, err
		}
		out[o.OID[len(o.OID)-1]] = v
	}
	return out, nil
}

func parseDefault(o *mib.Object, def string) (smi.Value, error) {
	for _, e := range o.Syntax.Enums {
		if e.Label == def {
			return smi.Integer(e.Value), nil
		}
	}
	var n int32
	if _, err := fmt.Sscan(def, &n); err != nil || len(o.Syntax.Enums) > 0 {
		return smi.Value{}, fmt.Errorf("device: default %q does not fit %s", def, o.Name)
	}
	return smi.Integer(n), nil
}

// Cabinet report tags.
const (
	TagDescription = 1 // octets
	TagPS1         = 2 // integer: cpsMc1800PSPower1 on(1)/off(2)
	TagPS2         = 3 // integer: cpsMc1800PSPower2 yes(1)/no(2)
	TagSlotPower   = 4 // octets: one per slot, on(1)/off(2)
	TagGroupCtrl   = 5 // octets: the stack-wide cpsGroupCtrl
	// TagDetail + n: integer, column n of the cabinet's detail table
	// (the columns of Cabinet.Detail; n < 128).
	TagDetail = 0x80
)

// SlotPower returns the power of slot s: on(1) or off(2).
func (c *Cabinet) SlotPower(s int32) int32 {
	for _, o := range c.SlotPowerOff {
		if o == s {
			return mib.Off
		}
	}
	return mib.On
}

// SetSlotPower switches a slot's power.
func (c *Cabinet) SetSlotPower(s int32, on bool) error {
	if s < 1 || s > c.Slots {
		return fmt.Errorf("cabinet %d has no slot %d", c.Bia, s)
	}
	var off []int32
	for _, o := range c.SlotPowerOff {
		if o != s {
			off = append(off, o)
		}
	}
	if !on {
		off = append(off, s)
		sort.Slice(off, func(i, j int) bool { return off[i] < off[j] })
	}
	c.SlotPowerOff = off
	return nil
}

// Report is what the cabinet answers a solicitation of its slot 0 with.
func (c *Cabinet) Report() Report {
	r := Report{Kind: KindCabinet, Bia: uint16(c.Bia)}
	if c.Removed {
		return r
	}
	r.Type = CabinetPresent
	// PSPower1 is on(1)/off(2), PSPower2 yes(1)/no(2) (MCC16-MIB).
	pick := func(b bool, y, n int32) int32 {
		if b {
			return y
		}
		return n
	}
	power := make([]byte, c.Slots)
	for i := range power {
		power[i] = byte(c.SlotPower(int32(i + 1)))
	}
	r.Items = []Item{
		{Tag: TagDescription, Value: smi.String(c.Description)},
		{Tag: TagPS1, Value: smi.Integer(pick(c.PS1, mib.On, mib.Off))},
		{Tag: TagPS2, Value: smi.Integer(pick(c.PS2, mib.Yes, mib.No))},
	}
	if !c.Ethernet {
		r.Items = append(r.Items, Item{Tag: TagSlotPower, Value: smi.OctetString(power)})
	}
	cols := make([]uint32, 0, len(c.Detail))
	for n := range c.Detail {
		if n < 0x80 {
			cols = append(cols, n)
		}
	}
	sort.Slice(cols, func(i, j int) bool { return cols[i] < cols[j] })
	for _, n := range cols {
		r.Items = append(r.Items, Item{Tag: TagDetail + uint8(n), Value: c.Detail[n]})
	}
	return r
}
