package chassis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/stack/ipmon"
)

// Gateway answers, on a loopback UDP address, for an address the modules'
// IP monitors poll (their gateway, by default): it sends every probe
// request back as a reply, as a host answers an ICMP echo. Its faults:
// down (answers nothing), loss (drops that share of the requests, each
// independently), delay (answers after that long).
type Gateway struct {
	Addr netip.Addr     // the address the modules' MIBs show
	At   netip.AddrPort // where it answers
	conn *net.UDPConn
	log  logrus.FieldLogger

	mu    sync.Mutex // guards the fault and rng
	down  bool
	loss  float64 // 0..1
	delay time.Duration
	rng   *rand.Rand
}

// GatewayFault is a gateway's fault, as `cpsstack status` of the chassis
// would show it.
type GatewayFault struct {
	Down  bool
	Loss  float64
	Delay time.Duration
}

func newGateway(addr netip.Addr, at netip.AddrPort, log logrus.FieldLogger) (*Gateway, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(at))
	if err != nil {
		return nil, fmt.Errorf("gateway %s at %s: %w", addr, at, err)
	}
	seed := uint64(time.Now().UnixNano())
	return &Gateway{Addr: addr, At: at, conn: c, log: log.WithField("gateway", addr.String()),
		rng: rand.New(rand.NewPCG(seed, seed>>1|1))}, nil
}

// serve answers until the connection is closed.
func (g *Gateway) serve(ctx context.Context) {
	buf := make([]byte, 64)
	for {
		n, from, err := g.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() == nil {
				g.log.WithError(err).Error("gateway responder stopped")
			}
			return
		}
		reply, ok := ipmon.Reply(buf[:n])
		if !ok {
			continue
		}
		g.mu.Lock()
		drop := g.down || (g.loss > 0 && g.rng.Float64() < g.loss)
		delay := g.delay
		g.mu.Unlock()
		switch {
		case drop:
		case delay > 0:
			time.AfterFunc(delay, func() { _, _ = g.conn.WriteToUDPAddrPort(reply, from) })
		default:
			_, _ = g.conn.WriteToUDPAddrPort(reply, from)
		}
	}
}

// Fault returns the gateway's current fault.
func (g *Gateway) Fault() GatewayFault {
	g.mu.Lock()
	defer g.mu.Unlock()
	return GatewayFault{Down: g.down, Loss: g.loss, Delay: g.delay}
}

// SetFault applies one fault: "down", "loss PCT" (0-100), "delay
// DURATION"; faults add up until Restore.
func (g *Gateway) SetFault(fault string, arg string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch fault {
	case "down":
		g.down = true
	case "loss":
		pct, err := strconv.ParseFloat(arg, 64)
		if err != nil || pct < 0 || pct > 100 {
			return fmt.Errorf("loss %q: want a percentage 0-100", arg)
		}
		g.loss = pct / 100
	case "delay":
		d, err := time.ParseDuration(arg)
		if err != nil || d < 0 || d > time.Minute {
			return fmt.Errorf("delay %q: want a duration up to 1m", arg)
		}
		g.delay = d
	default:
		return fmt.Errorf("unknown gateway fault %q: down, loss PCT or delay DURATION", fault)
	}
	return nil
}

// Restore clears every fault of the gateway.
func (g *Gateway) Restore() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down, g.loss, g.delay = false, 0, 0
}

// Gateway returns the responder for address a.
func (h *Host) Gateway(a netip.Addr) (*Gateway, error) {
	for _, g := range h.gateways {
		if g.Addr == a {
			return g, nil
		}
	}
	return nil, fmt.Errorf("no gateway %s in this stack (its IP monitor polls none)", a)
}

// GatewayFault injects a fault into the responder of address a.
func (h *Host) GatewayFault(a netip.Addr, fault, arg string) error {
	g, err := h.Gateway(a)
	if err != nil {
		return err
	}
	return g.SetFault(fault, arg)
}

// RestoreGateway clears every fault of the responder of address a.
func (h *Host) RestoreGateway(a netip.Addr) error {
	g, err := h.Gateway(a)
	if err != nil {
		return err
	}
	g.Restore()
	return nil
}
