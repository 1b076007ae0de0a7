package ipmon

import (
	"bytes"
	"testing"
)

func TestProbeRoundTrip(t *testing.T) {
	d := Datagram{Op: OpRequest, Sender: [6]byte{0, 0xc0, 0xf2, 0, 0, 1}, Seq: 77}
	b := MarshalProbe(d)
	if !IsProbe(b) {
		t.Fatal("not a probe")
	}
	got, err := UnmarshalProbe(b)
	if err != nil || got != d {
		t.Fatalf("got %+v, %v", got, err)
	}
	r, ok := Reply(b)
	if !ok {
		t.Fatal("no reply")
	}
	if got, _ := UnmarshalProbe(r); got.Op != OpReply || got.Seq != 77 || got.Sender != d.Sender {
		t.Fatalf("reply %+v", got)
	}
	if _, ok := Reply(r); ok {
		t.Fatal("a reply answered")
	}
	for _, bad := range [][]byte{nil, b[:19], append(append([]byte(nil), b...), 0), []byte("CPSB" + string(b[4:]))} {
		if _, err := UnmarshalProbe(bad); err == nil {
			t.Fatalf("accepted %x", bad)
		}
	}
}

func TestReportRoundTrip(t *testing.T) {
	for _, r := range []Report{{}, {Up: true}, {Failed: true}, {Up: true, Failed: true}} {
		got, err := UnmarshalReport(MarshalReport(r))
		if err != nil || got != r {
			t.Fatalf("%+v: got %+v, %v", r, got, err)
		}
	}
	for _, bad := range [][]byte{nil, {1}, {2, 0}, {1, 4}, {1, 0, 0}} {
		if _, err := UnmarshalReport(bad); err == nil {
			t.Fatalf("accepted %x", bad)
		}
	}
}

// FuzzUnmarshalProbe: never panics; what decodes encodes back the same.
func FuzzUnmarshalProbe(f *testing.F) {
	f.Add(MarshalProbe(Datagram{Op: OpRequest, Seq: 1}))
	f.Add([]byte("CPIP"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := UnmarshalProbe(b)
		if err != nil {
			return
		}
		if again := MarshalProbe(d); !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %x from %x", again, b)
		}
	})
}

// FuzzUnmarshalReport: never panics; what decodes encodes back the same.
func FuzzUnmarshalReport(f *testing.F) {
	f.Add(MarshalReport(Report{Up: true}))
	f.Add([]byte{1, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := UnmarshalReport(b)
		if err != nil {
			return
		}
		if again := MarshalReport(r); !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %x from %x", again, b)
		}
	})
}
