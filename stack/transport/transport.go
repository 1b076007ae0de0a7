// Package transport carries a module's frames on its two paths to the other
// modules of its stack: the backplane (the chassis bus, over a stream
// socket) and its "Ethernet" side (UDP datagrams, peer to peer, on loopback
// addresses). Every frame is sealed once and sent on both paths with the
// same sequence number; each path has its own replay window, so a frame is
// delivered once per path it arrived on. Telling a dead peer from a broken
// path is the receiver's business (negotiation): it sees which path each
// frame came by.
package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/ident"
)

// Path is the way a frame travelled (the project's one path type).
type Path = ident.Path

// Paths.
const (
	Backplane = ident.Backplane
	Ethernet  = ident.Ethernet
)

// Config configures a Transport.
type Config struct {
	ID  backplane.ID
	Key []byte
	// Chassis is the backplane socket: network ("unix" or "tcp") and address.
	ChassisNetwork, ChassisAddr string
	// Ethernet is this module's UDP address; Peers the other modules'.
	Ethernet netip.AddrPort
	Peers    []netip.AddrPort
	// Deliver receives every authenticated, fresh frame with its path. It is
	// called from the transport's goroutines, one per path.
	Deliver func(Path, backplane.Frame)
	// Raw, if set, takes every datagram on the Ethernet side that is not
	// a frame (the IP monitor's probes and their replies), while the link
	// is up; what it returns, if anything, is sent back to the sender at
	// once (an echo is answered as a host's IP stack answers it, without
	// waiting for the module's loop). Called from the Ethernet receiver.
	Raw func(from netip.AddrPort, b []byte) (reply []byte)
	Log logrus.FieldLogger
	// Reattach bounds the delay between backplane attachment attempts;
	// default 100 ms.
	Reattach time.Duration
}

// Transport is a running two-path transport.
type Transport struct {
	cfg Config
	seq atomic.Uint64

	linkUp atomic.Bool

	mu sync.Mutex // guards bp and the stats
	bp net.Conn   // current backplane attachment, nil while detached
	st map[Path]*backplane.Stats

	udp *net.UDPConn
}

// New opens the Ethernet socket; Run attaches to the backplane and
// receives.
func New(cfg Config) (*Transport, error) {
	if len(cfg.Key) == 0 {
		return nil, errors.New("transport: the stack key is required")
	}
	if cfg.Deliver == nil {
		return nil, errors.New("transport: Deliver is required")
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		cfg.Log = l
	}
	if cfg.Reattach <= 0 {
		cfg.Reattach = 100 * time.Millisecond
	}
	udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(cfg.Ethernet))
	if err != nil {
		return nil, fmt.Errorf("transport: ethernet side %s: %w", cfg.Ethernet, err)
	}
	t := &Transport{cfg: cfg, udp: udp, st: map[Path]*backplane.Stats{Backplane: {}, Ethernet: {}}}
	// Sequence numbers start at the start time, so that they keep growing
	// across a restart and peers do not take the new frames for replays.
	t.seq.Store(uint64(time.Now().UnixNano()))
	t.linkUp.Store(true)
	return t, nil
}

// SetLink sets the Ethernet link state: while it is down nothing is sent
// or received on the Ethernet path (the module's link-down fault).
func (t *Transport) SetLink(up bool) { t.linkUp.Store(up) }

// Stats returns what each path's receiver accepted and dropped.
func (t *Transport) Stats() map[Path]backplane.Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return map[Path]backplane.Stats{Backplane: *t.st[Backplane], Ethernet: *t.st[Ethernet]}
}

// Attached reports whether the backplane attachment is up.
func (t *Transport) Attached() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.bp != nil
}

// Send seals one frame and sends it on both paths. It reports an error
// only when it could send on neither.
func (t *Transport) Send(typ backplane.Type, flags uint8, payload []byte) error {
	f, err := backplane.Seal(t.cfg.Key, backplane.Frame{Type: typ, Flags: flags, From: t.cfg.ID, Seq: t.seq.Add(1), Payload: payload})
	if err != nil {
		return err
	}
	sent := 0
	t.mu.Lock()
	bp := t.bp
	t.mu.Unlock()
	if bp != nil {
		if err := backplane.WriteFrame(bp, f); err == nil {
			sent++
		} else {
			bp.Close() // the reader notices and re-attaches
		}
	}
	if t.linkUp.Load() {
		for _, p := range t.cfg.Peers {
			if _, err := t.udp.WriteToUDPAddrPort(f, p); err == nil {
				sent++
			}
		}
	}
	if sent == 0 {
		return errors.New("transport: no path to send on")
	}
	return nil
}

