// Package backplane holds the stack's broadcast medium between management
// modules: versioned, compact frames authenticated with HMAC-SHA256 over the
// stack key and carrying per-sender sequence numbers, and the receiver-side
// checks that drop (and count) forged, malformed and replayed frames.
package backplane

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cpsmm/cpsmm/stack/ident"
)

// Frame layout (all integers big-endian):
//
//	0  magic "CPSB"
//	4  version (1)
//	5  type
//	6  flags
//	7  reserved (0)
//	8  sender ID (the module's 6-octet MAC address)
//	14 reserved (0, 2 octets)
//	16 sequence number (8 octets)
//	24 payload length (2 octets)
//	26 reserved (0, 2 octets)
//	28 payload
//	.. HMAC-SHA256 over everything before it, keyed with the stack key
const (
	Version    = 1
	HeaderSize = 28
	MACSize    = sha256.Size
	MaxPayload = 1024
	// MaxFrame is the largest frame on the wire.
	MaxFrame = HeaderSize + MaxPayload + MACSize
)

const magic = "CPSB"

// Type is what a frame carries.
type Type uint8

// Frame types.
const (
	TypeAdvert       Type = 1 // negotiation advertisement
	TypeSolicit      Type = 2 // the Primary polls a device
	TypeDeviceReport Type = 3 // a device answers
	TypeConfigSet    Type = 4 // the Primary distributes configuration
	TypeConfigAck    Type = 5 // the target acknowledges it
	TypeHello        Type = 6 // a module announces itself on attaching
	TypeIPMonitor    Type = 7 // a module reports its IP monitor (stack/ipmon)
	TypeModuleRow    Type = 8 // a module reports its cpsmm100Table row
)

func (t Type) String() string {
	switch t {
	case TypeAdvert:
		return "advert"
	case TypeSolicit:
		return "solicit"
	case TypeDeviceReport:
		return "device-report"
	case TypeConfigSet:
		return "config-set"
	case TypeConfigAck:
		return "config-ack"
	case TypeHello:
		return "hello"
	case TypeIPMonitor:
		return "ip-monitor"
	case TypeModuleRow:
		return "module-row"
	}
	return fmt.Sprintf("type-%d", uint8(t))
}

// ID identifies a sender: its MAC address, the one type of a module's MAC
// (stack/ident).
type ID = ident.MAC

// Frame is a decoded, authenticated frame.
type Frame struct {
	Type    Type
	Flags   uint8
	From    ID
	Seq     uint64
	Payload []byte
}

// Errors of Open; a receiver counts each kind.
var (
	ErrMalformed = errors.New("malformed frame")
	ErrBadMAC    = errors.New("frame authentication failed (wrong stack key?)")
	ErrReplay    = errors.New("replayed or stale sequence number")
)

// IsFrame tells, from its first octets, whether b claims to be a frame
// (its magic); Open decides whether it is one.
func IsFrame(b []byte) bool { return len(b) >= len(magic) && string(b[:len(magic)]) == magic }

// Seal encodes f and appends its HMAC under key.
func Seal(key []byte, f Frame) ([]byte, error) {
	if len(f.Payload) > MaxPayload {
		return nil, fmt.Errorf("backplane: payload of %d octets exceeds %d", len(f.Payload), MaxPayload)
	}
	if f.Type == 0 {
		return nil, errors.New("backplane: frame type 0")
	}
	b := make([]byte, HeaderSize, HeaderSize+len(f.Payload)+MACSize)
	copy(b[0:4], magic)
	b[4], b[5], b[6] = Version, byte(f.Type), f.Flags
	copy(b[8:14], f.From[:])
	binary.BigEndian.PutUint64(b[16:24], f.Seq)
	binary.BigEndian.PutUint16(b[24:26], uint16(len(f.Payload)))
	b = append(b, f.Payload...)
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return m.Sum(b), nil
}

