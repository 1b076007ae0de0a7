// Package pdu encodes and decodes AgentX (RFC 2741) protocol data units.
// It accepts both byte orders on input (the NETWORK_BYTE_ORDER header flag)
// and never panics on malformed bytes: every decoding failure is an error.
package pdu

import "github.com/cpsmm/cpsmm/mib/smi"

// Type is the AgentX h.type field.
type Type uint8

// PDU types (RFC 2741 6.1).
const (
	TypeOpen            Type = 1
	TypeClose           Type = 2
	TypeRegister        Type = 3
	TypeUnregister      Type = 4
	TypeGet             Type = 5
	TypeGetNext         Type = 6
	TypeGetBulk         Type = 7
	TypeTestSet         Type = 8
	TypeCommitSet       Type = 9
	TypeUndoSet         Type = 10
	TypeCleanupSet      Type = 11
	TypeNotify          Type = 12
	TypePing            Type = 13
	TypeIndexAllocate   Type = 14
	TypeIndexDeallocate Type = 15
	TypeAddAgentCaps    Type = 16
	TypeRemoveAgentCaps Type = 17
	TypeResponse        Type = 18
)

// Header flags (RFC 2741 6.1).
const (
	FlagInstanceRegistration uint8 = 0x01
	FlagNewIndex             uint8 = 0x02
	FlagAnyIndex             uint8 = 0x04
	FlagNonDefaultContext    uint8 = 0x08
	FlagNetworkByteOrder     uint8 = 0x10
)

// HeaderSize is the fixed size of the AgentX header.
const HeaderSize = 20

// Close reasons (RFC 2741 6.2.2).
const (
	ReasonOther         uint8 = 1
	ReasonParseError    uint8 = 2
	ReasonProtocolError uint8 = 3
	ReasonTimeouts      uint8 = 4
	ReasonShutdown      uint8 = 5
	ReasonByManager     uint8 = 6
)

// Header is the fixed AgentX header. PayloadLength is filled in by Marshal.
type Header struct {
	Version       uint8 // always 1
	Type          Type
	Flags         uint8
	SessionID     uint32
	TransactionID uint32
	PacketID      uint32
	PayloadLength uint32
}

// SearchRange is a start/end pair of a Get, GetNext or GetBulk.
// Include is the start OID's include field; End empty means unbounded.
type SearchRange struct {
	Start   smi.OID
	Include bool
	End     smi.OID
}

// Packet is one whole AgentX PDU. Context is present when the header has
// FlagNonDefaultContext (for PDU types that carry a context). Exactly one of
// the body fields matching Header.Type is meaningful.
type Packet struct {
	Header  Header
	Context []byte

	// Open
	Timeout uint8 // Open, Register, Unregister (Register's r.timeout)
	ID      smi.OID
	Descr   []byte

	// Close
	Reason uint8

	// Register / Unregister
	Priority   uint8
	RangeSubID uint8
	Subtree    smi.OID
	UpperBound uint32

	// Get / GetNext / GetBulk
	NonRepeaters   uint16
	MaxRepetitions uint16
	SearchRanges   []SearchRange

	// TestSet, Notify, IndexAllocate, IndexDeallocate, Response
	VarBinds []smi.VarBind

	// AddAgentCaps / RemoveAgentCaps (ID above is the capability's OID)

	// Response
	SysUpTime uint32
	Error     smi.ErrorStatus
	Index     uint16
}
