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
// Set, version 2 (13 octets + items):
//
//	0  version (2)       1  target kind (1 module, 2 device)
//	2  request ID (4)    6  target (6: a module's MAC; a device's cabinet (2), slot (2), 0, 0)
//	12 item count (1, at least 1)
//	13 items, each: object (2), value type (1 integer, 2 octets, 3 IP address),
//	   value length (2), value (integer, IP address: 4 octets; octets: up to MaxValue)
//
// A target applies every item of one Set together, or none. Version 1 (the
// first, still decoded) is one item with no count: object at 12, value
// type at 14, length at 15, value at 17.
//
// Ack (13 octets, version 1):
//
//	0  version (1)       1  status
//	2  request ID (4)    6  target kind   7  target (6, as in the Set)
//
// Row (6 octets + items, version 1): a module's report of its own row.
//
//	0  version (1)       1  item count (1, at least 1)
//	2  uptime (4: centiseconds since the module last started or reset)
//	6  items, as in a Set
const (
	version   = 1
	versionV2 = 2
	setHeadV1 = 17
	setHead   = 13
	itemHead  = 5
	rowHead   = 6
	ackSize   = 13
	MaxValue  = 255
	MaxItems  = 255
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
//
// A module target takes the read-write columns of its cpsmm100Table row
// (below 0x100); a Row reports them and the identity columns.
const (
	ObjWantPrimary        Object = 1     // a module's cpsmm100WantPrimary (integer)
	ObjGroups             Object = 2     // cpsmm100Groups (octets)
	ObjIPAddress          Object = 3     // cpsmm100IPAddress (IP address)
	ObjSubnetMask         Object = 4     // cpsmm100SubnetMask (IP address)
	ObjGateway            Object = 5     // cpsmm100Gateway (IP address)
	ObjTrapMgr            Object = 6     // cpsmm100SNMPTrapMgr (IP address)
	ObjTrapMgr2           Object = 7     // cpsmm100SNMPTrapMgr2 (IP address)
	ObjTrapMgr3           Object = 8     // cpsmm100SNMPTrapMgr3 (IP address)
	ObjTrapMgr4           Object = 9     // cpsmm100SNMPTrapMgr4 (IP address)
	ObjTrapInterval       Object = 10    // cpsmm100SNMPTrapInterval (integer)
	ObjSysContact         Object = 11    // cpsmm100SysContact (octets)
	ObjSysName            Object = 12    // cpsmm100SysName (octets)
	ObjSysLocation        Object = 13    // cpsmm100SysLocation (octets)
	ObjCfgMatch           Object = 14    // cpsmm100CfgMatch (integer)
	ObjSaveConfig         Object = 15    // cpsmm100SaveConfig (integer)
	ObjReset              Object = 16    // cpsmm100Reset (integer)
	ObjHwRevision         Object = 0x40  // cpsmm100HwRevision (octets; Row only)
	ObjSwRevision         Object = 0x41  // cpsmm100SwRevision (octets; Row only)
	ObjSerialNumber       Object = 0x42  // cpsmm100SerialNumber (integer; Row only)
	ObjMRevision          Object = 0x43  // cpsmm100MRevision (integer; Row only)
	ObjSlotPower          Object = 0x100 // cpsSlotPwrState of the target slot (integer)
	ObjCabinetDescription Object = 0x101 // cpsCabinetDescription of the target cabinet, slot 0 (octets)
	ObjGroupCtrl          Object = 0x102 // cpsGroupCtrl (octets)
)

// ValueType is a Set value's type.
type ValueType uint8

// Value types.
const (
	Integer   ValueType = 1
	Octets    ValueType = 2
	IPAddress ValueType = 3 // 4 octets in Bytes
)

// Item is one object and its value.
type Item struct {
	Object Object
	Type   ValueType
	Int    int32  // Type Integer
	Bytes  []byte // Type Octets, IPAddress
}

// Set asks a target to take values: the first item's fields, and More
// (a module target only), all together or none.
type Set struct {
	ID     uint32
	Target Target
	Object Object
	Type   ValueType
	Int    int32  // Type Integer
	Bytes  []byte // Type Octets, IPAddress
	More   []Item
}

// SetOf returns a Set of items (at least one) to t.
func SetOf(t Target, items ...Item) Set {
	s := Set{Target: t}
	if len(items) > 0 {
		s.Object, s.Type, s.Int, s.Bytes = items[0].Object, items[0].Type, items[0].Int, items[0].Bytes
		s.More = append([]Item(nil), items[1:]...)
	}
	if len(s.More) == 0 {
		s.More = nil
	}
	return s
}

// Items returns every item of s, the first one first.
func (s Set) Items() []Item {
	return append([]Item{{Object: s.Object, Type: s.Type, Int: s.Int, Bytes: s.Bytes}}, s.More...)
}

// Size is the octets an item takes on the wire.
func (it Item) Size() int {
	if it.Type == Octets {
		return itemHead + len(it.Bytes)
	}
	return itemHead + 4
}

// SetSize is the size of a Set of items on the wire.
func SetSize(items []Item) int {
	n := setHead
	for _, it := range items {
		n += it.Size()
	}
	return n
}

// Pack splits items, in order, into as few groups as keep each Set (or
// Row) within limit octets; an item alone too large is an error.
func Pack(items []Item, limit int) ([][]Item, error) {
	var out [][]Item
	var cur []Item
	n := setHead
	for _, it := range items {
		if setHead+it.Size() > limit {
			return nil, fmt.Errorf("configmsg: item of object %d takes %d octets, more than %d", it.Object, setHead+it.Size(), limit)
		}
		if len(cur) == MaxItems || n+it.Size() > limit {
			out, cur, n = append(out, cur), nil, setHead
		}
		cur, n = append(cur, it), n+it.Size()
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out, nil
}

// Status is a target's answer.
type Status uint8

// Statuses.
const (
	OK            Status = 0
	Refused       Status = 1 // the sender is not the Primary the target knows
	UnknownObject Status = 2
	BadValue      Status = 3 // refused by the target's rules for the object
	Failed        Status = 4 // acceptable, but the target could not commit it
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
	case Failed:
		return "commit failed"
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

func appendItem(b []byte, it Item) ([]byte, error) {
	var val []byte
	switch it.Type {
	case Integer:
		val = binary.BigEndian.AppendUint32(nil, uint32(it.Int))
	case Octets:
		if len(it.Bytes) > MaxValue {
			return nil, fmt.Errorf("configmsg: value of %d octets exceeds %d", len(it.Bytes), MaxValue)
		}
		val = it.Bytes
	case IPAddress:
		if len(it.Bytes) != 4 {
			return nil, fmt.Errorf("configmsg: IP address of %d octets", len(it.Bytes))
		}
		val = it.Bytes
	default:
		return nil, fmt.Errorf("configmsg: value type %d", it.Type)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(it.Object))
	b = append(b, byte(it.Type))
	b = binary.BigEndian.AppendUint16(b, uint16(len(val)))
	return append(b, val...), nil
}

func appendItems(b []byte, items []Item) ([]byte, error) {
	if len(items) == 0 || len(items) > MaxItems {
		return nil, fmt.Errorf("configmsg: %d items, want 1..%d", len(items), MaxItems)
	}
	b = append(b, byte(len(items)))
	var err error
	for _, it := range items {
		if b, err = appendItem(b, it); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// value checks and copies an item's value of n octets.
func value(t ValueType, val []byte) (Item, error) {
	it := Item{Type: t}
	switch t {
	case Integer:
		if len(val) != 4 {
			return Item{}, fmt.Errorf("%w: integer of %d octets", ErrMalformed, len(val))
		}
		it.Int = int32(binary.BigEndian.Uint32(val))
	case Octets:
		if len(val) > MaxValue {
			return Item{}, fmt.Errorf("%w: value of %d octets exceeds %d", ErrMalformed, len(val), MaxValue)
		}
		it.Bytes = append([]byte{}, val...)
	case IPAddress:
		if len(val) != 4 {
			return Item{}, fmt.Errorf("%w: IP address of %d octets", ErrMalformed, len(val))
		}
		it.Bytes = append([]byte{}, val...)
	default:
		return Item{}, fmt.Errorf("%w: value type %d", ErrMalformed, t)
	}
	return it, nil
}

// items decodes count items that fill b exactly.
func items(b []byte) ([]Item, error) {
	if len(b) < 1 || b[0] == 0 {
		return nil, fmt.Errorf("%w: no items", ErrMalformed)
	}
	n := int(b[0])
	b = b[1:]
	out := make([]Item, 0, n)
	for i := 0; i < n; i++ {
		if len(b) < itemHead {
			return nil, fmt.Errorf("%w: item %d truncated", ErrMalformed, i+1)
		}
		l := int(binary.BigEndian.Uint16(b[3:]))
		if l > len(b)-itemHead {
			return nil, fmt.Errorf("%w: item %d: value length %d, %d octets follow", ErrMalformed, i+1, l, len(b)-itemHead)
		}
		it, err := value(ValueType(b[2]), b[itemHead:itemHead+l])
		if err != nil {
			return nil, err
		}
		it.Object = Object(binary.BigEndian.Uint16(b))
		out = append(out, it)
		b = b[itemHead+l:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d octets after the items", ErrMalformed, len(b))
	}
	return out, nil
}

// MarshalSet encodes s (version 2).
func MarshalSet(s Set) ([]byte, error) {
	if err := s.Target.check(); err != nil {
		return nil, fmt.Errorf("configmsg: %w", err)
	}
	if len(s.More) > 0 && s.Target.Kind != KindModule {
		return nil, fmt.Errorf("configmsg: a Set of several items to %s", s.Target)
	}
	b := make([]byte, 12, SetSize(s.Items()))
	b[0], b[1] = versionV2, byte(s.Target.Kind)
	binary.BigEndian.PutUint32(b[2:], s.ID)
	s.Target.put(b[6:12])
	return appendItems(b, s.Items())
}

// UnmarshalSet decodes a Set (version 2, or 1). It never panics.
func UnmarshalSet(b []byte) (Set, error) {
	if len(b) < setHead {
		return Set{}, fmt.Errorf("%w: set of %d octets, at least %d", ErrMalformed, len(b), setHead)
	}
	if b[0] != version && b[0] != versionV2 {
		return Set{}, fmt.Errorf("%w: version %d", ErrMalformed, b[0])
	}
	t, err := target(Kind(b[1]), b[6:12])
	if err != nil {
		return Set{}, err
	}
	var its []Item
	if b[0] == version {
		if len(b) < setHeadV1 {
			return Set{}, fmt.Errorf("%w: set of %d octets, at least %d", ErrMalformed, len(b), setHeadV1)
		}
		if n := int(binary.BigEndian.Uint16(b[15:])); n != len(b)-setHeadV1 {
			return Set{}, fmt.Errorf("%w: value length %d, %d octets follow", ErrMalformed, n, len(b)-setHeadV1)
		}
		if ValueType(b[14]) == IPAddress {
			return Set{}, fmt.Errorf("%w: value type %d in version 1", ErrMalformed, b[14])
		}
		it, err := value(ValueType(b[14]), b[setHeadV1:])
		if err != nil {
			return Set{}, err
		}
		it.Object = Object(binary.BigEndian.Uint16(b[12:]))
		its = []Item{it}
	} else if its, err = items(b[12:]); err != nil {
		return Set{}, err
	}
	if len(its) > 1 && t.Kind != KindModule {
		return Set{}, fmt.Errorf("%w: a Set of several items to %s", ErrMalformed, t)
	}
	s := SetOf(t, its...)
	s.ID = binary.BigEndian.Uint32(b[2:])
	return s, nil
}

// Row is a module's report of its own cpsmm100Table row: what it holds
// (a row may take several Rows, each with the uptime), heard by every
// module so that each shows the others' real settings.
type Row struct {
	Uptime uint32 // centiseconds since the module last started or reset
	Items  []Item
}

// MarshalRows encodes r in as few payloads of at most limit octets as
// hold its items, each with the uptime.
func MarshalRows(r Row, limit int) ([][]byte, error) {
	groups, err := Pack(r.Items, limit-rowHead+setHead)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, g := range groups {
		b := binary.BigEndian.AppendUint32([]byte{version, byte(len(g))}, r.Uptime)
		for _, it := range g {
			if b, err = appendItem(b, it); err != nil {
				return nil, err
			}
		}
		out = append(out, b)
	}
	return out, nil
}

// UnmarshalRow decodes one Row payload. It never panics.
func UnmarshalRow(b []byte) (Row, error) {
	if len(b) < rowHead {
		return Row{}, fmt.Errorf("%w: row of %d octets, at least %d", ErrMalformed, len(b), rowHead)
	}
	if b[0] != version {
		return Row{}, fmt.Errorf("%w: version %d", ErrMalformed, b[0])
	}
	its, err := items(append([]byte{b[1]}, b[rowHead:]...))
	if err != nil {
		return Row{}, err
	}
	return Row{Uptime: binary.BigEndian.Uint32(b[2:]), Items: its}, nil
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
