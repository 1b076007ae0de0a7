package pdu

import (
	"testing"

	"github.com/cpsmm/cpsmm/mib/smi"
)

func BenchmarkMarshalResponse(b *testing.B) {
	p := &Packet{
		Header: Header{Type: TypeResponse, SessionID: 1, TransactionID: 2, PacketID: 3},
		VarBinds: []smi.VarBind{
			{Name: smi.MustOID("1.3.6.1.4.1.868.2.5.4.1.1.1.1.1"), Value: smi.String("CPSMM100 management module")},
		},
	}
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var err error
		if buf, err = AppendMarshal(buf[:0], p); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkUnmarshalGetNext(b *testing.B) {
	req, err := Marshal(&Packet{
		Header: Header{Type: TypeGetNext, SessionID: 1, TransactionID: 2, PacketID: 3},
		SearchRanges: []SearchRange{{
			Start: smi.MustOID("1.3.6.1.4.1.868.2.5.4.1.1.1.1.1"),
			End:   smi.MustOID("1.3.6.1.4.1.868.2.5"),
		}},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Unmarshal(req); err != nil {
			b.Fatal(err)
		}
	}
}
