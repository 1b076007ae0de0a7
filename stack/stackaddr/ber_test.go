package stackaddr

import (
	"testing"

	"github.com/gosnmp/gosnmp"

	"github.com/cpsmm/cpsmm/mib"
)

// message encodes one SNMPv2c PDU as gosnmp (a manager) does.
func message(t testing.TB, typ gosnmp.PDUType, reqID uint32, vbs ...gosnmp.SnmpPDU) []byte {
	t.Helper()
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: typ, RequestID: reqID, Variables: vbs}
	if typ == gosnmp.GetBulkRequest {
		p.MaxRepetitions = 10
	}
	b, err := p.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadHeader(t *testing.T) {
	null := gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.Null}
	long := make([]gosnmp.SnmpPDU, 40) // a message over 255 octets: long-form lengths
	for i := range long {
		long[i] = null
	}
	for _, tc := range []struct {
		typ  gosnmp.PDUType
		id   uint32
		tag  byte
		vbs  []gosnmp.SnmpPDU
		name string
	}{
		{gosnmp.GetRequest, 1, tagGet, []gosnmp.SnmpPDU{null}, "get"},
		{gosnmp.GetNextRequest, 0x7fffffff, tagGetNext, []gosnmp.SnmpPDU{null}, "getnext, largest id"},
		{gosnmp.GetBulkRequest, 300, tagGetBulk, []gosnmp.SnmpPDU{null}, "getbulk"},
		{gosnmp.SetRequest, 77777, tagSet, []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.OctetString, Value: "x"}}, "set"},
		{gosnmp.GetResponse, 128, tagResponse, long, "response, long form"},
	} {
		h, ok := readHeader(message(t, tc.typ, tc.id, tc.vbs...))
		if !ok || h.tag != tc.tag || h.reqID != int64(tc.id) {
			t.Errorf("%s: read %+v %v, want tag %#x id %d", tc.name, h, ok, tc.tag, tc.id)
		}
	}
	for _, b := range [][]byte{nil, {0x30}, {0x30, 0x03, 0x02, 0x01, 0x01}, {0x30, 0x85, 1, 1, 1, 1, 1}, {0x04, 0x00}} {
		if h, ok := readHeader(b); ok {
			t.Errorf("% x: read %+v", b, h)
		}
	}
}

// TestSayNo: the pattern is what an snmpd puts in a GetResponse.
func TestSayNo(t *testing.T) {
	reg := mib.DefaultRegistry()
	oid := reg.MustLookup("cpsIsPrimary").OID.Append(0)
	pat := sayNo(oid)
	no := message(t, gosnmp.GetResponse, 5, gosnmp.SnmpPDU{Name: "." + oid.String(), Type: gosnmp.Integer, Value: 2})
	yes := message(t, gosnmp.GetResponse, 5, gosnmp.SnmpPDU{Name: "." + oid.String(), Type: gosnmp.Integer, Value: 1})
	other := message(t, gosnmp.GetResponse, 5, gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.7.0", Type: gosnmp.Integer, Value: 2})
	if !containsAny(no, [][]byte{pat}) || containsAny(yes, [][]byte{pat}) || containsAny(other, [][]byte{pat}) {
		t.Errorf("pattern % x: no %v, yes %v, other %v", pat, containsAny(no, [][]byte{pat}), containsAny(yes, [][]byte{pat}), containsAny(other, [][]byte{pat}))
	}
	missing := message(t, gosnmp.GetResponse, 5, gosnmp.SnmpPDU{Name: "." + oid.String(), Type: gosnmp.NoSuchObject})
	if !containsAny(missing, sayMissing(oid)) || containsAny(yes, sayMissing(oid)) {
		t.Errorf("noSuchObject pattern % x not in % x", sayMissing(oid), missing)
	}
	// Arcs of more than one octet (868, 8072).
	big := reg.MustLookup("cpsmm100IsPrimary").OID.Append(200, 18)
	m := message(t, gosnmp.GetResponse, 6, gosnmp.SnmpPDU{Name: "." + big.String(), Type: gosnmp.Integer, Value: 2})
	if !containsAny(m, [][]byte{sayNo(big)}) {
		t.Errorf("% x not in % x", sayNo(big), m)
	}
}

// FuzzReadHeader: no datagram makes the relay's reader panic, and what it
// accepts is a PDU tag with a request-id that fits 32 bits.
func FuzzReadHeader(f *testing.F) {
	f.Add(message(f, gosnmp.GetRequest, 1, gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.Null}))
	f.Add(message(f, gosnmp.SetRequest, 99, gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.OctetString, Value: "x"}))
	f.Add([]byte{0x30, 0x81, 0x05, 0x02, 0x01, 0x01, 0x04, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := readHeader(b)
		if ok && (h.tag < 0xa0 || h.tag > 0xa8 || h.reqID < -1<<31 || h.reqID > 1<<31-1) {
			t.Fatalf("accepted %+v from % x", h, b)
		}
	})
}
