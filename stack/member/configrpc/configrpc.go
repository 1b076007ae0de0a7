// Package configrpc is the Primary's side of distributed configuration: it
// sends configmsg Sets to their targets (another module, a device) and
// matches their Acks, with a deadline per request, and takes back what a
// failed distribution may have changed. It never waits: its owner's loop
// drives it (Distribute, Ack, Tick) with the time passed in, and it sends
// through an interface, so tests run it over an in-memory transport.
package configrpc

import (
	"bytes"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/configmsg"
	"github.com/cpsmm/cpsmm/stack/ident"
)

// DefaultTimeout is how long a Set waits for its target's Ack. snmpd
// queues every other request while a Set is in progress (snmp_agent.c:
// "request queued while processing set"), so this bounds how long a Set to
// a silent module holds up reads of the Primary. A live target acknowledges
// within a few milliseconds (a device's Ack waits for the chassis's fsync:
// 2 ms median, 13 ms worst measured here).
const DefaultTimeout = 30 * time.Millisecond

// undoTries is how often a take-back is sent before it is given up.
const undoTries = 3

// Sender sends a frame on both paths to every module (and the chassis).
type Sender interface {
	Send(typ backplane.Type, flags uint8, payload []byte) error
}

// Change is one Set to distribute, and the Set that takes it back.
type Change struct {
	Do, Undo configmsg.Set
	Name     string // the MIB object, for messages
	// Timeout bounds the wait for its Ack and its take-back's (0: the
	// RPC's): longer for a Set its target must write to disk first.
	Timeout time.Duration
}

type batch struct {
	changes []Change
	left    int
	done    func(error)
	over    bool
}

type call struct {
	set      configmsg.Set
	timeout  time.Duration
	deadline time.Time
	batch    *batch // nil for a take-back
	tries    int
	name     string
}

// RPC is the requests in flight; only its owner's loop calls it.
type RPC struct {
	send    Sender
	log     logrus.FieldLogger
	timeout time.Duration
	nextID  uint32
	calls   map[uint32]*call
}

// New returns an RPC sending through send; IDs start at seed (use the
// time, so that a restarted module does not reuse its predecessor's).
func New(send Sender, timeout time.Duration, seed uint32, log logrus.FieldLogger) *RPC {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		log = l
	}
	return &RPC{send: send, log: log, timeout: timeout, nextID: seed, calls: map[uint32]*call{}}
}

// Busy reports whether a Set to module mac is unsettled: awaiting its Ack
// or a take-back's, or part of a batch still awaiting another target's.
// Until it settles, what the module reports of itself may show a Set about
// to be taken back.
func (r *RPC) Busy(mac ident.MAC) bool {
	mine := func(t configmsg.Target) bool { return t.Kind == configmsg.KindModule && t.MAC == mac }
	for _, c := range r.calls {
		if mine(c.set.Target) {
			return true
		}
		if c.batch != nil {
			for _, ch := range c.batch.changes {
				if mine(ch.Do.Target) {
					return true
				}
			}
		}
	}
	return false
}

// InFlight returns how many requests await an Ack.
func (r *RPC) InFlight() int { return len(r.calls) }

// Distribute sends every change's Set and calls done(nil) once every
// target has acknowledged, or done(err) at the first refusal or silence;
// then every change is taken back (its Undo sent until acknowledged, up to
// three times), since a silent target may have applied it. With done nil
// the changes are take-backs themselves.
func (r *RPC) Distribute(now time.Time, changes []Change, done func(error)) {
	if done == nil {
		for _, c := range changes {
			_ = r.start(now, c.Do, nil, c.Name, c.Timeout)
		}
		return
	}
	b := &batch{changes: changes, left: len(changes), done: done}
	if len(changes) == 0 {
		b.over = true
		done(nil)
		return
	}
	for _, c := range changes {
		if err := r.start(now, c.Do, b, c.Name, c.Timeout); err != nil {
			r.fail(now, b, err)
			return
		}
	}
}

