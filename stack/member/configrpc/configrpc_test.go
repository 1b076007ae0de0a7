package configrpc

import (
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/configmsg"
	"github.com/cpsmm/cpsmm/stack/ident"
)

// sender records every frame sent; fail makes Send return an error.
type sender struct {
	t      testing.TB
	frames []sent
	fail   error
}

type sent struct {
	typ   backplane.Type
	flags uint8
	set   configmsg.Set
}

func (s *sender) Send(typ backplane.Type, flags uint8, payload []byte) error {
	if s.fail != nil {
		return s.fail
	}
	set, err := configmsg.UnmarshalSet(payload)
	if err != nil {
		s.t.Fatalf("frame sent is not a Set: %v", err)
	}
	s.frames = append(s.frames, sent{typ, flags, set})
	return nil
}

// since returns the Sets sent from frame n on.
func (s *sender) since(n int) []configmsg.Set {
	var out []configmsg.Set
	for _, f := range s.frames[n:] {
		if f.typ != backplane.TypeConfigSet || f.flags != 0 {
			s.t.Fatalf("frame of type %v flags %d, want a ConfigSet", f.typ, f.flags)
		}
		out = append(out, f.set)
	}
	return out
}

func quiet() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

const timeout = 40 * time.Millisecond

var (
	t0    = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	macA  = ident.MAC{0, 0xc0, 0xf2, 0, 0, 2}
	macB  = ident.MAC{0, 0xc0, 0xf2, 0, 0, 3}
	chass = ident.MAC{0, 0xc0, 0xf2, 0xff, 0xff, 0xff}
)

func module(mac ident.MAC) configmsg.Target {
	return configmsg.Target{Kind: configmsg.KindModule, MAC: mac}
}

func dev(bia, slot int32) configmsg.Target {
	return configmsg.Target{Kind: configmsg.KindDevice, Slot: ident.At(ident.Cabinet(bia), slot)}
}

// intChange changes an integer object of t from old to new.
func intChange(t configmsg.Target, obj configmsg.Object, old, new int32, name string) Change {
	return Change{
		Do:   configmsg.Set{Target: t, Object: obj, Type: configmsg.Integer, Int: new},
		Undo: configmsg.Set{Target: t, Object: obj, Type: configmsg.Integer, Int: old},
		Name: name,
	}
}

// dones records the calls of a batch's done.
type dones struct{ errs []error }

func (d *dones) done(err error) { d.errs = append(d.errs, err) }

func newRPC(t testing.TB) (*RPC, *sender) {
	s := &sender{t: t}
	return New(s, timeout, 1000, quiet()), s
}

func ack(s configmsg.Set, st configmsg.Status) configmsg.Ack {
	return configmsg.Ack{ID: s.ID, Target: s.Target, Status: st}
}

// twoChanges is a batch: a module's WantPrimary and a device column.
func twoChanges() []Change {
	return []Change{
		intChange(module(macA), configmsg.ObjWantPrimary, 2, 1, "cpsmm100WantPrimary"),
		intChange(dev(1, 4), configmsg.Object(7), 1, 2, "cettf100Enabled"),
	}
}

