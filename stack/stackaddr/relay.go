package stackaddr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/negotiation"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/stackfile"
	"github.com/cpsmm/cpsmm/stack/transport"
)

// ID is the relay's sender ID on the backplane (locally administered,
// beside the chassis's device host).
var ID = backplane.ID{0x02, 0xc9, 0x5c, 0, 0, 1}

// Config configures a Relay.
type Config struct {
	Stack *stackfile.Stack
	// ChassisNetwork/ChassisAddr is the backplane socket to attach to.
	ChassisNetwork, ChassisAddr string
	// Margin: see HolderConfig.
	Margin time.Duration
	// IdleClient is how long a client's source socket is kept after its
	// last request (default 60 s).
	IdleClient time.Duration
	// MaxClients bounds the clients served at once (default 1024); a
	// request from one more is dropped until an idle one is closed.
	MaxClients int
	// Spin, if positive, is how long the relay polls for the next
	// datagram, without sleeping, after the last one (default none: on
	// the shared 2-core machine a spin of 300-500 µs took the walk ratio
	// from 0.66-0.68 down to 0.41-0.52, the spinning taking the CPU the
	// snmpds needed; see serve).
	Spin time.Duration
	Log  logrus.FieldLogger
}

// target is one module the address may be relayed to.
type target struct {
	name string
	snmp netip.AddrPort
	// no holds the encoded varbinds that only a module that is not
	// Primary answers: cpsIsPrimary.0 and its own cpsmm100IsPrimary =
	// no(2), or missing (its snmpd without the module: it has stopped).
	no [][]byte
}

// Relay holds the stack address: it listens on it and forwards every
// request to the snmpd of the module Holder names.
type Relay struct {
	cfg  Config
	log  logrus.FieldLogger
	ln   *net.UDPConn
	tr   *transport.Transport
	mods map[ident.MAC]*target
	// bySNMP finds the module an answer comes from.
	bySNMP map[netip.AddrPort]ident.MAC

	mu      sync.Mutex // guards holder, the holder shown, clients
	holder  *Holder
	cur     ident.MAC
	curOK   bool
	since   time.Time
	moves   uint64
	clients map[netip.AddrPort]*client

	requests, relayed, noHolder, stale, withheld, tooMany atomic.Uint64
}

// client is one manager's address and the socket its requests leave
// from, so that an answer maps back to it.
type client struct {
	addr     netip.AddrPort
	conn     *net.UDPConn
	poll     *poller      // reads conn without waiting (serve's spin)
	lastUsed atomic.Int64 // unix nanoseconds

	mu   sync.Mutex
	sets [8]int64 // request-ids of its latest Sets (ring)
	n    int
}

// close closes the client's socket and its poller.
func (c *client) close() {
	c.conn.Close()
	if c.poll != nil {
		c.poll.close()
	}
}

func (c *client) noteSet(id int64) {
	c.mu.Lock()
	c.sets[c.n%len(c.sets)] = id
	c.n++
	c.mu.Unlock()
}

func (c *client) isSet(id int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 0; i < len(c.sets) && i < c.n; i++ {
		if c.sets[i] == id {
			return true
		}
	}
	return false
}

// New opens the stack address and its Ethernet side; Run serves them.
func New(cfg Config) (*Relay, error) {
	st := cfg.Stack
	if st == nil || !st.Address.IsValid() {
		return nil, errors.New("stackaddr: the stack has no address")
	}
	if cfg.Log == nil {
		cfg.Log = logrus.New()
	}
	if cfg.IdleClient <= 0 {
		cfg.IdleClient = time.Minute
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 1024
	}
	reg := mib.DefaultRegistry()
	isPrimary := reg.MustLookup("cpsIsPrimary").OID.Append(0)
	column := reg.MustLookup("cpsmm100IsPrimary").OID
	r := &Relay{cfg: cfg, log: cfg.Log, mods: map[ident.MAC]*target{}, bySNMP: map[netip.AddrPort]ident.MAC{},
		holder: NewHolder(HolderConfig{Holdtime: st.Holdtime, Margin: cfg.Margin}), clients: map[netip.AddrPort]*client{}}
	for _, m := range st.Modules {
		own := column.Append(m.At().Index()...)
		no := [][]byte{sayNo(isPrimary), sayNo(own)}
		no = append(append(no, sayMissing(isPrimary)...), sayMissing(own)...)
		r.mods[m.MAC] = &target{name: m.Name, snmp: m.SNMP, no: no}
		r.bySNMP[m.SNMP] = m.MAC
	}
	ln, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(st.Address))
	if err != nil {
		return nil, fmt.Errorf("stackaddr: %s: %w", st.Address, err)
	}
	r.ln = ln
	tr, err := transport.New(transport.Config{ID: ID, Key: []byte(st.Key), ChassisNetwork: cfg.ChassisNetwork, ChassisAddr: cfg.ChassisAddr,
		Ethernet: st.AddressEthernet(), Deliver: r.deliver, Log: cfg.Log})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("stackaddr: %w", err)
	}
	r.tr = tr
	r.since = time.Now()
	return r, nil
}

