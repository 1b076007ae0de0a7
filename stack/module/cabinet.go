package module

import (
	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/mib/smi"
)

// CabinetModel is a Point System chassis type (the catalog's).
type CabinetModel = catalog.CabinetModel

// CabinetModels returns the chassis the MIB names, by lower-case model
// name: a thin wrapper over the catalog of the built-in definitions.
func CabinetModels() map[string]CabinetModel {
	m := map[string]CabinetModel{}
	for _, c := range catalog.Default().CabinetModels() {
		m[c.Name] = c
	}
	return m
}

func cabinetModelNames() []string { return catalog.Default().CabinetNames() }

// Product identifiers used as cpsModuleModel values, by their MIB names.
const (
	oidCpsmM100 = catalog.ModuleIdentity
	oidEmpty    = catalog.EmptyIdentity
)

// identity returns the value of a product identity the registry defines.
func (m *Module) identity(name string) smi.Value {
	return smi.ObjectID(m.store.Registry().MustLookup(name).OID)
}
