// Package configmsg holds the messages with which the Primary distributes
// configuration over the stack's paths, and the acknowledgements of their
// targets: a Set names its target (a module by MAC address, or a device by
// cabinet and slot), an object and a value; the target answers with an Ack
// carrying the Set's request ID and a status. Every module receives both
// (the backplane is a broadcast medium), so Standbys listen in.
package configmsg

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cpsmm/cpsmm/stack/ident"
)

// Wire layout, big-endian.
//
// Set (17 octets + value):
//
//	0  version (1)       1  target kind (1 module, 2 device)
//	2  request ID (4)    6  target (6: a module's MAC; a device's cabinet (2), slot (2), 0, 0)
//	12 object (2)        14 value type (1 integer, 2 octets)
//	15 value length (2)  17 value (integer: 4 octets; octets: up to MaxValue)
//
// Ack (13 octets):
//
//	0  version (1)       1  status
//	2  request ID (4)    6  target kind   7  target (6, as in the Set)
const (
	version  = 1
	setHead  = 17
	ackSize  = 13
	MaxValue = 255
)

// Kind is what a Set is addressed to.
type Kind uint8

// Target kinds.
const (
	KindModule Kind = 1
	KindDevice Kind = 2
)

// Target is the addressee of a Set: a module (MAC) or a device (Slot: a
// cabinet and a slot; 0/0 is the whole stack, slot 0 a cabinet itself).
type Target struct {
	Kind Kind
	MAC  ident.MAC
	Slot ident.Slot
}

// Limits of a device target's address on the wire.
const (
	MaxCabinet = 255
	MaxSlot    = 32
)

func (t Target) String() string {
	if t.Kind == KindDevice {
		return "device " + t.Slot.String()
	}
	return "module " + t.MAC.String()
}

// check refuses a target the wire cannot carry or a receiver would refuse.
func (t Target) check() error {
	switch t.Kind {
	case KindModule:
		return nil
	case KindDevice:
		if t.Slot.Cabinet < 0 || t.Slot.Cabinet > MaxCabinet || t.Slot.Slot < 0 || t.Slot.Slot > MaxSlot {
			return fmt.Errorf("device %s outside 0..%d/0..%d", t.Slot, MaxCabinet, MaxSlot)
		}
		return nil
	}
	return fmt.Errorf("target kind %d", t.Kind)
}

func (t Target) put(b []byte) {
	if t.Kind == KindDevice {
		binary.BigEndian.PutUint16(b, uint16(t.Slot.Cabinet))
		binary.BigEndian.PutUint16(b[2:], uint16(t.Slot.Slot))
		return
	}
	copy(b, t.MAC[:])
}