func TestBatchAcknowledged(t *testing.T) {
	r, s := newRPC(t)
	var d dones
	r.Distribute(t0, twoChanges(), d.done)
	sets := s.since(0)
	if len(sets) != 2 {
		t.Fatalf("%d Sets sent, want 2", len(sets))
	}
	want := twoChanges()
	for i, got := range sets {
		if got.Target != want[i].Do.Target || got.Object != want[i].Do.Object || got.Int != want[i].Do.Int {
			t.Errorf("Set %d = %+v, want %+v", i, got, want[i].Do)
		}
	}
	if sets[0].ID == sets[1].ID {
		t.Fatalf("both Sets have ID %d", sets[0].ID)
	}
	if r.InFlight() != 2 {
		t.Fatalf("InFlight %d, want 2", r.InFlight())
	}
	r.Ack(t0.Add(time.Millisecond), macA, ack(sets[0], configmsg.OK))
	if len(d.errs) != 0 {
		t.Fatalf("done called after one Ack of two: %v", d.errs)
	}
	r.Ack(t0.Add(2*time.Millisecond), chass, ack(sets[1], configmsg.OK))
	if len(d.errs) != 1 || d.errs[0] != nil {
		t.Fatalf("done calls %v, want one done(nil)", d.errs)
	}
	if r.InFlight() != 0 || !r.Deadline().IsZero() {
		t.Fatalf("InFlight %d Deadline %v after the batch, want 0 and zero", r.InFlight(), r.Deadline())
	}
	r.Tick(t0.Add(10 * timeout))
	if len(s.frames) != 2 || len(d.errs) != 1 {
		t.Fatalf("after a late Tick: %d frames, %d done calls; want 2 and 1", len(s.frames), len(d.errs))
	}
}

func TestEmptyBatchDoneAtOnce(t *testing.T) {
	r, s := newRPC(t)
	var d dones
	r.Distribute(t0, nil, d.done)
	if len(d.errs) != 1 || d.errs[0] != nil || len(s.frames) != 0 || r.InFlight() != 0 {
		t.Fatalf("done %v, %d frames, InFlight %d; want one done(nil), nothing sent", d.errs, len(s.frames), r.InFlight())
	}
}

func TestRefusalTakesTheBatchBack(t *testing.T) {
	r, s := newRPC(t)
	var d dones
	changes := append(twoChanges(), intChange(dev(1, 5), configmsg.ObjSlotPower, 1, 2, "cpsSlotPwrState"))
	r.Distribute(t0, changes, d.done)
	sets := s.since(0)
	r.Ack(t0.Add(time.Millisecond), macA, ack(sets[0], configmsg.OK))
	r.Ack(t0.Add(2*time.Millisecond), chass, ack(sets[1], configmsg.BadValue))
	if len(d.errs) != 1 || d.errs[0] == nil {
		t.Fatalf("done calls %v, want one done(err) at the refusal", d.errs)
	}
	if !strings.Contains(d.errs[0].Error(), configmsg.BadValue.String()) {
		t.Errorf("error %q does not say the target's answer", d.errs[0])
	}
	undos := s.since(3)
	if len(undos) != len(changes) {
		t.Fatalf("%d take-backs sent, want %d (every change of the batch)", len(undos), len(changes))
	}
	for i, u := range undos {
		w := changes[i].Undo
		if u.Target != w.Target || u.Object != w.Object || u.Type != w.Type || u.Int != w.Int {
			t.Errorf("take-back %d = %+v, want %+v", i, u, w)
		}
		for _, do := range sets {
			if u.ID == do.ID {
				t.Errorf("take-back %d reuses ID %d of a Set", i, u.ID)
			}
		}
	}
	if r.InFlight() != len(changes) {
		t.Fatalf("InFlight %d, want the %d take-backs", r.InFlight(), len(changes))
	}
	// The third Set's late Ack changes nothing: the batch is over.
	r.Ack(t0.Add(3*time.Millisecond), chass, ack(sets[2], configmsg.OK))
	if len(d.errs) != 1 || r.InFlight() != len(changes) {
		t.Fatalf("late Ack: done calls %v, InFlight %d", d.errs, r.InFlight())
	}
	for _, u := range undos {
		r.Ack(t0.Add(4*time.Millisecond), u.Target.MAC, ack(u, configmsg.OK))
	}
	if r.InFlight() != 0 || !r.Deadline().IsZero() {
		t.Fatalf("InFlight %d after every take-back was acknowledged", r.InFlight())
	}
}

func TestSendErrorFailsAtOnce(t *testing.T) {
	r, s := newRPC(t)
	s.fail = errors.New("bus gone")
	var d dones
	r.Distribute(t0, twoChanges(), d.done)
	if len(d.errs) != 1 || !errors.Is(d.errs[0], s.fail) {
		t.Fatalf("done calls %v, want one wrapping the send error", d.errs)
	}
}

