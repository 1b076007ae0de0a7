package device

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// A Solicit (the Primary to one slot, slot 0 for the cabinet itself) is 5
// octets: version (1), cabinet (2), slot (2). A Report is
//
//	0 version (1)   1 kind (1 slot, 2 cabinet)   2 cabinet (2)   4 slot (2)
//	6 type (slot: a type code, 0 empty; cabinet: 1 present, 0 removed)
//	7 item count, then per item: tag (1), value type (1 integer, 2 octets),
//	  length (1), value (integer: 4 octets, big-endian)
const (
	version     = 1
	solicitSize = 5
	reportHead  = 8
)

// A cabinet report's type: the cabinet is in the stack (else removed, 0).
const CabinetPresent uint8 = 1

// Report kinds.
const (
	KindSlot    uint8 = 1
	KindCabinet uint8 = 2
)

// Solicit asks the device in a slot (or, slot 0, the cabinet) to report.
type Solicit struct{ Bia, Slot uint16 }

// Item is one column (slot) or tag (cabinet) of a report.
type Item struct {
	Tag   uint8
	Value smi.Value
}

// Report is a device's or a cabinet's state.
type Report struct {
	Kind      uint8
	Bia, Slot uint16
	Type      uint8
	Items     []Item
}

// ErrMalformed is a payload that is not a message of this package.
var ErrMalformed = errors.New("device: malformed message")

