package module

import (
	"strings"

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

// DetailDescription is the Description column of a cabinet's detail table:
// in cpsMc1800Table and cpsMc1300Table the cabinet's description of itself
// (its model), in the other detail tables a copy of cpsCabinetDescription
// (the reference's fact for cpsMc0200, cpsMc0800, cpsMc1900 and smacf100).
func DetailDescription(m CabinetModel, cabinetDescription string) string {
	if m.Detail == "cpsMc1800" || m.Detail == "cpsMc1300" {
		return strings.ToUpper(m.Name) + " Point System chassis"
	}
	return cabinetDescription
}
