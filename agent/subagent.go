// Package agent is our RFC 2741 AgentX subagent: it connects to a master
// agent (net-snmp snmpd), opens a session, registers subtrees and serves
// Get, GetNext, GetBulk and the four-phase Set from a Handler. It reconnects
// with backoff when the master goes away and re-registers.
package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/agent/pdu"
	"github.com/cpsmm/cpsmm/mib/smi"
)

// Handler serves the registered subtrees. It must be safe for concurrent
// use; *mib.Store is one.
type Handler interface {
	Get(oid smi.OID) smi.Value
	GetNext(start smi.OID, include bool, end smi.OID) (smi.OID, smi.Value, bool)
	TestSet(tx uint64, vbs []smi.VarBind) *smi.SetError
	CommitSet(tx uint64) *smi.SetError
	UndoSet(tx uint64) *smi.SetError
	CleanupSet(tx uint64)
	AbortAll()
}

// Registration is one subtree to register (RFC 2741 6.2.3). With RangeSubID
// non-zero the registration covers Subtree[RangeSubID-1] .. UpperBound.
type Registration struct {
	Subtree    smi.OID
	Priority   uint8 // default 127 when zero
	RangeSubID uint8
	UpperBound uint32
	Timeout    uint8 // seconds; 0 = the session's
}

// Config configures a Subagent.
type Config struct {
	Network string // "unix" or "tcp"
	Address string // socket path or host:port
	ID      smi.OID
	Descr   string
	// Timeout is the session timeout the master should use for our answers.
	Timeout       time.Duration
	Registrations []Registration
	Handler       Handler
	Log           logrus.FieldLogger
	// PingInterval is how often an idle session is checked with a Ping;
	// default 5 s.
	PingInterval time.Duration
	// MaxPayload bounds a received PDU's payload; default 1 MiB.
	MaxPayload uint32
	// Backoff bounds the reconnect delay; default 50 ms doubling to 1 s.
	MinBackoff, MaxBackoff time.Duration
	// OnSession is called (if set) each time a session is opened and
	// registered.
	OnSession func(sessionID uint32)
	// Busy, if set, is called with true when the master starts sending
	// requests back to back (a walk or a GetBulk: snmpd forwards one
	// AgentX request per varbind) and with false once the session has been
	// quiet for QuietAfter, or has ended. Calls do not overlap. cpsmm runs
	// a second P while busy (see cmd/cpsmm).
	Busy func(busy bool)
}

// QuietAfter is how long a busy session must go without a request to be
// reported no longer busy.
const QuietAfter = time.Second

// Subagent is a running AgentX subagent.
type Subagent struct {
	cfg   Config
	start time.Time

	mu   sync.Mutex
	sess *session // current session, nil while disconnected
	up   chan struct{}

	sessions atomic.Uint64
}

// ErrNotConnected is returned by Notify while no session is open.
var ErrNotConnected = errors.New("agentx: no open session with the master agent")

// New returns a Subagent; Run connects it.
func New(cfg Config) (*Subagent, error) {
	if cfg.Handler == nil {
		return nil, errors.New("agentx: config needs a Handler")
	}
	if cfg.Network == "" {
		cfg.Network = "unix"
	}
	if cfg.Address == "" {
		return nil, errors.New("agentx: config needs the master's address")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 5 * time.Second
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = 1 << 20
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 50 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Second
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		cfg.Log = l
	}
	return &Subagent{cfg: cfg, start: time.Now(), up: make(chan struct{})}, nil
}

// Sessions returns how many sessions have been opened since start.
func (a *Subagent) Sessions() uint64 { return a.sessions.Load() }

// Connected returns a channel closed once a session is open and registered.
// After a disconnection a new channel is handed out.
func (a *Subagent) Connected() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.up
}

// uptime is the sysUpTime we report in Responses, in hundredths of a second.
func (a *Subagent) uptime() uint32 { return uint32(time.Since(a.start) / (10 * time.Millisecond)) }

