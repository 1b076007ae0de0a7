package backplane

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"
)

type attached struct {
	t    *testing.T
	id   ID
	conn net.Conn
	r    *bufio.Reader
	seq  uint64
}

func attach(t *testing.T, path string, id ID) *attached {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &attached{t: t, id: id, conn: c, r: bufio.NewReader(c)}
}

func (a *attached) send(payload string) {
	a.t.Helper()
	a.seq++
	f, err := Seal(key, Frame{Type: TypeAdvert, From: a.id, Seq: a.seq, Payload: []byte(payload)})
	if err != nil {
		a.t.Fatal(err)
	}
	if err := WriteFrame(a.conn, f); err != nil {
		a.t.Fatal(err)
	}
}

// expect reads the next frame within d and checks its payload; want ""
// means no frame may arrive within d.
func (a *attached) expect(want string, d time.Duration) {
	a.t.Helper()
	_ = a.conn.SetReadDeadline(time.Now().Add(d))
	b, err := ReadFrame(a.r)
	if want == "" {
		if err == nil {
			f, _ := Open(key, b)
			a.t.Fatalf("%s received %q, want nothing", a.id, f.Payload)
		}
		return
	}
	if err != nil {
		a.t.Fatalf("%s: want %q: %v", a.id, want, err)
	}
	f, err := Open(key, b)
	if err != nil || !bytes.Equal(f.Payload, []byte(want)) {
		a.t.Fatalf("%s received %q (%v), want %q", a.id, f.Payload, err, want)
	}
}

func TestChassisBroadcastAndFaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bus.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ch := NewChassis(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = ch.Serve(ctx, ln) }()

	a, b, c := attach(t, path, ID{1}), attach(t, path, ID{2}), attach(t, path, ID{3})
	// Each announces itself so the chassis knows who is on which port.
	for _, m := range []*attached{a, b, c} {
		m.send("hello " + m.id.String())
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(ch.Attached()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("chassis knows %v", ch.Attached())
		}
		time.Sleep(time.Millisecond)
	}
	// Hellos reach only the attachments already known when they were sent;
	// drain whatever arrived, then every frame reaches every other module.
	for _, m := range []*attached{a, b, c} {
		for {
			_ = m.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if _, err := ReadFrame(m.r); err != nil {
				break
			}
		}
		m.r.Reset(m.conn)
	}

	a.send("one")
	b.expect("one", 5*time.Second)
	c.expect("one", 5*time.Second)

	// Drop a's next frame only.
	ch.SetFault(ID{1}, Fault{DropNext: 1})
	a.send("lost")
	a.send("two")
	b.expect("two", 5*time.Second)
	c.expect("two", 5*time.Second)

	// Delay b's frames.
	ch.SetFault(ID{2}, Fault{Delay: 200 * time.Millisecond})
	start := time.Now()
	b.send("late")
	c.expect("late", 5*time.Second)
	if time.Since(start) < 200*time.Millisecond {
		t.Errorf("delayed frame arrived after %s", time.Since(start))
	}
	a.expect("late", 5*time.Second)
	ch.SetFault(ID{2}, Fault{})

	// Cut c: its connection is closed, it hears nothing more.
	ch.SetFault(ID{3}, Fault{Cut: true})
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := ReadFrame(c.r); err == nil {
		t.Fatal("a cut module still reads frames")
	}
	a.send("three")
	b.expect("three", 5*time.Second)
	if n := ch.Frames(); n < 6 {
		t.Errorf("chassis carried %d frames", n)
	}
}

func TestReadFrameRejectsBadLengths(t *testing.T) {
	for _, b := range [][]byte{{0xff, 0xff}, {0x00, 0x05, 1, 2, 3, 4, 5}} {
		if _, err := ReadFrame(bytes.NewReader(b)); err == nil {
			t.Errorf("% x accepted", b)
		}
	}
}
