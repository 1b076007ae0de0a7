package configmsg

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cpsmm/cpsmm/stack/ident"
)

var modA = Target{Kind: KindModule, MAC: [6]byte{0, 0xc0, 0xf2, 0, 0, 2}}

func TestSetGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  Set
		hex  string
		v1   string // the same Set in version 1, still decoded
	}{
		{"module want", Set{ID: 0x01020304, Target: modA, Object: ObjWantPrimary, Type: Integer, Int: 3},
			"02" + "01" + "01020304" + "00c0f2000002" + "01" + "0001" + "01" + "0004" + "00000003",
			"01" + "01" + "01020304" + "00c0f2000002" + "0001" + "01" + "0004" + "00000003"},
		{"device octets", Set{ID: 7, Target: Target{Kind: KindDevice, Slot: ident.At(2, 16)}, Object: 9, Type: Octets, Bytes: []byte("ab")},
			"02" + "02" + "00000007" + "000200100000" + "01" + "0009" + "02" + "0002" + "6162",
			"01" + "02" + "00000007" + "000200100000" + "0009" + "02" + "0002" + "6162"},
		{"module, three items", SetOf(modA,
			Item{Object: ObjSysName, Type: Octets, Bytes: []byte("lab")},
			Item{Object: ObjTrapMgr, Type: IPAddress, Bytes: []byte{127, 0, 0, 2}},
			Item{Object: ObjTrapInterval, Type: Integer, Int: -1}),
			"02" + "01" + "00000000" + "00c0f2000002" + "03" +
				"000c" + "02" + "0003" + "6c6162" +
				"0006" + "03" + "0004" + "7f000002" +
				"000a" + "01" + "0004" + "ffffffff", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := MarshalSet(tc.set)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != tc.hex {
				t.Fatalf("marshal:\n got %s\nwant %s", got, tc.hex)
			}
			if len(b) != SetSize(tc.set.Items()) {
				t.Errorf("SetSize %d, encoded %d", SetSize(tc.set.Items()), len(b))
			}
			for _, enc := range []string{tc.hex, tc.v1} {
				if enc == "" {
					continue
				}
				raw, _ := hex.DecodeString(enc)
				back, err := UnmarshalSet(raw)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(back, tc.set) {
					t.Fatalf("%s decodes as %+v, want %+v", enc[:2], back, tc.set)
				}
			}
		})
	}
}

func TestAckRoundTrip(t *testing.T) {
	for _, a := range []Ack{
		{ID: 9, Target: Target{Kind: KindModule, MAC: [6]byte{1, 2, 3, 4, 5, 6}}, Status: OK},
		{ID: 1 << 31, Target: Target{Kind: KindDevice, Slot: ident.At(1, 3)}, Status: Refused},
		{ID: 3, Target: modA, Status: Failed},
	} {
		back, err := UnmarshalAck(MarshalAck(a))
		if err != nil || back != a {
			t.Fatalf("%+v: got %+v, %v", a, back, err)
		}
	}
}

