package devcache

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/device"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/module"
)

// sender records the frames the cache sends.
type sender struct{ frames []frame }

type frame struct {
	to        netip.AddrPort // invalid: on the backplane
	typ       backplane.Type
	backplane bool // SendBackplane: the chassis answers, modules listen in
	payload   []byte
}

func (s *sender) SendBackplane(typ backplane.Type, payload []byte) error {
	s.frames = append(s.frames, frame{typ: typ, backplane: true, payload: slices.Clone(payload)})
	return nil
}

func (s *sender) SendTo(to netip.AddrPort, typ backplane.Type, payload []byte) error {
	s.frames = append(s.frames, frame{to: to, typ: typ, payload: slices.Clone(payload)})
	return nil
}

const poll = time.Second

var (
	t0 = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	// snmpTrapOID.0 (RFC 3418), spelt out here rather than taken from
	// the code under test.
	trapOIDName = smi.OID{1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0}
	aggAddr     = netip.MustParseAddrPort("127.0.0.1:17901")
)

// harness is a module in a stack (cabinet 1 of 18 slots, the module in
// slot 1) with its device cache.
type harness struct {
	t     testing.TB
	mod   *module.Module
	mo    *module.Objects
	reg   *mib.Registry
	store *mib.Store
	c     *Cache
	s     *sender
	notes [][]smi.VarBind
}

func quiet() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func model(t testing.TB, name string) module.CabinetModel {
	t.Helper()
	m, ok := catalog.Default().CabinetModel(name)
	if !ok {
		t.Fatalf("no cabinet model %s", name)
	}
	return m
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	mod, err := module.New(module.Options{Config: module.Default(), Log: quiet(), Stack: true})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, mod: mod, mo: mod.Objects(), reg: mod.Store().Registry(), store: mod.Store(), s: &sender{}}
	if cfg.Poll == 0 {
		cfg.Poll = poll
	}
	if cfg.Cabinets == nil {
		cfg.Cabinets = []Cabinet{{Bia: 1, Model: model(t, "cpsmc1800"), Sequence: 1}}
	}
	if cfg.Managers == nil {
		cfg.Managers = map[ident.Slot]bool{ident.At(1, 1): true}
	}
	cfg.Name = "cpsmm-1"
	cfg.Log = quiet()
	cfg.Notify = h.notify
	if h.c, err = New(cfg, mod, h.s, t0); err != nil {
		t.Fatal(err)
	}
	return h
}

// notify takes a notification, checking its frame: snmpTrapOID.0 first,
// cpsEmuModuleName.0 last.
func (h *harness) notify(vbs []smi.VarBind) {
	h.t.Helper()
	if len(vbs) < 2 {
		h.t.Fatalf("notification of %d varbinds", len(vbs))
	}
	if !vbs[0].Name.Equal(trapOIDName) || vbs[0].Value.Type != smi.TypeObjectID {
		h.t.Errorf("notification starts with %v = %v, want snmpTrapOID.0", vbs[0].Name, vbs[0].Value)
	}
	last := vbs[len(vbs)-1]
	name := h.reg.MustLookup("cpsEmuModuleName").OID.Append(0)
	if !last.Name.Equal(name) || string(last.Value.Bytes) != "cpsmm-1" {
		h.t.Errorf("notification ends with %v = %v, want cpsEmuModuleName.0 = cpsmm-1", last.Name, last.Value)
	}
	h.notes = append(h.notes, vbs)
}

// names returns the notifications sent since note n, by name.
func (h *harness) names(n int) []string {
	var out []string
	for _, vbs := range h.notes[n:] {
		o, ok := h.reg.ByOID(vbs[0].Value.OID)
		if !ok {
			h.t.Fatalf("notification %v is no object of the registry", vbs[0].Value.OID)
		}
		out = append(out, o.Name)
	}
	return out
}

// want checks that exactly the notifications names were sent since note n.
func (h *harness) want(n int, names ...string) {
	h.t.Helper()
	if got := h.names(n); !slices.Equal(got, names) {
		h.t.Fatalf("notifications %v, want %v", got, names)
	}
}

// objects checks the varbinds between snmpTrapOID.0 and cpsEmuModuleName.0
// of notification vbs: the definition's OBJECTS, in order, at index idx,
// with values vals.
func (h *harness) objects(vbs []smi.VarBind, idx []uint32, vals ...smi.Value) {
	h.t.Helper()
	o, _ := h.reg.ByOID(vbs[0].Value.OID)
	defs := o.Objects
	mid := vbs[1 : len(vbs)-1]
	if len(mid) != len(defs) || len(defs) != len(vals) {
		h.t.Fatalf("%s carries %d objects, its definition %d (%v)", o.Name, len(mid), len(defs), defs)
	}
	for i, name := range defs {
		want := h.reg.MustLookup(name).OID.Append(idx...)
		if !mid[i].Name.Equal(want) {
			h.t.Errorf("%s object %d is %v, want %s at %v (%v)", o.Name, i, mid[i].Name, name, idx, want)
		}
		if !mid[i].Value.Equal(vals[i]) {
			h.t.Errorf("%s %s = %v, want %v", o.Name, name, mid[i].Value, vals[i])
		}
	}
}