func TestSilenceFailsExactlyAtDeadline(t *testing.T) {
	r, s := newRPC(t)
	var d dones
	r.Distribute(t0, twoChanges(), d.done)
	sets := s.since(0)
	r.Ack(t0.Add(5*time.Millisecond), macA, ack(sets[0], configmsg.OK))
	if dl := r.Deadline(); !dl.Equal(t0.Add(timeout)) {
		t.Fatalf("Deadline %v, want %v", dl, t0.Add(timeout))
	}
	for _, at := range []time.Duration{0, timeout / 2, timeout - time.Nanosecond} {
		r.Tick(t0.Add(at))
		if len(d.errs) != 0 {
			t.Fatalf("done called at %v, before the timeout", at)
		}
	}
	if len(s.frames) != 2 {
		t.Fatalf("%d frames before the timeout, want the 2 Sets", len(s.frames))
	}
	r.Tick(r.Deadline())
	if len(d.errs) != 1 || d.errs[0] == nil || !strings.Contains(d.errs[0].Error(), "did not acknowledge") {
		t.Fatalf("done calls %v at the deadline, want one done(err) for the silence", d.errs)
	}
	if undos := s.since(2); len(undos) != 2 {
		t.Fatalf("%d take-backs after the silence, want 2", len(undos))
	}
	r.Tick(t0.Add(timeout + time.Millisecond))
	if len(d.errs) != 1 {
		t.Fatalf("done called %d times", len(d.errs))
	}
	if dl := r.Deadline(); !dl.Equal(t0.Add(2 * timeout)) {
		t.Fatalf("take-backs' Deadline %v, want %v", dl, t0.Add(2*timeout))
	}
}

func TestTakeBackRetriedThenGivenUp(t *testing.T) {
	r, s := newRPC(t)
	r.Distribute(t0, []Change{intChange(dev(2, 3), configmsg.Object(9), 0, 2, "cfetf100Pause")}, nil)
	first := s.since(0)
	if len(first) != 1 || first[0].Int != 2 {
		t.Fatalf("sent %+v, want the one take-back", first)
	}
	now := t0
	for try := 2; try <= undoTries; try++ {
		r.Tick(r.Deadline().Add(-time.Nanosecond))
		if len(s.frames) != try-1 {
			t.Fatalf("resent before its deadline: %d frames", len(s.frames))
		}
		now = r.Deadline()
		r.Tick(now)
		sets := s.since(0)
		if len(sets) != try {
			t.Fatalf("try %d: %d frames sent", try, len(sets))
		}
		if sets[try-1].ID != first[0].ID || sets[try-1].Int != 2 {
			t.Fatalf("try %d sent %+v, want the same Set %+v", try, sets[try-1], first[0])
		}
		if dl := r.Deadline(); !dl.Equal(now.Add(timeout)) {
			t.Fatalf("try %d: Deadline %v, want %v", try, dl, now.Add(timeout))
		}
	}
	r.Tick(r.Deadline())
	if r.InFlight() != 0 || !r.Deadline().IsZero() || len(s.frames) != undoTries {
		t.Fatalf("after %d tries: InFlight %d, Deadline %v, %d frames; want it given up", undoTries, r.InFlight(), r.Deadline(), len(s.frames))
	}
	r.Tick(now.Add(time.Hour))
	if len(s.frames) != undoTries {
		t.Fatalf("%d frames after giving up", len(s.frames))
	}
}

