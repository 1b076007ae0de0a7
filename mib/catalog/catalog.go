// Package catalog is the Point System product catalog as the MIB defines
// it: the product identifiers (the management module's, an empty slot's),
// the cabinet models with their slot counts and detail tables, the
// converter types with their wire codes, and the connector labels. Every
// entry names its MIB objects; New resolves them once against a registry
// and fails on a name the registry does not hold, so no OID is written out
// twice. It imports only mib and mib/smi.
package catalog

import (
	"fmt"
	"sort"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/smi"
)

// Wire codes of the device types in the backplane's device reports.
const (
	CodeEmpty       uint8 = 0
	CodeCettf100    uint8 = 1
	CodeCfetf100    uint8 = 2
	CodeAggregation uint8 = 3 // smacf100p, seen over Ethernet only
	CodeExpansion   uint8 = 4 // cpsmm200, the Expansion Management Module
)

// Aggregation is the name of the Management Aggregation Converter type.
const Aggregation = "smacf100p"

// Expansion is the name of the Expansion Management Module type.
const Expansion = "cpsmm200"

// AggregationCabinet is the name of the SMACF100 unit's cabinet model: a
// cabinet seen over Ethernet, whose ports (smacf100p) are its slots.
const AggregationCabinet = "smacf100"

// Identity names of the products that are not device types: the MIB
// names of the management module's and of an empty slot's cpsModuleModel.
const (
	ModuleIdentity = "cpsmM100Id"
	EmptyIdentity  = "cpsEmptyId"
)

const (
	connectorTC       = "CpsConnector"
	connectorExemplar = "cettf100ConnA" // a column of CpsConnector syntax
	pointSystemModule = "MCC16-MIB"
)

// deviceSpec is a device type as this package declares it: its name (the
// prefix of its MIB table, if it has one), wire code and identity.
type deviceSpec struct {
	name     string
	code     uint8
	identity string
	table    bool
}

func deviceSpecs() []deviceSpec {
	return []deviceSpec{
		{"cettf100", CodeCettf100, "cettf100Id", true},
		{"cfetf100", CodeCfetf100, "cfetf100Id", true},
		{Aggregation, CodeAggregation, "smacf100PId", false},
		{Expansion, CodeExpansion, "cpsmM200Id", true},
	}
}

// cabinetSpec is a cabinet model as this package declares it.
type cabinetSpec struct {
	name     string
	identity string
	slots    int32
	detail   string
	ethernet bool
}

func cabinetSpecs() []cabinetSpec {
	return []cabinetSpec{
		{"cpsmc0200", "chassisCpsmc0200Id", 2, "cpsMc0200", false},
		{"cpsmc0800", "chassisCpsmc0800Id", 8, "cpsMc0800", false},
		{"cpsmc1300", "chassisCpsmc1300Id", 13, "cpsMc1300", false},
		{"cpsmc1800", "chassisCpsmc1800Id", 18, "cpsMc1800", false},
		// The MIB gives the CPSMC1850 no detail table and no slot count;
		// the emulator shows it as a CPSMC1800.
		{"cpsmc1850", "chassisCpsmc1850Id", 18, "cpsMc1800", false},
		{"cpsmc1900", "chassisCpsmc1900Id", 19, "cpsMc1900", false},
		// An SMACF100 unit: one fiber and four twisted-pair ports, each a
		// "slot" (Transition Networks' MAC application note and Point
		// System help), reached over Ethernet.
		{AggregationCabinet, "chassisSmacf100Id", 5, "smacf100", true},
	}
}

// TypeName returns the name of a device type's wire code ("" for
// CodeEmpty and unknown codes). The codes and names are this package's
// own declarations; no registry is needed.
func TypeName(code uint8) string {
	for _, d := range deviceSpecs() {
		if d.code == code {
			return d.name
		}
	}
	return ""
}

// TypeCode returns a device type name's wire code.
func TypeCode(name string) (uint8, bool) {
	for _, d := range deviceSpecs() {
		if d.name == name {
			return d.code, true
		}
	}
	return 0, false
}

// CabinetModel is a Point System chassis type.
type CabinetModel struct {
	Name  string  // lower-case model name, as stack files give it
	OID   smi.OID // the value of cpsCabinetModel (its chassis…Id)
	Slots int32   // the slot count the model number names
	// Detail is the detail table prefix for models that have one
	// ("cpsMc1800", "cpsMc0200", "smacf100"…), empty otherwise.
	Detail string
	// Ethernet: the cabinet is reached over Ethernet, by the Primary
	// only, not over the backplane (an SMACF100 unit).
	Ethernet bool
}

