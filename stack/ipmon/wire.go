package ipmon

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A probe is a bare UDP datagram, as an ICMP echo is: not authenticated
// (a gateway knows no stack key), 20 octets, big-endian:
//
//	0 magic "CPIP"   4 version (1)   5 op (1 request, 2 reply)   6 reserved (0, 2 octets)
//	8 sender (6 octets: the probing module's MAC)   14 reserved (0, 2 octets)
//	16 sequence number of the poll (4 octets)
//
// The responder (a gateway, or a peer's Ethernet side) sends it back with
// op reply, to the address it came from.
const (
	probeMagic   = "CPIP"
	probeVersion = 1
	ProbeSize    = 20
)

// Probe operations.
const (
	OpRequest = 1
	OpReply   = 2
)

// Datagram is a decoded probe.
type Datagram struct {
	Op     uint8
	Sender [6]byte
	Seq    uint32
}

// ErrBadProbe is a datagram that is not a probe.
var ErrBadProbe = errors.New("ipmon: malformed probe")

// IsProbe tells, from its first octets, whether a datagram claims to be
// a probe (a backplane frame starts otherwise).
func IsProbe(b []byte) bool { return len(b) >= 4 && string(b[:4]) == probeMagic }

// MarshalProbe encodes d.
func MarshalProbe(d Datagram) []byte {
	b := make([]byte, ProbeSize)
	copy(b, probeMagic)
	b[4], b[5] = probeVersion, d.Op
	copy(b[8:14], d.Sender[:])
	binary.BigEndian.PutUint32(b[16:], d.Seq)
	return b
}

// UnmarshalProbe decodes a probe. It never panics.
func UnmarshalProbe(b []byte) (Datagram, error) {
	switch {
	case len(b) != ProbeSize:
		return Datagram{}, fmt.Errorf("%w: %d octets, want %d", ErrBadProbe, len(b), ProbeSize)
	case !IsProbe(b):
		return Datagram{}, fmt.Errorf("%w: bad magic %x", ErrBadProbe, b[:4])
	case b[4] != probeVersion:
		return Datagram{}, fmt.Errorf("%w: version %d", ErrBadProbe, b[4])
	case b[5] != OpRequest && b[5] != OpReply:
		return Datagram{}, fmt.Errorf("%w: op %d", ErrBadProbe, b[5])
	case b[6] != 0 || b[7] != 0 || b[14] != 0 || b[15] != 0:
		return Datagram{}, fmt.Errorf("%w: reserved octets not zero", ErrBadProbe)
	}
	d := Datagram{Op: b[5], Seq: binary.BigEndian.Uint32(b[16:])}
	copy(d.Sender[:], b[8:14])
	return d, nil
}

// Reply is the answer to a request: the same datagram with op reply.
func Reply(b []byte) ([]byte, bool) {
	d, err := UnmarshalProbe(b)
	if err != nil || d.Op != OpRequest {
		return nil, false
	}
	d.Op = OpReply
	return MarshalProbe(d), true
}

// A report travels as the payload of a backplane frame (whose sender is
// the reporting module), 2 octets: version (1), flags (1 up, 2 failed).
const (
	reportVersion = 1
	reportSize    = 2
	flagUp        = 1
	flagFailed    = 2
)

// ErrBadReport is a payload that is not a report.
var ErrBadReport = errors.New("ipmon: malformed report")

// MarshalReport encodes r.
func MarshalReport(r Report) []byte {
	b := []byte{reportVersion, 0}
	if r.Up {
		b[1] |= flagUp
	}
	if r.Failed {
		b[1] |= flagFailed
	}
	return b
}

// UnmarshalReport decodes a report. It never panics.
func UnmarshalReport(b []byte) (Report, error) {
	switch {
	case len(b) != reportSize:
		return Report{}, fmt.Errorf("%w: %d octets, want %d", ErrBadReport, len(b), reportSize)
	case b[0] != reportVersion:
		return Report{}, fmt.Errorf("%w: version %d", ErrBadReport, b[0])
	case b[1]&^(flagUp|flagFailed) != 0:
		return Report{}, fmt.Errorf("%w: unknown flags %#x", ErrBadReport, b[1])
	}
	return Report{Up: b[1]&flagUp != 0, Failed: b[1]&flagFailed != 0}, nil
}