// SendBackplane seals one frame and sends it on the backplane only (a
// solicitation: only the chassis answers it, and no module listens for
// it on Ethernet).
func (t *Transport) SendBackplane(typ backplane.Type, payload []byte) error {
	f, err := backplane.Seal(t.cfg.Key, backplane.Frame{Type: typ, From: t.cfg.ID, Seq: t.seq.Add(1), Payload: payload})
	if err != nil {
		return err
	}
	t.mu.Lock()
	bp := t.bp
	t.mu.Unlock()
	if bp == nil {
		return errors.New("transport: not attached to the backplane")
	}
	if err := backplane.WriteFrame(bp, f); err != nil {
		bp.Close() // the reader notices and re-attaches
		return err
	}
	return nil
}

// SendTo seals one frame and sends it over Ethernet to one address (a
// device seen over Ethernet), while the link is up.
func (t *Transport) SendTo(to netip.AddrPort, typ backplane.Type, payload []byte) error {
	if !t.linkUp.Load() {
		return errors.New("transport: Ethernet link down")
	}
	f, err := backplane.Seal(t.cfg.Key, backplane.Frame{Type: typ, From: t.cfg.ID, Seq: t.seq.Add(1), Payload: payload})
	if err != nil {
		return err
	}
	_, err = t.udp.WriteToUDPAddrPort(f, to)
	return err
}

// SendRaw sends one datagram that is not a frame (a probe) over Ethernet
// to one address, while the link is up.
func (t *Transport) SendRaw(to netip.AddrPort, b []byte) error {
	if !t.linkUp.Load() {
		return errors.New("transport: Ethernet link down")
	}
	_, err := t.udp.WriteToUDPAddrPort(b, to)
	return err
}

// Run receives on both paths until ctx is done, re-attaching to the
// backplane whenever the attachment is lost.
func (t *Transport) Run(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		t.udp.Close()
		t.mu.Lock()
		if t.bp != nil {
			t.bp.Close()
		}
		t.mu.Unlock()
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.receiveEthernet(ctx)
	}()
	t.receiveBackplane(ctx)
	<-done
	return ctx.Err()
}

func (t *Transport) receiveEthernet(ctx context.Context) {
	rx := backplane.NewReceiver(t.cfg.Key)
	buf := make([]byte, backplane.MaxFrame+1)
	for {
		n, from, err := t.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() == nil {
				t.cfg.Log.WithError(err).Error("ethernet side closed")
			}
			return
		}
		if !t.linkUp.Load() {
			continue
		}
		if t.cfg.Raw != nil && !backplane.IsFrame(buf[:n]) {
			if reply := t.cfg.Raw(from, buf[:n]); reply != nil {
				_, _ = t.udp.WriteToUDPAddrPort(reply, from)
			}
			continue
		}
		t.accept(Ethernet, rx, buf[:n])
	}
}

func (t *Transport) receiveBackplane(ctx context.Context) {
	rx := backplane.NewReceiver(t.cfg.Key)
	for ctx.Err() == nil {
		d := net.Dialer{Timeout: time.Second}
		conn, err := d.DialContext(ctx, t.cfg.ChassisNetwork, t.cfg.ChassisAddr)
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(t.cfg.Reattach):
				continue
			}
		}
		// Announce ourselves: the chassis delivers nothing to an attachment
		// before it knows whose it is.
		hello, err := backplane.Seal(t.cfg.Key, backplane.Frame{Type: backplane.TypeHello, From: t.cfg.ID, Seq: t.seq.Add(1)})
		if err == nil {
			err = backplane.WriteFrame(conn, hello)
		}
		if err != nil {
			conn.Close()
			continue
		}
		t.mu.Lock()
		t.bp = conn
		t.mu.Unlock()
		t.cfg.Log.Info("attached to the backplane")
		r := bufio.NewReader(conn)
		for {
			b, err := backplane.ReadFrame(r)
			if err != nil {
				break
			}
			t.accept(Backplane, rx, b)
		}
		t.mu.Lock()
		t.bp = nil
		t.mu.Unlock()
		conn.Close()
		if ctx.Err() == nil {
			t.cfg.Log.Warn("detached from the backplane")
			select {
			case <-ctx.Done():
			case <-time.After(t.cfg.Reattach):
			}
		}
	}
}

// accept authenticates a frame from path and delivers it.
func (t *Transport) accept(path Path, rx *backplane.Receiver, b []byte) {
	f, err := rx.Accept(b)
	t.mu.Lock()
	*t.st[path] = rx.Stats
	bad := rx.Stats.BadMAC
	t.mu.Unlock()
	if err != nil {
		if errors.Is(err, backplane.ErrBadMAC) && (bad == 1 || bad%100 == 0) {
			// A module with another key is never a peer; say why, not too often.
			t.cfg.Log.WithFields(logrus.Fields{"path": path.String(), "dropped": bad}).Warn("frame dropped: " + err.Error())
		}
		return
	}
	if f.From == t.cfg.ID || f.Type == backplane.TypeHello {
		return // our own frame echoed, or an attachment's announcement
	}
	t.cfg.Deliver(path, f)
}