// Product is a product identifier the MIB defines.
type Product struct {
	Name string  // e.g. cfetf100Id, chassisCpsmc1800Id
	OID  smi.OID // its value
	// Chassis: a value of cpsCabinetModel (under chassisProdsId), else of
	// cpsModuleModel (under chSlcps).
	Chassis bool
}

// DeviceType is a converter type a slot can hold.
type DeviceType struct {
	Name    string  // e.g. cettf100; the prefix of its MIB table
	Code    uint8   // its wire code
	Product smi.OID // the value of cpsModuleModel for its slot
	// Table: the type has a MIB table of its own (the aggregation
	// converter has none).
	Table bool
	// Ethernet: seen over Ethernet only, by the Primary, not on the
	// backplane.
	Ethernet bool
}

// Catalog is the catalog resolved against one registry. It is immutable;
// its accessors return copies.
type Catalog struct {
	module, empty smi.OID
	subtree       smi.OID        // covers every Point System scalar and column
	cabinets      []CabinetModel // by name
	devices       []DeviceType   // by code
	connectors    []string       // in the order of their values
	products      []Product      // slide-ins by arc, then chassis by arc
}

// New resolves the catalog against reg. A name the registry lacks, or an
// object of the wrong kind, is an error.
func New(reg *mib.Registry) (*Catalog, error) {
	identity := func(name string) (smi.OID, error) {
		o, ok := reg.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("catalog: the registry has no %s", name)
		}
		if o.Kind != mib.KindIdentity {
			return nil, fmt.Errorf("catalog: %s is not a product identity", name)
		}
		return o.OID.Clone(), nil
	}
	c := &Catalog{}
	var err error
	if c.module, err = identity(ModuleIdentity); err != nil {
		return nil, err
	}
	if c.empty, err = identity(EmptyIdentity); err != nil {
		return nil, err
	}
	for _, s := range cabinetSpecs() {
		oid, err := identity(s.identity)
		if err != nil {
			return nil, fmt.Errorf("cabinet model %s: %w", s.name, err)
		}
		if s.detail != "" {
			if o, ok := reg.Lookup(s.detail + "Table"); !ok || o.Kind != mib.KindTable {
				return nil, fmt.Errorf("catalog: cabinet model %s: the registry has no table %sTable", s.name, s.detail)
			}
		}
		c.cabinets = append(c.cabinets, CabinetModel{Name: s.name, OID: oid, Slots: s.slots, Detail: s.detail, Ethernet: s.ethernet})
	}
	sort.Slice(c.cabinets, func(i, j int) bool { return c.cabinets[i].Name < c.cabinets[j].Name })
	for _, s := range deviceSpecs() {
		oid, err := identity(s.identity)
		if err != nil {
			return nil, fmt.Errorf("device type %s: %w", s.name, err)
		}
		if s.table {
			if o, ok := reg.Lookup(s.name + "Entry"); !ok || o.Kind != mib.KindEntry {
				return nil, fmt.Errorf("catalog: device type %s: the registry has no %sEntry", s.name, s.name)
			}
		}
		c.devices = append(c.devices, DeviceType{Name: s.name, Code: s.code, Product: oid, Table: s.table, Ethernet: !s.table})
	}
	sort.Slice(c.devices, func(i, j int) bool { return c.devices[i].Code < c.devices[j].Code })
	for _, set := range []struct {
		ids     []mib.ProductIDName
		chassis bool
	}{{mib.SlideInIDs(), false}, {mib.ChassisIDs(), true}} {
		for _, p := range set.ids {
			oid, err := identity(p.Name)
			if err != nil {
				return nil, err
			}
			c.products = append(c.products, Product{Name: p.Name, OID: oid, Chassis: set.chassis})
		}
	}
	conn, ok := reg.Lookup(connectorExemplar)
	if !ok || conn.Syntax.TC != connectorTC || len(conn.Syntax.Enums) == 0 {
		return nil, fmt.Errorf("catalog: the registry has no %s column of syntax %s", connectorExemplar, connectorTC)
	}
	for _, o := range reg.Objects() {
		if o.Module != pointSystemModule || (o.Kind != mib.KindScalar && o.Kind != mib.KindColumn) {
			continue
		}
		if c.subtree == nil {
			c.subtree = o.OID.Clone()
			continue
		}
		n := 0
		for n < len(c.subtree) && n < len(o.OID) && c.subtree[n] == o.OID[n] {
			n++
		}
		c.subtree = c.subtree[:n]
	}
	if len(c.subtree) == 0 {
		return nil, fmt.Errorf("catalog: the registry has no objects of %s under one subtree", pointSystemModule)
	}
	enums := append([]mib.Enum(nil), conn.Syntax.Enums...)
	sort.Slice(enums, func(i, j int) bool { return enums[i].Value < enums[j].Value })
	for _, e := range enums {
		c.connectors = append(c.connectors, e.Label)
	}
	return c, nil
}

