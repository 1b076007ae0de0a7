package stackaddr

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/negotiation"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/stackfile"
)

// fakeAgent stands for a module's snmpd: it answers every request with
// cpsIsPrimary.0 (yes, or no when no is set) and sysName.0 = its name,
// after delay; a Set is answered with its own varbinds.
type fakeAgent struct {
	name  string
	conn  *net.UDPConn
	no    atomic.Bool
	gone  atomic.Bool // answers noSuchObject, as an snmpd whose module has stopped
	delay atomic.Int64
	seen  atomic.Int64
}

func newFakeAgent(t *testing.T, name string) *fakeAgent {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	a := &fakeAgent{name: name, conn: c}
	t.Cleanup(func() { c.Close() })
	isPrimary := "." + mib.DefaultRegistry().MustLookup("cpsIsPrimary").OID.Append(0).String()
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c} // one per agent: gosnmp.Default is shared state
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			a.seen.Add(1)
			req, err := dec.SnmpDecodePacket(append([]byte(nil), buf[:n]...))
			if err != nil {
				continue
			}
			v := 1
			if a.no.Load() {
				v = 2
			}
			vbs := []gosnmp.SnmpPDU{{Name: isPrimary, Type: gosnmp.Integer, Value: v}, {Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.OctetString, Value: a.name}}
			if a.gone.Load() {
				vbs[0] = gosnmp.SnmpPDU{Name: isPrimary, Type: gosnmp.NoSuchObject}
			}
			if req.PDUType == gosnmp.SetRequest {
				vbs = req.Variables
			}
			resp := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: req.Community, PDUType: gosnmp.GetResponse, RequestID: req.RequestID, Variables: vbs}
			b, err := resp.MarshalMsg()
			if err != nil {
				continue
			}
			go func() {
				time.Sleep(time.Duration(a.delay.Load()))
				_, _ = c.WriteToUDPAddrPort(b, from)
			}()
		}
	}()
	return a
}

func (a *fakeAgent) addr() netip.AddrPort { return a.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// freeAddress finds a loopback port whose port + 1000 is free too.
func freeAddress(t *testing.T) netip.AddrPort {
	t.Helper()
	for range 100 {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
		if err != nil {
			t.Fatal(err)
		}
		ap := c.LocalAddr().(*net.UDPAddr).AddrPort()
		c.Close()
		if ap.Port() > 64000 {
			continue
		}
		c2, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ap.Addr(), ap.Port()+1000)))
		if err != nil {
			continue
		}
		c2.Close()
		return ap
	}
	t.Fatal("no free port pair")
	return netip.AddrPort{}
}

// relayRig is a relay on a real backplane with two fake modules, a and b.
type relayRig struct {
	t      *testing.T
	st     *stackfile.Stack
	r      *Relay
	agents map[string]*fakeAgent
	macs   map[string]ident.MAC
	eth    *net.UDPConn

	mu     sync.Mutex // guards what follows
	bp     net.Conn
	seq    uint64
	adv    map[string]uint64
	speaks map[string]string // name -> "primary"/"standby"; absent: silent
	pathOf map[string]string // name -> the path its adverts take
}