// Run serves the address until ctx is done.
func (r *Relay) Run(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- r.tr.Run(ctx) }()
	go r.janitor(ctx)
	go func() {
		<-ctx.Done()
		r.ln.Close()
		r.mu.Lock()
		for _, c := range r.clients {
			c.close()
		}
		r.mu.Unlock()
	}()
	r.serve(ctx)
	<-done
	return ctx.Err()
}

// deliver takes every frame heard on both paths; adverts tell the holder.
func (r *Relay) deliver(_ transport.Path, f backplane.Frame) {
	if f.Type != backplane.TypeAdvert {
		return
	}
	mac := ident.MAC(f.From)
	if _, ok := r.mods[mac]; !ok {
		return
	}
	a, err := negotiation.UnmarshalAdvert(mac, f.Payload)
	if err != nil {
		r.log.WithError(err).WithField("reason", "malformed").Warn("advert dropped")
		return
	}
	now := time.Now()
	r.mu.Lock()
	r.holder.Advert(now, mac, a.Seq, a.Role == negotiation.Primary && !a.Resigning)
	r.current(now)
	r.mu.Unlock()
}

// current returns the holder at now, and notes a move. Called with r.mu
// held.
func (r *Relay) current(now time.Time) (ident.MAC, bool) {
	mac, ok := r.holder.Holder(now)
	if ok != r.curOK || mac != r.cur {
		f := logrus.Fields{"address": r.cfg.Stack.Address.String(), "from": r.name(r.cur, r.curOK), "to": r.name(mac, ok)}
		r.cur, r.curOK, r.since = mac, ok, now
		r.moves++
		r.log.WithFields(f).Info("stack address moved")
	}
	return mac, ok
}

func (r *Relay) name(mac ident.MAC, ok bool) string {
	if !ok {
		return "(none)"
	}
	return r.mods[mac].name
}

func (r *Relay) holderAt(now time.Time) (ident.MAC, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current(now)
}

// serve reads requests on the address and forwards each to the holder.
// With a Spin, after each request it polls, without sleeping, for up to
// Spin since the last datagram: for the answer on that client's socket
// and for the next request. A walk sends its next request within
// microseconds of an answer, and a reader parked in the runtime's poller
// pays a thread wake-up on every datagram (the subagent spins for that
// reason, agent/spin.go); on a busy machine the spin costs more than the
// wake-ups it saves, so it is off unless configured.
func (r *Relay) serve(ctx context.Context) {
	buf := make([]byte, 64<<10)
	var lnPoll *poller
	if r.cfg.Spin > 0 {
		var err error
		if lnPoll, err = newPoller(r.ln); err != nil {
			r.log.WithError(err).Warn("no spin: the address is read parked only")
			r.cfg.Spin = 0
		} else {
			defer lnPoll.close()
		}
	}
	for {
		n, from, err := r.ln.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() == nil {
				r.log.WithError(err).Error("stack address closed")
			}
			return
		}
		c := r.request(ctx, buf[:n], from)
		if r.cfg.Spin <= 0 {
			continue
		}
		last := time.Now()
		for time.Since(last) < r.cfg.Spin && ctx.Err() == nil {
			if c != nil && c.poll != nil {
				if n, src, ok := c.poll.recv(buf); ok {
					r.answer(c, buf[:n], src)
					last = time.Now()
				}
			}
			if n, from, ok := lnPoll.recv(buf); ok {
				if next := r.request(ctx, buf[:n], from); next != nil {
					c = next
				}
				last = time.Now()
			}
			runtime.Gosched() // adverts and the backplane go on meanwhile (one P)
		}
	}
}

// request forwards one request from a client to the holder, and returns
// the client (nil if the request was dropped).
func (r *Relay) request(ctx context.Context, b []byte, from netip.AddrPort) *client {
	r.requests.Add(1)
	now := time.Now()
	mac, ok := r.holderAt(now)
	if !ok {
		r.noHolder.Add(1)
		return nil
	}
	c := r.client(ctx, from, now)
	if c == nil {
		r.tooMany.Add(1)
		return nil
	}
	if h, ok := readHeader(b); ok && h.tag == tagSet {
		c.noteSet(h.reqID)
	}
	_, _ = c.conn.WriteToUDPAddrPort(b, r.mods[mac].snmp)
	return c
}

