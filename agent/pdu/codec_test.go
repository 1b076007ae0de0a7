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

// varBindCases are one varbind of every type, with its type field and its
// data written by hand in both byte orders.
var varBindCases = []struct {
	name   string
	v      smi.Value
	typLE  string // type + reserved
	dataLE string
	typBE  string
	dataBE string
}{
	{"Integer 1", smi.Integer(1), "0200 0000", "01000000", "0002 0000", "00000001"},
	{"Integer -2", smi.Integer(-2), "0200 0000", "feffffff", "0002 0000", "fffffffe"},
	{"Integer min", smi.Integer(-2147483648), "0200 0000", "00000080", "0002 0000", "80000000"},
	{"OctetString", smi.String("abc"), "0400 0000", "03000000 61626300", "0004 0000", "00000003 61626300"},
	{"OctetString empty", smi.OctetString(nil), "0400 0000", "00000000", "0004 0000", "00000000"},
	{"OctetString 4", smi.String("abcd"), "0400 0000", "04000000 61626364", "0004 0000", "00000004 61626364"},
	{"OctetString 5", smi.String("abcde"), "0400 0000", "05000000 61626364 65000000", "0004 0000", "00000005 61626364 65000000"},
	{"Null", smi.Null(), "0500 0000", "", "0005 0000", ""},
	{"ObjectID prefixed", smi.ObjectID(smi.MustOID("1.3.6.1.2.1.1.3.0")), "0600 0000",
		"04020000 01000000 01000000 03000000 00000000", "0006 0000", "04020000 00000001 00000001 00000003 00000000"},
	{"ObjectID prefix only", smi.ObjectID(smi.MustOID("1.3.6.1.4")), "0600 0000", "00040000", "0006 0000", "00040000"},
	{"ObjectID plain", smi.ObjectID(smi.MustOID("1.2.3")), "0600 0000",
		"03000000 01000000 02000000 03000000", "0006 0000", "03000000 00000001 00000002 00000003"},
	{"ObjectID fifth sub-identifier 0", smi.ObjectID(smi.MustOID("1.3.6.1.0.7")), "0600 0000",
		"06000000 01000000 03000000 06000000 01000000 00000000 07000000", "0006 0000",
		"06000000 00000001 00000003 00000006 00000001 00000000 00000007"},
	{"ObjectID fifth sub-identifier 256", smi.ObjectID(smi.MustOID("1.3.6.1.256.1")), "0600 0000",
		"06000000 01000000 03000000 06000000 01000000 00010000 01000000", "0006 0000",
		"06000000 00000001 00000003 00000006 00000001 00000100 00000001"},
	{"ObjectID null", smi.ObjectID(smi.OID{}), "0600 0000", "00000000", "0006 0000", "00000000"},
	{"IpAddress", smi.IPAddressBytes([4]byte{192, 0, 2, 1}), "4000 0000", "04000000 c0000201", "0040 0000", "00000004 c0000201"},
	{"Counter32", smi.Counter32(4294967295), "4100 0000", "ffffffff", "0041 0000", "ffffffff"},
	{"Gauge32", smi.Gauge32(7), "4200 0000", "07000000", "0042 0000", "00000007"},
	{"TimeTicks", smi.TimeTicks(100), "4300 0000", "64000000", "0043 0000", "00000064"},
	{"Opaque", smi.Opaque([]byte{0x9f, 0x78}), "4400 0000", "02000000 9f780000", "0044 0000", "00000002 9f780000"},
	{"Counter64", smi.Counter64(0x0102030405060708), "4600 0000", "0807060504030201", "0046 0000", "0102030405060708"},
	{"noSuchObject", smi.Exception(smi.TypeNoSuchObject), "8000 0000", "", "0080 0000", ""},
	{"noSuchInstance", smi.Exception(smi.TypeNoSuchInstance), "8100 0000", "", "0081 0000", ""},
	{"endOfMibView", smi.Exception(smi.TypeEndOfMibView), "8200 0000", "", "0082 0000", ""},
}

// varBindGolden returns the hand-written Response carrying varBindCases[i]
// in one byte order, and the packet it decodes to.
func varBindGolden(tb testing.TB, i int, be bool) ([]byte, *Packet) {
	tc := varBindCases[i]
	// Name 1.3.6.1.4.1.868.2: prefix 4, sub-identifiers 1, 868, 2.
	var golden string
	if be {
		// sysUpTime 0x0a0b0c0d, error 0, index 0.
		payload := "0a0b0c0d 0000 0000" + tc.typBE + "03040000 00000001 00000364 00000002" + tc.dataBE
		golden = "01121000 00000001 00000002 00000003" + be32(len(unhex(tb, payload))) + payload
	} else {
		payload := "0d0c0b0a 0000 0000" + tc.typLE + "03040000 01000000 64030000 02000000" + tc.dataLE
		golden = "01120000 01000000 02000000 03000000" + le32(len(unhex(tb, payload))) + payload
	}
	b := unhex(tb, golden)
	p := &Packet{
		Header:    Header{Version: 1, Type: TypeResponse, SessionID: 1, TransactionID: 2, PacketID: 3, PayloadLength: uint32(len(b) - HeaderSize)},
		SysUpTime: 0x0a0b0c0d,
		VarBinds:  []smi.VarBind{{Name: smi.MustOID("1.3.6.1.4.1.868.2"), Value: tc.v}},
	}
	if be {
		p.Header.Flags = FlagNetworkByteOrder
	}
	return b, p
}

