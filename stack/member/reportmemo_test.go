package member

import (
	"testing"

	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/device"
	"github.com/cpsmm/cpsmm/stack/transport"
)

func TestReportMemoDecodesOncePerChange(t *testing.T) {
	r := device.Report{Kind: device.KindSlot, Bia: 1, Slot: 3, Type: 1,
		Items: []device.Item{{Tag: 1, Value: smi.Value{Type: smi.TypeOctetString, Bytes: []byte("ab")}}}}
	b, err := device.MarshalReport(r)
	if err != nil {
		t.Fatal(err)
	}
	var m reportMemo
	first, err := m.decode([6]byte{1}, transport.Backplane, b)
	if err != nil || len(first) != 1 {
		t.Fatalf("decode: %v %v", first, err)
	}
	// The transport reuses its buffer: the memo must not see the change.
	buf := append([]byte(nil), b...)
	again, _ := m.decode([6]byte{1}, transport.Backplane, buf)
	if &again[0] != &first[0] {
		t.Fatal("the same payload was decoded again")
	}
	for i := range buf {
		buf[i] = 0
	}
	if string(first[0].Items[0].Value.Bytes) != "ab" {
		t.Fatalf("a reused buffer changed the kept report: %q", first[0].Items[0].Value.Bytes)
	}
	// Another sender or path is kept apart; new bytes are decoded.
	other, _ := m.decode([6]byte{2}, transport.Backplane, b)
	if &other[0] == &first[0] {
		t.Fatal("two senders share one decoding")
	}
	r.Items[0].Value.Bytes = []byte("cd")
	b2, _ := device.MarshalReport(r)
	changed, _ := m.decode([6]byte{1}, transport.Backplane, b2)
	if string(changed[0].Items[0].Value.Bytes) != "cd" {
		t.Fatalf("changed payload gave %q", changed[0].Items[0].Value.Bytes)
	}
	if _, err := m.decode([6]byte{1}, transport.Backplane, []byte{9}); err == nil {
		t.Fatal("a malformed payload was accepted")
	}
}
