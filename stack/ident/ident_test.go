package ident

import "testing"

func TestMAC(t *testing.T) {
	m, err := ParseMAC("00:C0:F2:00:00:01")
	if err != nil {
		t.Fatal(err)
	}
	if m.String() != "00:c0:f2:00:00:01" || m.Uint64() != 0x00c0f2000001 || MACFromUint64(0x00c0f2000001) != m {
		t.Errorf("round trip: %s %x", m, m.Uint64())
	}
	if !MACFromUint64(1).Less(MACFromUint64(2)) || MACFromUint64(0x100).Less(MACFromUint64(0xff)) {
		t.Error("MACs do not order as 48-bit numbers")
	}
	for _, bad := range []string{"", "00:c0:f2:00:00", "00:00:00:00:fe:80:00:00:00:00:00:00:00:00:00:01", "zz:c0:f2:00:00:01"} {
		if _, err := ParseMAC(bad); err == nil {
			t.Errorf("ParseMAC(%q) accepted", bad)
		}
	}
}

func TestSlot(t *testing.T) {
	s, err := ParseSlot("2/14")
	if err != nil || s != At(2, 14) || s.String() != "2/14" || s.Index()[0] != 2 || s.Index()[1] != 14 {
		t.Errorf("ParseSlot: %v %v", s, err)
	}
	for _, bad := range []string{"", "2", "2/", "/3", "a/b", "256/1", "1/33", "-1/2", "1/2/3"} {
		if _, err := ParseSlot(bad); err == nil {
			t.Errorf("ParseSlot(%q) accepted", bad)
		}
	}
}