// Default is the catalog of mib.DefaultRegistry. Like it, it panics if the
// built-in definitions lack a name the catalog declares, which the
// package's tests rule out.
func Default() *Catalog {
	c, err := New(mib.DefaultRegistry())
	if err != nil {
		panic(err)
	}
	return c
}

// ModuleID is cpsmM100Id: the management module's product identifier (its
// sysObjectID and the cpsModuleModel of its slot).
func (c *Catalog) ModuleID() smi.OID { return c.module.Clone() }

// Subtree is the smallest subtree that holds every scalar and column of
// the Point System MIB: what a management module's agent registers.
func (c *Catalog) Subtree() smi.OID { return c.subtree.Clone() }

// EmptyID is cpsEmptyId: the cpsModuleModel of an empty slot.
func (c *Catalog) EmptyID() smi.OID { return c.empty.Clone() }

// Product is the cpsModuleModel value for a device type's wire code:
// cpsEmptyId for CodeEmpty and for codes the catalog does not know.
func (c *Catalog) Product(code uint8) smi.OID {
	if d, ok := c.DeviceByCode(code); ok {
		return d.Product
	}
	return c.EmptyID()
}

// CabinetModel returns the cabinet model called name.
func (c *Catalog) CabinetModel(name string) (CabinetModel, bool) {
	for _, m := range c.cabinets {
		if m.Name == name {
			m.OID = m.OID.Clone()
			return m, true
		}
	}
	return CabinetModel{}, false
}

// CabinetModels returns every cabinet model, by name.
func (c *Catalog) CabinetModels() []CabinetModel {
	out := make([]CabinetModel, len(c.cabinets))
	for i, m := range c.cabinets {
		m.OID = m.OID.Clone()
		out[i] = m
	}
	return out
}

// CabinetNames returns the cabinet model names, sorted.
func (c *Catalog) CabinetNames() []string {
	out := make([]string, len(c.cabinets))
	for i, m := range c.cabinets {
		out[i] = m.Name
	}
	return out
}

// DeviceTypes returns every device type, by wire code.
func (c *Catalog) DeviceTypes() []DeviceType {
	out := make([]DeviceType, len(c.devices))
	for i, d := range c.devices {
		d.Product = d.Product.Clone()
		out[i] = d
	}
	return out
}

// DeviceTypeNames returns the device type names, by wire code.
func (c *Catalog) DeviceTypeNames() []string {
	out := make([]string, len(c.devices))
	for i, d := range c.devices {
		out[i] = d.Name
	}
	return out
}

// DeviceType returns the device type called name.
func (c *Catalog) DeviceType(name string) (DeviceType, bool) {
	for _, d := range c.devices {
		if d.Name == name {
			d.Product = d.Product.Clone()
			return d, true
		}
	}
	return DeviceType{}, false
}

// DeviceByCode returns the device type with a wire code.
func (c *Catalog) DeviceByCode(code uint8) (DeviceType, bool) {
	for _, d := range c.devices {
		if d.Code == code {
			d.Product = d.Product.Clone()
			return d, true
		}
	}
	return DeviceType{}, false
}

// Connectors returns the labels of the CpsConnector enumeration, in the
// order of their values.
func (c *Catalog) Connectors() []string { return append([]string(nil), c.connectors...) }

// Connector reports whether label is a CpsConnector label.
func (c *Catalog) Connector(label string) bool {
	for _, l := range c.connectors {
		if l == label {
			return true
		}
	}
	return false
}

// Products returns every product identifier: the slide-ins' by arc, then
// the chassis' by arc.
func (c *Catalog) Products() []Product {
	out := make([]Product, len(c.products))
	for i, p := range c.products {
		p.OID = p.OID.Clone()
		out[i] = p
	}
	return out
}

// ProductID returns the product identifier called name.
func (c *Catalog) ProductID(name string) (smi.OID, bool) {
	for _, p := range c.products {
		if p.Name == name {
			return p.OID.Clone(), true
		}
	}
	return nil, false
}

// ProductName returns the name of a product identifier's value ("" when
// it is none).
func (c *Catalog) ProductName(oid smi.OID) string {
	for _, p := range c.products {
		if p.OID.Equal(oid) {
			return p.Name
		}
	}
	return ""
}