// TestVarBindGolden: a Response carrying one varbind of every type, in both
// byte orders, against hand-written bytes.
func TestVarBindGolden(t *testing.T) {
	for i, tc := range varBindCases {
		for _, be := range []bool{false, true} {
			want, p := varBindGolden(t, i, be)
			in := *p
			in.Header.Version, in.Header.PayloadLength = 0, 0 // filled in by Marshal
			got, err := Marshal(&in)
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
			if !packetsEqual(back, p) || !back.VarBinds[0].Value.Equal(tc.v) {
				t.Errorf("%s be=%v: decoded\n%+v\nwant\n%+v", tc.name, be, back, p)
			}
		}
	}
}

// TestIntegerOffset pins the bug that disqualified go-agentx: the value of
// an Integer varbind follows its name; int32 1 must not decode as 720896
// (0x000b0000, what reading at the wrong offset gives).
func TestIntegerOffset(t *testing.T) {
	for _, tc := range []struct{ name, hex string }{
		{"LE", "01080000 01000000 05000000 06000000 18000000" +
			"0200 0000 03040000 01000000 64030000 02000000 | 01000000"},
		{"BE", "01081000 00000001 00000005 00000006 00000018" +
			"0002 0000 03040000 00000001 00000364 00000002 | 00000001"},
	} {
		p, err := Unmarshal(unhex(t, tc.hex))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if p.Header.Type != TypeTestSet || len(p.VarBinds) != 1 {
			t.Fatalf("%s: decoded %+v", tc.name, p)
		}
		vb := p.VarBinds[0]
		if vb.Value.Type != smi.TypeInteger || vb.Value.Int != 1 || !vb.Name.Equal(smi.MustOID("1.3.6.1.4.1.868.2")) {
			t.Fatalf("%s: decoded %v = %v (Int %d), want INTEGER 1", tc.name, vb.Name, vb.Value, vb.Value.Int)
		}
	}
}

