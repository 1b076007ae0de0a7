// Package ident holds the identities of a Point System stack, one type per
// concept: a management module's MAC address, a cabinet (its BiaIndex) and
// a slot address (a cabinet and a slot in it). It is a leaf: it imports
// nothing of the project.
package ident

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// MAC is a module's burned-in MAC address: its identity on the backplane,
// in the negotiation (lowest wins) and in configuration messages.
type MAC [6]byte

// ParseMAC parses a 6-octet MAC address in any form net.ParseMAC accepts.
func ParseMAC(s string) (MAC, error) {
	hw, err := net.ParseMAC(s)
	if err != nil {
		return MAC{}, fmt.Errorf("ident: %w", err)
	}
	if len(hw) != 6 {
		return MAC{}, fmt.Errorf("ident: %q is not a 6-octet MAC address", s)
	}
	var m MAC
	copy(m[:], hw)
	return m, nil
}

// MACFromUint64 returns the MAC whose 48 bits are the low bits of v (tests
// and simulations number their modules).
func MACFromUint64(v uint64) MAC {
	var m MAC
	for i := 5; i >= 0; i-- {
		m[i] = byte(v)
		v >>= 8
	}
	return m
}

// Uint64 returns the MAC as a 48-bit number.
func (m MAC) Uint64() uint64 {
	var v uint64
	for _, b := range m {
		v = v<<8 | uint64(b)
	}
	return v
}

// Compare orders MACs as 48-bit numbers: -1, 0 or +1.
func (m MAC) Compare(o MAC) int { return bytes.Compare(m[:], o[:]) }

// Less reports whether m sorts before o.
func (m MAC) Less(o MAC) bool { return m.Compare(o) < 0 }

// IsZero reports whether m is the zero MAC (no module).
func (m MAC) IsZero() bool { return m == MAC{} }

func (m MAC) String() string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// Cabinet is a cabinet's BiaIndex (1..255).
type Cabinet int32

// Index returns the cabinet as a MIB table index.
func (c Cabinet) Index() []uint32 { return []uint32{uint32(c)} }

// Slot is a slot address: a cabinet and a slot in it. Slot 0 stands for the
// cabinet itself (its power supplies, its description), and 0/0 for the
// whole stack (cpsGroupCtrl).
type Slot struct {
	Cabinet Cabinet
	Slot    int32
}

// At returns the address of slot s of cabinet c.
func At(c Cabinet, s int32) Slot { return Slot{Cabinet: c, Slot: s} }

// Index returns the slot address as a MIB table index (BiaIndex, SlotIndex).
func (s Slot) Index() []uint32 { return []uint32{uint32(s.Cabinet), uint32(s.Slot)} }

// String is CABINET/SLOT.
func (s Slot) String() string { return fmt.Sprintf("%d/%d", s.Cabinet, s.Slot) }

// ParseSlot parses CABINET/SLOT (both whole numbers, 0..255 and 0..32).
func ParseSlot(s string) (Slot, error) {
	b, sl, ok := strings.Cut(s, "/")
	bi, err1 := strconv.ParseInt(b, 10, 32)
	si, err2 := strconv.ParseInt(sl, 10, 32)
	if !ok || err1 != nil || err2 != nil || bi < 0 || bi > 255 || si < 0 || si > 32 {
		return Slot{}, fmt.Errorf("ident: %q is not CABINET/SLOT", s)
	}
	return At(Cabinet(bi), int32(si)), nil
}

// Path is the way a frame travels between the modules of a stack: the
// backplane (the chassis bus) or a module's Ethernet side.
type Path uint8

// Paths.
const (
	Backplane Path = 1
	Ethernet  Path = 2
)

func (p Path) String() string {
	switch p {
	case Backplane:
		return "backplane"
	case Ethernet:
		return "ethernet"
	}
	return fmt.Sprintf("path-%d", uint8(p))
}
