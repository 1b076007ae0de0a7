package pdu

import (
	"bytes"
	"testing"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// FuzzUnmarshal: no input makes the decoder panic; whatever it accepts
// encodes again and decodes to the same packet.
func FuzzUnmarshal(f *testing.F) {
	seeds := []*Packet{
		{Header: Header{Type: TypeOpen, PacketID: 1}, Timeout: 5, ID: smi.MustOID("1.3.6.1.4.1.868"), Descr: []byte("x")},
		{Header: Header{Type: TypeRegister, SessionID: 1}, Priority: 127, RangeSubID: 3, Subtree: smi.MustOID("1.3.6.1.4.1.868.2"), UpperBound: 9},
		{Header: Header{Type: TypeGetNext, Flags: FlagNetworkByteOrder}, SearchRanges: []SearchRange{{Start: smi.MustOID("1.3.6.1.4.1.868"), Include: true, End: smi.MustOID("1.3.6.1.4.1.869")}}},
		{Header: Header{Type: TypeGetBulk}, NonRepeaters: 1, MaxRepetitions: 10, SearchRanges: []SearchRange{{Start: smi.MustOID("1.3")}, {Start: smi.MustOID("1.3.6")}}},
		{Header: Header{Type: TypeTestSet, Flags: FlagNonDefaultContext}, Context: []byte("c"), VarBinds: []smi.VarBind{
			{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.2.1.1.12.1.1"), Value: smi.Integer(3)},
			{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.2.1.1.21.1.1"), Value: smi.String("name")},
			{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.2.1.1.8.1.1"), Value: smi.IPAddressBytes([4]byte{192, 0, 2, 1})},
			{Name: smi.MustOID("1.2"), Value: smi.Counter64(5)}, {Name: smi.MustOID("1.2"), Value: smi.ObjectID(smi.MustOID("1.3.6.1.6"))}}},
		{Header: Header{Type: TypeResponse, Flags: FlagNetworkByteOrder}, Error: smi.WrongValue, Index: 1,
			VarBinds: []smi.VarBind{{Name: smi.MustOID("1.3"), Value: smi.Exception(smi.TypeEndOfMibView)}}},
		{Header: Header{Type: TypeClose}, Reason: 1},
	}
	for _, p := range seeds {
		b, err := Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Unmarshal(data)
		if err != nil {
			if p != nil {
				t.Fatal("a packet together with an error")
			}
			// ReadPacket must agree and not panic either.
			_, _ = ReadPacket(bytes.NewReader(data), 1<<16)
			return
		}
		again, err := Marshal(p)
		if err != nil {
			t.Fatalf("decoded packet does not encode: %v", err)
		}
		back, err := Unmarshal(again)
		if err != nil {
			t.Fatalf("re-encoded packet does not decode: %v", err)
		}
		if !packetsEqual(back, p) {
			t.Fatalf("round trip changed the packet:\n%+v\n%+v", p, back)
		}
	})
}