func TestTakeBackAcknowledgedStopsRetries(t *testing.T) {
	r, s := newRPC(t)
	r.Distribute(t0, []Change{intChange(module(macB), configmsg.ObjWantPrimary, 1, 2, "cpsmm100WantPrimary")}, nil)
	r.Tick(r.Deadline())
	sets := s.since(0)
	if len(sets) != 2 {
		t.Fatalf("%d frames, want the take-back and one retry", len(sets))
	}
	r.Ack(t0.Add(timeout+time.Millisecond), macB, ack(sets[1], configmsg.Refused))
	if r.InFlight() != 0 {
		t.Fatalf("a refused take-back stays in flight")
	}
	r.Tick(t0.Add(time.Hour))
	if len(s.frames) != 2 {
		t.Fatalf("%d frames, want no retry after the Ack", len(s.frames))
	}
}

func TestDistributeWithoutDoneSendsTakeBacksOnly(t *testing.T) {
	r, s := newRPC(t)
	changes := twoChanges()
	r.Distribute(t0, changes, nil)
	sets := s.since(0)
	if len(sets) != 2 {
		t.Fatalf("%d Sets, want 2", len(sets))
	}
	for i, got := range sets {
		if got.Int != changes[i].Do.Int || got.Target != changes[i].Do.Target {
			t.Errorf("sent %+v, want %+v", got, changes[i].Do)
		}
	}
	// A refusal of a take-back takes nothing back in turn.
	r.Ack(t0.Add(time.Millisecond), macA, ack(sets[0], configmsg.BadValue))
	r.Ack(t0.Add(time.Millisecond), chass, ack(sets[1], configmsg.OK))
	if len(s.frames) != 2 || r.InFlight() != 0 {
		t.Fatalf("%d frames, InFlight %d; want nothing more sent and nothing in flight", len(s.frames), r.InFlight())
	}
}

func TestAckFromAnotherModuleIgnored(t *testing.T) {
	r, s := newRPC(t)
	var d dones
	r.Distribute(t0, twoChanges()[:1], d.done)
	sets := s.since(0)
	r.Ack(t0.Add(time.Millisecond), macB, ack(sets[0], configmsg.OK))
	r.Ack(t0.Add(time.Millisecond), macB, ack(sets[0], configmsg.BadValue))
	if len(d.errs) != 0 || r.InFlight() != 1 {
		t.Fatalf("an Ack from %s (not the target %s) counted: done %v, InFlight %d", macB, macA, d.errs, r.InFlight())
	}
	r.Ack(t0.Add(2*time.Millisecond), macA, ack(sets[0], configmsg.OK))
	if len(d.errs) != 1 || d.errs[0] != nil || r.InFlight() != 0 {
		t.Fatalf("the target's Ack: done %v, InFlight %d", d.errs, r.InFlight())
	}
}

func TestDuplicateAckCountsOnce(t *testing.T) {
	r, s := newRPC(t)
	var d dones
	r.Distribute(t0, twoChanges(), d.done)
	sets := s.since(0)
	// The Ack arrives on both paths.
	r.Ack(t0.Add(time.Millisecond), macA, ack(sets[0], configmsg.OK))
	r.Ack(t0.Add(time.Millisecond), macA, ack(sets[0], configmsg.OK))
	if len(d.errs) != 0 || r.InFlight() != 1 {
		t.Fatalf("the other path's copy counted: done %v, InFlight %d", d.errs, r.InFlight())
	}
	r.Ack(t0.Add(2*time.Millisecond), chass, ack(sets[1], configmsg.OK))
	r.Ack(t0.Add(2*time.Millisecond), chass, ack(sets[1], configmsg.OK))
	if len(d.errs) != 1 || d.errs[0] != nil {
		t.Fatalf("done calls %v, want one done(nil)", d.errs)
	}
}

func TestDeadlineZeroWhenIdle(t *testing.T) {
	r, s := newRPC(t)
	if !r.Deadline().IsZero() || r.InFlight() != 0 {
		t.Fatalf("fresh RPC: Deadline %v, InFlight %d", r.Deadline(), r.InFlight())
	}
	var d dones
	r.Distribute(t0, twoChanges()[1:], d.done)
	if !r.Deadline().Equal(t0.Add(timeout)) {
		t.Fatalf("Deadline %v, want %v", r.Deadline(), t0.Add(timeout))
	}
	r.Ack(t0, chass, ack(s.since(0)[0], configmsg.OK))
	if !r.Deadline().IsZero() {
		t.Fatalf("Deadline %v with nothing in flight", r.Deadline())
	}
}