func TestMalformed(t *testing.T) {
	good, _ := MarshalSet(Set{ID: 1, Target: Target{Kind: KindModule}, Object: ObjWantPrimary, Type: Integer, Int: 1})
	goodV1, _ := hex.DecodeString("01" + "01" + "00000001" + "000000000000" + "0001" + "01" + "0004" + "00000001")
	if _, err := UnmarshalSet(goodV1); err != nil {
		t.Fatalf("version 1: %v", err)
	}
	two, _ := MarshalSet(SetOf(modA, Item{Object: ObjSysName, Type: Octets, Bytes: []byte("x")}, Item{Object: ObjGateway, Type: IPAddress, Bytes: []byte{1, 2, 3, 4}}))
	mut := func(src []byte, f func(b []byte) []byte) []byte { return f(append([]byte{}, src...)) }
	for name, b := range map[string][]byte{
		"short":            good[:10],
		"version":          mut(good, func(b []byte) []byte { b[0] = 3; return b }),
		"kind":             mut(good, func(b []byte) []byte { b[1] = 9; return b }),
		"no items":         mut(good, func(b []byte) []byte { b[12] = 0; return b }),
		"count too high":   mut(good, func(b []byte) []byte { b[12] = 2; return b }),
		"count too low":    mut(two, func(b []byte) []byte { b[12] = 1; return b }),
		"value type":       mut(good, func(b []byte) []byte { b[15] = 7; return b }),
		"length":           mut(good, func(b []byte) []byte { b[17] = 5; return b }),
		"truncated":        good[:len(good)-1],
		"trailing":         append(append([]byte{}, good...), 0),
		"integer size":     mut(good, func(b []byte) []byte { b[17] = 3; return b[:len(b)-1] }),
		"IP size":          mut(two, func(b []byte) []byte { b[len(b)-5] = 3; return b[:len(b)-1] }),
		"device padding":   mut(good, func(b []byte) []byte { b[1], b[11] = 2, 1; return b }),
		"cabinet 256":      mut(good, func(b []byte) []byte { b[1], b[6], b[7] = 2, 1, 0; return b }),
		"slot 33":          mut(good, func(b []byte) []byte { b[1], b[8], b[9] = 2, 0, 33; return b }),
		"device, 2 items":  mut(two, func(b []byte) []byte { b[1] = 2; copy(b[6:], []byte{0, 1, 0, 1, 0, 0}); return b }),
		"v1 length":        mut(goodV1, func(b []byte) []byte { b[16] = 5; return b }),
		"v1 integer size":  mut(goodV1, func(b []byte) []byte { b[16] = 3; return b[:len(b)-1] }),
		"v1 value type":    mut(goodV1, func(b []byte) []byte { b[14] = 7; return b }),
		"v1 IP value type": mut(goodV1, func(b []byte) []byte { b[14] = 3; return b }),
		"v1 short":         goodV1[:16],
	} {
		if _, err := UnmarshalSet(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	if _, err := UnmarshalAck(good[:13]); !errors.Is(err, ErrMalformed) {
		t.Errorf("a Set read as an Ack: err = %v", err)
	}
	for name, s := range map[string]Set{
		"oversized value":   {Target: Target{Kind: KindModule}, Type: Octets, Bytes: bytes.Repeat([]byte{1}, MaxValue+1)},
		"IP of 3 octets":    {Target: Target{Kind: KindModule}, Type: IPAddress, Bytes: []byte{1, 2, 3}},
		"value type 0":      {Target: Target{Kind: KindModule}},
		"device, 2 items":   SetOf(Target{Kind: KindDevice, Slot: ident.At(1, 1)}, Item{Type: Integer}, Item{Type: Integer}),
		"256 items":         SetOf(modA, make([]Item, 256)...),
		"bad second item":   SetOf(modA, Item{Type: Integer}, Item{Type: 9}),
		"target kind 0 set": {Type: Integer},
	} {
		if _, err := MarshalSet(s); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	for _, bad := range []ident.Slot{ident.At(256, 1), ident.At(1, 33), ident.At(-1, 1), ident.At(1, -1)} {
		if _, err := MarshalSet(Set{Target: Target{Kind: KindDevice, Slot: bad}, Type: Integer}); err == nil {
			t.Errorf("device %s was encoded", bad)
		}
	}
	// The edges of the range pass.
	for _, ok := range []ident.Slot{ident.At(0, 0), ident.At(MaxCabinet, MaxSlot)} {
		b, err := MarshalSet(Set{Target: Target{Kind: KindDevice, Slot: ok}, Type: Integer})
		if err != nil {
			t.Fatalf("device %s: %v", ok, err)
		}
		if back, err := UnmarshalSet(b); err != nil || back.Target.Slot != ok {
			t.Errorf("device %s decodes as %+v, %v", ok, back.Target, err)
		}
	}
}

func TestPack(t *testing.T) {
	str := func(o Object, n int) Item {
		return Item{Object: o, Type: Octets, Bytes: []byte(strings.Repeat("a", n))}
	}
	ip := Item{Object: ObjIPAddress, Type: IPAddress, Bytes: []byte{192, 0, 2, 10}}
	// Four full strings and an address do not fit one 1024-octet frame.
	its := []Item{ip, str(ObjSysName, 255), str(ObjSysContact, 255), str(ObjSysLocation, 255), str(ObjGroups, 255)}
	groups, err := Pack(its, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || len(groups[0]) != 4 || groups[0][0].Object != ObjIPAddress || len(groups[1]) != 1 {
		t.Fatalf("groups %d: %v", len(groups), groups)
	}
	for _, g := range groups {
		if n := SetSize(g); n > 1024 {
			t.Errorf("a group of %d octets", n)
		}
	}
	if _, err := Pack([]Item{str(ObjSysName, 255)}, 100); err == nil {
		t.Error("an item larger than the limit was packed")
	}
	if g, _ := Pack(make([]Item, 300), 1<<20); len(g) != 2 || len(g[0]) != MaxItems {
		t.Errorf("300 items pack as %d groups", len(g))
	}
}

func TestRowRoundTrip(t *testing.T) {
	r := Row{Uptime: 0x01020304, Items: []Item{
		{Object: ObjIPAddress, Type: IPAddress, Bytes: []byte{192, 0, 2, 12}},
		{Object: ObjSysName, Type: Octets, Bytes: []byte("m2")},
		{Object: ObjTrapInterval, Type: Integer, Int: 5},
	}}
	bs, err := MarshalRows(r, 1024)
	if err != nil || len(bs) != 1 {
		t.Fatalf("%d payloads, %v", len(bs), err)
	}
	want := "01" + "03" + "01020304" + "0003" + "03" + "0004" + "c000020c" + "000c" + "02" + "0002" + "6d32" + "000a" + "01" + "0004" + "00000005"
	if got := hex.EncodeToString(bs[0]); got != want {
		t.Fatalf("row:\n got %s\nwant %s", got, want)
	}
	back, err := UnmarshalRow(bs[0])
	if err != nil || !reflect.DeepEqual(back, r) {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	// A row too large for one frame takes several, each with the uptime.
	long := Row{Uptime: 7}
	for _, o := range []Object{ObjGroups, ObjSysContact, ObjSysName, ObjSysLocation} {
		long.Items = append(long.Items, Item{Object: o, Type: Octets, Bytes: bytes.Repeat([]byte("z"), 255)})
	}
	bs, err = MarshalRows(long, 1024)
	if err != nil || len(bs) != 2 {
		t.Fatalf("%d payloads, %v", len(bs), err)
	}
	var all []Item
	for _, b := range bs {
		if len(b) > 1024 {
			t.Errorf("payload of %d octets", len(b))
		}
		r, err := UnmarshalRow(b)
		if err != nil || r.Uptime != 7 {
			t.Fatalf("%+v, %v", r, err)
		}
		all = append(all, r.Items...)
	}
	if !reflect.DeepEqual(all, long.Items) {
		t.Error("the parts do not make up the row")
	}
	for name, b := range map[string][]byte{
		"short":    bs[0][:5],
		"version":  append([]byte{2}, bs[0][1:]...),
		"no items": append([]byte{1, 0}, bs[0][2:]...),
	} {
		if _, err := UnmarshalRow(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	s, _ := MarshalSet(Set{ID: 1, Target: Target{Kind: KindDevice, Slot: ident.At(1, 2)}, Object: 3, Type: Octets, Bytes: []byte("x")})
	f.Add(s)
	s, _ = MarshalSet(SetOf(modA, Item{Object: ObjSysName, Type: Octets, Bytes: []byte("n")},
		Item{Object: ObjIPAddress, Type: IPAddress, Bytes: []byte{192, 0, 2, 9}}, Item{Object: ObjWantPrimary, Type: Integer, Int: 2}))
	f.Add(s)
	v1, _ := hex.DecodeString("01" + "01" + "01020304" + "00c0f2000002" + "0001" + "01" + "0004" + "00000003")
	f.Add(v1)
	f.Add(MarshalAck(Ack{ID: 2, Target: Target{Kind: KindModule}}))
	rows, _ := MarshalRows(Row{Uptime: 9, Items: []Item{{Object: ObjGateway, Type: IPAddress, Bytes: []byte{1, 2, 3, 4}}, {Object: ObjSerialNumber, Type: Integer, Int: 4}}}, 1024)
	f.Add(rows[0])
	f.Fuzz(func(t *testing.T, b []byte) {
		if set, err := UnmarshalSet(b); err == nil {
			again, err := MarshalSet(set)
			if err != nil {
				t.Fatalf("set %x decodes to %+v, which does not encode: %v", b, set, err)
			}
			if b[0] == versionV2 && !bytes.Equal(again, b) {
				t.Fatalf("set %x decodes to %+v, which encodes to %x", b, set, again)
			}
			if back, err := UnmarshalSet(again); err != nil || !reflect.DeepEqual(back, set) {
				t.Fatalf("set %x: re-encoded as %x, which decodes to %+v (%v)", b, again, back, err)
			}
		}
		if ack, err := UnmarshalAck(b); err == nil && !bytes.Equal(MarshalAck(ack), b) {
			t.Fatalf("ack %x does not encode back", b)
		}
		if row, err := UnmarshalRow(b); err == nil {
			again, err := MarshalRows(row, len(b))
			if err != nil || len(again) != 1 || !bytes.Equal(again[0], b) {
				t.Fatalf("row %x decodes to %+v, which encodes to %x (%v)", b, row, again, err)
			}
		}
	})
}
