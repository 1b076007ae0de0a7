package chassis

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/stack/ipmon"
)

// TestGatewayResponder: a probe request comes back as a reply; down and
// 100 % loss answer nothing; a delay delays the answer; restore clears it.
func TestGatewayResponder(t *testing.T) {
	g, err := newGateway(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddrPort("127.0.0.1:0"), quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.serve(ctx) }()
	defer func() { cancel(); g.conn.Close(); <-done }()
	c, err := net.DialUDP("udp", nil, g.conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seq := uint32(0)
	probe := func(wait time.Duration) (time.Duration, bool) {
		seq++
		start := time.Now()
		if _, err := c.Write(ipmon.MarshalProbe(ipmon.Datagram{Op: ipmon.OpRequest, Sender: [6]byte{1}, Seq: seq})); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		for {
			_ = c.SetReadDeadline(start.Add(wait))
			n, err := c.Read(buf)
			if err != nil {
				return 0, false
			}
			d, err := ipmon.UnmarshalProbe(buf[:n])
			if err == nil && d.Op == ipmon.OpReply && d.Seq == seq {
				return time.Since(start), true
			}
		}
	}
	if _, ok := probe(time.Second); !ok {
		t.Fatal("no answer")
	}
	// Junk and replies are not answered.
	_, _ = c.Write([]byte("junk"))
	_, _ = c.Write(ipmon.MarshalProbe(ipmon.Datagram{Op: ipmon.OpReply, Seq: 99}))
	for _, f := range [][2]string{{"down", ""}, {"loss", "100"}} {
		if err := g.SetFault(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
		if _, ok := probe(100 * time.Millisecond); ok {
			t.Fatalf("%s: answered", f[0])
		}
		g.Restore()
	}
	if err := g.SetFault("delay", "150ms"); err != nil {
		t.Fatal(err)
	}
	if d, ok := probe(2 * time.Second); !ok || d < 150*time.Millisecond {
		t.Fatalf("delay: answered %v after %s", ok, d)
	}
	g.Restore()
	if d, ok := probe(time.Second); !ok || d > 100*time.Millisecond {
		t.Fatalf("restored: answered %v after %s", ok, d)
	}
	for _, bad := range [][2]string{{"loss", "120"}, {"delay", "soon"}, {"melt", ""}} {
		if err := g.SetFault(bad[0], bad[1]); err == nil {
			t.Fatalf("%v accepted", bad)
		}
	}
}
