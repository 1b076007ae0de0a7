package negotiation

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cpsmm/cpsmm/stack/ident"
)

// An advert travels as the payload of a backplane frame (whose sender ID
// is the advert's From), 14 octets, big-endian (version 2):
//
//	0 version (2)   1 role   2 flags (1 eligible, 2 resigning, 4 takeover, 8 claim, 16 yield, 32 forced)
//	3 want          4 cabinet (BIA, 0..255)   5 slot (0..32)
//	6 sequence number (8 octets)
//
// Version 1 (12 octets, no cabinet or slot) is refused: the vendor's rule
// orders modules by cabinet and slot, which a version 1 advert does not
// say. Every module of a stack must run the same version.
const (
	advertVersion = 2
	advertSize    = 14
)

const (
	flagEligible = 1 << iota
	flagResigning
	flagTakeover
	flagClaim
	flagYield
	flagForced
	flagsKnown = flagEligible | flagResigning | flagTakeover | flagClaim | flagYield | flagForced
)

// ErrBadAdvert is a payload that is not an advert.
var ErrBadAdvert = errors.New("negotiation: malformed advert")

// ErrAdvertVersion is an advert of another version (wrapped in
// ErrBadAdvert): a module of the stack runs another release.
var ErrAdvertVersion = fmt.Errorf("%w: unsupported version", ErrBadAdvert)

// MarshalAdvert encodes a (all but From, which the frame carries).
func MarshalAdvert(a Advert) []byte {
	b := make([]byte, advertSize)
	b[0], b[1], b[3] = advertVersion, byte(a.Role), byte(a.Want)
	b[4], b[5] = byte(a.Slot.Cabinet), byte(a.Slot.Slot)
	for _, f := range []struct {
		on  bool
		bit byte
	}{{a.Eligible, flagEligible}, {a.Resigning, flagResigning}, {a.Takeover, flagTakeover}, {a.Claim, flagClaim},
		{a.Yield, flagYield}, {a.Forced, flagForced}} {
		if f.on {
			b[2] |= f.bit
		}
	}
	binary.BigEndian.PutUint64(b[6:], a.Seq)
	return b
}

// UnmarshalAdvert decodes an advert sent by from. It never panics.
func UnmarshalAdvert(from ID, b []byte) (Advert, error) {
	switch {
	case len(b) > 0 && b[0] != advertVersion:
		return Advert{}, fmt.Errorf("%w %d (this module speaks %d)", ErrAdvertVersion, b[0], advertVersion)
	case len(b) != advertSize:
		return Advert{}, fmt.Errorf("%w: %d octets, want %d", ErrBadAdvert, len(b), advertSize)
	case Role(b[1]) > Primary:
		return Advert{}, fmt.Errorf("%w: role %d", ErrBadAdvert, b[1])
	case b[2]&^flagsKnown != 0:
		return Advert{}, fmt.Errorf("%w: unknown flags %#x", ErrBadAdvert, b[2])
	case Want(b[3]) < WantYes || Want(b[3]) > WantAlways:
		return Advert{}, fmt.Errorf("%w: want %d", ErrBadAdvert, b[3])
	case b[5] > 32:
		return Advert{}, fmt.Errorf("%w: slot %d", ErrBadAdvert, b[5])
	}
	return Advert{From: from, Slot: ident.At(ident.Cabinet(b[4]), int32(b[5])), Role: Role(b[1]), Want: Want(b[3]),
		Seq:      binary.BigEndian.Uint64(b[6:]),
		Eligible: b[2]&flagEligible != 0, Resigning: b[2]&flagResigning != 0,
		Takeover: b[2]&flagTakeover != 0, Claim: b[2]&flagClaim != 0, Yield: b[2]&flagYield != 0,
		Forced: b[2]&flagForced != 0}, nil
}
