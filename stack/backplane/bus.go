package backplane

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// On a stream (the chassis socket) every frame is preceded by its length
// as two big-endian octets.

// WriteFrame writes one length-prefixed frame.
func WriteFrame(w io.Writer, frame []byte) error {
	if len(frame) > MaxFrame {
		return fmt.Errorf("backplane: frame of %d octets exceeds %d", len(frame), MaxFrame)
	}
	b := make([]byte, 2, 2+len(frame))
	binary.BigEndian.PutUint16(b, uint16(len(frame)))
	_, err := w.Write(append(b, frame...))
	return err
}

// ReadFrame reads one length-prefixed frame; a length over MaxFrame is an
// error (the stream is then out of step and must be closed).
func ReadFrame(r io.Reader) ([]byte, error) {
	var lb [2]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(lb[:]))
	if n > MaxFrame || n < HeaderSize+MACSize {
		return nil, fmt.Errorf("%w: stream frame length %d", ErrMalformed, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// Fault is what the chassis does to one module's attachment: cut it
// (nothing in or out), drop its next frames, or delay them.
type Fault struct {
	Cut      bool
	DropNext int
	Delay    time.Duration
}

// Chassis is the backplane: a broadcast medium to which modules attach over
// a stream socket. Every frame one module sends reaches every other
// attached module. It does not need the stack key: it carries frames, the
// modules authenticate them. A module's identity on the bus is the sender
// ID of the frames it sends; until its first frame (a hello, see
// TypeHello) a new attachment receives nothing, so that a cut module cannot
// listen in by re-attaching.
type Chassis struct {
	log logrus.FieldLogger

	mu     sync.Mutex
	ports  map[*port]struct{}
	faults map[ID]Fault
	frames uint64
}

type port struct {
	conn net.Conn
	id   ID // guarded by Chassis.mu
	out  chan []byte

	mu     sync.Mutex // guards closed and sends on out
	closed bool
}

// NewChassis returns an empty backplane.
func NewChassis(log logrus.FieldLogger) *Chassis {
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = l
	}
	return &Chassis{log: log, ports: map[*port]struct{}{}, faults: map[ID]Fault{}}
}

// SetFault sets (or, with the zero Fault, clears) the fault on a module's
// attachment. Cutting closes its connection; the module re-attaches when
// the cut is cleared.
func (c *Chassis) SetFault(id ID, f Fault) {
	c.mu.Lock()
	if f == (Fault{}) {
		delete(c.faults, id)
	} else {
		c.faults[id] = f
	}
	var cut []*port
	if f.Cut {
		for p := range c.ports {
			if p.id == id {
				cut = append(cut, p)
			}
		}
	}
	c.mu.Unlock()
	for _, p := range cut {
		p.close()
	}
	c.log.WithFields(logrus.Fields{"mac": id.String(), "fault": fmt.Sprintf("%+v", f)}).Info("backplane fault set")
}

// Attached returns the IDs of the modules attached now (those that have
// announced themselves).
func (c *Chassis) Attached() []ID {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []ID
	for p := range c.ports {
		if p.id != (ID{}) {
			ids = append(ids, p.id)
		}
	}
	return ids
}

// Frames returns how many frames the chassis has carried.
func (c *Chassis) Frames() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames
}

// Serve accepts attachments on ln until ctx is done.
func (c *Chassis) Serve(ctx context.Context, ln net.Listener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				c.mu.Lock()
				for p := range c.ports {
					defer p.close()
				}
				c.mu.Unlock()
				return ctx.Err()
			}
			return fmt.Errorf("backplane accept: %w", err)
		}
		p := &port{conn: conn, out: make(chan []byte, 256)}
		c.mu.Lock()
		c.ports[p] = struct{}{}
		c.mu.Unlock()
		go c.writeLoop(p)
		go c.readLoop(p)
	}
}

func (p *port) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		p.conn.Close()
		close(p.out)
	}
}

func (c *Chassis) detach(p *port) {
	c.mu.Lock()
	delete(c.ports, p)
	c.mu.Unlock()
	p.close()
}

func (c *Chassis) readLoop(p *port) {
	defer c.detach(p)
	r := bufio.NewReader(p.conn)
	for {
		b, err := ReadFrame(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.log.WithError(err).Warn("backplane: dropping an attachment")
			}
			return
		}
		var from ID
		copy(from[:], b[8:14])
		c.mu.Lock()
		p.id = from
		f := c.faults[from]
		if f.Cut {
			c.mu.Unlock()
			return
		}
		if f.DropNext > 0 {
			f.DropNext--
			c.faults[from] = f
			if f == (Fault{}) {
				delete(c.faults, from)
			}
			c.mu.Unlock()
			continue
		}
		c.frames++
		var dests []*port
		for q := range c.ports {
			if q != p && q.id != (ID{}) && !c.faults[q.id].Cut {
				dests = append(dests, q)
			}
		}
		c.mu.Unlock()
		deliver := func() {
			for _, q := range dests {
				q.send(b)
			}
		}
		if f.Delay > 0 {
			time.AfterFunc(f.Delay, deliver)
		} else {
			deliver()
		}
	}
}

// send queues b for q; a port too slow to keep up loses frames rather than
// stalling the bus (as on a real backplane).
func (q *port) send(b []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	select {
	case q.out <- b:
	default:
	}
}

func (c *Chassis) writeLoop(p *port) {
	w := bufio.NewWriter(p.conn)
	for b := range p.out {
		if err := WriteFrame(w, b); err != nil {
			break
		}
		if len(p.out) == 0 {
			if err := w.Flush(); err != nil {
				break
			}
		}
	}
	c.detach(p)
}
