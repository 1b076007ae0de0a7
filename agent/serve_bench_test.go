package agent

import (
	"testing"

	"github.com/cpsmm/cpsmm/agent/pdu"
	"github.com/cpsmm/cpsmm/mib/smi"
)

// BenchmarkServeGetNext is the subagent's own work for one GetNext: decode,
// look up, encode. It is what the subagent adds to each AgentX round trip.
func BenchmarkServeGetNext(b *testing.B) {
	s := testStore(b)
	req, err := pdu.Marshal(&pdu.Packet{Header: pdu.Header{Type: pdu.TypeGetNext, SessionID: 1, PacketID: 2},
		SearchRanges: []pdu.SearchRange{{Start: colSlot.Append(1, 1), End: smi.MustOID("1.3.6.1.4.1.868.2.5")}}})
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p, err := pdu.Unmarshal(req)
		if err != nil {
			b.Fatal(err)
		}
		vbs := []smi.VarBind{getNext(s, p.SearchRanges[0])}
		res := &pdu.Packet{Header: pdu.Header{Type: pdu.TypeResponse, SessionID: 1, PacketID: 2}, VarBinds: vbs}
		if buf, err = pdu.AppendMarshal(buf[:0], res); err != nil {
			b.Fatal(err)
		}
	}
}
