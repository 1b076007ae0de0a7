package device

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/ident"
)

func TestNewHasEveryColumn(t *testing.T) {
	reg := mib.DefaultRegistry()
	for _, tc := range []struct {
		typ  string
		code uint8
		cols int // the table's columns but the two indexes and CacheClean
	}{{"cettf100", Cettf100, 18 - 3}, {"cfetf100", Cfetf100, 21 - 3}} {
		d, err := New(reg, Spec{At: ident.At(1, 4), Type: tc.code, Serial: 42, ConnA: "rj-45", ConnB: "lc"})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Cols) != tc.cols {
			t.Errorf("%s: %d columns, want %d", tc.typ, len(d.Cols), tc.cols)
		}
		serial, _ := reg.Lookup(tc.typ + "SerialNumber")
		connB, _ := reg.Lookup(tc.typ + "ConnB")
		if v := d.Cols[serial.OID[len(serial.OID)-1]]; v.Int != 42 {
			t.Errorf("%s serial %v", tc.typ, v)
		}
		if v := d.Cols[connB.OID[len(connB.OID)-1]]; v.Int != 19 { // lc(19)
			t.Errorf("%s ConnB %v, want lc(19)", tc.typ, v)
		}
		// Every value passes the column's own rules.
		for _, o := range Columns(reg, d.Type) {
			if st, why := mib.CheckValue(o, d.Cols[o.OID[len(o.OID)-1]]); st != smi.NoError {
				t.Errorf("%s default: %s %s", o.Name, st, why)
			}
		}
	}
}

func TestSetRules(t *testing.T) {
	reg := mib.DefaultRegistry()
	d, _ := New(reg, Spec{At: ident.At(1, 5), Type: Cfetf100, ConnA: "rj-45", ConnB: "scmm"})
	if err := d.Set(reg, 13, smi.Integer(2)); err != nil { // cfetf100Enabled no(2)
		t.Fatal(err)
	}
	if d.Cols[13].Int != 2 {
		t.Fatal("Enabled not set")
	}
	for name, tc := range map[string]struct {
		col uint32
		v   smi.Value
	}{
		"read-only":   {9, smi.Integer(2)},   // TPLink
		"bad enum":    {13, smi.Integer(7)},  // Enabled
		"wrong type":  {13, smi.String("x")}, // Enabled
		"no column":   {99, smi.Integer(1)},
		"index":       {1, smi.Integer(1)},
		"cache clean": {21, smi.Integer(1)},
	} {
		before := d.Cols[tc.col]
		if err := d.Set(reg, tc.col, tc.v); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if !reflect.DeepEqual(d.Cols[tc.col], before) {
			t.Errorf("%s: changed the column", name)
		}
	}
}

func TestReportRoundTrip(t *testing.T) {
	reg := mib.DefaultRegistry()
	d, _ := New(reg, Spec{At: ident.At(2, 3), Type: Cettf100, ConnA: "rj-45", ConnB: "stmm"})
	d.SetLink(reg, false)
	c := &Cabinet{Bia: 2, Description: "Rack A", PS1: true, Slots: 18, SlotPowerOff: []int32{7}}
	for _, r := range []Report{d.Report(), c.Report(), {Kind: KindSlot, Bia: 1, Slot: 9}} {
		b, err := MarshalReport(r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := UnmarshalReport(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, r) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", back, r)
		}
	}
	s := Solicit{Bia: 2, Slot: 17}
	if back, err := UnmarshalSolicit(MarshalSolicit(s)); err != nil || back != s {
		t.Fatalf("solicit: %+v %v", back, err)
	}
}