func (r *RPC) start(now time.Time, s configmsg.Set, b *batch, name string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = r.timeout
	}
	r.nextID++
	s.ID = r.nextID
	c := &call{set: s, timeout: timeout, deadline: now.Add(timeout), batch: b, tries: 1, name: name}
	r.calls[s.ID] = c
	return r.transmit(c)
}

func (r *RPC) transmit(c *call) error {
	payload, err := configmsg.MarshalSet(c.set)
	if err == nil {
		err = r.send.Send(backplane.TypeConfigSet, 0, payload)
	}
	if err != nil {
		return fmt.Errorf("%s to %s: %w", c.name, c.set.Target, err)
	}
	return nil
}

// Ack takes a target's answer, heard from sender from.
func (r *RPC) Ack(now time.Time, from ident.MAC, a configmsg.Ack) {
	c, ok := r.calls[a.ID]
	if !ok {
		return // the copy from the other path, or an answer given up on
	}
	if c.set.Target.Kind == configmsg.KindModule && c.set.Target.MAC != from {
		r.log.WithFields(logrus.Fields{"peer": from.String(), "reason": "not the Set's target"}).Warn("ack dropped")
		return
	}
	delete(r.calls, a.ID)
	log := r.log.WithFields(logrus.Fields{"object": c.name, "target": c.set.Target.String(), "status": a.Status.String()})
	if c.batch == nil {
		if a.Status != configmsg.OK {
			log.WithField("reason", "target refused the old value").Warn("take-back refused")
		} else {
			log.Info("take-back acknowledged")
		}
		return
	}
	if a.Status != configmsg.OK {
		r.fail(now, c.batch, fmt.Errorf("%s answered: %s", c.set.Target, a.Status))
		return
	}
	c.batch.left--
	if c.batch.left == 0 && !c.batch.over {
		c.batch.over = true
		c.batch.done(nil)
	}
}

// fail ends a batch with err and takes every change of it back.
func (r *RPC) fail(now time.Time, b *batch, err error) {
	if b.over {
		return
	}
	b.over = true
	for id, c := range r.calls {
		if c.batch == b {
			delete(r.calls, id)
		}
	}
	b.done(err)
	for _, c := range b.changes {
		if !sameValue(c.Undo, c.Do) {
			_ = r.start(now, c.Undo, nil, c.Name, c.Timeout)
		}
	}
}

// Tick ends the requests whose deadline has passed.
func (r *RPC) Tick(now time.Time) {
	for id, c := range r.calls {
		if now.Before(c.deadline) {
			continue
		}
		if c.batch != nil {
			r.fail(now, c.batch, fmt.Errorf("%s did not acknowledge within %s", c.set.Target, c.timeout))
			continue
		}
		if c.tries >= undoTries {
			delete(r.calls, id)
			r.log.WithFields(logrus.Fields{"object": c.name, "target": c.set.Target.String(), "reason": "no acknowledgement"}).Warn("take-back given up")
			continue
		}
		c.tries++
		c.deadline = now.Add(c.timeout)
		_ = r.transmit(c)
	}
}

// Deadline is when Tick has something to do next (zero: nothing).
func (r *RPC) Deadline() time.Time {
	var d time.Time
	for _, c := range r.calls {
		if d.IsZero() || c.deadline.Before(d) {
			d = c.deadline
		}
	}
	return d
}

// sameValue tells whether two Sets of the same objects carry the same
// values (a take-back that would change nothing is not sent).
func sameValue(a, b configmsg.Set) bool {
	ai, bi := a.Items(), b.Items()
	if len(ai) != len(bi) {
		return false
	}
	for i := range ai {
		if ai[i].Object != bi[i].Object || ai[i].Type != bi[i].Type || ai[i].Int != bi[i].Int || !bytes.Equal(ai[i].Bytes, bi[i].Bytes) {
			return false
		}
	}
	return true
}
