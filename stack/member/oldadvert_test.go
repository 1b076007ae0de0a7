package member

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/negotiation"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/module"
	"github.com/cpsmm/cpsmm/stack/transport"
)

// warnings collects the messages of the warnings logged.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Levels() []logrus.Level { return []logrus.Level{logrus.WarnLevel} }

func (w *warnings) Fire(e *logrus.Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, e.Message)
	return nil
}

func (w *warnings) count(sub string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, m := range w.msgs {
		if strings.Contains(m, sub) {
			n++
		}
	}
	return n
}

// TestOldAdvertRefusedOnce: a version 1 advert (an older release, no
// cabinet or slot) is refused, logged once per peer however often it
// comes, and the peer is not taken for alive; version 2 adverts are heard.
func TestOldAdvertRefusedOnce(t *testing.T) {
	w := &warnings{}
	log := logrus.New()
	log.SetOutput(io.Discard)
	log.AddHook(w)
	cfg := module.Default()
	cfg.Name, cfg.MAC = "m1", macN(0).String()
	mod, err := module.New(module.Options{Config: cfg, Log: log, Stack: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{
		Negotiation: negotiation.Config{Hello: 250 * time.Millisecond, Holdtime: 750 * time.Millisecond},
		Transport:   transport.Config{ID: backplane.ID(macN(0)), Key: []byte("unused")},
		Dial:        newMemNet().dial, Module: mod, Directory: map[ident.MAC]ident.Slot{macN(0): ident.At(1, 1)}, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	defer func() { cancel(); <-done }()

	v1 := []byte{1, byte(negotiation.Primary), 1, byte(negotiation.WantYes), 0, 0, 0, 0, 0, 0, 0, 9}
	deliver := func(from ident.MAC, payload []byte) {
		m.inbox <- delivery{path: transport.Backplane, frame: backplane.Frame{Type: backplane.TypeAdvert, From: backplane.ID(from), Payload: payload}}
	}
	// The inbox is one FIFO: once the marker (a version 2 advert from
	// another module) is heard, every advert before it was handled.
	marker := func(mac ident.MAC, seq uint64) {
		deliver(mac, negotiation.MarshalAdvert(negotiation.Advert{Seq: seq, Role: negotiation.Standby, Eligible: true,
			Want: negotiation.WantNo, Slot: ident.At(1, 3)}))
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			st, err := m.Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			heard := false
			for _, p := range st.Peers {
				heard = heard || (p.MAC == mac.String() && p.Alive)
			}
			if heard {
				for _, p := range st.Peers {
					if p.MAC == macN(1).String() {
						t.Fatalf("the module of version 1 is taken for a peer: %+v", p)
					}
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the marker advert is not heard")
			}
		}
	}
	for i := 0; i < 3; i++ {
		deliver(macN(1), v1)
	}
	marker(macN(2), 1)
	for i := 0; i < 5; i++ {
		deliver(macN(1), v1)
	}
	marker(macN(2), 2)
	if n := w.count("advert of another version refused"); n != 1 {
		t.Errorf("%d warnings for 8 version 1 adverts of one peer, want 1: %q", n, w.msgs)
	}
	if n := w.count("advert dropped"); n != 0 {
		t.Errorf("version 1 adverts also logged as malformed: %q", w.msgs)
	}
}
