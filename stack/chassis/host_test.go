package chassis

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/configmsg"
	"github.com/cpsmm/cpsmm/stack/device"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/stackfile"
)

const stackText = `stack: t
key: "chassis-test-key"
cabinets:
  - {bia: 1, model: cpsmc1800, description: "Rack"}
modules:
  - {name: a, cabinet: 1, slot: 1, mac: "00:00:00:00:00:01", ip: 192.0.2.1, mask: 255.255.255.0, snmp: "127.0.0.1:16101"}
devices:
  - {cabinet: 1, slot: 4, type: cettf100, serial: 7}
  - {cabinet: 1, slot: 5, type: cfetf100}
`

// rig is a chassis bus with a Host on it, and a module-like attachment
// that sends and records frames.
type rig struct {
	t      *testing.T
	sock   string
	state  string
	host   *Host
	stop   context.CancelFunc
	done   chan struct{}
	frames chan backplane.Frame
	seq    uint64
	conn   net.Conn
}

func quiet() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func newRig(t *testing.T, state string) *rig { return newRigWith(t, state, stackText) }

// newRigWith is newRig for the stack file text (key "chassis-test-key",
// a cabinet 1 on the backplane).
func newRigWith(t *testing.T, state, text string) *rig {
	st, err := stackfile.Parse("s.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := &rig{t: t, sock: filepath.Join(dir, "bus.sock"), state: state, frames: make(chan backplane.Frame, 64), seq: uint64(time.Now().UnixNano())}
	ln, err := net.Listen("unix", r.sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	r.stop, r.done = stop, make(chan struct{})
	bus := backplane.NewChassis(quiet())
	go func() { _ = bus.Serve(ctx, ln) }()
	if r.host, err = New(Config{Stack: st, ChassisNetwork: "unix", ChassisAddr: r.sock, StateFile: state, Log: quiet()}); err != nil {
		t.Fatal(err)
	}
	go func() { defer close(r.done); _ = r.host.Run(ctx) }()
	t.Cleanup(func() { stop(); <-r.done })
	// The "module": attach, announce, and read.
	if r.conn, err = net.Dial("unix", r.sock); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.conn.Close() })
	r.send(backplane.TypeHello, nil)
	go func() {
		rx := backplane.NewReceiver([]byte(st.Key))
		for {
			b, err := backplane.ReadFrame(r.conn)
			if err != nil {
				return
			}
			if f, err := rx.Accept(b); err == nil {
				r.frames <- f
			}
		}
	}()
	// Wait until the host is attached too: a solicit gets answered.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.send(backplane.TypeSolicit, device.MarshalSolicit(device.Solicit{Bia: 1, Slot: 4}))
		select {
		case <-r.frames:
			return r
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the host does not answer")
		}
	}
}

func (r *rig) send(typ backplane.Type, payload []byte) {
	r.seq++
	b, err := backplane.Seal([]byte("chassis-test-key"), backplane.Frame{Type: typ, From: backplane.ID{0, 0, 0, 0, 0, 1}, Seq: r.seq, Payload: payload})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := backplane.WriteFrame(r.conn, b); err != nil {
		r.t.Fatal(err)
	}
}

// next returns the next frame of type typ.
func (r *rig) next(typ backplane.Type) backplane.Frame {
	r.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f := <-r.frames:
			if f.Type == typ {
				return f
			}
		case <-timeout:
			r.t.Fatalf("no %s frame", typ)
		}
	}
}

func (r *rig) set(id uint32, bia, slot uint16, obj configmsg.Object, v smi.Value) configmsg.Ack {
	r.t.Helper()
	s := configmsg.Set{ID: id, Target: configmsg.Target{Kind: configmsg.KindDevice, Slot: ident.At(ident.Cabinet(bia), int32(slot))}, Object: obj, Type: configmsg.Integer, Int: v.Int}
	if v.Type == smi.TypeOctetString {
		s.Type, s.Bytes = configmsg.Octets, v.Bytes
	}
	b, err := configmsg.MarshalSet(s)
	if err != nil {
		r.t.Fatal(err)
	}
	r.send(backplane.TypeConfigSet, b)
	for {
		a, err := configmsg.UnmarshalAck(r.next(backplane.TypeConfigAck).Payload)
		if err != nil {
			r.t.Fatal(err)
		}
		if a.ID == id {
			return a
		}
	}
}