// TestRandomInterleavings runs several batches against targets that
// acknowledge, refuse, repeat themselves, answer from the wrong module or
// stay silent, in random order, with the clock moving in random steps. At
// every step: each batch's done is called at most once, done(nil) only
// once every Set of it was acknowledged, done(err) only after a refusal
// or the timeout, and a batch whose Sets are all acknowledged in time is
// done(nil). In the end every batch is done and nothing stays in flight.
func TestRandomInterleavings(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		randomRun(t, seed)
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}

type modelBatch struct {
	ids     map[uint32]bool // its Sets
	acked   map[uint32]bool // acknowledged ok
	sent    time.Time
	refused bool
	errs    []error
	called  []time.Time
}

func randomRun(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	r, s := newRPC(t)
	now := t0
	var batches []*modelBatch
	byID := map[uint32]*modelBatch{}
	targets := []configmsg.Target{module(macA), module(macB), dev(1, 2), dev(1, 3), dev(2, 0)}
	targetOf := map[uint32]configmsg.Target{}
	tries := map[uint32]int{} // take-backs: transmissions by ID
	seen := 0

	// note takes the frames sent since the last look.
	note := func(b *modelBatch) {
		for _, set := range s.since(seen) {
			targetOf[set.ID] = set.Target
			if b != nil {
				b.ids[set.ID] = true
				byID[set.ID] = b
			} else if byID[set.ID] != nil {
				t.Errorf("Set ID %d of a batch sent again", set.ID)
			} else {
				tries[set.ID]++
				if tries[set.ID] > undoTries {
					t.Errorf("take-back %d sent %d times", set.ID, tries[set.ID])
				}
			}
		}
		seen = len(s.frames)
	}
	check := func() {
		for i, b := range batches {
			if len(b.errs) > 1 {
				t.Errorf("batch %d: done called %d times", i, len(b.errs))
			}
			if len(b.errs) == 0 {
				if len(b.acked) == len(b.ids) {
					t.Errorf("batch %d: every Set acknowledged, no done", i)
				}
				continue
			}
			err, at := b.errs[0], b.called[0]
			switch {
			case err == nil && len(b.acked) != len(b.ids):
				t.Errorf("batch %d: done(nil) after %d of %d Acks", i, len(b.acked), len(b.ids))
			case err != nil && !b.refused && at.Before(b.sent.Add(timeout)):
				t.Errorf("batch %d: done(%v) at %v, before the timeout and without a refusal", i, err, at.Sub(b.sent))
			}
		}
	}
	sender := func(tg configmsg.Target) ident.MAC {
		if tg.Kind == configmsg.KindModule {
			return tg.MAC
		}
		return chass
	}
	for step := 0; step < 60; step++ {
		switch op := rng.IntN(10); {
		case op < 2 || len(batches) == 0: // a new batch
			b := &modelBatch{ids: map[uint32]bool{}, acked: map[uint32]bool{}, sent: now}
			var changes []Change
			for n := 1 + rng.IntN(4); n > 0; n-- {
				tg := targets[rng.IntN(len(targets))]
				changes = append(changes, intChange(tg, configmsg.Object(1+rng.IntN(20)), 1, 2, "x"))
			}
			batches = append(batches, b)
			r.Distribute(now, changes, func(err error) {
				b.errs = append(b.errs, err)
				b.called = append(b.called, now)
			})
			note(b)
		case op < 7: // an Ack of some Set sent
			if len(s.frames) == 0 {
				continue
			}
			set := s.frames[rng.IntN(len(s.frames))].set
			from := sender(targetOf[set.ID])
			st := configmsg.OK
			switch k := rng.IntN(10); {
			case k == 0:
				st = configmsg.BadValue
			case k == 1 && targetOf[set.ID].Kind == configmsg.KindModule:
				from = macA
				if targetOf[set.ID].MAC == macA {
					from = macB
				}
			}
			wrong := from != sender(targetOf[set.ID])
			b := byID[set.ID]
			live := b != nil && len(b.errs) == 0
			r.Ack(now, from, ack(set, st))
			if live && !wrong {
				if st == configmsg.OK {
					b.acked[set.ID] = true
				} else {
					b.refused = true
				}
			}
			note(nil)
		default: // time passes
			now = now.Add(time.Duration(rng.IntN(int(timeout))))
			r.Tick(now)
			note(nil)
		}
		check()
	}
	// Silence: every batch ends, every take-back is acknowledged or given up.
	for i := 0; i <= undoTries+1; i++ {
		now = now.Add(timeout)
		r.Tick(now)
		note(nil)
		check()
	}
	for i, b := range batches {
		if len(b.errs) != 1 {
			t.Errorf("batch %d: done called %d times, want once", i, len(b.errs))
		}
	}
	if r.InFlight() != 0 || !r.Deadline().IsZero() {
		t.Errorf("in the end InFlight %d, Deadline %v", r.InFlight(), r.Deadline())
	}
}

