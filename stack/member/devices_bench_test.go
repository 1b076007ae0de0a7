package member

import (
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/negotiation"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/device"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/module"
	"github.com/cpsmm/cpsmm/stack/transport"
)

// BenchmarkReport is the member's work for one device report it hears
// (decode, write into the MIB), beside the work of the report's HMAC
// check on the bus in the same run.
func BenchmarkReport(b *testing.B) {
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	mod, err := module.New(module.Options{Config: module.Default(), Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(Config{
		Negotiation: negotiation.Config{Hello: time.Second, Holdtime: 3 * time.Second},
		Transport: transport.Config{ID: backplane.ID{0, 0xc0, 0xf2, 0, 0, 1}, Key: []byte("bench-key"), ChassisNetwork: "unix",
			ChassisAddr: "/nonexistent", Ethernet: netip.MustParseAddrPort("127.0.0.1:0")},
		Module: mod, Log: quiet,
		Devices: Devices{Poll: time.Second, Cabinets: []Cabinet{{Bia: 1, Slots: 18, Model: "cpsmc1800"}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	reg := mib.DefaultRegistry()
	var frames []backplane.Frame
	for s := int32(2); s <= 18; s++ {
		d, err := device.New(reg, device.Spec{At: ident.At(1, s), Type: device.Cfetf100, ConnA: "rj-45", ConnB: "lc"})
		if err != nil {
			b.Fatal(err)
		}
		p, _ := device.MarshalReport(d.Report())
		frames = append(frames, backplane.Frame{Type: backplane.TypeDeviceReport, Payload: p})
	}
	sealed, _ := backplane.Seal([]byte("bench-key"), backplane.Frame{Type: backplane.TypeDeviceReport, From: backplane.ID{2}, Seq: 1, Payload: frames[0].Payload})
	b.Run("member", func(b *testing.B) {
		now := time.Now()
		for i := 0; i < b.N; i++ {
			m.report(now, transport.Backplane, frames[i%len(frames)], false)
		}
	})
	b.Run("hmac-reference", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := backplane.Open([]byte("bench-key"), sealed); err != nil {
				b.Fatal(err)
			}
		}
	})
	fmt.Printf("%d device rows in the store\n", len(frames))
}