func TestSetsPersistAcrossARestart(t *testing.T) {
	state := filepath.Join(t.TempDir(), "devices.json")
	r := newRig(t, state)
	// cfetf100Enabled (column 13) = no(2); the cabinet's description; slot 9's power.
	for _, tc := range []struct {
		slot uint16
		obj  configmsg.Object
		v    smi.Value
	}{{5, 13, smi.Integer(2)}, {0, configmsg.ObjCabinetDescription, smi.String("Rack B")}, {9, configmsg.ObjSlotPower, smi.Integer(2)}} {
		if a := r.set(uint32(tc.obj), 1, tc.slot, tc.obj, tc.v); a.Status != configmsg.OK {
			t.Fatalf("set %v: %s", tc, a.Status)
		}
	}
	// Refused: a read-only column, a bad enumeration, an empty slot.
	for i, tc := range []struct {
		slot uint16
		obj  configmsg.Object
		v    smi.Value
		want configmsg.Status
	}{{5, 9, smi.Integer(2), configmsg.BadValue}, {5, 13, smi.Integer(9), configmsg.BadValue}, {12, 13, smi.Integer(1), configmsg.UnknownObject}} {
		if a := r.set(uint32(100+i), 1, tc.slot, tc.obj, tc.v); a.Status != tc.want {
			t.Errorf("refused set %d: %s, want %s", i, a.Status, tc.want)
		}
	}
	if err := r.host.DeviceFault(1, 4, "remove"); err != nil {
		t.Fatal(err)
	}
	r.stop()
	<-r.done

	// A new chassis process on the same state file.
	r2 := newRig(t, state)
	st := r2.host.State()
	var cfe, cet *device.Device
	for _, d := range st.Devices {
		switch d.Slot {
		case 5:
			cfe = d
		case 4:
			cet = d
		}
	}
	if cfe == nil || cfe.Cols[13].Int != 2 {
		t.Errorf("cfetf100Enabled after the restart: %+v", cfe)
	}
	if cet == nil || !cet.Removed {
		t.Errorf("the removed device came back: %+v", cet)
	}
	if c := st.Cabinets[0]; c.Description != "Rack B" || c.SlotPower(9) != 2 || c.SlotPower(8) != 1 {
		t.Errorf("cabinet after the restart: %+v", c)
	}
	// And it reports so: slot 4 empty.
	r2.send(backplane.TypeSolicit, device.MarshalSolicit(device.Solicit{Bia: 1, Slot: 4}))
	for {
		rep, err := device.UnmarshalReport(r2.next(backplane.TypeDeviceReport).Payload)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Slot == 4 {
			if rep.Type != device.Empty {
				t.Errorf("slot 4 reports type %d after the restart, want empty", rep.Type)
			}
			break
		}
	}
}

