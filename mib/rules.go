package mib

import (
	"fmt"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// CheckValue applies the syntax rules of obj to v and returns the SNMP error
// a Set of v gets (noError when v is acceptable) with a reason for the log:
// wrongType for a value of another base type, wrongLength for an octet
// string outside the size range (and an IpAddress that is not 4 octets),
// wrongValue for an integer outside the enumeration or range and for a
// DisplayString that is not NVT ASCII.
func CheckValue(obj *Object, v smi.Value) (smi.ErrorStatus, string) {
	syn := obj.Syntax
	if v.Type != syn.Base {
		return smi.WrongType, fmt.Sprintf("%s takes %s, got %s", obj.Name, syn.Base, v.Type)
	}
	switch syn.Base {
	case smi.TypeInteger:
		if len(syn.Enums) > 0 && syn.EnumLabel(v.Int) == "" {
			return smi.WrongValue, fmt.Sprintf("%d is not one of the values of %s", v.Int, obj.Name)
		}
		if syn.HasRange && (int64(v.Int) < syn.Min || int64(v.Int) > syn.Max) {
			return smi.WrongValue, fmt.Sprintf("%d is outside %d..%d for %s", v.Int, syn.Min, syn.Max, obj.Name)
		}
	case smi.TypeIPAddress:
		if len(v.Bytes) != 4 {
			return smi.WrongLength, fmt.Sprintf("IpAddress of %d octets for %s", len(v.Bytes), obj.Name)
		}
	case smi.TypeOctetString:
		if syn.HasSize && (len(v.Bytes) < syn.MinSize || len(v.Bytes) > syn.MaxSize) {
			return smi.WrongLength, fmt.Sprintf("%d octets is outside %d..%d for %s", len(v.Bytes), syn.MinSize, syn.MaxSize, obj.Name)
		}
		if syn.TC == "DisplayString" {
			if i, ok := nvtASCII(v.Bytes); !ok {
				return smi.WrongValue, fmt.Sprintf("octet %d of %s is not NVT ASCII", i, obj.Name)
			}
		}
	case smi.TypeObjectID:
		if len(v.OID) > 128 {
			return smi.WrongLength, fmt.Sprintf("OID of %d sub-identifiers for %s", len(v.OID), obj.Name)
		}
	}
	return smi.NoError, ""
}

// nvtASCII checks RFC 2579's DisplayString rule: 7-bit ASCII, where CR is
// followed by LF or NUL. It returns the first offending offset.
func nvtASCII(b []byte) (int, bool) {
	for i, c := range b {
		if c >= 0x80 {
			return i, false
		}
		if c == '\r' && (i+1 >= len(b) || (b[i+1] != '\n' && b[i+1] != 0)) {
			return i, false
		}
	}
	return 0, true
}
