package backplane

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
)

var key = []byte("stack-key-for-tests")

func TestSealGolden(t *testing.T) {
	f := Frame{Type: TypeAdvert, Flags: 0x01, From: ID{0, 0xc0, 0xf2, 0, 0, 1}, Seq: 0x0102030405060708, Payload: []byte("hi")}
	got, err := Seal(key, f)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := hex.DecodeString("43505342" + "01" + "01" + "01" + "00" + "00c0f2000001" + "0000" + "0102030405060708" + "0002" + "0000" + "6869")
	m := hmac.New(sha256.New, key)
	m.Write(head)
	want := m.Sum(head)
	if !bytes.Equal(got, want) {
		t.Fatalf("sealed\n%x\nwant\n%x", got, want)
	}
	back, err := Open(key, got)
	if err != nil {
		t.Fatal(err)
	}
	if back.Type != f.Type || back.Flags != f.Flags || back.From != f.From || back.Seq != f.Seq || string(back.Payload) != "hi" {
		t.Errorf("opened %+v", back)
	}
}

func TestOpenRejects(t *testing.T) {
	good, _ := Seal(key, Frame{Type: TypeSolicit, From: ID{1}, Seq: 1, Payload: []byte{1, 2, 3}})
	mutate := func(i int, v byte) []byte {
		b := append([]byte(nil), good...)
		b[i] = v
		return b
	}
	tests := []struct {
		name string
		b    []byte
		key  []byte
		want error
	}{
		{"wrong key", good, []byte("another-key"), ErrBadMAC},
		{"flipped payload bit", mutate(HeaderSize, 9), key, ErrBadMAC},
		{"flipped sequence", mutate(23, 2), key, ErrBadMAC},
		{"short", good[:20], key, ErrMalformed},
		{"truncated MAC", good[:len(good)-1], key, ErrMalformed},
		{"bad magic", mutate(0, 'X'), key, ErrMalformed},
		{"version 2", mutate(4, 2), key, ErrMalformed},
		{"reserved set", mutate(7, 1), key, ErrMalformed},
		{"length too big", mutate(24, 0xff), key, ErrMalformed},
		{"trailing octet", append(append([]byte(nil), good...), 0), key, ErrMalformed},
	}
	for _, tc := range tests {
		if _, err := Open(tc.key, tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := Seal(key, Frame{Type: TypeAdvert, Payload: make([]byte, MaxPayload+1)}); err == nil {
		t.Error("sealed an oversized payload")
	}
}

func TestReceiverReplayWindow(t *testing.T) {
	r := NewReceiver(key)
	a, b := ID{0xa}, ID{0xb}
	frame := func(from ID, seq uint64) []byte {
		f, err := Seal(key, Frame{Type: TypeAdvert, From: from, Seq: seq})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	steps := []struct {
		from ID
		seq  uint64
		ok   bool
	}{
		{a, 100, true},
		{a, 100, false}, // replay
		{a, 101, true},
		{a, 99, true},  // reordered, inside the window, first time
		{a, 99, false}, // and not twice
		{b, 5, true},   // another sender has its own numbering
		{a, 300, true}, // a jump forward
		{a, 237, true}, // 63 behind: still inside
		{a, 236, false},
		{a, 101, false}, // far behind now
	}
	for i, s := range steps {
		_, err := r.Accept(frame(s.from, s.seq))
		if (err == nil) != s.ok {
			t.Errorf("step %d (%s seq %d): %v, want ok=%v", i, s.from, s.seq, err, s.ok)
		}
		if err != nil && !errors.Is(err, ErrReplay) {
			t.Errorf("step %d: %v is not ErrReplay", i, err)
		}
	}
	if r.Stats.Accepted != 6 || r.Stats.Replayed != 4 {
		t.Errorf("stats %+v", r.Stats)
	}
	// A forged frame is counted and changes nothing.
	forged, _ := Seal([]byte("wrong-key-123"), Frame{Type: TypeAdvert, From: a, Seq: 1000})
	if _, err := r.Accept(forged); !errors.Is(err, ErrBadMAC) || r.Stats.BadMAC != 1 {
		t.Errorf("forged: %v %+v", err, r.Stats)
	}
	if _, err := r.Accept(frame(a, 301)); err != nil {
		t.Errorf("the forged frame moved the window: %v", err)
	}
	if _, err := r.Accept([]byte("garbage")); !errors.Is(err, ErrMalformed) || r.Stats.Malformed != 1 {
		t.Errorf("garbage: %v %+v", err, r.Stats)
	}
}

// FuzzOpen: no input makes Open or a Receiver panic; what opens seals back
// to the same bytes.
func FuzzOpen(f *testing.F) {
	s, _ := Seal(key, Frame{Type: TypeAdvert, From: ID{1, 2, 3, 4, 5, 6}, Seq: 9, Payload: []byte("payload")})
	f.Add(s)
	f.Add(s[:HeaderSize])
	f.Add([]byte("CPSB"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReceiver(key)
		fr, err := r.Accept(b)
		if err != nil {
			return
		}
		again, err := Seal(key, fr)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("reseal differs: %v\n%x\n%x", err, again, b)
		}
	})
}