func TestMalformedReports(t *testing.T) {
	good, _ := MarshalReport(Report{Kind: KindSlot, Bia: 1, Slot: 2, Type: Cettf100, Items: []Item{{Tag: 9, Value: smi.Integer(1)}}})
	for name, b := range map[string][]byte{
		"short":       good[:5],
		"version":     append([]byte{9}, good[1:]...),
		"kind":        append(append([]byte{}, good[:1]...), append([]byte{7}, good[2:]...)...),
		"truncated":   good[:len(good)-1],
		"trailing":    append(append([]byte{}, good...), 0),
		"int size":    append(append([]byte{}, good[:reportHead]...), 9, 1, 3, 0, 0, 1),
		"value type":  append(append([]byte{}, good[:reportHead]...), 9, 5, 4, 0, 0, 0, 1),
		"count > ...": append(append([]byte{}, good[:7]...), 2, 9, 1, 4, 0, 0, 0, 1),
	} {
		if _, err := UnmarshalReport(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	reg := mib.DefaultRegistry()
	d, _ := New(reg, Spec{At: ident.At(1, 4), Type: Cfetf100, ConnA: "rj-45", ConnB: "scmm"})
	b, _ := MarshalReport(d.Report())
	f.Add(b)
	c := &Cabinet{Bia: 1, Slots: 18}
	b, _ = MarshalReport(c.Report())
	f.Add(b)
	f.Add(MarshalSolicit(Solicit{Bia: 1, Slot: 2}))
	if bs, err := MarshalBatches([]Report{d.Report(), c.Report(), {Kind: KindSlot, Bia: 1, Slot: 5}}, 1024); err == nil {
		f.Add(bs[0])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if rs, err := UnmarshalReports(b); err == nil && len(b) > 1 && b[1] == KindBatch {
			again, err := MarshalBatches(rs, len(b)+3)
			if err != nil || (len(rs) > 0 && (len(again) != 1 || !bytes.Equal(again[0], b))) {
				t.Fatalf("batch %x decodes to %d reports, which encode to %x (%v)", b, len(rs), again, err)
			}
		}
		if r, err := UnmarshalReport(b); err == nil {
			again, err := MarshalReport(r)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("%x decodes to %+v, which encodes to %x (%v)", b, r, again, err)
			}
		}
		if s, err := UnmarshalSolicit(b); err == nil && !bytes.Equal(MarshalSolicit(s), b) {
			t.Fatalf("solicit %x does not encode back", b)
		}
	})
}

func TestNewRefusesWhatTheCatalogLacks(t *testing.T) {
	reg := mib.DefaultRegistry()
	for name, s := range map[string]Spec{
		"empty type":        {At: ident.At(1, 4), Type: Empty, ConnA: "rj-45", ConnB: "lc"},
		"unknown type":      {At: ident.At(1, 4), Type: 77, ConnA: "rj-45", ConnB: "lc"},
		"unknown connector": {At: ident.At(1, 4), Type: Cettf100, ConnA: "rj-45", ConnB: "toaster"},
	} {
		if d, err := New(reg, s); err == nil || !strings.Contains(err.Error(), "device 1/4") {
			t.Errorf("%s: %+v, %v", name, d, err)
		}
	}
	d, err := New(reg, Spec{At: ident.At(2, 9), Type: Aggregation, Ethernet: netip.MustParseAddrPort("127.0.0.1:18106")})
	if err != nil || len(d.Cols) != 0 || d.Ethernet != "127.0.0.1:18106" || d.At() != ident.At(2, 9) {
		t.Errorf("aggregation converter %+v, %v", d, err)
	}
}

func TestBatches(t *testing.T) {
	reg := mib.DefaultRegistry()
	var reports []Report
	for s := int32(2); s <= 18; s++ {
		d, err := New(reg, Spec{At: ident.At(1, s), Type: Cfetf100, ConnA: "rj-45", ConnB: "lc"})
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, d.Report())
	}
	reports = append(reports, (&Cabinet{Bia: 1, Slots: 18, PS1: true}).Report(), Report{Kind: KindSlot, Bia: 2, Slot: 7})
	batches, err := MarshalBatches(reports, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) < 2 {
		t.Fatalf("%d reports fit one batch of 1024 octets?", len(reports))
	}
	var got []Report
	for _, b := range batches {
		if len(b) > 1024 {
			t.Fatalf("a batch of %d octets", len(b))
		}
		rs, err := UnmarshalReports(b)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rs...)
	}
	if len(got) != len(reports) {
		t.Fatalf("%d reports back, sent %d", len(got), len(reports))
	}
	for i := range got {
		a, _ := MarshalReport(got[i])
		b, _ := MarshalReport(reports[i])
		if !bytes.Equal(a, b) {
			t.Errorf("report %d changed: %x, sent %x", i, a, b)
		}
	}
	// A single report still decodes as one.
	one, _ := MarshalReport(reports[0])
	if rs, err := UnmarshalReports(one); err != nil || len(rs) != 1 {
		t.Errorf("single report: %v %v", rs, err)
	}
	for _, bad := range [][]byte{{version, KindBatch}, {version, KindBatch, 1, 0, 9, 1}, append(append([]byte{}, batches[0]...), 0)} {
		if _, err := UnmarshalReports(bad); err == nil {
			t.Errorf("malformed batch %x accepted", bad)
		}
	}
}

