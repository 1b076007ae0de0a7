package module

import (
	"sort"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// CabinetModel is a Point System chassis type.
type CabinetModel struct {
	Name  string
	OID   smi.OID // the value of cpsCabinetModel
	Slots int32   // the slot count the model number names
	// Detail is the detail table prefix for models that have one
	// ("cpsMc1800", "cpsMc1300"), empty otherwise.
	Detail string
}

// CabinetModels returns the chassis the MIB names, by lower-case model name.
func CabinetModels() map[string]CabinetModel {
	return map[string]CabinetModel{
		"cpsmc1800": {"cpsmc1800", smi.MustOID("1.3.6.1.4.1.868.1.4.3"), 18, "cpsMc1800"},
		"cpsmc1850": {"cpsmc1850", smi.MustOID("1.3.6.1.4.1.868.1.4.4"), 18, "cpsMc1800"},
		"cpsmc0800": {"cpsmc0800", smi.MustOID("1.3.6.1.4.1.868.1.4.5"), 8, ""},
		"cpsmc1300": {"cpsmc1300", smi.MustOID("1.3.6.1.4.1.868.1.4.6"), 13, "cpsMc1300"},
		"cpsmc0200": {"cpsmc0200", smi.MustOID("1.3.6.1.4.1.868.1.4.7"), 2, ""},
		"cpsmc1900": {"cpsmc1900", smi.MustOID("1.3.6.1.4.1.868.1.4.9"), 19, ""},
	}
}

func cabinetModelNames() []string {
	var n []string
	for k := range CabinetModels() {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// ProductCpsmm100 is cpsmM100Id, the cpsModuleModel of a management module.
func ProductCpsmm100() smi.OID { return smi.MustOID("1.3.6.1.4.1.868.1.4.1.2.1") }

// ProductEmpty is cpsEmptyId, the cpsModuleModel of an empty slot.
func ProductEmpty() smi.OID { return smi.MustOID("1.3.6.1.4.1.868.1.4.1.2.1001") }