// Open checks and decodes one whole frame. It never panics; a malformed
// frame is ErrMalformed, a frame whose HMAC does not verify under key is
// ErrBadMAC (both wrapped with detail).
func Open(key []byte, b []byte) (Frame, error) {
	if len(b) < HeaderSize+MACSize {
		return Frame{}, fmt.Errorf("%w: %d octets, shorter than a header and a MAC", ErrMalformed, len(b))
	}
	if string(b[0:4]) != magic {
		return Frame{}, fmt.Errorf("%w: bad magic %x", ErrMalformed, b[0:4])
	}
	if b[4] != Version {
		return Frame{}, fmt.Errorf("%w: version %d", ErrMalformed, b[4])
	}
	if b[7] != 0 || b[14] != 0 || b[15] != 0 || b[26] != 0 || b[27] != 0 {
		return Frame{}, fmt.Errorf("%w: reserved octets not zero", ErrMalformed)
	}
	n := int(binary.BigEndian.Uint16(b[24:26]))
	if n > MaxPayload {
		return Frame{}, fmt.Errorf("%w: payload length %d exceeds %d", ErrMalformed, n, MaxPayload)
	}
	if len(b) != HeaderSize+n+MACSize {
		return Frame{}, fmt.Errorf("%w: %d octets, header says %d", ErrMalformed, len(b), HeaderSize+n+MACSize)
	}
	body, sum := b[:HeaderSize+n], b[HeaderSize+n:]
	m := hmac.New(sha256.New, key)
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), sum) {
		return Frame{}, ErrBadMAC
	}
	if b[5] == 0 {
		return Frame{}, fmt.Errorf("%w: frame type 0", ErrMalformed)
	}
	f := Frame{Type: Type(b[5]), Flags: b[6], Seq: binary.BigEndian.Uint64(b[16:24])}
	copy(f.From[:], b[8:14])
	f.Payload = append([]byte(nil), b[HeaderSize:HeaderSize+n]...)
	return f, nil
}

// Stats counts what a Receiver accepted and dropped.
type Stats struct {
	Accepted, Malformed, BadMAC, Replayed uint64
}

// window is the replay state of one sender: the highest sequence number
// seen and a bitmap of the 64 below it, so frames reordered by up to 64
// positions are still accepted once each.
type window struct {
	top  uint64
	seen uint64 // bit i: top-i was seen
}

// WindowSize is how far behind the newest frame a reordered one may arrive.
const WindowSize = 64

// Receiver authenticates frames and rejects replays. A sender numbers its
// frames from a value that grows across its restarts (cpsmm uses its start
// time in nanoseconds), so a restarted sender is not taken for a replay.
// Not safe for concurrent use.
type Receiver struct {
	key   []byte
	peers map[ID]*window
	Stats Stats
}

// NewReceiver returns a receiver for frames sealed with key.
func NewReceiver(key []byte) *Receiver {
	return &Receiver{key: append([]byte(nil), key...), peers: map[ID]*window{}}
}

// Accept opens b and checks its sequence number. Every rejected frame is
// counted in Stats and changes no state.
func (r *Receiver) Accept(b []byte) (Frame, error) {
	f, err := Open(r.key, b)
	switch {
	case errors.Is(err, ErrBadMAC):
		r.Stats.BadMAC++
		return Frame{}, err
	case err != nil:
		r.Stats.Malformed++
		return Frame{}, err
	}
	w := r.peers[f.From]
	if w == nil {
		r.peers[f.From] = &window{top: f.Seq, seen: 1}
		r.Stats.Accepted++
		return f, nil
	}
	switch {
	case f.Seq > w.top:
		shift := f.Seq - w.top
		if shift >= WindowSize {
			w.seen = 1
		} else {
			w.seen = w.seen<<shift | 1
		}
		w.top = f.Seq
	case w.top-f.Seq >= WindowSize:
		r.Stats.Replayed++
		return Frame{}, fmt.Errorf("%w: %d from %s is more than %d behind %d", ErrReplay, f.Seq, f.From, WindowSize, w.top)
	default:
		bit := uint64(1) << (w.top - f.Seq)
		if w.seen&bit != 0 {
			r.Stats.Replayed++
			return Frame{}, fmt.Errorf("%w: %d from %s was already received", ErrReplay, f.Seq, f.From)
		}
		w.seen |= bit
	}
	r.Stats.Accepted++
	return f, nil
}
