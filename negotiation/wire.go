package negotiation

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// An advert travels as the payload of a backplane frame (whose sender ID
// is the advert's From), 12 octets, big-endian:
//
//	0 version (1)   1 role   2 flags (1 eligible, 2 resigning, 4 takeover, 8 claim, 16 yield)
//	3 want          4 sequence number (8 octets)
const (
	advertVersion = 1
	advertSize    = 12
)

const (
	flagEligible = 1 << iota
	flagResigning
	flagTakeover
	flagClaim
	flagYield
	flagsKnown = flagEligible | flagResigning | flagTakeover | flagClaim | flagYield
)

// ErrBadAdvert is a payload that is not an advert.
var ErrBadAdvert = errors.New("negotiation: malformed advert")

// MarshalAdvert encodes a (all but From, which the frame carries).
func MarshalAdvert(a Advert) []byte {
	b := make([]byte, advertSize)
	b[0], b[1], b[3] = advertVersion, byte(a.Role), byte(a.Want)
	for _, f := range []struct {
		on  bool
		bit byte
	}{{a.Eligible, flagEligible}, {a.Resigning, flagResigning}, {a.Takeover, flagTakeover}, {a.Claim, flagClaim}, {a.Yield, flagYield}} {
		if f.on {
			b[2] |= f.bit
		}
	}
	binary.BigEndian.PutUint64(b[4:], a.Seq)
	return b
}

// UnmarshalAdvert decodes an advert sent by from. It never panics.
func UnmarshalAdvert(from ID, b []byte) (Advert, error) {
	switch {
	case len(b) != advertSize:
		return Advert{}, fmt.Errorf("%w: %d octets, want %d", ErrBadAdvert, len(b), advertSize)
	case b[0] != advertVersion:
		return Advert{}, fmt.Errorf("%w: version %d", ErrBadAdvert, b[0])
	case Role(b[1]) > Primary:
		return Advert{}, fmt.Errorf("%w: role %d", ErrBadAdvert, b[1])
	case b[2]&^flagsKnown != 0:
		return Advert{}, fmt.Errorf("%w: unknown flags %#x", ErrBadAdvert, b[2])
	case Want(b[3]) < WantYes || Want(b[3]) > WantAlways:
		return Advert{}, fmt.Errorf("%w: want %d", ErrBadAdvert, b[3])
	}
	return Advert{From: from, Role: Role(b[1]), Want: Want(b[3]), Seq: binary.BigEndian.Uint64(b[4:]),
		Eligible: b[2]&flagEligible != 0, Resigning: b[2]&flagResigning != 0,
		Takeover: b[2]&flagTakeover != 0, Claim: b[2]&flagClaim != 0, Yield: b[2]&flagYield != 0}, nil
}