// MarshalSolicit encodes s.
func MarshalSolicit(s Solicit) []byte {
	b := []byte{version, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(b[1:], s.Bia)
	binary.BigEndian.PutUint16(b[3:], s.Slot)
	return b
}

// UnmarshalSolicit decodes a Solicit. It never panics.
func UnmarshalSolicit(b []byte) (Solicit, error) {
	if len(b) != solicitSize || b[0] != version {
		return Solicit{}, fmt.Errorf("%w: not a solicit (%d octets)", ErrMalformed, len(b))
	}
	return Solicit{Bia: binary.BigEndian.Uint16(b[1:]), Slot: binary.BigEndian.Uint16(b[3:])}, nil
}

// MarshalReport encodes r; values must be integers or octet strings of at
// most 255 octets.
func MarshalReport(r Report) ([]byte, error) {
	if len(r.Items) > 255 {
		return nil, fmt.Errorf("device: %d items in a report", len(r.Items))
	}
	b := make([]byte, reportHead, reportHead+16*len(r.Items))
	b[0], b[1], b[6], b[7] = version, r.Kind, r.Type, byte(len(r.Items))
	binary.BigEndian.PutUint16(b[2:], r.Bia)
	binary.BigEndian.PutUint16(b[4:], r.Slot)
	for _, it := range r.Items {
		switch it.Value.Type {
		case smi.TypeInteger:
			b = append(b, it.Tag, 1, 4)
			b = binary.BigEndian.AppendUint32(b, uint32(it.Value.Int))
		case smi.TypeOctetString:
			if len(it.Value.Bytes) > 255 {
				return nil, fmt.Errorf("device: item %d of %d octets", it.Tag, len(it.Value.Bytes))
			}
			b = append(b, it.Tag, 2, byte(len(it.Value.Bytes)))
			b = append(b, it.Value.Bytes...)
		default:
			return nil, fmt.Errorf("device: item %d of type %s", it.Tag, it.Value.Type)
		}
	}
	return b, nil
}

// UnmarshalReport decodes a Report. It never panics.
func UnmarshalReport(b []byte) (Report, error) {
	if len(b) < reportHead {
		return Report{}, fmt.Errorf("%w: report of %d octets", ErrMalformed, len(b))
	}
	if b[0] != version {
		return Report{}, fmt.Errorf("%w: version %d", ErrMalformed, b[0])
	}
	r := Report{Kind: b[1], Bia: binary.BigEndian.Uint16(b[2:]), Slot: binary.BigEndian.Uint16(b[4:]), Type: b[6]}
	if r.Kind != KindSlot && r.Kind != KindCabinet {
		return Report{}, fmt.Errorf("%w: kind %d", ErrMalformed, r.Kind)
	}
	n, rest := int(b[7]), b[reportHead:]
	for i := 0; i < n; i++ {
		if len(rest) < 3 || len(rest) < 3+int(rest[2]) {
			return Report{}, fmt.Errorf("%w: item %d truncated", ErrMalformed, i)
		}
		tag, typ, l := rest[0], rest[1], int(rest[2])
		val := rest[3 : 3+l]
		switch {
		case typ == 1 && l == 4:
			r.Items = append(r.Items, Item{Tag: tag, Value: smi.Integer(int32(binary.BigEndian.Uint32(val)))})
		case typ == 2:
			r.Items = append(r.Items, Item{Tag: tag, Value: smi.OctetString(append([]byte{}, val...))})
		default:
			return Report{}, fmt.Errorf("%w: item %d: type %d of %d octets", ErrMalformed, i, typ, l)
		}
		rest = rest[3+l:]
	}
	if len(rest) != 0 {
		return Report{}, fmt.Errorf("%w: %d octets after the last item", ErrMalformed, len(rest))
	}
	return r, nil
}

// A poll of the whole stack is one Solicit of cabinet and slot AllSlots:
// the chassis answers with every cabinet's report and every slot's but
// the management modules', packed into batches.
const AllSlots uint16 = 0xFFFF

// StackPoll is the Solicit of the whole stack.
func StackPoll() Solicit { return Solicit{Bia: AllSlots, Slot: AllSlots} }

// IsStackPoll reports whether s solicits the whole stack.
func (s Solicit) IsStackPoll() bool { return s == StackPoll() }

// KindBatch is a payload that carries several reports:
//
//	0 version (1)   1 kind (3)   2 count (1), then per report: length (2), report
const KindBatch uint8 = 3

const batchHead = 3

// MarshalBatches packs reports into payloads of at most max octets each
// (a report that alone exceeds max is an error).
func MarshalBatches(reports []Report, max int) ([][]byte, error) {
	var out [][]byte
	cur := []byte{version, KindBatch, 0}
	for _, r := range reports {
		b, err := MarshalReport(r)
		if err != nil {
			return nil, err
		}
		if batchHead+2+len(b) > max {
			return nil, fmt.Errorf("device: a report of %d octets exceeds a batch of %d", len(b), max)
		}
		if len(cur)+2+len(b) > max || cur[2] == 255 {
			out = append(out, cur)
			cur = []byte{version, KindBatch, 0}
		}
		cur = binary.BigEndian.AppendUint16(cur, uint16(len(b)))
		cur = append(cur, b...)
		cur[2]++
	}
	if cur[2] > 0 {
		out = append(out, cur)
	}
	return out, nil
}

// UnmarshalReports decodes a report payload: a single Report or a batch.
// It never panics.
func UnmarshalReports(b []byte) ([]Report, error) {
	if len(b) >= 2 && b[0] == version && b[1] == KindBatch {
		if len(b) < batchHead {
			return nil, fmt.Errorf("%w: batch of %d octets", ErrMalformed, len(b))
		}
		n, rest := int(b[2]), b[batchHead:]
		out := make([]Report, 0, n)
		for i := 0; i < n; i++ {
			if len(rest) < 2 || len(rest) < 2+int(binary.BigEndian.Uint16(rest)) {
				return nil, fmt.Errorf("%w: batch report %d truncated", ErrMalformed, i)
			}
			l := int(binary.BigEndian.Uint16(rest))
			r, err := UnmarshalReport(rest[2 : 2+l])
			if err != nil {
				return nil, fmt.Errorf("batch report %d: %w", i, err)
			}
			out = append(out, r)
			rest = rest[2+l:]
		}
		if len(rest) != 0 {
			return nil, fmt.Errorf("%w: %d octets after the last batch report", ErrMalformed, len(rest))
		}
		return out, nil
	}
	r, err := UnmarshalReport(b)
	if err != nil {
		return nil, err
	}
	return []Report{r}, nil
}