// A changed stack file: declared devices keep their saved state, new ones
// come fresh, undeclared ones are gone.
func TestReconcileWithTheStackFile(t *testing.T) {
	state := filepath.Join(t.TempDir(), "devices.json")
	st, err := stackfile.Parse("s.yaml", []byte(stackText))
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Stack: st, ChassisNetwork: "unix", ChassisAddr: "/nonexistent", StateFile: state, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.DeviceFault(1, 5, "fault"); err != nil {
		t.Fatal(err)
	}
	// Slot 4 now holds a cfetf100 instead of a cettf100; slot 5 stays; 6 is new.
	changed := strings.Replace(stackText, "{cabinet: 1, slot: 4, type: cettf100, serial: 7}", "{cabinet: 1, slot: 4, type: cfetf100}", 1) +
		"  - {cabinet: 1, slot: 6, type: cettf100}\n"
	st2, err := stackfile.Parse("s.yaml", []byte(changed))
	if err != nil {
		t.Fatal(err)
	}
	h2, err := New(Config{Stack: st2, ChassisNetwork: "unix", ChassisAddr: "/nonexistent", StateFile: state, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int32]*device.Device{}
	for _, d := range h2.State().Devices {
		got[d.Slot] = d
	}
	if len(got) != 3 || got[4].Type != device.Cfetf100 || got[6] == nil || got[6].Type != device.Cettf100 {
		t.Fatalf("devices after reconciling: %+v", got)
	}
	if got[5].Cols[11].Int != 1 { // cfetf100Fault yes(1), kept
		t.Errorf("slot 5 lost its saved state: %+v", got[5].Cols)
	}
}

// TestICIFAndSMACF100Units: the Expansion Management Modules' ICIF follows
// the vendor's rule (none where a Base Management Module sits; else the
// lowest slot's, the next one when it is removed); an SMACF100 unit and
// its ports answer over Ethernet only, never in the backplane's poll.
func TestICIFAndSMACF100Units(t *testing.T) {
	taken := map[string]bool{}
	port := func() string {
		for {
			c, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			a := c.LocalAddr().String()
			c.Close()
			if !taken[a] {
				taken[a] = true
				return a
			}
		}
	}
	p1, p3 := port(), port()
	text := `stack: t
key: "chassis-test-key"
cabinets:
  - {bia: 1, model: cpsmc1800}
  - {bia: 2, model: cpsmc1900}
  - {bia: 3, model: smacf100, description: "colony"}
modules:
  - {name: a, cabinet: 1, slot: 1, mac: "00:00:00:00:00:01", ip: 192.0.2.1, mask: 255.255.255.0, snmp: "127.0.0.1:16101"}
devices:
  - {cabinet: 1, slot: 3, type: cpsmm200, serial: 13}
  - {cabinet: 1, slot: 4, type: cettf100}
  - {cabinet: 2, slot: 5, type: cpsmm200, serial: 25}
  - {cabinet: 2, slot: 2, type: cpsmm200, serial: 22}
  - {cabinet: 3, slot: 1, type: smacf100p, ethernet: "` + p1 + `"}
  - {cabinet: 3, slot: 3, type: smacf100p, ethernet: "` + p3 + `"}
`
	r := newRigWith(t, filepath.Join(t.TempDir(), "devices.json"), text)
	h := r.host
	icif := func() string {
		var out []string
		for _, d := range h.State().Devices {
			if d.Type == device.Expansion {
				out = append(out, fmt.Sprintf("%d/%d:%v", d.Bia, d.Slot, d.ICIF(h.reg)))
			}
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	if got := icif(); got != "1/3:false 2/2:true 2/5:false" {
		t.Fatalf("ICIF %s", got)
	}
	if err := h.DeviceFault(2, 2, "remove"); err != nil {
		t.Fatal(err)
	}
	if got := icif(); got != "1/3:false 2/2:false 2/5:true" {
		t.Fatalf("ICIF after removing 2/2: %s", got)
	}
	if err := h.RestoreDevice(2, 2); err != nil {
		t.Fatal(err)
	}
	if got := icif(); got != "1/3:false 2/2:true 2/5:false" {
		t.Fatalf("ICIF after restoring 2/2: %s", got)
	}

	// The backplane's poll: every cabinet and slot of 1 and 2 but the
	// module's, nothing of the SMACF100 unit.
	n := 0
	for _, rep := range h.pollReports() {
		if rep.Bia == 3 {
			t.Fatalf("the backplane poll reports the SMACF100 unit: %+v", rep)
		}
		n++
	}
	if n != (1+18-1)+(1+19) {
		t.Errorf("%d reports in a poll", n)
	}
	for _, at := range []ident.Slot{ident.At(3, 0), ident.At(3, 1), ident.At(3, 2)} {
		if _, ok := h.report(at, false); ok {
			t.Errorf("%s answers on the backplane", at)
		}
	}
	if _, ok := h.report(ident.At(1, 0), true); ok {
		t.Error("a backplane cabinet answers over Ethernet")
	}

	// Over Ethernet (UDP to a port's address): the unit and its port.
	c, err := net.Dial("udp4", p3)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rx := backplane.NewReceiver([]byte("chassis-test-key"))
	ask := func(s device.Solicit) device.Report {
		t.Helper()
		r.seq++
		b, err := backplane.Seal([]byte("chassis-test-key"), backplane.Frame{Type: backplane.TypeSolicit, From: backplane.ID{0, 0, 0, 0, 0, 1}, Seq: r.seq, Payload: device.MarshalSolicit(s)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, backplane.MaxFrame+1)
		k, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		f, err := rx.Accept(buf[:k])
		if err != nil {
			t.Fatal(err)
		}
		reps, err := device.UnmarshalReports(f.Payload)
		if err != nil || len(reps) != 1 {
			t.Fatalf("%v %v", reps, err)
		}
		return reps[0]
	}
	unit := ask(device.Solicit{Bia: 3})
	tags := map[uint8]smi.Value{}
	for _, it := range unit.Items {
		tags[it.Tag] = it.Value
	}
	if unit.Kind != device.KindCabinet || unit.Type != device.CabinetPresent || string(tags[device.TagDescription].Bytes) != "colony" {
		t.Fatalf("the unit's report %+v", unit)
	}
	if _, ok := tags[device.TagSlotPower]; ok || tags[device.TagDetail+12].Int != 300 || tags[device.TagDetail+11].Int != 2 {
		t.Errorf("the unit's items %v", unit.Items)
	}
	if p := ask(device.Solicit{Bia: 3, Slot: 3}); p.Kind != device.KindSlot || p.Type != device.Aggregation {
		t.Errorf("port 3/3 answers %+v", p)
	}

	// A description set through the Primary is acknowledged, and not
	// reported on the backplane (no Standby may hear of the unit).
	st, reps := h.apply(configmsg.Set{ID: 1, Target: configmsg.Target{Kind: configmsg.KindDevice, Slot: ident.At(3, 0)},
		Object: configmsg.ObjCabinetDescription, Type: configmsg.Octets, Bytes: []byte("colony B")})
	if st != configmsg.OK || len(reps) != 0 {
		t.Errorf("description of the unit: %v, %d reports", st, len(reps))
	}
}