// client returns from's source socket, opening one (and its reader) for
// a new client; nil when MaxClients are served.
func (r *Relay) client(ctx context.Context, from netip.AddrPort, now time.Time) *client {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.clients[from]
	if !ok {
		if len(r.clients) >= r.cfg.MaxClients || ctx.Err() != nil {
			return nil
		}
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.cfg.Stack.Address.Addr(), 0)))
		if err != nil {
			r.log.WithError(err).Warn("client socket not opened")
			return nil
		}
		c = &client{addr: from, conn: conn}
		if r.cfg.Spin > 0 {
			c.poll, _ = newPoller(conn)
		}
		r.clients[from] = c
		go r.answers(c)
	}
	c.lastUsed.Store(now.UnixNano())
	return c
}

// answers relays what the modules' snmpds answer to c: only from the
// module that holds the address when the answer comes back, and never an
// answer that says it is not Primary.
func (r *Relay) answers(c *client) {
	defer func() {
		r.mu.Lock()
		if r.clients[c.addr] == c {
			delete(r.clients, c.addr)
		}
		r.mu.Unlock()
		c.close()
	}()
	buf := make([]byte, 64<<10)
	for {
		n, src, err := c.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		r.answer(c, buf[:n], src)
	}
}

// answer relays one answer from src to c: only from the module that holds
// the address when the answer comes back, and never an answer that says
// it is not Primary.
func (r *Relay) answer(c *client, b []byte, src netip.AddrPort) {
	mac, known := r.bySNMP[src]
	if !known {
		return
	}
	if cur, ok := r.holderAt(time.Now()); !ok || cur != mac {
		r.stale.Add(1)
		return
	}
	// The holder stepped down (or stopped) after it answered, and we
	// have not heard its Standby advert yet: its answer says so (no, or
	// the objects missing), and must not pass. A Set's answer echoes the
	// value set (cpsIsPrimary.0 = no is how a manager steps the Primary
	// down), so Sets are exempt.
	if containsAny(b, r.mods[mac].no) {
		if h, ok := readHeader(b); !ok || !c.isSet(h.reqID) {
			r.withheld.Add(1)
			r.log.WithFields(logrus.Fields{"module": r.mods[mac].name, "held_for": r.heldFor(time.Now()).String(),
				"reason": "says it is not Primary"}).Warn("answer withheld")
			return
		}
	}
	if _, err := r.ln.WriteToUDPAddrPort(b, c.addr); err == nil {
		r.relayed.Add(1)
	}
}

// heldFor is how long the current holder has held the address.
func (r *Relay) heldFor(now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return now.Sub(r.since)
}

// janitor closes the source sockets of clients idle for IdleClient.
func (r *Relay) janitor(ctx context.Context) {
	t := time.NewTicker(r.cfg.IdleClient / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.mu.Lock()
			for a, c := range r.clients {
				if now.UnixNano()-c.lastUsed.Load() > int64(r.cfg.IdleClient) {
					c.close()
					delete(r.clients, a)
				}
			}
			r.mu.Unlock()
		}
	}
}

// Status is the relay's account, for `cpsstack status`.
type Status struct {
	Address string `json:"address"`
	// Holder is the module that serves the address now ("" for none),
	// since Since; Moves counts the holder's changes.
	Holder string    `json:"holder"`
	Since  time.Time `json:"since"`
	Moves  uint64    `json:"moves"`
	// Requests received; Relayed answers; NoHolder requests dropped while
	// no module held the address; Stale answers dropped because their
	// module no longer held it; Withheld answers that said no(2) of
	// cpsIsPrimary; TooMany requests dropped over MaxClients.
	Requests uint64 `json:"requests"`
	Relayed  uint64 `json:"relayed"`
	NoHolder uint64 `json:"no_holder"`
	Stale    uint64 `json:"stale"`
	Withheld uint64 `json:"withheld"`
	TooMany  uint64 `json:"too_many_clients"`
	Clients  int    `json:"clients"`
}

// Status returns the relay's account now.
func (r *Relay) Status() Status {
	now := time.Now()
	r.mu.Lock()
	mac, ok := r.current(now)
	s := Status{Address: r.cfg.Stack.Address.String(), Since: r.since, Moves: r.moves, Clients: len(r.clients)}
	if ok {
		s.Holder = r.mods[mac].name
	}
	r.mu.Unlock()
	s.Requests, s.Relayed, s.NoHolder = r.requests.Load(), r.relayed.Load(), r.noHolder.Load()
	s.Stale, s.Withheld, s.TooMany = r.stale.Load(), r.withheld.Load(), r.tooMany.Load()
	return s
}
