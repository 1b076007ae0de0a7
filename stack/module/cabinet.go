package module

import (
	"github.com/cpsmm/cpsmm/mib/catalog"
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