func target(kind Kind, b []byte) (Target, error) {
	switch kind {
	case KindModule:
		t := Target{Kind: kind}
		copy(t.MAC[:], b)
		return t, nil
	case KindDevice:
		if b[4] != 0 || b[5] != 0 {
			return Target{}, fmt.Errorf("%w: device target padding is not zero", ErrMalformed)
		}
		t := Target{Kind: kind, Slot: ident.At(ident.Cabinet(binary.BigEndian.Uint16(b)), int32(binary.BigEndian.Uint16(b[2:])))}
		if err := t.check(); err != nil {
			return Target{}, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		return t, nil
	}
	return Target{}, fmt.Errorf("%w: target kind %d", ErrMalformed, kind)
}

// Object identifies what a Set changes.
type Object uint16

// Objects.
//
// A device target (cabinet, slot) takes its table's read-write columns by
// column number (1..255), and the objects below; cpsGroupCtrl, which is
// stack-wide, goes to the target cabinet 0, slot 0.
const (
	ObjWantPrimary        Object = 1     // a module's cpsmm100WantPrimary (integer)
	ObjSlotPower          Object = 0x100 // cpsSlotPwrState of the target slot (integer)
	ObjCabinetDescription Object = 0x101 // cpsCabinetDescription of the target cabinet, slot 0 (octets)
	ObjGroupCtrl          Object = 0x102 // cpsGroupCtrl (octets)
)

// ValueType is a Set value's type.
type ValueType uint8

// Value types.
const (
	Integer ValueType = 1
	Octets  ValueType = 2
)

// Set asks a target to take a value.
type Set struct {
	ID     uint32
	Target Target
	Object Object
	Type   ValueType
	Int    int32  // Type Integer
	Bytes  []byte // Type Octets
}

// Status is a target's answer.
type Status uint8

// Statuses.
const (
	OK            Status = 0
	Refused       Status = 1 // the sender is not the Primary the target knows
	UnknownObject Status = 2
	BadValue      Status = 3
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Refused:
		return "refused: the sender is not the Primary"
	case UnknownObject:
		return "unknown object"
	case BadValue:
		return "bad value"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Ack is a target's acknowledgement of the Set with the same ID.
type Ack struct {
	ID     uint32
	Target Target
	Status Status
}

// ErrMalformed is a payload that is not a message of this package.
var ErrMalformed = errors.New("configmsg: malformed message")

// MarshalSet encodes s.
func MarshalSet(s Set) ([]byte, error) {
	var val []byte
	switch s.Type {
	case Integer:
		val = binary.BigEndian.AppendUint32(nil, uint32(s.Int))
	case Octets:
		if len(s.Bytes) > MaxValue {
			return nil, fmt.Errorf("configmsg: value of %d octets exceeds %d", len(s.Bytes), MaxValue)
		}
		val = s.Bytes
	default:
		return nil, fmt.Errorf("configmsg: value type %d", s.Type)
	}
	if err := s.Target.check(); err != nil {
		return nil, fmt.Errorf("configmsg: %w", err)
	}
	b := make([]byte, setHead, setHead+len(val))
	b[0], b[1] = version, byte(s.Target.Kind)
	binary.BigEndian.PutUint32(b[2:], s.ID)
	s.Target.put(b[6:12])
	binary.BigEndian.PutUint16(b[12:], uint16(s.Object))
	b[14] = byte(s.Type)
	binary.BigEndian.PutUint16(b[15:], uint16(len(val)))
	return append(b, val...), nil
}

// UnmarshalSet decodes a Set. It never panics.
func UnmarshalSet(b []byte) (Set, error) {
	if len(b) < setHead {
		return Set{}, fmt.Errorf("%w: set of %d octets, at least %d", ErrMalformed, len(b), setHead)
	}
	if b[0] != version {
		return Set{}, fmt.Errorf("%w: version %d", ErrMalformed, b[0])
	}
	t, err := target(Kind(b[1]), b[6:12])
	if err != nil {
		return Set{}, err
	}
	s := Set{ID: binary.BigEndian.Uint32(b[2:]), Target: t, Object: Object(binary.BigEndian.Uint16(b[12:])), Type: ValueType(b[14])}
	n := int(binary.BigEndian.Uint16(b[15:]))
	if n != len(b)-setHead {
		return Set{}, fmt.Errorf("%w: value length %d, %d octets follow", ErrMalformed, n, len(b)-setHead)
	}
	val := b[setHead:]
	switch s.Type {
	case Integer:
		if n != 4 {
			return Set{}, fmt.Errorf("%w: integer of %d octets", ErrMalformed, n)
		}
		s.Int = int32(binary.BigEndian.Uint32(val))
	case Octets:
		if n > MaxValue {
			return Set{}, fmt.Errorf("%w: value of %d octets exceeds %d", ErrMalformed, n, MaxValue)
		}
		s.Bytes = append([]byte{}, val...)
	default:
		return Set{}, fmt.Errorf("%w: value type %d", ErrMalformed, s.Type)
	}
	return s, nil
}

// MarshalAck encodes a. Its target is the one of the Set it acknowledges,
// as UnmarshalSet decoded it.
func MarshalAck(a Ack) []byte {
	b := make([]byte, ackSize)
	b[0], b[1], b[6] = version, byte(a.Status), byte(a.Target.Kind)
	binary.BigEndian.PutUint32(b[2:], a.ID)
	a.Target.put(b[7:13])
	return b
}

// UnmarshalAck decodes an Ack. It never panics.
func UnmarshalAck(b []byte) (Ack, error) {
	if len(b) != ackSize {
		return Ack{}, fmt.Errorf("%w: ack of %d octets, want %d", ErrMalformed, len(b), ackSize)
	}
	if b[0] != version {
		return Ack{}, fmt.Errorf("%w: version %d", ErrMalformed, b[0])
	}
	t, err := target(Kind(b[6]), b[7:13])
	if err != nil {
		return Ack{}, err
	}
	return Ack{ID: binary.BigEndian.Uint32(b[2:]), Target: t, Status: Status(b[1])}, nil
}
