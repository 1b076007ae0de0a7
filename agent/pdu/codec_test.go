package pdu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// unhex decodes hex with spaces and '|' separators allowed.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.NewReplacer(" ", "", "|", "", "\n", "", "\t", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad golden hex %q: %v", s, err)
	}
	return b
}

// le32 and be32 write a length field by hand (the goldens do not come from
// the encoder under test).
func le32(n int) string {
	return hex.EncodeToString([]byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)})
}
func be32(n int) string {
	return hex.EncodeToString([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// TestVarBindGolden: a Response carrying one varbind of every type, in both
// byte orders, against hand-written bytes.
func TestVarBindGolden(t *testing.T) {
	name := smi.MustOID("1.3.6.1.4.1.868.2")
	tests := []struct {
		name     string
		v        smi.Value
		typLE    string // type + reserved
		dataLE   string
		typBE    string
		dataBE   string
		wantBack *smi.Value // when decoding gives a different but equal value
	}{
		{"Integer 1", smi.Integer(1), "0200 0000", "01000000", "0002 0000", "00000001", nil},
		{"Integer -2", smi.Integer(-2), "0200 0000", "feffffff", "0002 0000", "fffffffe", nil},
		{"OctetString", smi.String("abc"), "0400 0000", "03000000 61626300", "0004 0000", "00000003 61626300", nil},
		{"OctetString empty", smi.OctetString(nil), "0400 0000", "00000000", "0004 0000", "00000000", nil},
		{"OctetString 4", smi.String("abcd"), "0400 0000", "04000000 61626364", "0004 0000", "00000004 61626364", nil},
		{"Null", smi.Null(), "0500 0000", "", "0005 0000", "", nil},
		{"ObjectID prefixed", smi.ObjectID(smi.MustOID("1.3.6.1.2.1.1.3.0")), "0600 0000",
			"04020000 01000000 01000000 03000000 00000000", "0006 0000", "04020000 00000001 00000001 00000003 00000000", nil},
		{"ObjectID plain", smi.ObjectID(smi.MustOID("1.2.3")), "0600 0000",
			"03000000 01000000 02000000 03000000", "0006 0000", "03000000 00000001 00000002 00000003", nil},
		{"ObjectID null", smi.ObjectID(smi.OID{}), "0600 0000", "00000000", "0006 0000", "00000000", nil},
		{"IpAddress", smi.IPAddressBytes([4]byte{192, 0, 2, 1}), "4000 0000", "04000000 c0000201", "0040 0000", "00000004 c0000201", nil},
		{"Counter32", smi.Counter32(4294967295), "4100 0000", "ffffffff", "0041 0000", "ffffffff", nil},
		{"Gauge32", smi.Gauge32(7), "4200 0000", "07000000", "0042 0000", "00000007", nil},
		{"TimeTicks", smi.TimeTicks(100), "4300 0000", "64000000", "0043 0000", "00000064", nil},
		{"Opaque", smi.Opaque([]byte{0x9f, 0x78}), "4400 0000", "02000000 9f780000", "0044 0000", "00000002 9f780000", nil},
		{"Counter64", smi.Counter64(0x0102030405060708), "4600 0000", "0807060504030201", "0046 0000", "0102030405060708", nil},
		{"noSuchObject", smi.Exception(smi.TypeNoSuchObject), "8000 0000", "", "0080 0000", "", nil},
		{"noSuchInstance", smi.Exception(smi.TypeNoSuchInstance), "8100 0000", "", "0081 0000", "", nil},
		{"endOfMibView", smi.Exception(smi.TypeEndOfMibView), "8200 0000", "", "0082 0000", "", nil},
	}
	// Name 1.3.6.1.4.1.868.2: prefix 4, sub-identifiers 1, 868, 2.
	nameLE := "03040000 01000000 64030000 02000000"
	nameBE := "03040000 00000001 00000364 00000002"
	for _, tc := range tests {
		for _, be := range []bool{false, true} {
			var golden string
			if be {
				vb := tc.typBE + nameBE + tc.dataBE
				payload := "00000000 0000 0000" + vb
				golden = "01121000 00000001 00000002 00000003" + be32(len(unhex(t, payload))) + payload
			} else {
				vb := tc.typLE + nameLE + tc.dataLE
				payload := "00000000 0000 0000" + vb
				golden = "01120000 01000000 02000000 03000000" + le32(len(unhex(t, payload))) + payload
			}
			want := unhex(t, golden)
			p := &Packet{Header: Header{Type: TypeResponse, SessionID: 1, TransactionID: 2, PacketID: 3},
				VarBinds: []smi.VarBind{{Name: name, Value: tc.v}}}
			if be {
				p.Header.Flags = FlagNetworkByteOrder
			}
			got, err := Marshal(p)
			if err != nil {
				t.Fatalf("%s be=%v: %v", tc.name, be, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s be=%v: encoded\n%x\nwant\n%x", tc.name, be, got, want)
			}
			back, err := Unmarshal(want)
			if err != nil {
				t.Fatalf("%s be=%v: decode golden: %v", tc.name, be, err)
			}
			if len(back.VarBinds) != 1 || !back.VarBinds[0].Name.Equal(name) || !back.VarBinds[0].Value.Equal(tc.v) {
				t.Errorf("%s be=%v: decoded %v", tc.name, be, back.VarBinds)
			}
		}
	}
}

// TestIntegerOffset pins the bug that disqualified go-agentx: the value of
// an Integer varbind follows its name; int32 1 must not decode as 720896.
func TestIntegerOffset(t *testing.T) {
	b := unhex(t, "01080000 01000000 05000000 06000000 18000000"+
		"0200 0000 03040000 01000000 64030000 02000000 01000000")
	p, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Header.Type != TypeTestSet || len(p.VarBinds) != 1 || p.VarBinds[0].Value.Int != 1 {
		t.Fatalf("decoded %+v", p.VarBinds)
	}
}

func TestPDUGolden(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		p      *Packet
	}{
		{"Open LE", "01010000 00000000 00000000 01000000 18000000" +
			"05000000 02040000 01000000 64030000 04000000 74657374",
			&Packet{Header: Header{Type: TypeOpen, PacketID: 1}, Timeout: 5, ID: smi.MustOID("1.3.6.1.4.1.868"), Descr: []byte("test")}},
		{"Register with range LE", "01030000 2a000000 00000000 02000000 30000000" +
			"007f0d00 09040000 01000000 64030000 02000000 04000000 01000000 02000000 01000000 01000000 01000000 03000000",
			&Packet{Header: Header{Type: TypeRegister, SessionID: 42, PacketID: 2}, Priority: 127, RangeSubID: 13,
				Subtree: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.1.1.1"), UpperBound: 3}},
		{"Register BE", "01031000 0000002a 00000000 00000003 00000010" +
			"057f0000 02040000 00000001 00000364",
			&Packet{Header: Header{Type: TypeRegister, Flags: FlagNetworkByteOrder, SessionID: 42, PacketID: 3}, Timeout: 5, Priority: 127,
				Subtree: smi.MustOID("1.3.6.1.4.1.868")}},
		{"GetNext include and end BE", "01061000 0000002a 00000001 00000005 00000020" +
			"03040100 00000001 00000364 00000002 03040000 00000001 00000364 00000003",
			&Packet{Header: Header{Type: TypeGetNext, Flags: FlagNetworkByteOrder, SessionID: 42, TransactionID: 1, PacketID: 5},
				SearchRanges: []SearchRange{{Start: smi.MustOID("1.3.6.1.4.1.868.2"), Include: true, End: smi.MustOID("1.3.6.1.4.1.868.3")}}}},
		{"GetBulk LE", "01070000 2a000000 01000000 06000000 14000000" +
			"0000 0a00 02040000 01000000 64030000 00000000",
			&Packet{Header: Header{Type: TypeGetBulk, SessionID: 42, TransactionID: 1, PacketID: 6}, NonRepeaters: 0, MaxRepetitions: 10,
				SearchRanges: []SearchRange{{Start: smi.MustOID("1.3.6.1.4.1.868"), End: smi.OID{}}}}},
		{"TestSet LE", "01080000 2a000000 07000000 08000000 18000000" +
			"0200 0000 03040000 01000000 64030000 02000000 03000000",
			&Packet{Header: Header{Type: TypeTestSet, SessionID: 42, TransactionID: 7, PacketID: 8},
				VarBinds: []smi.VarBind{{Name: smi.MustOID("1.3.6.1.4.1.868.2"), Value: smi.Integer(3)}}}},
		{"Notify LE", "010c0000 2a000000 00000000 09000000 30000000" +
			"0600 0000 06060000 03000000 01000000 01000000 04000000 01000000 00000000 03040000 01000000 64030000 01000000",
			&Packet{Header: Header{Type: TypeNotify, SessionID: 42, PacketID: 9},
				VarBinds: []smi.VarBind{{Name: smi.MustOID("1.3.6.1.6.3.1.1.4.1.0"), Value: smi.ObjectID(smi.MustOID("1.3.6.1.4.1.868.1"))}}}},
		{"Close LE", "01020000 2a000000 00000000 0a000000 04000000 05000000",
			&Packet{Header: Header{Type: TypeClose, SessionID: 42, PacketID: 10}, Reason: ReasonShutdown}},
		{"Ping with context LE", "010d0800 2a000000 00000000 0b000000 08000000 02000000 61620000",
			&Packet{Header: Header{Type: TypePing, Flags: FlagNonDefaultContext, SessionID: 42, PacketID: 11}, Context: []byte("ab")}},
		{"CommitSet BE", "01091000 0000002a 00000007 0000000c 00000000",
			&Packet{Header: Header{Type: TypeCommitSet, Flags: FlagNetworkByteOrder, SessionID: 42, TransactionID: 7, PacketID: 12}}},
	}
	for _, tc := range tests {
		want := unhex(t, tc.golden)
		got, err := Marshal(tc.p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: encoded\n%x\nwant\n%x", tc.name, got, want)
		}
		back, err := Unmarshal(want)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		exp := *tc.p
		exp.Header.Version = 1
		exp.Header.PayloadLength = uint32(len(want) - HeaderSize)
		if !packetsEqual(back, &exp) {
			t.Errorf("%s: decoded\n%+v\nwant\n%+v", tc.name, back, &exp)
		}
	}
}

// packetsEqual compares packets treating nil and empty slices alike.
func packetsEqual(a, b *Packet) bool {
	norm := func(p *Packet) Packet {
		q := *p
		if len(q.Context) == 0 {
			q.Context = nil
		}
		if len(q.Descr) == 0 {
			q.Descr = nil
		}
		if len(q.ID) == 0 {
			q.ID = nil
		}
		if len(q.Subtree) == 0 {
			q.Subtree = nil
		}
		if len(q.SearchRanges) == 0 {
			q.SearchRanges = nil
		}
		q.SearchRanges = append([]SearchRange(nil), q.SearchRanges...)
		for i := range q.SearchRanges {
			if len(q.SearchRanges[i].End) == 0 {
				q.SearchRanges[i].End = nil
			}
			if len(q.SearchRanges[i].Start) == 0 {
				q.SearchRanges[i].Start = nil
			}
		}
		if len(q.VarBinds) == 0 {
			q.VarBinds = nil
		}
		q.VarBinds = append([]smi.VarBind(nil), q.VarBinds...)
		for i := range q.VarBinds {
			v := &q.VarBinds[i].Value
			if len(v.Bytes) == 0 {
				v.Bytes = nil
			}
			if len(v.OID) == 0 {
				v.OID = nil
			}
		}
		return q
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func TestRoundTripEveryType(t *testing.T) {
	vbs := []smi.VarBind{
		{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.1"), Value: smi.Integer(-7)},
		{Name: smi.MustOID("1.3.6.1.2.1.1.5.0"), Value: smi.String("sysname with spaces")},
		{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.2"), Value: smi.IPAddressBytes([4]byte{10, 0, 0, 1})},
		{Name: smi.MustOID("0.0"), Value: smi.Counter64(1 << 63)},
	}
	rng := []SearchRange{{Start: smi.MustOID("1.3.6.1.4.1.868"), Include: true, End: smi.MustOID("1.3.6.1.4.1.869")}, {Start: smi.MustOID("1.3")}}
	all := []*Packet{
		{Header: Header{Type: TypeOpen}, Timeout: 9, ID: smi.MustOID("1.3.6.1.4.1.868.1.4.1.2.1"), Descr: []byte("odd")},
		{Header: Header{Type: TypeClose}, Reason: ReasonParseError},
		{Header: Header{Type: TypeRegister, Flags: FlagInstanceRegistration}, Timeout: 1, Priority: 2, Subtree: smi.MustOID("1.3.6.1.4.1.868.2.4")},
		{Header: Header{Type: TypeUnregister}, Priority: 2, RangeSubID: 7, Subtree: smi.MustOID("1.3.6.1.4.1.868.2.4"), UpperBound: 9},
		{Header: Header{Type: TypeGet}, SearchRanges: rng},
		{Header: Header{Type: TypeGetNext, Flags: FlagNonDefaultContext}, Context: []byte("ctx"), SearchRanges: rng},
		{Header: Header{Type: TypeGetBulk}, NonRepeaters: 1, MaxRepetitions: 50, SearchRanges: rng},
		{Header: Header{Type: TypeTestSet}, VarBinds: vbs},
		{Header: Header{Type: TypeCommitSet}}, {Header: Header{Type: TypeUndoSet}}, {Header: Header{Type: TypeCleanupSet}},
		{Header: Header{Type: TypeNotify}, VarBinds: vbs},
		{Header: Header{Type: TypePing}},
		{Header: Header{Type: TypeIndexAllocate, Flags: FlagAnyIndex}, VarBinds: vbs},
		{Header: Header{Type: TypeIndexDeallocate}, VarBinds: vbs},
		{Header: Header{Type: TypeAddAgentCaps}, ID: smi.MustOID("1.3.6.1.4.1.868.9"), Descr: []byte("caps")},
		{Header: Header{Type: TypeRemoveAgentCaps}, ID: smi.MustOID("1.3.6.1.4.1.868.9")},
		{Header: Header{Type: TypeResponse}, SysUpTime: 12345, Error: smi.WrongValue, Index: 2, VarBinds: vbs},
	}
	for _, p := range all {
		for _, flags := range []uint8{0, FlagNetworkByteOrder} {
			q := *p
			q.Header.Flags |= flags
			q.Header.SessionID, q.Header.TransactionID, q.Header.PacketID = 0x01020304, 0x05060708, 0x090a0b0c
			b, err := Marshal(&q)
			if err != nil {
				t.Fatalf("type %d: %v", q.Header.Type, err)
			}
			back, err := Unmarshal(b)
			if err != nil {
				t.Fatalf("type %d flags %#x: %v", q.Header.Type, flags, err)
			}
			q.Header.Version, q.Header.PayloadLength = 1, uint32(len(b)-HeaderSize)
			if !packetsEqual(back, &q) {
				t.Errorf("type %d flags %#x: round trip\n%+v\nwant\n%+v", q.Header.Type, flags, back, &q)
			}
		}
	}
}

func TestMalformed(t *testing.T) {
	hdr := func(typ, flags byte, payload string) string {
		return hex.EncodeToString([]byte{1, typ, flags, 0}) + "2a000000 00000000 07000000" + le32(len(unhex(t, payload))) + payload
	}
	tests := []struct {
		name     string
		hex      string
		headerOK bool
	}{
		{"short header", "0105", false},
		{"version 2", "02050000 2a000000 00000000 07000000 00000000", false},
		{"payload not multiple of 4", "01050000 2a000000 00000000 07000000 03000000 000000", false},
		{"payload shorter than header says", "01050000 2a000000 00000000 07000000 08000000 00000000", true},
		{"unknown PDU type", hdr(99, 0, ""), true},
		{"type zero", hdr(0, 0, ""), true},
		{"OID of 200 sub-identifiers", hdr(5, 0, "c8000000 00000000"), true},
		{"OID longer than payload", hdr(5, 0, "02000000 01000000"), true},
		{"include byte 2", hdr(5, 0, "00000200 00000000"), true},
		{"octet string past the end", hdr(12, 0, "0400 0000 00000000 ff000000"), true},
		{"octet string huge length", hdr(12, 0, "0400 0000 00000000 ffffffff"), true},
		{"unknown varbind type", hdr(12, 0, "0300 0000 00000000"), true},
		{"truncated integer", hdr(12, 0, "0200 0000 00000000"), true},
		{"trailing bytes after Close", hdr(2, 0, "01000000 00000000"), true},
		{"Open without descr", hdr(1, 0, "05000000 00000000"), true},
		{"range subid beyond subtree", hdr(3, 0, "00000500 01000000 01000000 09000000"), true},
		{"context missing", hdr(13, FlagNonDefaultContext, ""), true},
		{"GetBulk without counts", hdr(7, 0, ""), true},
		{"Response truncated", hdr(18, 0, "00000000"), true},
	}
	for _, tc := range tests {
		_, err := Unmarshal(unhex(t, tc.hex))
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: %v is not a ParseError", tc.name, err)
			continue
		}
		if pe.HeaderOK != tc.headerOK {
			t.Errorf("%s: HeaderOK = %v, want %v (%v)", tc.name, pe.HeaderOK, tc.headerOK, err)
		}
		if tc.headerOK && pe.Header.PacketID != 7 {
			t.Errorf("%s: header packet ID %d not kept", tc.name, pe.Header.PacketID)
		}
	}
}

func TestReadPacket(t *testing.T) {
	a, _ := Marshal(&Packet{Header: Header{Type: TypePing, PacketID: 1}})
	b, _ := Marshal(&Packet{Header: Header{Type: TypeGet, PacketID: 2, Flags: FlagNetworkByteOrder},
		SearchRanges: []SearchRange{{Start: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.2.1.1.12.1.1")}}})
	r := bytes.NewReader(append(append([]byte{}, a...), b...))
	for i, want := range []Type{TypePing, TypeGet} {
		p, err := ReadPacket(r, 1024)
		if err != nil || p.Header.Type != want || p.Header.PacketID != uint32(i+1) {
			t.Fatalf("packet %d: %v %+v", i, err, p)
		}
	}
	if _, err := ReadPacket(r, 1024); !errors.Is(err, io.EOF) {
		t.Errorf("at end: %v, want EOF", err)
	}
	// A payload over the limit is refused before it is read.
	if _, err := ReadPacket(bytes.NewReader(b), 8); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("over the limit: %v", err)
	}
	// A stream cut inside the payload.
	if _, err := ReadPacket(bytes.NewReader(b[:len(b)-2]), 1024); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut payload: %v", err)
	}
}

func TestEncodeRefusesOverlongOID(t *testing.T) {
	long := make(smi.OID, 129)
	if _, err := Marshal(&Packet{Header: Header{Type: TypeGet}, SearchRanges: []SearchRange{{Start: long}}}); err == nil {
		t.Error("encoded an OID of 129 sub-identifiers")
	}
	if _, err := Marshal(&Packet{Header: Header{Type: TypeResponse}, VarBinds: []smi.VarBind{{Name: smi.OID{1}, Value: smi.Value{Type: 99}}}}); err == nil {
		t.Error("encoded an unknown varbind type")
	}
}

func BenchmarkMarshalResponse(b *testing.B) {
	p := &Packet{Header: Header{Type: TypeResponse, SessionID: 1, PacketID: 2},
		VarBinds: []smi.VarBind{{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.2.1.1.21.1.1"), Value: smi.String("cpsmm-1")}}}
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var err error
		if buf, err = AppendMarshal(buf[:0], p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalGetNext(b *testing.B) {
	raw, _ := Marshal(&Packet{Header: Header{Type: TypeGetNext, SessionID: 1, PacketID: 2},
		SearchRanges: []SearchRange{{Start: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.2.1.1.21.1.1"), End: smi.MustOID("1.3.6.1.4.1.868.2.5")}}})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
	}
}
