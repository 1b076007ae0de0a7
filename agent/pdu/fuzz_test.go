package pdu

import (
	"bytes"
	"testing"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// FuzzUnmarshal: no input makes the decoder panic; whatever it accepts
// encodes again and decodes to the same packet, and ReadPacket agrees
// with Unmarshal.
func FuzzUnmarshal(f *testing.F) {
	for i := range varBindCases {
		for _, be := range []bool{false, true} {
			b, _ := varBindGolden(f, i, be)
			f.Add(b)
		}
	}
	for _, tc := range pduGoldens {
		f.Add(unhex(f, tc.golden))
	}
	for _, tc := range malformed(f) {
		f.Add(tc.b)
	}
	seeds := append(allPDUs(),
		&Packet{Header: Header{Type: TypeTestSet, Flags: FlagNonDefaultContext | FlagNetworkByteOrder}, Context: []byte("c"), VarBinds: []smi.VarBind{
			{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.2.1.1.12.1.1"), Value: smi.Integer(3)},
			{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.2.1.1.21.1.1"), Value: smi.String("name")},
			{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.2.1.1.8.1.1"), Value: smi.IPAddressBytes([4]byte{192, 0, 2, 1})},
			{Name: smi.MustOID("1.2"), Value: smi.Counter64(5)}, {Name: smi.MustOID("1.2"), Value: smi.ObjectID(smi.MustOID("1.3.6.1.6"))}}},
	)
	for _, p := range seeds {
		b, err := Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := append([]byte(nil), data...)
		p, err := Unmarshal(data)
		if !bytes.Equal(in, data) {
			t.Fatal("Unmarshal changed its input")
		}
		rp, rerr := ReadPacket(bytes.NewReader(data), 1<<20)
		if err != nil {
			if p != nil {
				t.Fatal("a packet together with an error")
			}
			if rerr == nil && len(data) == HeaderSize+int(rp.Header.PayloadLength) {
				t.Fatalf("ReadPacket accepts what Unmarshal refuses (%v)", err)
			}
			return
		}
		if rerr != nil || !packetsEqual(rp, p) {
			t.Fatalf("ReadPacket disagrees: %+v, %v\nUnmarshal: %+v", rp, rerr, p)
		}
		again, err := Marshal(p)
		if err != nil {
			t.Fatalf("decoded packet does not encode: %v", err)
		}
		// The input may be longer (an OID not prefix-compressed), never shorter.
		if len(again) > len(data) {
			t.Fatalf("re-encoded to %d bytes, from %d", len(again), len(data))
		}
		back, err := Unmarshal(again)
		if err != nil {
			t.Fatalf("re-encoded packet does not decode: %v", err)
		}
		back.Header.PayloadLength = p.Header.PayloadLength
		if !packetsEqual(back, p) {
			t.Fatalf("round trip changed the packet:\n%+v\n%+v", p, back)
		}
		// The encoding is canonical: a second round gives the same bytes.
		if third, err := Marshal(back); err != nil || !bytes.Equal(third, again) {
			t.Fatalf("second re-encoding differs: %v\n%x\n%x", err, again, third)
		}
	})
}