// TestExpansionModule: a cpsmm200 holds its table's three columns
// (SerialNumber, ICIF, MRevision), ICIF no until the chassis says.
func TestExpansionModule(t *testing.T) {
	reg := mib.DefaultRegistry()
	d, err := New(reg, Spec{At: ident.At(2, 3), Type: Expansion, Serial: 300003})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range Columns(reg, Expansion) {
		names = append(names, o.Name)
	}
	if got := strings.Join(names, " "); got != "cpsmm200SerialNumber cpsmm200ICIF cpsmm200MRevision" {
		t.Fatalf("columns %s", got)
	}
	if len(d.Cols) != 3 || d.Cols[3].Int != 300003 || d.Cols[4].Int != mib.No || d.Cols[5].Int != 1 || d.ICIF(reg) {
		t.Fatalf("a new cpsmm200: %v", d.Cols)
	}
	d.SetICIF(reg, true)
	if d.Cols[4].Int != mib.Yes || !d.ICIF(reg) {
		t.Fatalf("ICIF %v after SetICIF(true)", d.Cols[4])
	}
	if err := d.Set(reg, 4, smi.Integer(mib.No)); err == nil {
		t.Error("a Set of the read-only cpsmm200ICIF was taken")
	}
	agg, _ := New(reg, Spec{At: ident.At(2, 4), Type: Aggregation})
	agg.SetICIF(reg, true) // no such column: nothing
	if len(agg.Cols) != 0 || agg.ICIF(reg) {
		t.Errorf("an aggregation converter has columns %v", agg.Cols)
	}
}

// TestCabinetDetail: an SMACF100 unit keeps smacf100Table's settings and
// reports them (tag TagDetail + column) without slot power; a cabinet
// whose detail table has no settings of its own keeps none.
func TestCabinetDetail(t *testing.T) {
	reg := mib.DefaultRegistry()
	want := map[uint32]int32{4: 1, 5: 2, 6: 2, 7: 1, 8: 4, 9: 1, 10: 4, 11: mib.No, 12: 300}
	det, err := NewDetail(reg, "smacf100")
	if err != nil {
		t.Fatal(err)
	}
	if len(det) != len(want) {
		t.Fatalf("smacf100 detail %v", det)
	}
	for col, v := range want {
		o, _ := reg.ByOID(reg.MustLookup("smacf100Entry").OID.Append(col))
		if det[col].Int != v {
			t.Errorf("%s = %v, want %d", o.Name, det[col], v)
		}
		if st, why := mib.CheckValue(o, det[col]); st != smi.NoError {
			t.Errorf("%s: %s %s", o.Name, st, why)
		}
	}
	for _, prefix := range []string{"cpsMc1800", "cpsMc1300", "cpsMc0200", "cpsMc0800", "cpsMc1900", ""} {
		if d, err := NewDetail(reg, prefix); err != nil || d != nil {
			t.Errorf("%q: detail %v, %v", prefix, d, err)
		}
	}
	c := &Cabinet{Bia: 7, Model: "smacf100", Description: "colony", PS1: true, PS2: true, Slots: 5, Ethernet: true, Detail: det}
	r := c.Report()
	tags := map[uint8]smi.Value{}
	for _, it := range r.Items {
		tags[it.Tag] = it.Value
	}
	if _, ok := tags[TagSlotPower]; ok {
		t.Error("an SMACF100 unit reports slot power")
	}
	for col, v := range want {
		if tags[TagDetail+uint8(col)].Int != v {
			t.Errorf("tag %d = %v, want %d", TagDetail+col, tags[TagDetail+uint8(col)], v)
		}
	}
	b, err := MarshalReport(r)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := UnmarshalReports(b); err != nil || len(back) != 1 || len(back[0].Items) != len(r.Items) {
		t.Fatalf("round trip: %v %v", back, err)
	}
	c.Ethernet, c.Detail = false, nil
	if r := c.Report(); len(r.Items) != 4 || r.Items[3].Tag != TagSlotPower {
		t.Errorf("a backplane cabinet's report %v", r.Items)
	}
}