// Run connects, serves and reconnects until ctx is done; then it closes the
// session with reason shutdown and returns ctx.Err().
func (a *Subagent) Run(ctx context.Context) error {
	backoff := a.cfg.MinBackoff
	for {
		started := time.Now()
		err := a.serveOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.cfg.Log.WithError(err).WithField("retry_in", backoff).Warn("agentx session ended")
		if time.Since(started) > 5*time.Second {
			backoff = a.cfg.MinBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff *= 2
		if backoff > a.cfg.MaxBackoff {
			backoff = a.cfg.MaxBackoff
		}
	}
}

// serveOnce runs one session from dial to its end.
func (a *Subagent) serveOnce(ctx context.Context) error {
	d := net.Dialer{Timeout: 2 * time.Second}
	conn, err := d.DialContext(ctx, a.cfg.Network, a.cfg.Address)
	if err != nil {
		return fmt.Errorf("dial master %s %s: %w", a.cfg.Network, a.cfg.Address, err)
	}
	rc, err := newRawConn(conn)
	if err != nil {
		return err
	}
	s := newSession(a, rc)
	readDone := make(chan struct{})
	var readErr error
	go func() {
		readErr = s.readLoop()
		close(readDone)
	}()
	defer func() {
		a.mu.Lock()
		if a.sess == s {
			a.sess = nil
			a.up = make(chan struct{})
		}
		a.mu.Unlock()
		// Wake the reader, wait for it, and only then release the
		// descriptor (see rawConn).
		rc.shutdown()
		<-readDone
		rc.close()
		s.setBusy(false)
		a.cfg.Handler.AbortAll()
	}()

	if err := s.open(ctx); err != nil {
		return err
	}
	a.sessions.Add(1)
	a.mu.Lock()
	a.sess = s
	close(a.up)
	a.mu.Unlock()
	a.cfg.Log.WithField("session", s.id).Info("agentx session open and registered")
	if a.cfg.OnSession != nil {
		a.cfg.OnSession(s.id)
	}

	ping := time.NewTicker(a.cfg.PingInterval)
	defer ping.Stop()
	// Armed only while busy, so an idle session has no timer but the ping.
	quiet := time.NewTimer(QuietAfter)
	quiet.Stop()
	defer quiet.Stop()
	for {
		select {
		case <-s.busyCh:
			quiet.Reset(QuietAfter)
		case <-quiet.C:
			if idle := time.Since(s.lastRead()); idle < QuietAfter {
				quiet.Reset(QuietAfter - idle)
				continue
			}
			s.setBusy(false)
		case <-ctx.Done():
			s.close(pdu.ReasonShutdown)
			return ctx.Err()
		case <-readDone:
			return readErr
		case <-ping.C:
			if time.Since(s.lastRead()) < a.cfg.PingInterval {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
			_, err := s.request(pctx, &pdu.Packet{Header: pdu.Header{Type: pdu.TypePing}})
			cancel()
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("ping: %w", err)
			}
		}
	}
}

// Notify sends a Notify PDU with vbs (which must start with sysUpTime.0 and
// snmpTrapOID.0, or just snmpTrapOID.0) and waits for the master's answer.
func (a *Subagent) Notify(ctx context.Context, vbs []smi.VarBind) error {
	a.mu.Lock()
	s := a.sess
	a.mu.Unlock()
	if s == nil {
		return ErrNotConnected
	}
	res, err := s.request(ctx, &pdu.Packet{Header: pdu.Header{Type: pdu.TypeNotify}, VarBinds: vbs})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if res.Error != smi.NoError {
		return fmt.Errorf("notify: master answered %s", res.Error)
	}
	return nil
}

// session is one open AgentX session over one connection.
type session struct {
	a    *Subagent
	conn *rawConn
	id   uint32

	wmu  sync.Mutex
	wbuf []byte

	pmu     sync.Mutex
	nextPID uint32
	waiting map[uint32]chan *pdu.Packet

	last atomic.Int64 // unix nanos of the last packet read

	busyMu sync.Mutex  // serialises the Busy transitions
	busy   atomic.Bool // as last reported to Config.Busy
	busyCh chan struct{}
}

func newSession(a *Subagent, conn *rawConn) *session {
	s := &session{a: a, conn: conn, waiting: map[uint32]chan *pdu.Packet{}, busyCh: make(chan struct{}, 1)}
	s.last.Store(time.Now().UnixNano())
	return s
}

func (s *session) lastRead() time.Time { return time.Unix(0, s.last.Load()) }

// setBusy reports a change of busy to Config.Busy; it returns whether b
// was a change.
func (s *session) setBusy(b bool) bool {
	if s.a.cfg.Busy == nil {
		return false
	}
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	if s.busy.Load() == b {
		return false
	}
	s.busy.Store(b)
	s.a.cfg.Busy(b)
	return true
}

// open sends Open and the registrations.
func (s *session) open(ctx context.Context) error {
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	to := s.a.cfg.Timeout / time.Second
	if to > 255 {
		to = 255
	}
	res, err := s.request(octx, &pdu.Packet{
		Header:  pdu.Header{Type: pdu.TypeOpen},
		Timeout: uint8(to), ID: s.a.cfg.ID, Descr: []byte(s.a.cfg.Descr),
	})
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	if res.Error != smi.NoError {
		return fmt.Errorf("open: master answered %s", res.Error)
	}
	s.id = res.Header.SessionID
	for _, r := range s.a.cfg.Registrations {
		pri := r.Priority
		if pri == 0 {
			pri = 127
		}
		res, err := s.request(octx, &pdu.Packet{
			Header:  pdu.Header{Type: pdu.TypeRegister},
			Timeout: r.Timeout, Priority: pri, RangeSubID: r.RangeSubID,
			Subtree: r.Subtree, UpperBound: r.UpperBound,
		})
		if err != nil {
			return fmt.Errorf("register %s: %w", r.Subtree, err)
		}
		if res.Error != smi.NoError {
			return fmt.Errorf("register %s: master answered %s", r.Subtree, res.Error)
		}
	}
	return nil
}

// Unregister removes a registration made at open (used by tests and on
// shutdown paths that want to leave the master clean).
func (a *Subagent) Unregister(ctx context.Context, r Registration) error {
	a.mu.Lock()
	s := a.sess
	a.mu.Unlock()
	if s == nil {
		return ErrNotConnected
	}
	pri := r.Priority
	if pri == 0 {
		pri = 127
	}
	res, err := s.request(ctx, &pdu.Packet{
		Header:   pdu.Header{Type: pdu.TypeUnregister},
		Priority: pri, RangeSubID: r.RangeSubID, Subtree: r.Subtree, UpperBound: r.UpperBound,
	})
	if err != nil {
		return fmt.Errorf("unregister %s: %w", r.Subtree, err)
	}
	if res.Error != smi.NoError {
		return fmt.Errorf("unregister %s: master answered %s", r.Subtree, res.Error)
	}
	return nil
}

// close sends Close and waits briefly for the master's Response.
func (s *session) close(reason uint8) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := s.request(ctx, &pdu.Packet{Header: pdu.Header{Type: pdu.TypeClose}, Reason: reason}); err != nil {
		s.a.cfg.Log.WithError(err).Debug("agentx close not acknowledged")
	}
}

