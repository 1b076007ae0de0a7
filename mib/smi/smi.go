// Package smi holds the SMI base types shared by the object model and the
// AgentX codec: object identifiers, typed values and SNMP error statuses.
package smi

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// OID is an object identifier as a list of sub-identifiers.
type OID []uint32

// ParseOID parses dotted notation ("1.3.6.1", ".1.3.6.1").
func ParseOID(s string) (OID, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), ".")
	if s == "" {
		return OID{}, nil
	}
	parts := strings.Split(s, ".")
	o := make(OID, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("parse OID %q: sub-identifier %d: %w", s, i, err)
		}
		o[i] = uint32(v)
	}
	return o, nil
}

// MustOID is ParseOID for literals known to be valid.
func MustOID(s string) OID {
	o, err := ParseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}

// String returns dotted notation without a leading dot.
func (o OID) String() string {
	var b strings.Builder
	for i, v := range o {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	}
	return b.String()
}

// Compare orders OIDs lexicographically (-1, 0, +1).
func (o OID) Compare(p OID) int {
	n := len(o)
	if len(p) < n {
		n = len(p)
	}
	for i := 0; i < n; i++ {
		switch {
		case o[i] < p[i]:
			return -1
		case o[i] > p[i]:
			return 1
		}
	}
	switch {
	case len(o) < len(p):
		return -1
	case len(o) > len(p):
		return 1
	}
	return 0
}

// Equal reports whether o and p are the same OID.
func (o OID) Equal(p OID) bool { return o.Compare(p) == 0 }

// HasPrefix reports whether p is a prefix of (or equal to) o.
func (o OID) HasPrefix(p OID) bool {
	if len(p) > len(o) {
		return false
	}
	for i := range p {
		if o[i] != p[i] {
			return false
		}
	}
	return true
}

// Append returns a new OID made of o followed by sub.
func (o OID) Append(sub ...uint32) OID {
	r := make(OID, 0, len(o)+len(sub))
	r = append(r, o...)
	return append(r, sub...)
}

// Clone returns a copy of o.
func (o OID) Clone() OID { return append(OID(nil), o...) }

// Type is a varbind value type, numbered as in RFC 2741 section 5.4.
type Type uint16

// Value types (RFC 2741 5.4).
const (
	TypeInteger        Type = 2
	TypeOctetString    Type = 4
	TypeNull           Type = 5
	TypeObjectID       Type = 6
	TypeIPAddress      Type = 64
	TypeCounter32      Type = 65
	TypeGauge32        Type = 66
	TypeTimeTicks      Type = 67
	TypeOpaque         Type = 68
	TypeCounter64      Type = 70
	TypeNoSuchObject   Type = 128
	TypeNoSuchInstance Type = 129
	TypeEndOfMibView   Type = 130
)

var typeNames = map[Type]string{
	TypeInteger: "INTEGER", TypeOctetString: "OCTET STRING", TypeNull: "NULL",
	TypeObjectID: "OBJECT IDENTIFIER", TypeIPAddress: "IpAddress",
	TypeCounter32: "Counter32", TypeGauge32: "Gauge32", TypeTimeTicks: "TimeTicks",
	TypeOpaque: "Opaque", TypeCounter64: "Counter64", TypeNoSuchObject: "noSuchObject",
	TypeNoSuchInstance: "noSuchInstance", TypeEndOfMibView: "endOfMibView",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("Type(%d)", uint16(t))
}

// Known reports whether t is one of the RFC 2741 value types.
func (t Type) Known() bool { _, ok := typeNames[t]; return ok }

// Exception reports whether t is noSuchObject, noSuchInstance or endOfMibView.
func (t Type) Exception() bool {
	return t == TypeNoSuchObject || t == TypeNoSuchInstance || t == TypeEndOfMibView
}

// Value is a typed SNMP value. Which field is meaningful depends on Type:
// Int for Integer (signed 32 bit), Uint for Counter32/Gauge32/TimeTicks/
// Counter64, Bytes for OctetString/Opaque/IpAddress (4 octets), OID for
// ObjectID. Null and the exceptions carry nothing.
type Value struct {
	Type  Type
	Int   int32
	Uint  uint64
	Bytes []byte
	OID   OID
}

// Constructors.
func Integer(v int32) Value          { return Value{Type: TypeInteger, Int: v} }
func OctetString(b []byte) Value     { return Value{Type: TypeOctetString, Bytes: b} }
func String(s string) Value          { return Value{Type: TypeOctetString, Bytes: []byte(s)} }
func ObjectID(o OID) Value           { return Value{Type: TypeObjectID, OID: o} }
func TimeTicks(v uint32) Value       { return Value{Type: TypeTimeTicks, Uint: uint64(v)} }
func Counter32(v uint32) Value       { return Value{Type: TypeCounter32, Uint: uint64(v)} }
func Gauge32(v uint32) Value         { return Value{Type: TypeGauge32, Uint: uint64(v)} }
func Counter64(v uint64) Value       { return Value{Type: TypeCounter64, Uint: v} }
func Null() Value                    { return Value{Type: TypeNull} }
func Exception(t Type) Value         { return Value{Type: t} }
func IPAddress(a netip.Addr) Value   { b := a.As4(); return Value{Type: TypeIPAddress, Bytes: b[:]} }
func Opaque(b []byte) Value          { return Value{Type: TypeOpaque, Bytes: b} }
func IPAddressBytes(b [4]byte) Value { return Value{Type: TypeIPAddress, Bytes: b[:]} }

