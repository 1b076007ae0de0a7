package devcache

import (
	"fmt"
	"testing"

	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/device"
	"github.com/cpsmm/cpsmm/stack/ident"
)

// BenchmarkReport is a member's work for the device reports it hears
// (decode, write into the MIB) beside the HMAC check of the frames that
// carry them on the bus, in the same run: one cfetf100's report, and a
// poll's 17 (a cpsmc1800 full but for its management module), packed
// into batches as the chassis sends them.
func BenchmarkReport(b *testing.B) {
	key := []byte("bench-key")
	h := newHarness(b, Config{})
	var reports []device.Report
	for s := int32(2); s <= 18; s++ {
		reports = append(reports, h.device(ident.At(1, s), device.Cfetf100).Report())
	}
	one, err := device.MarshalReport(reports[0])
	if err != nil {
		b.Fatal(err)
	}
	batches, err := device.MarshalBatches(reports, backplane.MaxPayload)
	if err != nil {
		b.Fatal(err)
	}
	seq := uint64(0)
	seal := func(p []byte) []byte {
		seq++
		sealed, err := backplane.Seal(key, backplane.Frame{Type: backplane.TypeDeviceReport, From: backplane.ID{2}, Seq: seq, Payload: p})
		if err != nil {
			b.Fatal(err)
		}
		return sealed
	}
	sealedOne := seal(one)
	var sealedBatches [][]byte
	for _, p := range batches {
		sealedBatches = append(sealedBatches, seal(p))
	}
	now := t0

	b.Run("report", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rs, err := device.UnmarshalReports(one)
			if err != nil {
				b.Fatal(err)
			}
			h.c.Report(now, false, rs[0], false)
		}
	})
	b.Run("batch17", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			n := 0
			for _, p := range batches {
				rs, err := device.UnmarshalReports(p)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range rs {
					h.c.Report(now, false, r, false)
				}
				n += len(rs)
			}
			if n != len(reports) {
				b.Fatalf("%d reports decoded, want %d", n, len(reports))
			}
		}
	})
	b.Run("hmac-reference", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := backplane.Open(key, sealedOne); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hmac-reference-batch17", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, f := range sealedBatches {
				if _, err := backplane.Open(key, f); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	if got := h.intValue("cfetf100SerialNumber", 1, 18); got != 4242 {
		b.Fatalf("cfetf100SerialNumber.1.18 %d after the batches, want 4242", got)
	}
	fmt.Printf("%d reports in %d batch frames of at most %d octets\n", len(reports), len(batches), backplane.MaxPayload)
}