// request sends p as a new request of ours and waits for its Response.
func (s *session) request(ctx context.Context, p *pdu.Packet) (*pdu.Packet, error) {
	ch := make(chan *pdu.Packet, 1)
	s.pmu.Lock()
	s.nextPID++
	pid := s.nextPID
	s.waiting[pid] = ch
	s.pmu.Unlock()
	defer func() {
		s.pmu.Lock()
		delete(s.waiting, pid)
		s.pmu.Unlock()
	}()
	p.Header.SessionID = s.id
	p.Header.PacketID = pid
	if err := s.send(p); err != nil {
		return nil, err
	}
	select {
	case res, ok := <-ch:
		if !ok {
			return nil, io.ErrUnexpectedEOF
		}
		return res, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// send writes one whole packet.
func (s *session) send(p *pdu.Packet) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	b, err := pdu.AppendMarshal(s.wbuf[:0], p)
	if err != nil {
		return fmt.Errorf("encode %d: %w", p.Header.Type, err)
	}
	s.wbuf = b
	if _, err := s.conn.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// yieldEvery is how long the reader serves back-to-back requests before
// yielding its P (measured: useful with 10 modules walked at once), and
// before it reports the session busy. Requests are back to back while less
// than backToBack apart (a loaded machine stretches a walk's gaps).
const (
	yieldEvery = 2 * time.Millisecond
	backToBack = 10 * time.Millisecond
)

// readLoop reads packets until the connection fails. Requests from the
// master are answered here, in order, without hand-offs: the master waits
// for each answer anyway, and this keeps the round trip short.
func (s *session) readLoop() error {
	defer func() {
		s.pmu.Lock()
		for pid, ch := range s.waiting {
			close(ch)
			delete(s.waiting, pid)
		}
		s.pmu.Unlock()
	}()
	r := pdu.NewReader(bufio.NewReaderSize(s.conn, 64<<10), s.a.cfg.MaxPayload)
	// busySince is when the current run of back-to-back requests began.
	var busySince, prev int64
	for {
		p, err := r.Next()
		if err != nil {
			var pe *pdu.ParseError
			if errors.As(err, &pe) && pe.HeaderOK {
				// RFC 2741 7.1.1: answer a parse error and carry on; the
				// whole payload has been consumed.
				s.a.cfg.Log.WithError(err).Warn("agentx: malformed PDU from master")
				s.respond(pe.Header, smi.ParseError, 0, nil)
				continue
			}
			return fmt.Errorf("read: %w", err)
		}
		now := time.Now().UnixNano()
		s.last.Store(now)
		if p.Header.Type == pdu.TypeResponse {
			s.pmu.Lock()
			ch := s.waiting[p.Header.PacketID]
			delete(s.waiting, p.Header.PacketID)
			s.pmu.Unlock()
			if ch != nil {
				ch <- p
			}
			continue
		}
		// This goroutine keeps its P when read(2) returns at once, as it
		// does all through a walk; let the rest of the process (the
		// module's loop, timers) run every yieldEvery of continuous
		// serving rather than wait for the runtime to preempt us. The
		// first time, report the session busy.
		if now-prev > int64(backToBack) {
			busySince = now
		} else if now-busySince > int64(yieldEvery) {
			if !s.busy.Load() && s.setBusy(true) {
				select { // arm the quiet timer
				case s.busyCh <- struct{}{}:
				default:
				}
			}
			runtime.Gosched()
			busySince = now
		}
		prev = now
		if err := s.serve(p); err != nil {
			return err
		}
	}
}

// respond answers a request of the master.
func (s *session) respond(h pdu.Header, st smi.ErrorStatus, idx int, vbs []smi.VarBind) {
	res := &pdu.Packet{
		Header: pdu.Header{
			Type: pdu.TypeResponse, Flags: h.Flags & pdu.FlagNetworkByteOrder,
			SessionID: h.SessionID, TransactionID: h.TransactionID, PacketID: h.PacketID,
		},
		SysUpTime: s.a.uptime(), Error: st, Index: uint16(idx), VarBinds: vbs,
	}
	if err := s.send(res); err != nil {
		s.a.cfg.Log.WithError(err).Warn("agentx: cannot answer master")
	}
}

// txKey makes a Handler transaction key of session and transaction IDs.
func txKey(h pdu.Header) uint64 { return uint64(h.SessionID)<<32 | uint64(h.TransactionID) }

// serve handles one request PDU from the master.
func (s *session) serve(p *pdu.Packet) error {
	h := p.Header
	hd := s.a.cfg.Handler
	if h.Flags&pdu.FlagNonDefaultContext != 0 {
		switch h.Type {
		case pdu.TypeGet, pdu.TypeGetNext, pdu.TypeGetBulk, pdu.TypeTestSet:
			s.respond(h, smi.UnsupportedContext, 0, nil)
			return nil
		}
	}
	switch h.Type {
	case pdu.TypeGet:
		vbs := make([]smi.VarBind, len(p.SearchRanges))
		for i, sr := range p.SearchRanges {
			vbs[i] = smi.VarBind{Name: sr.Start, Value: hd.Get(sr.Start)}
		}
		s.respond(h, smi.NoError, 0, vbs)
	case pdu.TypeGetNext:
		vbs := make([]smi.VarBind, len(p.SearchRanges))
		for i, sr := range p.SearchRanges {
			vbs[i] = getNext(hd, sr)
		}
		s.respond(h, smi.NoError, 0, vbs)
	case pdu.TypeGetBulk:
		s.respond(h, smi.NoError, 0, getBulk(hd, p))
	case pdu.TypeTestSet:
		if err := hd.TestSet(txKey(h), p.VarBinds); err != nil {
			// The handler logs why (it knows the reason); here only the trace.
			s.a.cfg.Log.WithFields(logrus.Fields{"status": err.Status.String(), "varbind": err.Index}).Debug("set refused")
			s.respond(h, err.Status, err.Index, nil)
			return nil
		}
		s.respond(h, smi.NoError, 0, nil)
	case pdu.TypeCommitSet:
		if err := hd.CommitSet(txKey(h)); err != nil {
			s.a.cfg.Log.WithField("status", err.Status.String()).Debug("set commit failed")
			s.respond(h, err.Status, err.Index, nil)
			return nil
		}
		s.respond(h, smi.NoError, 0, nil)
	case pdu.TypeUndoSet:
		if err := hd.UndoSet(txKey(h)); err != nil {
			s.respond(h, err.Status, err.Index, nil)
			return nil
		}
		s.respond(h, smi.NoError, 0, nil)
	case pdu.TypeCleanupSet:
		// RFC 2741 7.2.4.4: no Response is sent to a CleanupSet.
		hd.CleanupSet(txKey(h))
	case pdu.TypePing:
		s.respond(h, smi.NoError, 0, nil)
	case pdu.TypeClose:
		s.respond(h, smi.NoError, 0, nil)
		return fmt.Errorf("master closed the session (reason %d)", p.Reason)
	default:
		// Open, Register, Notify... are subagent-to-master only.
		s.respond(h, smi.ProcessingError, 0, nil)
	}
	return nil
}

// getNext answers one search range (RFC 2741 7.2.3.2).
func getNext(hd Handler, sr pdu.SearchRange) smi.VarBind {
	oid, v, ok := hd.GetNext(sr.Start, sr.Include, sr.End)
	if !ok {
		return smi.VarBind{Name: sr.Start, Value: smi.Exception(smi.TypeEndOfMibView)}
	}
	return smi.VarBind{Name: oid, Value: v}
}

// getBulk answers a GetBulk (RFC 2741 7.2.3.3): the non-repeaters once,
// then up to max-repetitions rounds over the repeaters, each continuing
// from the previous round's answer.
func getBulk(hd Handler, p *pdu.Packet) []smi.VarBind {
	n := int(p.NonRepeaters)
	if n > len(p.SearchRanges) {
		n = len(p.SearchRanges)
	}
	vbs := make([]smi.VarBind, 0, n+(len(p.SearchRanges)-n)*int(p.MaxRepetitions))
	for _, sr := range p.SearchRanges[:n] {
		vbs = append(vbs, getNext(hd, sr))
	}
	reps := append([]pdu.SearchRange(nil), p.SearchRanges[n:]...)
	if len(reps) == 0 {
		return vbs
	}
	for r := 0; r < int(p.MaxRepetitions); r++ {
		allEnd := true
		for i := range reps {
			vb := getNext(hd, reps[i])
			vbs = append(vbs, vb)
			if vb.Value.Type != smi.TypeEndOfMibView {
				allEnd = false
				reps[i].Start, reps[i].Include = vb.Name, false
			}
		}
		if allEnd {
			break
		}
	}
	return vbs
}