// pduGoldens are whole packets written by hand, one or more per PDU type.
var pduGoldens = []struct {
	name   string
	golden string
	p      *Packet
}{
	{"Open LE", "01010000 00000000 00000000 01000000 18000000" +
		"05000000 02040000 01000000 64030000 04000000 74657374",
		&Packet{Header: Header{Type: TypeOpen, PacketID: 1}, Timeout: 5, ID: smi.MustOID("1.3.6.1.4.1.868"), Descr: []byte("test")}},
	{"Open BE empty id and descr", "01011000 00000000 00000000 00000001 0000000c" +
		"00000000 00000000 00000000",
		&Packet{Header: Header{Type: TypeOpen, Flags: FlagNetworkByteOrder, PacketID: 1}}},
	{"Register with range LE", "01030000 2a000000 00000000 02000000 30000000" +
		"007f0d00 09040000 01000000 64030000 02000000 04000000 01000000 02000000 01000000 01000000 01000000 03000000",
		&Packet{Header: Header{Type: TypeRegister, SessionID: 42, PacketID: 2}, Priority: 127, RangeSubID: 13,
			Subtree: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.1.1.1"), UpperBound: 3}},
	{"Register BE", "01031000 0000002a 00000000 00000003 00000010" +
		"057f0000 02040000 00000001 00000364",
		&Packet{Header: Header{Type: TypeRegister, Flags: FlagNetworkByteOrder, SessionID: 42, PacketID: 3}, Timeout: 5, Priority: 127,
			Subtree: smi.MustOID("1.3.6.1.4.1.868")}},
	{"Register instance with context LE", "01030900 2a000000 00000000 04000000 14000000" +
		"02000000 78790000 | 00640000 | 01020000 05000000",
		&Packet{Header: Header{Type: TypeRegister, Flags: FlagInstanceRegistration | FlagNonDefaultContext, SessionID: 42, PacketID: 4},
			Context: []byte("xy"), Priority: 100, Subtree: smi.MustOID("1.3.6.1.2.5")}},
	{"Unregister with range BE", "01041000 0000002a 00000000 0000000d 00000024" +
		"007f0b00 06040000 00000001 00000364 00000002 00000004 00000001 00000002 00000005",
		&Packet{Header: Header{Type: TypeUnregister, Flags: FlagNetworkByteOrder, SessionID: 42, PacketID: 13}, Priority: 127, RangeSubID: 11,
			Subtree: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2"), UpperBound: 5}},
	{"Get LE two ranges", "01050000 2a000000 00000000 05000000 28000000" +
		"03020000 01000000 01000000 05000000 00000000 | 03020000 01000000 01000000 06000000 00000000",
		&Packet{Header: Header{Type: TypeGet, SessionID: 42, PacketID: 5}, SearchRanges: []SearchRange{
			{Start: smi.MustOID("1.3.6.1.2.1.1.5"), End: smi.OID{}}, {Start: smi.MustOID("1.3.6.1.2.1.1.6"), End: smi.OID{}}}}},
	{"GetNext include and end BE", "01061000 0000002a 00000001 00000005 00000020" +
		"03040100 00000001 00000364 00000002 03040000 00000001 00000364 00000003",
		&Packet{Header: Header{Type: TypeGetNext, Flags: FlagNetworkByteOrder, SessionID: 42, TransactionID: 1, PacketID: 5},
			SearchRanges: []SearchRange{{Start: smi.MustOID("1.3.6.1.4.1.868.2"), Include: true, End: smi.MustOID("1.3.6.1.4.1.868.3")}}}},
	{"GetNext with context LE", "01060800 2a000000 01000000 0e000000 18000000" +
		"06000000 7075626c 69630000 | 01020000 01000000 | 00000000",
		&Packet{Header: Header{Type: TypeGetNext, Flags: FlagNonDefaultContext, SessionID: 42, TransactionID: 1, PacketID: 14},
			Context: []byte("public"), SearchRanges: []SearchRange{{Start: smi.MustOID("1.3.6.1.2.1"), End: smi.OID{}}}}},
	{"GetBulk LE", "01070000 2a000000 01000000 06000000 14000000" +
		"0000 0a00 02040000 01000000 64030000 00000000",
		&Packet{Header: Header{Type: TypeGetBulk, SessionID: 42, TransactionID: 1, PacketID: 6}, NonRepeaters: 0, MaxRepetitions: 10,
			SearchRanges: []SearchRange{{Start: smi.MustOID("1.3.6.1.4.1.868"), End: smi.OID{}}}}},
	{"GetBulk BE two ranges", "01071000 0000002a 00000001 00000006 00000028" +
		"0001 000a | 02020000 00000001 00000001 00000000 | 03000000 00000001 00000002 00000003 00000000",
		&Packet{Header: Header{Type: TypeGetBulk, Flags: FlagNetworkByteOrder, SessionID: 42, TransactionID: 1, PacketID: 6},
			NonRepeaters: 1, MaxRepetitions: 10, SearchRanges: []SearchRange{
				{Start: smi.MustOID("1.3.6.1.2.1.1"), End: smi.OID{}}, {Start: smi.MustOID("1.2.3"), End: smi.OID{}}}}},
	{"TestSet LE", "01080000 2a000000 07000000 08000000 18000000" +
		"0200 0000 03040000 01000000 64030000 02000000 03000000",
		&Packet{Header: Header{Type: TypeTestSet, SessionID: 42, TransactionID: 7, PacketID: 8},
			VarBinds: []smi.VarBind{{Name: smi.MustOID("1.3.6.1.4.1.868.2"), Value: smi.Integer(3)}}}},
	{"CommitSet BE", "01091000 0000002a 00000007 0000000c 00000000",
		&Packet{Header: Header{Type: TypeCommitSet, Flags: FlagNetworkByteOrder, SessionID: 42, TransactionID: 7, PacketID: 12}}},
	{"UndoSet LE", "010a0000 2a000000 07000000 0d000000 00000000",
		&Packet{Header: Header{Type: TypeUndoSet, SessionID: 42, TransactionID: 7, PacketID: 13}}},
	{"CleanupSet LE", "010b0000 2a000000 07000000 0e000000 00000000",
		&Packet{Header: Header{Type: TypeCleanupSet, SessionID: 42, TransactionID: 7, PacketID: 14}}},
	{"Notify LE", "010c0000 2a000000 00000000 09000000 30000000" +
		"0600 0000 06060000 03000000 01000000 01000000 04000000 01000000 00000000 03040000 01000000 64030000 01000000",
		&Packet{Header: Header{Type: TypeNotify, SessionID: 42, PacketID: 9},
			VarBinds: []smi.VarBind{{Name: smi.MustOID("1.3.6.1.6.3.1.1.4.1.0"), Value: smi.ObjectID(smi.MustOID("1.3.6.1.4.1.868.1"))}}}},
	{"Close LE", "01020000 2a000000 00000000 0a000000 04000000 05000000",
		&Packet{Header: Header{Type: TypeClose, SessionID: 42, PacketID: 10}, Reason: ReasonShutdown}},
	{"Ping with context LE", "010d0800 2a000000 00000000 0b000000 08000000 02000000 61620000",
		&Packet{Header: Header{Type: TypePing, Flags: FlagNonDefaultContext, SessionID: 42, PacketID: 11}, Context: []byte("ab")}},
	{"Ping BE", "010d1000 0000002a 00000000 0000000b 00000000",
		&Packet{Header: Header{Type: TypePing, Flags: FlagNetworkByteOrder, SessionID: 42, PacketID: 11}}},
	{"IndexAllocate LE", "010e0200 2a000000 00000000 0f000000 1c000000" +
		"0200 0000 04040000 01000000 64030000 03000000 01000000 | 00000000",
		&Packet{Header: Header{Type: TypeIndexAllocate, Flags: FlagNewIndex, SessionID: 42, PacketID: 15},
			VarBinds: []smi.VarBind{{Name: smi.MustOID("1.3.6.1.4.1.868.3.1"), Value: smi.Integer(0)}}}},
	{"IndexDeallocate BE", "010f1000 0000002a 00000000 00000010 0000001c" +
		"0002 0000 04040000 00000001 00000364 00000003 00000001 | 00000007",
		&Packet{Header: Header{Type: TypeIndexDeallocate, Flags: FlagNetworkByteOrder, SessionID: 42, PacketID: 16},
			VarBinds: []smi.VarBind{{Name: smi.MustOID("1.3.6.1.4.1.868.3.1"), Value: smi.Integer(7)}}}},
	{"AddAgentCaps LE", "01100000 2a000000 00000000 10000000 1c000000" +
		"03040000 01000000 64030000 09000000 | 05000000 63617073 21000000",
		&Packet{Header: Header{Type: TypeAddAgentCaps, SessionID: 42, PacketID: 16}, ID: smi.MustOID("1.3.6.1.4.1.868.9"), Descr: []byte("caps!")}},
	{"RemoveAgentCaps BE", "01111000 0000002a 00000000 00000011 00000010" +
		"03040000 00000001 00000364 00000009",
		&Packet{Header: Header{Type: TypeRemoveAgentCaps, Flags: FlagNetworkByteOrder, SessionID: 42, PacketID: 17}, ID: smi.MustOID("1.3.6.1.4.1.868.9")}},
	{"Response to Open BE", "01121000 0000002a 00000000 00000001 00000008" +
		"01020304 0000 0000",
		&Packet{Header: Header{Type: TypeResponse, Flags: FlagNetworkByteOrder, SessionID: 42, PacketID: 1}, SysUpTime: 0x01020304}},
	{"Response with error LE", "01120000 2a000000 07000000 08000000 08000000" +
		"64000000 0a00 0200",
		&Packet{Header: Header{Type: TypeResponse, SessionID: 42, TransactionID: 7, PacketID: 8}, SysUpTime: 100, Error: smi.WrongValue, Index: 2}},
	{"Response parseError LE", "01120000 2a000000 07000000 08000000 08000000" +
		"00000000 0a01 0000",
		&Packet{Header: Header{Type: TypeResponse, SessionID: 42, TransactionID: 7, PacketID: 8}, Error: smi.ParseError}},
}

func TestPDUGolden(t *testing.T) {
	for _, tc := range pduGoldens {
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
		h, err := DecodeHeader(want)
		if err != nil || h != exp.Header {
			t.Errorf("%s: DecodeHeader = %+v, %v; want %+v", tc.name, h, err, exp.Header)
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
			if len(q.VarBinds[i].Name) == 0 {
				q.VarBinds[i].Name = nil
			}
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

// allPDUs is one packet of every PDU type, with every varbind type.
func allPDUs() []*Packet {
	vbs := []smi.VarBind{
		{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.1"), Value: smi.Integer(-7)},
		{Name: smi.MustOID("1.3.6.1.2.1.1.5.0"), Value: smi.String("sysname with spaces")},
		{Name: smi.MustOID("1.3.6.1.2.1.1.1.0"), Value: smi.OctetString(nil)},
		{Name: smi.MustOID("1.3.6.1.2.1.1.2.0"), Value: smi.Null()},
		{Name: smi.MustOID("1.3.6.1.2.1.1.2.0"), Value: smi.ObjectID(smi.MustOID("1.3.6.1.4.1.868.1.4.1.2.1"))},
		{Name: smi.MustOID("1.3.6.1.2.1.1.2.1"), Value: smi.ObjectID(smi.MustOID("0.0"))},
		{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.2"), Value: smi.IPAddressBytes([4]byte{10, 0, 0, 1})},
		{Name: smi.MustOID("1.3.6.1.2.1.2.2.1.10.1"), Value: smi.Counter32(3000000000)},
		{Name: smi.MustOID("1.3.6.1.2.1.2.2.1.5.1"), Value: smi.Gauge32(100000000)},
		{Name: smi.MustOID("1.3.6.1.2.1.1.3.0"), Value: smi.TimeTicks(4294967295)},
		{Name: smi.MustOID("1.3.6.1.4.1.868.2.9"), Value: smi.Opaque([]byte{0x9f, 0x78, 4, 0x3f, 0x80, 0, 0})},
		{Name: smi.MustOID("0.0"), Value: smi.Counter64(1 << 63)},
		{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.3"), Value: smi.Exception(smi.TypeNoSuchObject)},
		{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.4"), Value: smi.Exception(smi.TypeNoSuchInstance)},
		{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.5"), Value: smi.Exception(smi.TypeEndOfMibView)},
	}
	rng := []SearchRange{
		{Start: smi.MustOID("1.3.6.1.4.1.868"), Include: true, End: smi.MustOID("1.3.6.1.4.1.869")},
		{Start: smi.MustOID("1.3")},
		{Start: smi.OID{}, End: smi.MustOID("1.3.6.1.300.1")},
	}
	return []*Packet{
		{Header: Header{Type: TypeOpen}, Timeout: 9, ID: smi.MustOID("1.3.6.1.4.1.868.1.4.1.2.1"), Descr: []byte("odd")},
		{Header: Header{Type: TypeClose}, Reason: ReasonParseError},
		{Header: Header{Type: TypeRegister, Flags: FlagInstanceRegistration}, Timeout: 1, Priority: 2, Subtree: smi.MustOID("1.3.6.1.4.1.868.2.4")},
		{Header: Header{Type: TypeRegister}, Priority: 2, RangeSubID: 9, Subtree: smi.MustOID("1.3.6.1.4.1.868.2.4.7"), UpperBound: 12},
		{Header: Header{Type: TypeUnregister}, Priority: 2, RangeSubID: 7, Subtree: smi.MustOID("1.3.6.1.4.1.868.2.4"), UpperBound: 9},
		{Header: Header{Type: TypeGet}, SearchRanges: rng},
		{Header: Header{Type: TypeGetNext}, SearchRanges: rng},
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
		{Header: Header{Type: TypeResponse}, SysUpTime: 1},
	}
}

// TestRoundTripEveryType: every PDU type in both byte orders, with and
// without a non-default context (dropped by the types that have none).
func TestRoundTripEveryType(t *testing.T) {
	seen := map[Type]bool{}
	for _, p := range allPDUs() {
		seen[p.Header.Type] = true
		for _, flags := range []uint8{0, FlagNetworkByteOrder, FlagNonDefaultContext, FlagNetworkByteOrder | FlagNonDefaultContext} {
			q := *p
			q.Header.Flags |= flags
			q.Header.SessionID, q.Header.TransactionID, q.Header.PacketID = 0x01020304, 0x05060708, 0x090a0b0c
			if flags&FlagNonDefaultContext != 0 {
				q.Context = []byte("a context")
			}
			b, err := Marshal(&q)
			if err != nil {
				t.Fatalf("type %d: %v", q.Header.Type, err)
			}
			back, err := Unmarshal(b)
			if err != nil {
				t.Fatalf("type %d flags %#x: %v", q.Header.Type, flags, err)
			}
			q.Header.Version, q.Header.PayloadLength = 1, uint32(len(b)-HeaderSize)
			if !hasContext(q.Header.Type) {
				q.Context = nil
			}
			if q.Header.Type == TypeUnregister {
				q.Timeout = 0 // reserved in an Unregister
			}
			if !packetsEqual(back, &q) {
				t.Errorf("type %d flags %#x: round trip\n%+v\nwant\n%+v", q.Header.Type, flags, back, &q)
			}
			// Byte order and context never change the rest of the packet.
			if again, err := Marshal(back); err != nil || !bytes.Equal(again, b) {
				t.Errorf("type %d flags %#x: re-encoding differs: %v", q.Header.Type, flags, err)
			}
		}
	}
	for typ := TypeOpen; typ <= TypeResponse; typ++ {
		if !seen[typ] {
			t.Errorf("PDU type %d not covered", typ)
		}
	}
}

// TestMaxSubIDs: 128 sub-identifiers are the limit on the wire, after the
// prefix is taken off.
func TestMaxSubIDs(t *testing.T) {
	long := func(n int, prefixed bool) smi.OID {
		o := make(smi.OID, n)
		for i := range o {
			o[i] = uint32(i + 7)
		}
		if prefixed {
			copy(o, smi.OID{1, 3, 6, 1, 4})
		}
		return o
	}
	for _, tc := range []struct {
		name string
		oid  smi.OID
		ok   bool
	}{
		{"128 plain", long(128, false), true},
		{"129 plain", long(129, false), false},
		{"133 prefixed", long(133, true), true},
		{"134 prefixed", long(134, true), false},
	} {
		for _, flags := range []uint8{0, FlagNetworkByteOrder} {
			p := &Packet{Header: Header{Type: TypeGetNext, Flags: flags}, SearchRanges: []SearchRange{{Start: tc.oid, End: tc.oid}}}
			b, err := Marshal(p)
			if (err == nil) != tc.ok {
				t.Fatalf("%s: Marshal error %v, want ok=%v", tc.name, err, tc.ok)
			}
			if !tc.ok {
				continue
			}
			back, err := Unmarshal(b)
			if err != nil || !back.SearchRanges[0].Start.Equal(tc.oid) || !back.SearchRanges[0].End.Equal(tc.oid) {
				t.Fatalf("%s: decoded %v, %v", tc.name, back, err)
			}
		}
	}
	// n_subid 129 by hand, with enough bytes behind it.
	b := unhex(t, "01060000 00000000 00000000 07000000"+le32(4+129*4)+"81000000"+strings.Repeat("01000000", 129))
	var pe *ParseError
	if _, err := Unmarshal(b); !errors.As(err, &pe) || !pe.HeaderOK {
		t.Errorf("n_subid 129: %v", err)
	}
}

// malformed are packets that must be refused; headerOK tells whether the
// header was sound (so the receiver can answer parseError).
func malformed(t testing.TB) []struct {
	name     string
	b        []byte
	headerOK bool
} {
	hdr := func(typ, flags byte, payload string) string {
		return hex.EncodeToString([]byte{1, typ, flags, 0}) + "2a000000 00000000 07000000" + le32(len(unhex(t, payload))) + payload
	}
	cases := []struct {
		name     string
		hex      string
		headerOK bool
	}{
		{"empty", "", false},
		{"short header", "0105", false},
		{"19 bytes", "01050000 2a000000 00000000 07000000 000000", false},
		{"version 0", "00050000 2a000000 00000000 07000000 00000000", false},
		{"version 2", "02050000 2a000000 00000000 07000000 00000000", false},
		{"payload not multiple of 4", "01050000 2a000000 00000000 07000000 03000000 000000", false},
		{"payload shorter than header says", "01050000 2a000000 00000000 07000000 08000000 00000000", true},
		{"payload longer than header says", "01050000 2a000000 00000000 07000000 00000000 00000000", true},
		{"payload length 4G-4 on a short packet", "01050000 2a000000 00000000 07000000 fcffffff", true},
		{"unknown PDU type", hdr(99, 0, ""), true},
		{"type zero", hdr(0, 0, ""), true},
		{"type 19", hdr(19, 0, ""), true},
		{"OID of 200 sub-identifiers", hdr(5, 0, "c8000000 00000000"), true},
		{"OID of 255 sub-identifiers", hdr(5, 0, "ff000000"+strings.Repeat("00000000", 255)), true},
		{"OID longer than payload", hdr(5, 0, "02000000 01000000"), true},
		{"end OID cut", hdr(5, 0, "01000000 01000000 | 01000000"), true},
		{"include byte 2", hdr(5, 0, "00000200 00000000"), true},
		{"GetNext without end OID", hdr(6, 0, "01020000 01000000"), true},
		{"octet string past the end", hdr(12, 0, "0400 0000 00000000 ff000000"), true},
		{"octet string huge length", hdr(12, 0, "0400 0000 00000000 ffffffff"), true},
		{"octet string padding past the end", hdr(12, 0, "0400 0000 00000000 05000000 61626364"), true},
		{"octet string length cut", hdr(12, 0, "0400 0000 00000000"), true},
		{"unknown varbind type", hdr(12, 0, "0300 0000 00000000"), true},
		{"varbind type 0", hdr(18, 0, "00000000 00000000 0000 0000 00000000"), true},
		{"truncated integer", hdr(12, 0, "0200 0000 00000000"), true},
		{"truncated Counter64", hdr(18, 0, "00000000 00000000 4600 0000 00000000 01000000"), true},
		{"ObjectID value too long", hdr(18, 0, "00000000 00000000 0600 0000 00000000 81000000"), true},
		{"half a varbind", hdr(18, 0, "00000000 00000000 0200 0000"), true},
		{"trailing bytes after Close", hdr(2, 0, "01000000 00000000"), true},
		{"Close empty", hdr(2, 0, ""), true},
		{"trailing bytes after Ping", hdr(13, 0, "00000000"), true},
		{"trailing bytes after Ping context", hdr(13, FlagNonDefaultContext, "00000000 00000000"), true},
		{"trailing bytes after CommitSet", hdr(9, 0, "00000000"), true},
		{"trailing bytes after UndoSet", hdr(10, 0, "01000000"), true},
		{"trailing bytes after CleanupSet", hdr(11, 0, "00000000"), true},
		{"trailing bytes after RemoveAgentCaps", hdr(17, 0, "00000000 00000000"), true},
		{"trailing bytes after AddAgentCaps", hdr(16, 0, "00000000 00000000 00000000"), true},
		{"trailing bytes after Open", hdr(1, 0, "05000000 00000000 00000000 00000000"), true},
		{"Open without descr", hdr(1, 0, "05000000 00000000"), true},
		{"Open empty", hdr(1, 0, ""), true},
		{"Register without subtree", hdr(3, 0, "00000000"), true},
		{"range subid beyond subtree", hdr(3, 0, "00000500 01000000 01000000 09000000"), true},
		{"range without upper bound", hdr(3, 0, "00000100 01000000 01000000"), true},
		{"trailing bytes after upper bound", hdr(3, 0, "00000100 01000000 01000000 09000000 00000000"), true},
		{"trailing bytes after Register", hdr(3, 0, "00000000 01000000 01000000 09000000"), true},
		{"Unregister range without upper bound", hdr(4, 0, "00000200 02000000 01000000 01000000"), true},
		{"context missing", hdr(13, FlagNonDefaultContext, ""), true},
		{"context past the end", hdr(6, FlagNonDefaultContext, "08000000 61626364"), true},
		{"GetBulk without counts", hdr(7, 0, ""), true},
		{"Response truncated", hdr(18, 0, "00000000"), true},
		{"Response empty", hdr(18, 0, ""), true},
	}
	out := make([]struct {
		name     string
		b        []byte
		headerOK bool
	}, len(cases))
	for i, c := range cases {
		out[i].name, out[i].b, out[i].headerOK = c.name, unhex(t, c.hex), c.headerOK
	}
	return out
}

func TestMalformed(t *testing.T) {
	for _, tc := range malformed(t) {
		p, err := Unmarshal(tc.b)
		if err == nil {
			t.Errorf("%s: no error, decoded %+v", tc.name, p)
			continue
		}
		if p != nil {
			t.Errorf("%s: a packet together with an error", tc.name)
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: %v is not a ParseError", tc.name, err)
			continue
		}
		if pe.HeaderOK != tc.headerOK {
			t.Errorf("%s: HeaderOK = %v, want %v (%v)", tc.name, pe.HeaderOK, tc.headerOK, err)
		}
		if tc.headerOK && (pe.Header.PacketID != 7 || pe.Header.SessionID != 42) {
			t.Errorf("%s: header %+v not kept", tc.name, pe.Header)
		}
		if pe.Error() == "" || pe.Msg == "" {
			t.Errorf("%s: no message", tc.name)
		}
	}
}

// TestMalformedBigEndian: the same checks hold in network byte order.
func TestMalformedBigEndian(t *testing.T) {
	for _, tc := range []struct{ name, hex string }{
		{"OID longer than payload", "01051000 0000002a 00000000 00000007 00000008 02000000 00000001"},
		{"octet string huge length", "010c1000 0000002a 00000000 00000007 0000000c 0004 0000 00000000 ffffffff"},
		{"trailing bytes after Close", "01021000 0000002a 00000000 00000007 00000008 01000000 00000000"},
	} {
		_, err := Unmarshal(unhex(t, tc.hex))
		var pe *ParseError
		if !errors.As(err, &pe) || !pe.HeaderOK || pe.Header.PacketID != 7 {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestDecodeHeader(t *testing.T) {
	h, err := DecodeHeader(unhex(t, "01121800 01020304 05060708 090a0b0c 00000010 ffff"))
	want := Header{Version: 1, Type: TypeResponse, Flags: FlagNetworkByteOrder | FlagNonDefaultContext,
		SessionID: 0x01020304, TransactionID: 0x05060708, PacketID: 0x090a0b0c, PayloadLength: 16}
	if err != nil || h != want {
		t.Errorf("BE: %+v, %v", h, err)
	}
	h, err = DecodeHeader(unhex(t, "01120000 04030201 08070605 0c0b0a09 10000000"))
	want.Flags = 0
	if err != nil || h != want {
		t.Errorf("LE: %+v, %v", h, err)
	}
	if _, err := DecodeHeader(make([]byte, 19)); err == nil {
		t.Error("19 bytes accepted")
	}
}

// errReader fails after its data.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(b []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(b, r.data)
	r.data = r.data[n:]
	return n, nil
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
	if p, err := ReadPacket(r, 1024); err != io.EOF || p != nil {
		t.Errorf("at end: %v, want io.EOF", err)
	}

	// A payload over the limit is refused before it is read.
	r = bytes.NewReader(b)
	_, err := ReadPacket(r, 8)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.HeaderOK || pe.Header.PacketID != 2 || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("over the limit: %v", err)
	}
	if r.Len() != len(b)-HeaderSize {
		t.Errorf("over the limit: %d payload bytes read", len(b)-HeaderSize-r.Len())
	}
	// Exactly at the limit is fine.
	if _, err := ReadPacket(bytes.NewReader(b), uint32(len(b)-HeaderSize)); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	// A payload length that is not a multiple of 4 is refused unread too.
	odd := append(unhex(t, "01050000 2a000000 00000000 07000000 06000000"), make([]byte, 6)...)
	if _, err := ReadPacket(bytes.NewReader(odd), 1024); !errors.As(err, &pe) || pe.HeaderOK {
		t.Errorf("odd payload length: %v", err)
	}
	// A stream cut inside the payload or the header.
	if _, err := ReadPacket(bytes.NewReader(b[:len(b)-2]), 1024); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut payload: %v", err)
	}
	if _, err := ReadPacket(bytes.NewReader(b[:HeaderSize]), 1024); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("payload missing: %v", err)
	}
	if _, err := ReadPacket(bytes.NewReader(b[:7]), 1024); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut header: %v", err)
	}
	// Other read errors come back as they are.
	boom := errors.New("boom")
	if _, err := ReadPacket(&errReader{data: b[:30], err: boom}, 1024); !errors.Is(err, boom) {
		t.Errorf("read error: %v", err)
	}
	// A malformed payload is consumed whole: the next packet still reads.
	bad := unhex(t, "01020000 2a000000 00000000 07000000 08000000 01000000 00000000")
	r = bytes.NewReader(append(append([]byte{}, bad...), a...))
	if _, err := ReadPacket(r, 1024); !errors.As(err, &pe) || !pe.HeaderOK || pe.Header.PacketID != 7 {
		t.Errorf("malformed payload: %v", err)
	}
	if p, err := ReadPacket(r, 1024); err != nil || p.Header.Type != TypePing {
		t.Errorf("after a malformed payload: %+v, %v", p, err)
	}
}

// TestReadPacketGoldens: every golden reads the same through ReadPacket
// as through Unmarshal, back to back on one stream.
func TestReadPacketGoldens(t *testing.T) {
	var stream []byte
	var want []*Packet
	for _, tc := range pduGoldens {
		b := unhex(t, tc.golden)
		stream = append(stream, b...)
		p, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, p)
	}
	r := bytes.NewReader(stream)
	for i, w := range want {
		p, err := ReadPacket(r, 1<<16)
		if err != nil || !packetsEqual(p, w) {
			t.Fatalf("%s: %+v, %v", pduGoldens[i].name, p, err)
		}
	}
	// The packets read first are intact after the buffer was reused.
	for i, tc := range pduGoldens {
		b := unhex(t, tc.golden)
		if again, err := Marshal(want[i]); err != nil || !bytes.Equal(again, b) {
			t.Errorf("%s: %x, %v", tc.name, again, err)
		}
	}
}

// TestDecodedPacketOwnsItsMemory: a decoded packet shares nothing with the
// input, and appending to one of its OIDs or strings disturbs nothing else.
func TestDecodedPacketOwnsItsMemory(t *testing.T) {
	p := &Packet{Header: Header{Type: TypeTestSet, Flags: FlagNonDefaultContext}, Context: []byte("ctx"), VarBinds: []smi.VarBind{
		{Name: smi.MustOID("1.3.6.1.4.1.868.2.1"), Value: smi.String("one")},
		{Name: smi.MustOID("1.3.6.1.4.1.868.2.2"), Value: smi.ObjectID(smi.MustOID("1.3.6.1.4.1.868.7"))},
		{Name: smi.MustOID("1.3.6.1.4.1.868.2.3"), Value: smi.String("two")},
	}}
	b, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0xee
	}
	_ = append(got.Context, 'X', 'X', 'X', 'X', 'X', 'X', 'X', 'X')
	for _, vb := range got.VarBinds {
		_ = append(vb.Name, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99)
		_ = append(vb.Value.OID, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99)
		_ = append(vb.Value.Bytes, 'X', 'X', 'X', 'X', 'X', 'X', 'X', 'X')
	}
	want := *p
	want.Header.Version, want.Header.PayloadLength = 1, uint32(len(b)-HeaderSize)
	if !packetsEqual(got, &want) {
		t.Errorf("decoded packet changed:\n%+v\nwant\n%+v", got, &want)
	}
}

func TestEncodeRefuses(t *testing.T) {
	long := make(smi.OID, 129)
	for _, tc := range []struct {
		name string
		p    *Packet
	}{
		{"OID of 129 sub-identifiers", &Packet{Header: Header{Type: TypeGet}, SearchRanges: []SearchRange{{Start: long}}}},
		{"long end OID", &Packet{Header: Header{Type: TypeGet}, SearchRanges: []SearchRange{{End: long}}}},
		{"long varbind name", &Packet{Header: Header{Type: TypeResponse}, VarBinds: []smi.VarBind{{Name: long, Value: smi.Null()}}}},
		{"long ObjectID value", &Packet{Header: Header{Type: TypeResponse}, VarBinds: []smi.VarBind{{Name: smi.OID{1}, Value: smi.ObjectID(long)}}}},
		{"long Open id", &Packet{Header: Header{Type: TypeOpen}, ID: long}},
		{"long subtree", &Packet{Header: Header{Type: TypeRegister}, Subtree: long}},
		{"unknown varbind type", &Packet{Header: Header{Type: TypeResponse}, VarBinds: []smi.VarBind{{Name: smi.OID{1}, Value: smi.Value{Type: 99}}}}},
		{"Counter32 over 32 bits", &Packet{Header: Header{Type: TypeResponse}, VarBinds: []smi.VarBind{{Name: smi.OID{1}, Value: smi.Value{Type: smi.TypeCounter32, Uint: 1 << 32}}}}},
		{"type 0", &Packet{}},
		{"type 19", &Packet{Header: Header{Type: 19}}},
		{"version 2", &Packet{Header: Header{Version: 2, Type: TypePing}}},
		{"range subid beyond subtree", &Packet{Header: Header{Type: TypeRegister}, RangeSubID: 4, Subtree: smi.OID{1, 2, 3}}},
	} {
		dst := []byte("keep")
		out, err := AppendMarshal(dst, tc.p)
		if err == nil {
			t.Errorf("%s: encoded %x", tc.name, out)
			continue
		}
		if string(out) != "keep" {
			t.Errorf("%s: dst changed to %q", tc.name, out)
		}
	}
}

// TestAppendMarshal: AppendMarshal appends, and reuses the buffer it is
// given without allocating.
func TestAppendMarshal(t *testing.T) {
	ps := allPDUs()
	buf := []byte{0xaa, 0xbb}
	var err error
	for _, p := range ps {
		if buf, err = AppendMarshal(buf, p); err != nil {
			t.Fatal(err)
		}
	}
	if buf[0] != 0xaa || buf[1] != 0xbb {
		t.Fatal("prefix overwritten")
	}
	r := bytes.NewReader(buf[2:])
	for _, p := range ps {
		got, err := ReadPacket(r, 1<<16)
		if err != nil || got.Header.Type != p.Header.Type {
			t.Fatalf("type %d: %+v, %v", p.Header.Type, got, err)
		}
	}
	if r.Len() != 0 {
		t.Errorf("%d bytes left", r.Len())
	}
	for _, p := range ps {
		if p.Header.PayloadLength != 0 || p.Header.Version != 0 {
			t.Errorf("type %d: AppendMarshal changed its argument", p.Header.Type)
		}
	}
}

func TestAllocations(t *testing.T) {
	res := responsePacket()
	buf, err := AppendMarshal(nil, res)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendMarshal(buf[:0], res) }); n != 0 {
		t.Errorf("AppendMarshal into a large enough buffer: %v allocations", n)
	}
	req := getNextRequest(t)
	// The packet, its range list and one block for both OIDs.
	if n := testing.AllocsPerRun(100, func() { _, _ = Unmarshal(req) }); n > 3 {
		t.Errorf("Unmarshal GetNext: %v allocations", n)
	}
	r := bytes.NewReader(req)
	pr := NewReader(r, 1024)
	if n := testing.AllocsPerRun(100, func() {
		r.Reset(req)
		_, _ = pr.Next()
	}); n > 3 {
		t.Errorf("Reader.Next GetNext: %v allocations", n)
	}
}

func responsePacket() *Packet {
	return &Packet{Header: Header{Type: TypeResponse, SessionID: 1, TransactionID: 9, PacketID: 2}, SysUpTime: 123456,
		VarBinds: []smi.VarBind{{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.2.1.1.21.1.1"), Value: smi.String("cpsmm-1")}}}
}

func getNextRequest(tb testing.TB) []byte {
	b, err := Marshal(&Packet{Header: Header{Type: TypeGetNext, SessionID: 1, TransactionID: 9, PacketID: 2},
		SearchRanges: []SearchRange{{Start: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.2.1.1.21.1.1"), End: smi.MustOID("1.3.6.1.4.1.868.2.5")}}})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func BenchmarkMarshalResponse(b *testing.B) {
	p := responsePacket()
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
	raw := getNextRequest(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadPacketGetNext(b *testing.B) {
	raw := getNextRequest(b)
	r := bytes.NewReader(raw)
	pr := NewReader(r, 1<<16)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.Reset(raw)
		if _, err := pr.Next(); err != nil {
			b.Fatal(err)
		}
	}
}