func newRelayRig(t *testing.T, spin time.Duration) *relayRig {
	t.Helper()
	a, b := newFakeAgent(t, "a"), newFakeAgent(t, "b")
	addr := freeAddress(t)
	text := fmt.Sprintf(`stack: relay
key: "0123456789"
address: "%s"
timers: {hello: 100ms, holdtime: 300ms}
cabinets:
  - {bia: 1, model: cpsmc1800}
modules:
  - {name: a, cabinet: 1, slot: 1, mac: "00:c0:f2:00:00:01", ip: 192.0.2.1, mask: 255.255.255.0, snmp: "%s"}
  - {name: b, cabinet: 1, slot: 2, mac: "00:c0:f2:00:00:02", ip: 192.0.2.2, mask: 255.255.255.0, snmp: "%s"}
`, addr, a.addr(), b.addr())
	st, err := stackfile.Parse("relay.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "chassis.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := backplane.NewChassis(nil)
	go func() { _ = ch.Serve(ctx, ln) }()
	r, err := New(Config{Stack: st, ChassisNetwork: "unix", ChassisAddr: sock, Spin: spin})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	eth, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eth.Close() })
	bp, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bp.Close() })
	rig := &relayRig{t: t, st: st, r: r, agents: map[string]*fakeAgent{"a": a, "b": b}, macs: map[string]ident.MAC{},
		seq: uint64(time.Now().UnixNano()), adv: map[string]uint64{}, eth: eth, bp: bp}
	rig.speaks, rig.pathOf = map[string]string{}, map[string]string{}
	for _, m := range st.Modules {
		rig.macs[m.Name] = m.MAC
	}
	// Every hello (100 ms), each module that speaks says it again.
	go func() {
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				rig.mu.Lock()
				for name, role := range rig.speaks {
					rig.send(name, rig.pathOf[name], role == "primary")
				}
				rig.mu.Unlock()
			}
		}
	}()
	return rig
}

// say makes module name advertise role ("primary", "standby" or
// "silent") on path, now and every hello.
func (g *relayRig) say(name, path, role string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if role == "silent" {
		delete(g.speaks, name)
		return
	}
	g.speaks[name], g.pathOf[name] = role, path
	g.send(name, path, role == "primary")
}

// send sends module name's advert on the given path ("ethernet" to the
// address's Ethernet side, "backplane" on the bus). Called with g.mu held.
func (g *relayRig) send(name, path string, primary bool) {
	g.adv[name]++
	role := negotiation.Standby
	if primary {
		role = negotiation.Primary
	}
	payload := negotiation.MarshalAdvert(negotiation.Advert{Role: role, Want: negotiation.WantYes, Eligible: true, Seq: g.adv[name]})
	g.seq++
	f, err := backplane.Seal([]byte(g.st.Key), backplane.Frame{Type: backplane.TypeAdvert, From: backplane.ID(g.macs[name]), Seq: g.seq, Payload: payload})
	if err != nil {
		panic(err)
	}
	if path == "ethernet" {
		_, _ = g.eth.WriteToUDPAddrPort(f, g.st.AddressEthernet())
		return
	}
	_ = backplane.WriteFrame(g.bp, f)
}

// ask gets through the stack address and returns the name of the agent
// that answered ("" on a timeout).
func (g *relayRig) ask(timeout time.Duration) string {
	g.t.Helper()
	c := &gosnmp.GoSNMP{Target: g.st.Address.Addr().String(), Port: g.st.Address.Port(), Community: "public", Version: gosnmp.Version2c,
		Timeout: timeout, Retries: 0}
	if err := c.Connect(); err != nil {
		g.t.Fatal(err)
	}
	defer c.Conn.Close()
	res, err := c.Get([]string{".1.3.6.1.2.1.1.5.0"})
	if err != nil {
		return ""
	}
	for _, v := range res.Variables {
		if v.Name == ".1.3.6.1.2.1.1.5.0" {
			return string(v.Value.([]byte))
		}
	}
	return "?"
}