// Addr returns an IpAddress value as a netip.Addr (invalid if not 4 octets).
func (v Value) Addr() netip.Addr {
	if len(v.Bytes) != 4 {
		return netip.Addr{}
	}
	return netip.AddrFrom4([4]byte(v.Bytes))
}

// Equal reports whether two values have the same type and content.
func (v Value) Equal(w Value) bool {
	if v.Type != w.Type {
		return false
	}
	switch v.Type {
	case TypeInteger:
		return v.Int == w.Int
	case TypeCounter32, TypeGauge32, TypeTimeTicks, TypeCounter64:
		return v.Uint == w.Uint
	case TypeOctetString, TypeOpaque, TypeIPAddress:
		return bytes.Equal(v.Bytes, w.Bytes)
	case TypeObjectID:
		return v.OID.Equal(w.OID)
	}
	return true
}

// Clone returns a deep copy.
func (v Value) Clone() Value {
	w := v
	if v.Bytes != nil {
		w.Bytes = append([]byte(nil), v.Bytes...)
	}
	if v.OID != nil {
		w.OID = v.OID.Clone()
	}
	return w
}

func (v Value) String() string {
	switch v.Type {
	case TypeInteger:
		return fmt.Sprintf("INTEGER: %d", v.Int)
	case TypeCounter32, TypeGauge32, TypeTimeTicks, TypeCounter64:
		return fmt.Sprintf("%s: %d", v.Type, v.Uint)
	case TypeOctetString, TypeOpaque:
		return fmt.Sprintf("%s: %q", v.Type, v.Bytes)
	case TypeIPAddress:
		return "IpAddress: " + v.Addr().String()
	case TypeObjectID:
		return "OID: " + v.OID.String()
	}
	return v.Type.String()
}

// VarBind is a name with its value.
type VarBind struct {
	Name  OID
	Value Value
}

// ErrorStatus is an SNMP error-status (RFC 3416) or AgentX error (RFC 2741).
type ErrorStatus uint16

// SNMP error statuses (RFC 3416) and AgentX administrative errors (RFC 2741 6.2.16).
const (
	NoError             ErrorStatus = 0
	TooBig              ErrorStatus = 1
	NoSuchName          ErrorStatus = 2
	BadValue            ErrorStatus = 3
	ReadOnly            ErrorStatus = 4
	GenErr              ErrorStatus = 5
	NoAccess            ErrorStatus = 6
	WrongType           ErrorStatus = 7
	WrongLength         ErrorStatus = 8
	WrongEncoding       ErrorStatus = 9
	WrongValue          ErrorStatus = 10
	NoCreation          ErrorStatus = 11
	InconsistentValue   ErrorStatus = 12
	ResourceUnavailable ErrorStatus = 13
	CommitFailed        ErrorStatus = 14
	UndoFailed          ErrorStatus = 15
	AuthorizationError  ErrorStatus = 16
	NotWritable         ErrorStatus = 17
	InconsistentName    ErrorStatus = 18

	OpenFailed            ErrorStatus = 256
	NotOpen               ErrorStatus = 257
	IndexWrongType        ErrorStatus = 258
	IndexAlreadyAllocated ErrorStatus = 259
	IndexNoneAvailable    ErrorStatus = 260
	IndexNotAllocated     ErrorStatus = 261
	UnsupportedContext    ErrorStatus = 262
	DuplicateRegistration ErrorStatus = 263
	UnknownRegistration   ErrorStatus = 264
	UnknownAgentCaps      ErrorStatus = 265
	ParseError            ErrorStatus = 266
	RequestDenied         ErrorStatus = 267
	ProcessingError       ErrorStatus = 268
)

var statusNames = map[ErrorStatus]string{
	NoError: "noError", TooBig: "tooBig", NoSuchName: "noSuchName", BadValue: "badValue",
	ReadOnly: "readOnly", GenErr: "genErr", NoAccess: "noAccess", WrongType: "wrongType",
	WrongLength: "wrongLength", WrongEncoding: "wrongEncoding", WrongValue: "wrongValue",
	NoCreation: "noCreation", InconsistentValue: "inconsistentValue",
	ResourceUnavailable: "resourceUnavailable", CommitFailed: "commitFailed",
	UndoFailed: "undoFailed", AuthorizationError: "authorizationError",
	NotWritable: "notWritable", InconsistentName: "inconsistentName",
	OpenFailed: "openFailed", NotOpen: "notOpen", IndexWrongType: "indexWrongType",
	IndexAlreadyAllocated: "indexAlreadyAllocated", IndexNoneAvailable: "indexNoneAvailable",
	IndexNotAllocated: "indexNotAllocated", UnsupportedContext: "unsupportedContext",
	DuplicateRegistration: "duplicateRegistration", UnknownRegistration: "unknownRegistration",
	UnknownAgentCaps: "unknownAgentCaps", ParseError: "parseError",
	RequestDenied: "requestDenied", ProcessingError: "processingError",
}

func (e ErrorStatus) String() string {
	if s, ok := statusNames[e]; ok {
		return s
	}
	return fmt.Sprintf("ErrorStatus(%d)", uint16(e))
}

// SetError is the outcome of a failed Set phase: the error status, the
// 1-based index of the varbind to blame (0 when not tied to one) and the
// reason, for the log.
type SetError struct {
	Status ErrorStatus
	Index  int
	Reason string
}

func (e *SetError) Error() string {
	return fmt.Sprintf("%s (varbind %d): %s", e.Status, e.Index, e.Reason)
}
