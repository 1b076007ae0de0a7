package member

import (
	"context"
	"errors"
	"net/netip"
	"sync"

	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/transport"
)

// memNet is an in-memory stack network: a backplane that carries every
// frame to every attached member, and an Ethernet segment that does the
// same between members whose link is up. Faults cut a member off either.
type memNet struct {
	mu    sync.Mutex
	ports map[ident.MAC]*memPort
	// gateways: addresses that echo raw datagrams while true (the IP
	// monitor's targets).
	gateways map[netip.AddrPort]bool
	// drop, when set, loses every frame of a type from a sender.
	drop map[dropKey]bool
}

type dropKey struct {
	from ident.MAC
	typ  backplane.Type
}

// lose makes the network lose (true) or carry again the frames of type
// typ that mac sends.
func (n *memNet) lose(mac ident.MAC, typ backplane.Type, lose bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.drop == nil {
		n.drop = map[dropKey]bool{}
	}
	n.drop[dropKey{mac, typ}] = lose
}

type memPort struct {
	net       *memNet
	mac       ident.MAC
	deliver   func(transport.Path, backplane.Frame)
	raw       func(netip.AddrPort, []byte) []byte
	addr      netip.AddrPort // its Ethernet side
	backplane bool           // attached to the backplane
	ethernet  bool           // Ethernet link up
	seq       uint64
}

func newMemNet() *memNet {
	return &memNet{ports: map[ident.MAC]*memPort{}, gateways: map[netip.AddrPort]bool{}}
}

// setGateway makes at answer raw datagrams (up) or not.
func (n *memNet) setGateway(at netip.AddrPort, up bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.gateways[at] = up
}

// dial is a member.Config Dial over the in-memory network.
func (n *memNet) dial(c transport.Config) (Transport, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := &memPort{net: n, mac: ident.MAC(c.ID), deliver: c.Deliver, raw: c.Raw, addr: c.Ethernet, backplane: true, ethernet: true}
	n.ports[p.mac] = p
	return p, nil
}

// cut cuts a member off the backplane (true) or restores it.
func (n *memNet) cut(mac ident.MAC, cut bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ports[mac].backplane = !cut
}

func (p *memPort) Send(typ backplane.Type, flags uint8, payload []byte) error {
	n := p.net
	n.mu.Lock()
	p.seq++
	f := backplane.Frame{Type: typ, Flags: flags, From: backplane.ID(p.mac), Seq: p.seq, Payload: append([]byte(nil), payload...)}
	var to []func()
	lost := n.drop[dropKey{p.mac, typ}]
	for _, q := range n.ports {
		if lost {
			break
		}
		if q == p {
			continue
		}
		q := q
		if p.backplane && q.backplane {
			to = append(to, func() { q.deliver(transport.Backplane, f) })
		}
		if p.ethernet && q.ethernet {
			to = append(to, func() { q.deliver(transport.Ethernet, f) })
		}
	}
	cutOff := !p.backplane && !p.ethernet
	n.mu.Unlock()
	for _, d := range to {
		d()
	}
	if len(to) == 0 && cutOff {
		return errors.New("memnet: no path to send on")
	}
	return nil
}

func (p *memPort) SendBackplane(typ backplane.Type, payload []byte) error {
	return p.Send(typ, 0, payload) // no device host on the in-memory network
}

func (p *memPort) SendTo(netip.AddrPort, backplane.Type, []byte) error { return nil }

// SendRaw carries a raw datagram to a gateway, which echoes it as a
// reply while up, or to another port's Ethernet side, whose Raw answers;
// nothing while either side's Ethernet is cut.
func (p *memPort) SendRaw(to netip.AddrPort, b []byte) error {
	n := p.net
	n.mu.Lock()
	if !p.ethernet {
		n.mu.Unlock()
		return errors.New("memnet: Ethernet link down")
	}
	up, gw := n.gateways[to]
	var q *memPort
	for _, x := range n.ports {
		if x != p && x.addr == to && x.ethernet {
			q = x
		}
	}
	n.mu.Unlock()
	var reply []byte
	switch {
	case gw && up:
		reply = append([]byte(nil), b...)
		reply[5] = 2 // op reply (stack/ipmon's wire format)
	case q != nil && q.raw != nil:
		reply = q.raw(p.addr, append([]byte(nil), b...))
	}
	n.mu.Lock()
	deliver := reply != nil && p.ethernet && p.raw != nil
	n.mu.Unlock()
	if deliver {
		p.raw(to, reply)
	}
	return nil
}

func (p *memPort) SetLink(up bool) {
	p.net.mu.Lock()
	defer p.net.mu.Unlock()
	p.ethernet = up
}

func (p *memPort) Run(ctx context.Context) error {
	<-ctx.Done()
	p.net.mu.Lock()
	delete(p.net.ports, p.mac)
	p.net.mu.Unlock()
	return ctx.Err()
}
