package transport

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/stack/backplane"
)

type inbox struct {
	mu  sync.Mutex
	got map[Path][]string
}

func (in *inbox) deliver(p Path, f backplane.Frame) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.got[p] = append(in.got[p], string(f.Payload))
}

func (in *inbox) has(p Path, payload string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, s := range in.got[p] {
		if s == payload {
			return true
		}
	}
	return false
}

func freeUDP(t *testing.T) netip.AddrPort {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTwoPaths(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sock := filepath.Join(t.TempDir(), "bus.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ch := backplane.NewChassis(nil)
	go func() { _ = ch.Serve(ctx, ln) }()

	key := []byte("the-stack-key")
	ea, eb, ec := freeUDP(t), freeUDP(t), freeUDP(t)
	mk := func(id byte, eth netip.AddrPort, peers []netip.AddrPort, k []byte, in *inbox) *Transport {
		tr, err := New(Config{ID: backplane.ID{id}, Key: k, ChassisNetwork: "unix", ChassisAddr: sock,
			Ethernet: eth, Peers: peers, Deliver: in.deliver, Reattach: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = tr.Run(ctx) }()
		return tr
	}
	inA, inB, inC := &inbox{got: map[Path][]string{}}, &inbox{got: map[Path][]string{}}, &inbox{got: map[Path][]string{}}
	a := mk(1, ea, []netip.AddrPort{eb, ec}, key, inA)
	b := mk(2, eb, []netip.AddrPort{ea, ec}, key, inB)
	c := mk(3, ec, []netip.AddrPort{ea, eb}, []byte("another-key"), inC) // wrong key
	eventually(t, "attachments", func() bool { return a.Attached() && b.Attached() && c.Attached() })

	// Both paths deliver.
	if err := a.Send(backplane.TypeAdvert, 0, []byte("one")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both paths", func() bool { return inB.has(Backplane, "one") && inB.has(Ethernet, "one") })

	// The module with the wrong key is never heard, and never hears.
	if err := c.Send(backplane.TypeAdvert, 0, []byte("intruder")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bad MACs counted", func() bool { s := b.Stats(); return s[Backplane].BadMAC >= 1 && s[Ethernet].BadMAC >= 1 })
	if inB.has(Backplane, "intruder") || inB.has(Ethernet, "intruder") || inC.has(Backplane, "one") {
		t.Error("a frame crossed keys")
	}

	// Ethernet link down on a: b hears a on the backplane only.
	a.SetLink(false)
	_ = a.Send(backplane.TypeAdvert, 0, []byte("two"))
	eventually(t, "backplane only", func() bool { return inB.has(Backplane, "two") })
	if inB.has(Ethernet, "two") {
		t.Error("a link-down module was heard on Ethernet")
	}
	a.SetLink(true)

	// Backplane cut for a: b hears a on Ethernet only; a re-attaches when
	// the cut is cleared.
	ch.SetFault(backplane.ID{1}, backplane.Fault{Cut: true})
	eventually(t, "detach", func() bool { return !a.Attached() || ch.Frames() > 0 })
	_ = a.Send(backplane.TypeAdvert, 0, []byte("three"))
	eventually(t, "ethernet only", func() bool { return inB.has(Ethernet, "three") })
	if inB.has(Backplane, "three") {
		t.Error("a cut module was heard on the backplane")
	}
	// Nor does it hear the backplane, however often it re-attaches.
	_ = b.Send(backplane.TypeAdvert, 0, []byte("five"))
	eventually(t, "ethernet to the cut module", func() bool { return inA.has(Ethernet, "five") })
	if inA.has(Backplane, "five") {
		t.Error("a cut module heard the backplane")
	}
	ch.SetFault(backplane.ID{1}, backplane.Fault{})
	eventually(t, "re-attach", func() bool {
		_ = a.Send(backplane.TypeAdvert, 0, []byte("four"))
		return inB.has(Backplane, "four")
	})
}