// waitHolder waits until the relay says name holds the address ("" none).
func (g *relayRig) waitHolder(name string) {
	g.t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for g.r.Status().Holder != name {
		if time.Now().After(deadline) {
			g.t.Fatalf("holder %q, want %q", g.r.Status().Holder, name)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRelayFollowsAdverts(t *testing.T) {
	g := newRelayRig(t, 0)
	if got := g.ask(100 * time.Millisecond); got != "" {
		t.Fatalf("nobody advertised, yet %q answered", got)
	}
	// Primary on the bus: a serves.
	g.say("a", "backplane", "primary")
	g.say("b", "backplane", "standby")
	g.waitHolder("a")
	if got := g.ask(time.Second); got != "a" {
		t.Fatalf("answered by %q, want a", got)
	}
	// b also says Primary (on Ethernet only): nobody serves.
	g.say("b", "ethernet", "primary")
	g.waitHolder("")
	if got := g.ask(100 * time.Millisecond); got != "" {
		t.Fatalf("two Primaries, yet %q answered", got)
	}
	// a steps down: b.
	g.say("a", "ethernet", "standby")
	g.waitHolder("b")
	if got := g.ask(time.Second); got != "b" {
		t.Fatalf("answered by %q, want b", got)
	}
	// b goes silent: it loses the address after holdtime - margin.
	g.say("b", "", "silent")
	start := time.Now()
	g.waitHolder("")
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Errorf("a silent Primary kept the address for %s", d)
	}
	s := g.r.Status()
	if s.NoHolder < 2 || s.Relayed != 2 || s.Moves < 4 || s.Address != g.st.Address.String() {
		t.Errorf("status %+v", s)
	}
}

// TestRelayDropsAnswersOfAFormerHolder: an answer that comes back after
// its module lost the address is not relayed; one that says no(2) of
// cpsIsPrimary is withheld, but a Set's echo is not.
func TestRelayDropsAnswersOfAFormerHolder(t *testing.T) {
	g := newRelayRig(t, 0)
	a := g.agents["a"]
	g.say("a", "ethernet", "primary")
	g.waitHolder("a")
	a.delay.Store(int64(200 * time.Millisecond))
	got := make(chan string, 1)
	go func() { got <- g.ask(time.Second) }()
	for a.seen.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	g.say("a", "ethernet", "standby")
	g.say("b", "ethernet", "primary")
	if s := <-got; s != "" {
		t.Fatalf("an answer of the former holder was relayed (%q)", s)
	}
	if s := g.r.Status(); s.Stale != 1 || s.Holder != "b" {
		t.Errorf("status %+v", s)
	}

	// b says no(2) without having told us: withheld.
	g.agents["b"].no.Store(true)
	if s := g.ask(200 * time.Millisecond); s != "" {
		t.Fatalf("an answer saying cpsIsPrimary.0 = no(2) was relayed (%q)", s)
	}
	if s := g.r.Status(); s.Withheld != 1 {
		t.Errorf("withheld %d", s.Withheld)
	}
	// b's module has stopped: its snmpd answers noSuchObject. Withheld.
	g.agents["b"].no.Store(false)
	g.agents["b"].gone.Store(true)
	if s := g.ask(200 * time.Millisecond); s != "" {
		t.Fatalf("an answer without cpsIsPrimary.0 was relayed (%q)", s)
	}
	if s := g.r.Status(); s.Withheld != 2 {
		t.Errorf("withheld %d", s.Withheld)
	}
	g.agents["b"].gone.Store(false)
	// A Set of cpsIsPrimary.0 = no (a step-down) is answered with its echo.
	c := &gosnmp.GoSNMP{Target: g.st.Address.Addr().String(), Port: g.st.Address.Port(), Community: "private", Version: gosnmp.Version2c,
		Timeout: time.Second, Retries: 0}
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	defer c.Conn.Close()
	oid := "." + mib.DefaultRegistry().MustLookup("cpsIsPrimary").OID.Append(0).String()
	res, err := c.Set([]gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Integer, Value: 2}})
	if err != nil || res.Error != gosnmp.NoError {
		t.Fatalf("set through the address: %v %v", res, err)
	}
}

// TestRelaySpin: with a spin, requests and answers read by polling pass
// as those read parked do, and a change of holder still applies.
func TestRelaySpin(t *testing.T) {
	g := newRelayRig(t, 2*time.Millisecond)
	g.say("a", "ethernet", "primary")
	g.waitHolder("a")
	for range 50 {
		if got := g.ask(time.Second); got != "a" {
			t.Fatalf("answered by %q, want a", got)
		}
	}
	g.say("a", "ethernet", "standby")
	g.say("b", "backplane", "primary")
	g.waitHolder("b")
	for range 50 {
		if got := g.ask(time.Second); got != "b" {
			t.Fatalf("answered by %q, want b", got)
		}
	}
}
