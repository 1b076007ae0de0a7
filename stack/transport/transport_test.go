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

// TestRawDatagrams: a datagram that is not a frame goes to Raw, whose
// answer goes back to the sender at once; SendRaw sends one; with the
// link down nothing raw goes out or comes in.
func TestRawDatagrams(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	key := []byte("the-stack-key")
	type raw struct {
		from netip.AddrPort
		b    string
	}
	var mu sync.Mutex
	var gotA []raw
	aAddr, bAddr := freeUDP(t), freeUDP(t)
	a, err := New(Config{ID: backplane.ID{1}, Key: key, ChassisNetwork: "unix", ChassisAddr: filepath.Join(t.TempDir(), "none.sock"),
		Ethernet: aAddr, Deliver: func(Path, backplane.Frame) {}, Raw: func(from netip.AddrPort, b []byte) []byte {
			mu.Lock()
			defer mu.Unlock()
			gotA = append(gotA, raw{from, string(b)})
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{ID: backplane.ID{2}, Key: key, ChassisNetwork: "unix", ChassisAddr: filepath.Join(t.TempDir(), "none.sock"),
		Ethernet: bAddr, Deliver: func(Path, backplane.Frame) {}, Raw: func(_ netip.AddrPort, b []byte) []byte {
			return append([]byte("echo "), b...)
		}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, tr := range []*Transport{a, b} {
		wg.Go(func() { _ = tr.Run(ctx) })
	}
	defer func() { cancel(); wg.Wait() }()
	has := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range gotA {
			if r.b == s && r.from == bAddr {
				return true
			}
		}
		return false
	}
	if err := a.SendRaw(bAddr, []byte("ping 1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the echo", func() bool { return has("echo ping 1") })
	b.SetLink(false)
	if err := b.SendRaw(aAddr, []byte("x")); err == nil {
		t.Fatal("SendRaw with the link down")
	}
	_ = a.SendRaw(bAddr, []byte("ping 2"))
	// A negative can only be watched for a while: no echo for 200 ms.
	for deadline := time.Now().Add(200 * time.Millisecond); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if has("echo ping 2") {
			t.Fatal("answered with the link down")
		}
	}
	b.SetLink(true)
	_ = a.SendRaw(bAddr, []byte("ping 3"))
	eventually(t, "the echo after the link came back", func() bool { return has("echo ping 3") })
}
