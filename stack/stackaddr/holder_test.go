package stackaddr

import (
	"errors"
	"fmt"
	"github.com/cpsmm/cpsmm/internal/scenario"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/stack/ident"
)

// Scenario files (testdata/*.txt): a command per line; after a command
// whose output is checked, the expected output between "----" and a blank
// line.
//
//	config holdtime=300ms margin=50ms   a fresh holder, the clock at 0
//	advert NAME SEQ primary|standby     an advert heard now
//	tick DURATION                       advance the clock
//	holder                              print the holder's name, or none
//
// REWRITE=1 go test ./stack/stackaddr rewrites the expected outputs.
func TestScenarios(t *testing.T) {
	scenario.RunChecked(t, "testdata/*.txt", func() scenario.Exec {
		now := time.Unix(1_000_000, 0)
		var h *Holder
		macs := map[string]ident.MAC{}
		names := map[ident.MAC]string{}
		mac := func(name string) ident.MAC {
			m, ok := macs[name]
			if !ok {
				m = ident.MAC{0, 0xc0, 0xf2, 0, 0, byte(len(macs) + 1)}
				macs[name], names[m] = m, name
			}
			return m
		}
		return func(cmd string) (string, error) {
			f := strings.Fields(cmd)
			switch f[0] {
			case "config":
				cfg := HolderConfig{}
				for _, kv := range f[1:] {
					k, v, _ := strings.Cut(kv, "=")
					d, err := time.ParseDuration(v)
					if err != nil {
						return "", err
					}
					switch k {
					case "holdtime":
						cfg.Holdtime = d
					case "margin":
						cfg.Margin = d
					}
				}
				h = NewHolder(cfg)
			case "advert":
				if len(f) != 4 {
					return "", errors.New("advert NAME SEQ primary|standby")
				}
				seq, err := strconv.ParseUint(f[2], 10, 64)
				if err != nil {
					return "", fmt.Errorf("advert NAME SEQ primary|standby: %w", err)
				}
				h.Advert(now, mac(f[1]), seq, f[3] == "primary")
			case "tick":
				d, err := time.ParseDuration(f[1])
				if err != nil {
					return "", err
				}
				now = now.Add(d)
			case "holder":
				if m, ok := h.Holder(now); ok {
					return names[m] + "\n", nil
				}
				return "none\n", nil
			default:
				return "", fmt.Errorf("unknown command %q", f[0])
			}
			return "", nil
		}
	})
}

func TestDeadline(t *testing.T) {
	h := NewHolder(HolderConfig{Holdtime: 300 * time.Millisecond, Margin: 50 * time.Millisecond})
	t0 := time.Unix(1000, 0)
	if !h.Deadline().IsZero() {
		t.Fatal("a holder that heard nothing has a deadline")
	}
	h.Advert(t0, ident.MAC{1}, 1, true)
	h.Advert(t0.Add(10*time.Millisecond), ident.MAC{2}, 1, false)
	if d := h.Deadline(); !d.Equal(t0.Add(250 * time.Millisecond)) {
		t.Errorf("deadline %s after the advert, want 250ms", d.Sub(t0))
	}
	if NewHolder(HolderConfig{Holdtime: 60 * time.Millisecond, Margin: time.Second}).Trust() != 30*time.Millisecond {
		t.Error("a margin above holdtime/2 is not capped")
	}
}

