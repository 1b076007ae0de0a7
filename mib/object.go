// Package mib is the object model of the Point System MIB: object
// definitions (names, OIDs, syntaxes, access), an ordered instance tree with
// lexicographic GetNext, and the value rules that decide the SNMP error a bad
// Set gets. It knows nothing about AgentX or about negotiation.
package mib

import (
	"fmt"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// Access is the MAX-ACCESS of an object.
type Access int

// Access levels.
const (
	NotAccessible Access = iota
	AccessibleForNotify
	ReadOnly
	ReadWrite
	ReadCreate
)

func (a Access) String() string {
	switch a {
	case NotAccessible:
		return "not-accessible"
	case AccessibleForNotify:
		return "accessible-for-notify"
	case ReadOnly:
		return "read-only"
	case ReadWrite:
		return "read-write"
	case ReadCreate:
		return "read-create"
	}
	return fmt.Sprintf("Access(%d)", int(a))
}

// Kind says what an object is in the tree.
type Kind int

// Object kinds.
const (
	KindScalar Kind = iota
	KindTable
	KindEntry
	KindColumn
	KindIdentity     // an OBJECT-IDENTITY / OID value assignment (product ids)
	KindNotification // a NOTIFICATION-TYPE
)

// Enum is one named number of an enumerated INTEGER.
type Enum struct {
	Label string
	Value int32
}

// Syntax describes the values an object accepts.
type Syntax struct {
	// Base is the SMI base type the value is encoded as.
	Base smi.Type
	// TC names the textual convention, if any ("DisplayString",
	// "CpsConnector"); empty for plain types.
	TC string
	// Enums, for an enumerated INTEGER.
	Enums []Enum
	// MinSize/MaxSize bound an OCTET STRING's length when HasSize.
	HasSize          bool
	MinSize, MaxSize int
	// Min/Max bound an INTEGER when HasRange.
	HasRange bool
	Min, Max int64
}

// EnumLabel returns the label of v, or "" when v is not one of the enums.
func (s Syntax) EnumLabel(v int32) string {
	for _, e := range s.Enums {
		if e.Value == v {
			return e.Label
		}
	}
	return ""
}

// Object is the definition of one MIB node.
type Object struct {
	Name   string
	OID    smi.OID
	Kind   Kind
	Syntax Syntax
	Access Access
	// Index names the INDEX objects of an entry (KindEntry only).
	Index []string
	// Objects names the varbinds of a notification (KindNotification only).
	Objects []string
	// Module is the MIB module that defines the object.
	Module string
}
