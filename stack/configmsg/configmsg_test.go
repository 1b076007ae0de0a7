package configmsg

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/cpsmm/cpsmm/stack/ident"
)

func TestSetGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  Set
		hex  string
	}{
		{"module want", Set{ID: 0x01020304, Target: Target{Kind: KindModule, MAC: [6]byte{0, 0xc0, 0xf2, 0, 0, 2}}, Object: ObjWantPrimary, Type: Integer, Int: 3},
			"01" + "01" + "01020304" + "00c0f2000002" + "0001" + "01" + "0004" + "00000003"},
		{"device octets", Set{ID: 7, Target: Target{Kind: KindDevice, Slot: ident.At(2, 16)}, Object: 9, Type: Octets, Bytes: []byte("ab")},
			"01" + "02" + "00000007" + "000200100000" + "0009" + "02" + "0002" + "6162"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := MarshalSet(tc.set)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != tc.hex {
				t.Fatalf("marshal:\n got %s\nwant %s", got, tc.hex)
			}
			back, err := UnmarshalSet(b)
			if err != nil {
				t.Fatal(err)
			}
			if tc.set.Bytes == nil {
				back.Bytes = nil
			}
			if !reflect.DeepEqual(back, tc.set) {
				t.Fatalf("round trip: %+v, want %+v", back, tc.set)
			}
		})
	}
}

func TestAckRoundTrip(t *testing.T) {
	for _, a := range []Ack{
		{ID: 9, Target: Target{Kind: KindModule, MAC: [6]byte{1, 2, 3, 4, 5, 6}}, Status: OK},
		{ID: 1 << 31, Target: Target{Kind: KindDevice, Slot: ident.At(1, 3)}, Status: Refused},
	} {
		back, err := UnmarshalAck(MarshalAck(a))
		if err != nil || back != a {
			t.Fatalf("%+v: got %+v, %v", a, back, err)
		}
	}
}

func TestMalformed(t *testing.T) {
	good, _ := MarshalSet(Set{ID: 1, Target: Target{Kind: KindModule}, Object: ObjWantPrimary, Type: Integer, Int: 1})
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, good...)) }
	for name, b := range map[string][]byte{
		"short":          good[:10],
		"version":        mut(func(b []byte) []byte { b[0] = 2; return b }),
		"kind":           mut(func(b []byte) []byte { b[1] = 9; return b }),
		"value type":     mut(func(b []byte) []byte { b[14] = 7; return b }),
		"length":         mut(func(b []byte) []byte { b[16] = 5; return b }),
		"truncated":      good[:len(good)-1],
		"integer size":   mut(func(b []byte) []byte { b[16] = 3; return b[:len(b)-1] }),
		"device padding": mut(func(b []byte) []byte { b[1], b[11] = 2, 1; return b }),
		"cabinet 256":    mut(func(b []byte) []byte { b[1], b[6], b[7] = 2, 1, 0; return b }),
		"slot 33":        mut(func(b []byte) []byte { b[1], b[8], b[9] = 2, 0, 33; return b }),
	} {
		if _, err := UnmarshalSet(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	if _, err := UnmarshalAck(good[:13]); !errors.Is(err, ErrMalformed) {
		t.Errorf("a Set read as an Ack: err = %v", err)
	}
	if _, err := MarshalSet(Set{Target: Target{Kind: KindModule}, Type: Octets, Bytes: bytes.Repeat([]byte{1}, MaxValue+1)}); err == nil {
		t.Error("an oversized value was encoded")
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

func FuzzUnmarshal(f *testing.F) {
	s, _ := MarshalSet(Set{ID: 1, Target: Target{Kind: KindDevice, Slot: ident.At(1, 2)}, Object: 3, Type: Octets, Bytes: []byte("x")})
	f.Add(s)
	f.Add(MarshalAck(Ack{ID: 2, Target: Target{Kind: KindModule}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if set, err := UnmarshalSet(b); err == nil {
			again, err := MarshalSet(set)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("set %x decodes to %+v, which encodes to %x (%v)", b, set, again, err)
			}
		}
		if ack, err := UnmarshalAck(b); err == nil && !bytes.Equal(MarshalAck(ack), b) {
			t.Fatalf("ack %x does not encode back", b)
		}
	})
}