// Busy follows a module target from its Set to the end of its batch and
// of its take-back.
func TestBusy(t *testing.T) {
	r, s := newRPC(t)
	var d dones
	r.Distribute(t0, twoChanges(), d.done)
	if !r.Busy(macA) || r.Busy(macB) {
		t.Fatalf("Busy(A) %v, Busy(B) %v after the Sets", r.Busy(macA), r.Busy(macB))
	}
	sets := s.since(0)
	r.Ack(t0.Add(time.Millisecond), macA, ack(sets[0], configmsg.OK))
	if !r.Busy(macA) {
		t.Fatal("A acknowledged, the device not yet: A not busy")
	}
	r.Tick(t0.Add(timeout)) // the device is silent: the batch fails, take-backs go
	if !r.Busy(macA) {
		t.Fatal("A's take-back unsent or not awaited")
	}
	for _, u := range s.since(2) {
		if u.Target.Kind == configmsg.KindModule {
			r.Ack(t0.Add(timeout+time.Millisecond), macA, ack(u, configmsg.OK))
		}
	}
	if r.Busy(macA) {
		t.Fatal("A busy after its take-back was acknowledged")
	}
}

// A change with its own timeout waits that long for its Ack, and its
// take-back too; the others keep the RPC's.
func TestChangeTimeout(t *testing.T) {
	r, s := newRPC(t)
	var d dones
	long := intChange(module(macA), configmsg.ObjSaveConfig, 2, 1, "cpsmm100SaveConfig")
	long.Timeout = 5 * timeout
	r.Distribute(t0, []Change{long}, d.done)
	r.Tick(t0.Add(2 * timeout))
	if len(d.errs) != 0 {
		t.Fatalf("failed after %s of a %s timeout: %v", 2*timeout, long.Timeout, d.errs)
	}
	if got := r.Deadline(); !got.Equal(t0.Add(long.Timeout)) {
		t.Fatalf("deadline %s, want %s", got.Sub(t0), long.Timeout)
	}
	r.Tick(t0.Add(long.Timeout))
	if len(d.errs) != 1 || d.errs[0] == nil || !strings.Contains(d.errs[0].Error(), (5*timeout).String()) {
		t.Fatalf("after the timeout: %v", d.errs)
	}
	undo := s.since(1)
	if len(undo) != 1 || !r.Busy(macA) {
		t.Fatalf("take-back %v", undo)
	}
	if got := r.Deadline(); !got.Equal(t0.Add(2 * long.Timeout)) {
		t.Fatalf("take-back deadline %s, want %s", got.Sub(t0), 2*long.Timeout)
	}
}