// value reads an instance by name.
func (h *harness) value(name string, idx ...uint32) smi.Value {
	h.t.Helper()
	v, ok := h.store.Value(name, idx...)
	if !ok {
		h.t.Fatalf("no %s at %v", name, idx)
	}
	return v
}

func (h *harness) intValue(name string, idx ...uint32) int32 {
	h.t.Helper()
	v := h.value(name, idx...)
	if v.Type != smi.TypeInteger {
		h.t.Fatalf("%s at %v is %v", name, idx, v)
	}
	return v.Int
}

func (h *harness) device(at ident.Slot, typ uint8) *device.Device {
	h.t.Helper()
	d, err := device.New(h.reg, device.Spec{At: at, Type: typ, Serial: 4242, ConnA: "rj-45", ConnB: "lc"})
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// hear gives the cache a report as the member's loop does: Report, then
// Tick.
func (h *harness) hear(now time.Time, primary, ether bool, r device.Report) {
	h.c.Report(now, ether, r, primary)
	h.c.Tick(now, primary)
}

func empty(at ident.Slot) device.Report {
	return device.Report{Kind: device.KindSlot, Bia: uint16(at.Cabinet), Slot: uint16(at.Slot)}
}

func cabinet(bia, slots int32, model string) *device.Cabinet {
	return &device.Cabinet{Bia: bia, Model: model, Description: "cabinet", PS1: true, PS2: true, Slots: slots}
}

func (h *harness) product(name string) smi.Value {
	return smi.ObjectID(h.reg.MustLookup(name).OID)
}

// TestCfetf100Fault: a cfetf100's Fault raises pSError once; its
// FarEndFault (a later column whose name also ends in Fault) raises
// nothing (defect D5).
func TestCfetf100Fault(t *testing.T) {
	h := newHarness(t, Config{})
	at := ident.At(1, 5)
	d := h.device(at, device.Cfetf100)
	now := t0
	h.hear(now, true, false, d.Report())
	h.want(0)

	d.SetFault(h.reg, true)
	now = now.Add(poll)
	h.hear(now, true, false, d.Report())
	h.want(0, "pSError")
	h.objects(h.notes[0], at.Index(), smi.Integer(1), smi.Integer(5), h.product("cfetf100Id"))
	if got := h.intValue("cfetf100Fault", at.Index()...); got != mib.Yes {
		t.Fatalf("cfetf100Fault %d, want yes", got)
	}
	now = now.Add(poll)
	h.hear(now, true, false, d.Report())
	h.want(0, "pSError") // still faulty: nothing new

	farEnd := h.reg.MustLookup("cfetf100FarEndFault")
	col := farEnd.OID[len(farEnd.OID)-1]
	for _, v := range []int32{1, 2, 1} { // enabled, disabled, enabled: with the fault on
		if err := d.Set(h.reg, col, smi.Integer(v)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(poll)
		h.hear(now, true, false, d.Report())
		if got := h.intValue("cfetf100FarEndFault", at.Index()...); got != v {
			t.Fatalf("cfetf100FarEndFault %d, want %d", got, v)
		}
	}
	h.want(0, "pSError")

	d.SetFault(h.reg, false) // FarEndFault stays enabled
	now = now.Add(poll)
	h.hear(now, true, false, d.Report())
	h.want(0, "pSError", "pSErrorClear")
	h.objects(h.notes[1], at.Index(), smi.Integer(1), smi.Integer(5), h.product("cfetf100Id"))

	for _, v := range []int32{2, 1} { // FarEndFault alone, the fault off
		if err := d.Set(h.reg, col, smi.Integer(v)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(poll)
		h.hear(now, true, false, d.Report())
	}
	h.want(0, "pSError", "pSErrorClear")
}

func TestCettf100FaultAndClear(t *testing.T) {
	h := newHarness(t, Config{})
	at := ident.At(1, 6)
	d := h.device(at, device.Cettf100)
	h.hear(t0, true, false, d.Report())
	d.SetFault(h.reg, true)
	h.hear(t0.Add(poll), true, false, d.Report())
	d.SetFault(h.reg, false)
	h.hear(t0.Add(2*poll), true, false, d.Report())
	h.want(0, "pSError", "pSErrorClear")
	for _, n := range h.notes {
		h.objects(n, at.Index(), smi.Integer(1), smi.Integer(6), h.product("cettf100Id"))
	}
}

// TestAggregationFirstHeardAsPrimary: the backplane shows an aggregation
// converter's slot empty; the member that becomes Primary and first hears
// the converter over Ethernet learns what is there, which is no insertion
// (defect D6).
func TestAggregationFirstHeardAsPrimary(t *testing.T) {
	at := ident.At(1, 18)
	h := newHarness(t, Config{Aggregation: map[ident.Slot]netip.AddrPort{at: aggAddr}})
	agg := h.device(at, device.Aggregation)
	now := t0
	h.hear(now, false, false, empty(at)) // the Standby's view
	if got := h.value("cpsModuleModel", at.Index()...); !got.Equal(h.product("cpsEmptyId")) {
		t.Fatalf("cpsModuleModel %v, want cpsEmptyId", got)
	}
	now = now.Add(poll / 2)
	h.c.Tick(now, true) // takes over: polls
	h.hear(now, true, true, agg.Report())
	h.hear(now, true, false, empty(at)) // the backplane does not see it
	h.want(0)
	if got := h.value("cpsModuleModel", at.Index()...); !got.Equal(h.product("smacf100PId")) {
		t.Fatalf("cpsModuleModel %v, want smacf100PId", got)
	}
	// Polled again, it stays; no notification either.
	for i := 1; i <= 5; i++ {
		now = now.Add(poll)
		h.c.Tick(now, true)
		h.hear(now, true, true, agg.Report())
		h.hear(now, true, false, empty(at))
	}
	h.want(0)
	if got := h.value("cpsModuleModel", at.Index()...); !got.Equal(h.product("smacf100PId")) {
		t.Fatalf("cpsModuleModel %v, want smacf100PId", got)
	}
}

func TestInsertedAndRemovedAsPrimary(t *testing.T) {
	h := newHarness(t, Config{})
	at := ident.At(1, 7)
	d := h.device(at, device.Cfetf100)
	h.hear(t0, true, false, empty(at))
	h.want(0)
	h.hear(t0.Add(poll), true, false, d.Report())
	h.want(0, "pSDeviceInserted")
	h.objects(h.notes[0], at.Index(), smi.Integer(1), smi.Integer(7), h.product("cfetf100Id"))
	if got := h.intValue("cfetf100SerialNumber", at.Index()...); got != 4242 {
		t.Fatalf("cfetf100SerialNumber %d, want 4242", got)
	}
	d.Removed = true
	h.hear(t0.Add(2*poll), true, false, d.Report())
	h.want(0, "pSDeviceInserted", "pSDeviceRemoved")
	h.objects(h.notes[1], at.Index(), smi.Integer(1), smi.Integer(7), h.product("cfetf100Id"))
	if _, ok := h.store.Value("cfetf100SerialNumber", at.Index()...); ok {
		t.Fatal("the removed converter's row stays")
	}
	if got := h.value("cpsModuleModel", at.Index()...); !got.Equal(h.product("cpsEmptyId")) {
		t.Fatalf("cpsModuleModel %v, want cpsEmptyId", got)
	}
}

// TestStandbyNeverNotifies runs what makes a Primary notify on a Standby.
func TestStandbyNeverNotifies(t *testing.T) {
	agg := ident.At(1, 18)
	h := newHarness(t, Config{Aggregation: map[ident.Slot]netip.AddrPort{agg: aggAddr}})
	at := ident.At(1, 7)
	d := h.device(at, device.Cfetf100)
	cab := cabinet(1, 18, "cpsmc1800")
	now := t0
	step := func(r device.Report) {
		now = now.Add(poll / 4)
		h.hear(now, false, false, r)
	}
	step(cab.Report())
	step(empty(at))
	step(empty(agg))
	step(d.Report()) // inserted
	d.SetFault(h.reg, true)
	step(d.Report())
	d.SetFault(h.reg, false)
	step(d.Report())
	cab.PS1 = false
	step(cab.Report())
	if err := cab.SetSlotPower(7, false); err != nil {
		t.Fatal(err)
	}
	step(cab.Report())
	if err := cab.SetSlotPower(7, true); err != nil {
		t.Fatal(err)
	}
	step(cab.Report())
	d.Removed = true
	step(d.Report())
	cab.Removed = true
	step(cab.Report())
	cab.Removed = false
	step(cab.Report())
	h.want(0)
	if got := h.c.Reports(); got != 12 {
		t.Fatalf("Reports %d, want 12", got)
	}
	if h.c.Solicitations() != 0 || len(h.s.frames) != 0 {
		t.Fatalf("a Standby sent %d frames, counted %d solicitations", len(h.s.frames), h.c.Solicitations())
	}
}

// TestPowerLost: pSPowerLost carries the OBJECTS of its definition (the
// cpsMc1800 columns) at the cabinet's index whatever its model, with or
// without power supply columns in its detail table (defect D8).
func TestPowerLost(t *testing.T) {
	for _, tc := range []struct {
		model  string
		detail string // the detail table's prefix
		power  bool   // it has power supply columns
	}{{"cpsmc1300", "cpsMc1300", true}, {"cpsmc0800", "cpsMc0800", false}, {"cpsmc1800", "cpsMc1800", true}} {
		t.Run(tc.model, func(t *testing.T) {
			m := model(t, tc.model)
			if m.Detail != tc.detail {
				t.Fatalf("%s detail %q, want %q", tc.model, m.Detail, tc.detail)
			}
			const bia = 2
			h := newHarness(t, Config{Cabinets: []Cabinet{
				{Bia: 1, Model: model(t, "cpsmc1800"), Sequence: 1}, {Bia: bia, Model: m, Sequence: 2}}})
			cab := cabinet(bia, m.Slots, tc.model)
			idx := ident.Cabinet(bia).Index()
			h.hear(t0, true, false, cab.Report())
			h.want(0)
			cab.PS1 = false
			h.hear(t0.Add(poll), true, false, cab.Report())
			h.want(0, "pSPowerLost")
			h.objects(h.notes[0], idx, smi.Integer(bia), smi.Integer(mib.Off), smi.Integer(mib.Yes))
			cab.PS2 = false
			h.hear(t0.Add(2*poll), true, false, cab.Report())
			h.want(0, "pSPowerLost", "pSPowerLost")
			h.objects(h.notes[1], idx, smi.Integer(bia), smi.Integer(mib.Off), smi.Integer(mib.No))
			h.hear(t0.Add(3*poll), true, false, cab.Report()) // no change
			h.want(0, "pSPowerLost", "pSPowerLost")

			if got := h.intValue(tc.detail+"MRevision", idx...); got != 1 {
				t.Errorf("%sMRevision %d, want 1", tc.detail, got)
			}
			if tc.power {
				if got := h.intValue(tc.detail+"PSPower1", idx...); got != mib.Off {
					t.Errorf("%sPSPower1 %d, want off", tc.detail, got)
				}
				if got := h.intValue(tc.detail+"PSInUse2", idx...); got != mib.No {
					t.Errorf("%sPSInUse2 %d, want no", tc.detail, got)
				}
			}
			for _, p := range []string{"cpsMc1800", "cpsMc1300"} {
				if p == tc.detail {
					continue
				}
				if v, ok := h.store.Value(p+"PSPower1", idx...); ok {
					t.Errorf("a %s cabinet has a %s row: PSPower1 %v", tc.model, p, v)
				}
			}
			if got := h.value("cpsCabinetModel", idx...); !got.Equal(smi.ObjectID(m.OID)) {
				t.Errorf("cpsCabinetModel %v, want %v", got, m.OID)
			}
		})
	}
}

func TestCabinetRemovedAndAdded(t *testing.T) {
	h := newHarness(t, Config{})
	cab := cabinet(1, 18, "cpsmc1800")
	d := h.device(ident.At(1, 4), device.Cettf100)
	h.hear(t0, true, false, cab.Report())
	h.hear(t0, true, false, d.Report())
	cab.Removed = true
	h.hear(t0.Add(poll), true, false, cab.Report())
	if _, ok := h.store.Value("cettf100SerialNumber", 1, 4); ok {
		t.Fatal("a converter row of a removed cabinet stays")
	}
	cab.Removed = false
	h.hear(t0.Add(2*poll), true, false, cab.Report())
	h.hear(t0.Add(2*poll), true, false, d.Report()) // the first word of the slot again
	h.want(0, "pSCabinetRemoved", "pSCabinetAdded")
	want := model(t, "cpsmc1800").OID
	for _, n := range h.notes {
		h.objects(n, []uint32{1}, smi.Integer(1), smi.ObjectID(want))
	}
}

func TestSlotPowerBackOnIsColdStart(t *testing.T) {
	h := newHarness(t, Config{})
	at := ident.At(1, 9)
	cab := cabinet(1, 18, "cpsmc1800")
	d := h.device(at, device.Cfetf100)
	h.hear(t0, true, false, cab.Report())
	h.hear(t0, true, false, d.Report())
	if err := cab.SetSlotPower(9, false); err != nil {
		t.Fatal(err)
	}
	h.hear(t0.Add(poll), true, false, cab.Report())
	if got := h.intValue("cpsSlotPwrState", at.Index()...); got != mib.Off {
		t.Fatalf("cpsSlotPwrState %d, want off", got)
	}
	h.want(0)
	if err := cab.SetSlotPower(9, true); err != nil {
		t.Fatal(err)
	}
	h.hear(t0.Add(2*poll), true, false, cab.Report())
	h.want(0, "pSDeviceColdStart")
	h.objects(h.notes[0], at.Index(), smi.Integer(1), smi.Integer(9), h.product("cfetf100Id"))
}

// solicits decodes the Solicits among frames: the stack polls (sent to
// everyone) and the ones sent to one address.
func solicits(t *testing.T, frames []frame) (polls int, to map[netip.AddrPort]device.Solicit) {
	t.Helper()
	to = map[netip.AddrPort]device.Solicit{}
	for _, f := range frames {
		if f.typ != backplane.TypeSolicit {
			t.Fatalf("frame of type %v, want a Solicit", f.typ)
		}
		s, err := device.UnmarshalSolicit(f.payload)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case f.to.IsValid():
			if s.IsStackPoll() {
				t.Fatalf("a stack poll sent to %v", f.to)
			}
			if _, dup := to[f.to]; dup {
				t.Fatalf("%v solicited twice", f.to)
			}
			to[f.to] = s
		case s.IsStackPoll() && f.backplane:
			polls++
		default:
			t.Fatalf("a Solicit of %d/%d on the backplane, not a stack poll (backplane only: %v)", s.Bia, s.Slot, f.backplane)
		}
	}
	return polls, to
}

func TestTickPolls(t *testing.T) {
	agg1, agg2 := netip.MustParseAddrPort("127.0.0.1:17901"), netip.MustParseAddrPort("127.0.0.1:17902")
	cfg := Config{
		Cabinets: []Cabinet{{Bia: 1, Model: model(t, "cpsmc1800"), Sequence: 1}, {Bia: 2, Model: model(t, "cpsmc0800"), Sequence: 2}},
		Managers: map[ident.Slot]bool{ident.At(1, 1): true, ident.At(2, 1): true},
		Aggregation: map[ident.Slot]netip.AddrPort{
			ident.At(1, 18): agg1, ident.At(2, 8): agg2},
	}
	// Per poll: each cabinet, each slot but the managers', and each
	// aggregation converter once more over Ethernet.
	perPoll := uint64((1 + 18 - 1) + (1 + 8 - 1) + 2)

	t.Run("primary", func(t *testing.T) {
		h := newHarness(t, cfg)
		if d := h.c.Deadline(true); d.After(t0) {
			t.Fatalf("a new Primary's Deadline %v, after %v: it polls at once", d, t0)
		}
		now := t0.Add(time.Millisecond)
		for n := 1; n <= 3; n++ {
			h.c.Tick(now, true)
			polls, to := solicits(t, h.s.frames)
			if polls != 1 {
				t.Fatalf("poll %d: %d stack polls sent, want 1", n, polls)
			}
			if len(to) != 2 || to[agg1] != (device.Solicit{Bia: 1, Slot: 18}) || to[agg2] != (device.Solicit{Bia: 2, Slot: 8}) {
				t.Fatalf("poll %d: Ethernet solicits %v", n, to)
			}
			if got := h.c.Solicitations(); got != uint64(n)*perPoll {
				t.Fatalf("poll %d: Solicitations %d, want %d", n, got, uint64(n)*perPoll)
			}
			if d := h.c.Deadline(true); !d.Equal(now.Add(poll)) {
				t.Fatalf("poll %d: Deadline %v, want %v", n, d, now.Add(poll))
			}
			sent := len(h.s.frames)
			h.c.Tick(now.Add(poll-time.Nanosecond), true)
			if len(h.s.frames) != sent {
				t.Fatalf("poll %d: polled again before the interval", n)
			}
			h.s.frames = h.s.frames[:0]
			now = h.c.Deadline(true)
		}
		// Stepping down stops the polls.
		h.s.frames = nil
		for i := 0; i < 4; i++ {
			h.c.Tick(now, false)
			now = now.Add(poll)
		}
		if len(h.s.frames) != 0 {
			t.Fatalf("%d frames after stepping down", len(h.s.frames))
		}
	})
	t.Run("standby", func(t *testing.T) {
		h := newHarness(t, cfg)
		for now := t0; now.Before(t0.Add(10 * poll)); now = now.Add(poll / 3) {
			h.c.Tick(now, false)
		}
		if len(h.s.frames) != 0 || h.c.Solicitations() != 0 {
			t.Fatalf("a Standby sent %d frames, counted %d solicitations", len(h.s.frames), h.c.Solicitations())
		}
	})
}

// TestSameReportWritesNothing: once a converter and its cabinet are
// known, the same report again (every poll of a settled stack) allocates
// and writes nothing; a changed one is still taken, and a row turned
// dirty by silence is written clean again by the same report.
func TestSameReportWritesNothing(t *testing.T) {
	h := newHarness(t, Config{})
	at := ident.At(1, 4)
	d := h.device(at, device.Cettf100)
	cab := cabinet(1, 18, "cpsmc1800").Report()
	now := t0
	h.hear(now, false, false, cab)
	h.hear(now, false, false, d.Report())
	r := d.Report()
	if allocs := testing.AllocsPerRun(100, func() {
		h.c.Report(now, false, r, false)
		h.c.Report(now, false, cab, false)
	}); allocs != 0 {
		t.Errorf("the same reports again: %.1f allocations, want 0", allocs)
	}
	if got := h.intValue("cettf100CacheClean", 1, 4); got != mib.Clean {
		t.Fatalf("cettf100CacheClean = %d, want clean", got)
	}
	// Silence for three polls: dirty; the same report: clean again.
	now = now.Add(3 * poll)
	h.c.Tick(now, false)
	if got := h.intValue("cettf100CacheClean", 1, 4); got != mib.Dirty {
		t.Fatalf("after three silent polls cettf100CacheClean = %d, want dirty", got)
	}
	h.hear(now, false, false, r)
	if got := h.intValue("cettf100CacheClean", 1, 4); got != mib.Clean {
		t.Fatalf("the same report after silence: cettf100CacheClean = %d, want clean", got)
	}
}

// TestNextPoll: with NextPoll (a stack's grid), the polls after the first
// fall where it says, not a poll interval after the previous one.
func TestNextPoll(t *testing.T) {
	grid := func(at time.Time) time.Time { return at.Truncate(poll).Add(poll) }
	h := newHarness(t, Config{NextPoll: grid})
	now := t0.Add(poll / 3) // off the grid: the first poll at once, the next on it
	var at []time.Time
	for end := now.Add(4 * poll); now.Before(end); now = h.c.Deadline(true) {
		h.c.Tick(now, true)
		if polls, _ := solicits(t, h.s.frames); polls > 0 {
			at = append(at, now)
		}
		h.s.frames = h.s.frames[:0]
	}
	if len(at) < 4 || !at[0].Equal(t0.Add(poll/3)) {
		t.Fatalf("polls at %v", at)
	}
	for _, a := range at[1:] {
		if !a.Equal(a.Truncate(poll)) {
			t.Errorf("poll at %v: off the grid", a)
		}
	}
}

// TestCacheClean: a Standby's converter rows and its own cpsmm100CacheClean
// turn dirty three polls after the Primary's traffic stops, exactly when
// Deadline said, and clean again with the next report.
func TestCacheClean(t *testing.T) {
	h := newHarness(t, Config{})
	at := ident.At(1, 5)
	own := h.mod.Own()
	d := h.device(at, device.Cfetf100)
	clean := func(want int32) {
		t.Helper()
		if got := h.intValue("cfetf100CacheClean", at.Index()...); got != want {
			t.Fatalf("cfetf100CacheClean %d, want %d", got, want)
		}
		if got, _ := h.store.Read(h.mo.MM.CacheClean.Handle, own...); got.Int != want {
			t.Fatalf("cpsmm100CacheClean %v, want %d", got, want)
		}
	}
	h.hear(t0, false, false, d.Report())
	clean(mib.Clean)
	stale := t0.Add(3 * poll)
	if dl := h.c.Deadline(false); !dl.Equal(stale) {
		t.Fatalf("Deadline %v, want %v", dl, stale)
	}
	for now := t0; now.Before(stale); now = now.Add(poll / 2) {
		h.c.Tick(now, false)
	}
	h.c.Tick(stale.Add(-time.Nanosecond), false)
	clean(mib.Clean)
	h.c.Tick(h.c.Deadline(false), false)
	clean(mib.Dirty)
	if dl := h.c.Deadline(false); !dl.IsZero() {
		t.Fatalf("Deadline %v with everything dirty, want none", dl)
	}
	// The Primary's solicitation alone: the module's copy is current again
	// once reports follow; the row cleans with its report.
	back := stale.Add(poll)
	h.c.Solicited(back)
	h.hear(back, false, false, d.Report())
	clean(mib.Clean)
	if dl := h.c.Deadline(false); !dl.Equal(back.Add(3 * poll)) {
		t.Fatalf("Deadline %v, want %v", dl, back.Add(3*poll))
	}
}

// TestAggregationForgotten: an aggregation converter that stops answering
// is forgotten after three polls: its slot reads empty.
func TestAggregationForgotten(t *testing.T) {
	at := ident.At(1, 18)
	h := newHarness(t, Config{Aggregation: map[ident.Slot]netip.AddrPort{at: aggAddr}})
	agg := h.device(at, device.Aggregation)
	h.c.Tick(t0, true)
	h.hear(t0, true, true, agg.Report())
	now := t0
	for i := 1; i <= 3; i++ {
		now = now.Add(poll)
		h.c.Tick(now, true)
		h.hear(now, true, false, empty(at))
	}
	if got := h.value("cpsModuleModel", at.Index()...); !got.Equal(h.product("cpsEmptyId")) {
		t.Fatalf("cpsModuleModel %v three polls after the last answer, want cpsEmptyId", got)
	}
}

// TestExpansionModuleRow: a cpsmm200's report fills its cpsmm200Table row
// (serial, ICIF, M revision) and its slot's cpsmM200Id; it is inserted and
// removed like any device; it has no CacheClean, so silence leaves its row
// as it was.
func TestExpansionModuleRow(t *testing.T) {
	h := newHarness(t, Config{})
	at := ident.At(1, 3)
	d, err := device.New(h.reg, device.Spec{At: at, Type: device.Expansion, Serial: 300001})
	if err != nil {
		t.Fatal(err)
	}
	h.hear(t0, true, false, empty(at))
	d.SetICIF(h.reg, true)
	h.hear(t0.Add(poll), true, false, d.Report())
	h.want(0, "pSDeviceInserted")
	h.objects(h.notes[0], at.Index(), smi.Integer(1), smi.Integer(3), h.product("cpsmM200Id"))
	for name, want := range map[string]int32{"cpsmm200BiaIndex": 1, "cpsmm200SlotIndex": 3, "cpsmm200SerialNumber": 300001,
		"cpsmm200ICIF": mib.Yes, "cpsmm200MRevision": 1} {
		if got := h.intValue(name, at.Index()...); got != want {
			t.Errorf("%s %d, want %d", name, got, want)
		}
	}
	if got := h.value("cpsModuleModel", at.Index()...); !got.Equal(h.product("cpsmM200Id")) {
		t.Errorf("cpsModuleModel %v, want cpsmM200Id", got)
	}
	d.SetICIF(h.reg, false)
	h.hear(t0.Add(2*poll), true, false, d.Report())
	if got := h.intValue("cpsmm200ICIF", at.Index()...); got != mib.No {
		t.Errorf("cpsmm200ICIF %d after the chassis turned it off", got)
	}
	// Silence: the row stays (no CacheClean to turn dirty).
	h.c.Tick(t0.Add(10*poll), false)
	if got := h.intValue("cpsmm200SerialNumber", at.Index()...); got != 300001 {
		t.Errorf("cpsmm200SerialNumber %d after silence", got)
	}
	d.Removed = true
	h.hear(t0.Add(11*poll), true, false, d.Report())
	h.want(0, "pSDeviceInserted", "pSDeviceRemoved")
	if _, ok := h.store.Value("cpsmm200SerialNumber", at.Index()...); ok {
		t.Error("the removed cpsmm200's row stays")
	}
}

// TestDetailRowsOfEveryModel: each cabinet model's detail row, with its
// Description: the model for cpsMc1800/cpsMc1300, a copy of
// cpsCabinetDescription for the others.
func TestDetailRowsOfEveryModel(t *testing.T) {
	var cabs []Cabinet
	var reps []*device.Cabinet
	for i, name := range []string{"cpsmc0200", "cpsmc0800", "cpsmc1300", "cpsmc1800", "cpsmc1850", "cpsmc1900"} {
		m := model(t, name)
		cabs = append(cabs, Cabinet{Bia: ident.Cabinet(i + 1), Model: m, Sequence: int32(i + 1)})
		c := cabinet(int32(i+1), m.Slots, name)
		c.Description = "rack " + name
		reps = append(reps, c)
	}
	h := newHarness(t, Config{Cabinets: cabs})
	for _, c := range reps {
		h.hear(t0, false, false, c.Report())
	}
	for i, tc := range []struct{ detail, desc string }{
		{"cpsMc0200", "rack cpsmc0200"}, {"cpsMc0800", "rack cpsmc0800"}, {"cpsMc1300", "CPSMC1300 Point System chassis"},
		{"cpsMc1800", "CPSMC1800 Point System chassis"}, {"cpsMc1800", "CPSMC1850 Point System chassis"}, {"cpsMc1900", "rack cpsmc1900"},
	} {
		idx := ident.Cabinet(i + 1).Index()
		if got := string(h.value(tc.detail+"Description", idx...).Bytes); got != tc.desc {
			t.Errorf("%sDescription.%d %q, want %q", tc.detail, i+1, got, tc.desc)
		}
		if got := h.intValue(tc.detail+"BiaIndex", idx...); got != int32(i+1) {
			t.Errorf("%sBiaIndex.%d %d", tc.detail, i+1, got)
		}
		for _, other := range []string{"cpsMc0200", "cpsMc0800", "cpsMc1300", "cpsMc1800", "cpsMc1900", "smacf100"} {
			if _, ok := h.store.Value(other+"BiaIndex", idx...); ok && other != tc.detail {
				t.Errorf("cabinet %d (%s) also has a %s row", i+1, tc.detail, other)
			}
		}
	}
	// A new description, reported by the chassis, is copied.
	reps[0].Description = "moved"
	h.hear(t0.Add(poll), false, false, reps[0].Report())
	if got := string(h.value("cpsMc0200Description", 1).Bytes); got != "moved" {
		t.Errorf("cpsMc0200Description %q after the change", got)
	}
}

// TestSMACF100UnitOnThePrimaryOnly: an SMACF100 unit is solicited over
// Ethernet by the Primary (the unit through its first port's address,
// then each port) and never on the backplane; its cabinet and smacf100
// rows, and its ports' slots, show on the Primary only and go when the
// Primary stops hearing it.
func TestSMACF100UnitOnThePrimaryOnly(t *testing.T) {
	p1, p3 := netip.MustParseAddrPort("127.0.0.1:17911"), netip.MustParseAddrPort("127.0.0.1:17913")
	cfg := Config{
		Cabinets:    []Cabinet{{Bia: 1, Model: model(t, "cpsmc1800"), Sequence: 1}, {Bia: 2, Model: model(t, "smacf100"), Sequence: 2}},
		Aggregation: map[ident.Slot]netip.AddrPort{ident.At(2, 1): p1, ident.At(2, 3): p3},
	}
	reg := mib.DefaultRegistry()
	detail, err := device.NewDetail(reg, "smacf100")
	if err != nil {
		t.Fatal(err)
	}
	unit := &device.Cabinet{Bia: 2, Model: "smacf100", Description: "colony", PS1: true, PS2: true, Slots: 5, Ethernet: true, Detail: detail}
	port := func(s int32) device.Report {
		d, err := device.New(reg, device.Spec{At: ident.At(2, s), Type: device.Aggregation})
		if err != nil {
			t.Fatal(err)
		}
		return d.Report()
	}
	idx := ident.Cabinet(2).Index()

	t.Run("primary", func(t *testing.T) {
		h := newHarness(t, cfg)
		h.c.Tick(t0, true)
		var sent []string
		for _, f := range h.s.frames {
			s, err := device.UnmarshalSolicit(f.payload)
			if err != nil {
				t.Fatal(err)
			}
			if f.backplane {
				if !s.IsStackPoll() {
					t.Errorf("a Solicit of %d/%d on the backplane", s.Bia, s.Slot)
				}
				continue
			}
			sent = append(sent, fmt.Sprintf("%d/%d@%s", s.Bia, s.Slot, f.to))
		}
		if got, want := strings.Join(sent, " "), fmt.Sprintf("2/0@%s 2/1@%s 2/3@%s", p1, p1, p3); got != want {
			t.Errorf("Ethernet solicits %s, want %s", got, want)
		}
		// Cabinet 1 and its 17 slots, the unit and its two ports.
		if got := h.c.Solicitations(); got != 18+3 {
			t.Errorf("Solicitations %d, want 21", got)
		}
		h.hear(t0, true, false, cabinet(1, 18, "cpsmc1800").Report())
		h.hear(t0, true, true, unit.Report())
		h.hear(t0, true, true, port(1))
		h.hear(t0, true, true, port(3))
		h.want(0) // the first word of the unit: no notification
		if got := h.value("cpsCabinetModel", idx...); !got.Equal(h.product("chassisSmacf100Id")) {
			t.Errorf("cpsCabinetModel.2 %v", got)
		}
		if got := string(h.value("cpsCabinetDescription", idx...).Bytes); got != "colony" {
			t.Errorf("cpsCabinetDescription.2 %q", got)
		}
		for name, want := range map[string]int32{"smacf100BiaIndex": 2, "smacf100MRevision": 1, "smacf100SpanningTree": 1,
			"smacf100ResetCounters": 2, "smacf100SelfTest": 2, "smacf100QosEnable": 1, "smacf100QosHPThreshold": 4,
			"smacf100QosLqWeight": 1, "smacf100QosHqWeight": 4, "smacf100SNMPModuleInstalled": mib.No, "smacf100AgingTimer": 300} {
			if got := h.intValue(name, idx...); got != want {
				t.Errorf("%s.2 %d, want %d", name, got, want)
			}
		}
		if got := string(h.value("smacf100Description", idx...).Bytes); got != "colony" {
			t.Errorf("smacf100Description.2 %q, want a copy of cpsCabinetDescription", got)
		}
		for s, want := range map[uint32]string{1: "smacf100PId", 2: "cpsEmptyId", 3: "smacf100PId", 4: "cpsEmptyId", 5: "cpsEmptyId"} {
			if got := h.value("cpsModuleModel", 2, s); !got.Equal(h.product(want)) {
				t.Errorf("cpsModuleModel.2.%d %v, want %s", s, got, want)
			}
			if _, ok := h.store.Value("cpsSlotPwrState", 2, s); ok {
				t.Errorf("a port of the unit has slot power (2/%d)", s)
			}
		}
		// Polled on, it stays; a removed unit is announced.
		now := t0
		for i := 0; i < 5; i++ {
			now = now.Add(poll)
			h.c.Tick(now, true)
			h.hear(now, true, true, unit.Report())
			h.hear(now, true, true, port(1))
			h.hear(now, true, true, port(3))
		}
		if got := h.intValue("smacf100AgingTimer", idx...); got != 300 {
			t.Errorf("smacf100AgingTimer %d after five polls", got)
		}
		unit.Removed = true
		now = now.Add(poll)
		h.hear(now, true, true, unit.Report())
		h.want(0, "pSCabinetRemoved")
		unit.Removed = false
		now = now.Add(poll)
		h.hear(now, true, true, unit.Report())
		h.want(0, "pSCabinetRemoved", "pSCabinetAdded")
		// Stepping down: three polls later nothing of the unit remains.
		for i := 0; i < 4; i++ {
			now = now.Add(poll)
			h.c.Tick(now, false)
		}
		for _, name := range []string{"cpsCabinetModel", "smacf100BiaIndex"} {
			if v, ok := h.store.Value(name, idx...); ok {
				t.Errorf("%s.2 = %v after the Primary stopped hearing the unit", name, v)
			}
		}
		for s := uint32(1); s <= 5; s++ {
			if v, ok := h.store.Value("cpsModuleModel", 2, s); ok {
				t.Errorf("cpsModuleModel.2.%d = %v after the Primary stopped hearing the unit", s, v)
			}
		}
		if got := h.value("cpsCabinetModel", 1); !got.Equal(h.product("chassisCpsmc1800Id")) {
			t.Errorf("cabinet 1 went too: %v", got)
		}
	})
	t.Run("standby", func(t *testing.T) {
		h := newHarness(t, cfg)
		// What a Standby could hear on the backplane of the unit (the
		// chassis sends nothing of it; were it to): nothing is taken.
		unit.Removed = false
		h.hear(t0, false, false, unit.Report())
		h.hear(t0, false, false, empty(ident.At(2, 1)))
		if v, ok := h.store.Value("cpsCabinetModel", idx...); ok {
			t.Errorf("a Standby shows the unit: %v", v)
		}
		if v, ok := h.store.Value("cpsModuleModel", 2, 1); ok {
			t.Errorf("a Standby shows a port: %v", v)
		}
	})
}