// TestHolderProperty runs random stacks of modules that change roles,
// send adverts every hello (and at once on a change) and go silent, with
// adverts delivered out of order, on two paths, each copy after a delay of
// at most the margin. At every millisecond:
//   - a module holds the address only if it was Primary at some instant
//     of the last margin, and its lease (last advert sent + holdtime, as
//     module.Module.Renew) still holds: what it answers says Primary;
//   - a module that has been the only Primary for a margin, sending its
//     adverts, holds it.
func TestHolderProperty(t *testing.T) {
	const (
		hello    = 100 * time.Millisecond
		holdtime = 300 * time.Millisecond
		margin   = 50 * time.Millisecond
		n        = 3
		steps    = 6000 // milliseconds per run
	)
	runs := 100
	if testing.Short() {
		runs = 20
	}
	held, moves := 0, 0
	for run := range runs {
		seed := uint64(run)
		rng := rand.New(rand.NewPCG(seed, 99))
		h := NewHolder(HolderConfig{Holdtime: holdtime, Margin: margin})
		t0 := time.Unix(1_000_000, 0)
		type advert struct {
			at      time.Time // delivery
			from    int
			seq     uint64
			primary bool
		}
		type mod struct {
			primary   bool
			silent    bool      // killed or hung: sends nothing
			lastSent  time.Time // its lease runs to lastSent + holdtime
			nextHello time.Time
			seq       uint64
			primaryAt []time.Time // the last instants it was Primary (ms)
			since     time.Time   // sole Primary sending since
		}
		mods := make([]*mod, n)
		for i := range mods {
			mods[i] = &mod{seq: uint64(rng.IntN(1000)), nextHello: t0}
		}
		var inflight []advert
		send := func(now time.Time, i int) {
			m := mods[i]
			m.seq++
			m.lastSent = now
			for range 2 { // both paths
				inflight = append(inflight, advert{at: now.Add(time.Duration(rng.IntN(int(margin/time.Millisecond)+1)) * time.Millisecond),
					from: i, seq: m.seq, primary: m.primary})
			}
		}
		wasPrimary := make([]time.Time, n) // last instant each was Primary
		var last ident.MAC
		for ms := range steps {
			now := t0.Add(time.Duration(ms) * time.Millisecond)
			// A module is Primary while its role says so and its lease
			// (last advert sent + holdtime) holds: what it answers.
			live := func(j int) bool { return mods[j].primary && now.Before(mods[j].lastSent.Add(holdtime)) }
			// Faults and role changes, now and then.
			if rng.IntN(200) == 0 {
				i := rng.IntN(n)
				m := mods[i]
				switch rng.IntN(4) {
				case 0: // silence (kill, hang), or back from it: as Standby after a holdtime (negotiation rule 8)
					m.silent = !m.silent
					if !m.silent && !now.Before(m.lastSent.Add(holdtime)) {
						m.primary = false
						send(now, i)
					}
				case 1, 2: // become Primary, break-before-make: only once no other is
					other := false
					for j := range mods {
						other = other || (j != i && live(j))
					}
					if !m.silent && !other && !m.primary {
						m.primary = true
						send(now, i)
					}
				case 3: // step down: the Standby advert goes before the role
					if m.primary && !m.silent {
						m.primary = false
						send(now, i)
					}
				}
			}
			for i, m := range mods {
				if !m.silent && !now.Before(m.nextHello) {
					send(now, i)
					m.nextHello = now.Add(hello)
				}
				if live(i) {
					wasPrimary[i] = now
				}
			}
			// Deliver, in random order, what is due.
			rng.Shuffle(len(inflight), func(a, b int) { inflight[a], inflight[b] = inflight[b], inflight[a] })
			rest := inflight[:0]
			for _, a := range inflight {
				if now.Before(a.at) {
					rest = append(rest, a)
					continue
				}
				h.Advert(now, ident.MAC{0, 0, 0, 0, 0, byte(a.from + 1)}, a.seq, a.primary)
			}
			inflight = rest
			// Check.
			who, ok := h.Holder(now)
			primaries := 0
			for i, m := range mods {
				if live(i) {
					primaries++
				}
				if live(i) && !m.silent { // sending its adverts
					if m.since.IsZero() {
						m.since = now
					}
				} else {
					m.since = time.Time{}
				}
			}
			if ok {
				held++
				if who != last {
					moves++
					last = who
				}
				i := int(who[5]) - 1
				m := mods[i]
				// It stopped at the millisecond after wasPrimary.
				if now.Sub(wasPrimary[i]) > margin+time.Millisecond || wasPrimary[i].IsZero() {
					t.Fatalf("seed %d, %dms: module %d holds the address, Primary last at %s", seed, ms, i, wasPrimary[i].Sub(t0))
				}
				if !now.Before(m.lastSent.Add(holdtime)) {
					t.Fatalf("seed %d, %dms: module %d holds the address with its lease lapsed (last advert sent %s)", seed, ms, i, m.lastSent.Sub(t0))
				}
			}
			for i, m := range mods {
				if primaries == 1 && live(i) && !m.silent && now.Sub(m.since) > margin && (!ok || int(who[5])-1 != i) {
					t.Fatalf("seed %d, %dms: module %d has been the only Primary since %s, the holder is %v/%v", seed, ms, i, m.since.Sub(t0), who, ok)
				}
			}
		}
	}
	// The schedules did exercise the address: held most of the time, and
	// moved often.
	if held < runs*steps/2 || moves < runs {
		t.Errorf("held %d of %d ms, %d moves", held, runs*steps, moves)
	}
	t.Logf("held %d of %d ms, %d moves", held, runs*steps, moves)
}
