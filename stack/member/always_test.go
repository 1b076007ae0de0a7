package member

import (
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// TestAlwaysConflictNotification: two always(3) modules. Every module
// shows them in cpsEmuAlwaysModules, the one kept Primary first (lowest
// slot); that one alone raises cpsEmuAlwaysConflict; once one of them is
// yes(1) again every module shows the conflict over.
func TestAlwaysConflictNotification(t *testing.T) {
	r := newStackRig(t, 3)
	r.waitOnePrimary(10 * time.Second)
	for _, i := range []int{1, 2} {
		if err := r.set(i, r.vb(i, "cpsmm100WantPrimary", smi.Integer(3), 1, uint32(i+1))); err != nil {
			t.Fatalf("WantPrimary always on module %d: %v", i, err)
		}
	}
	r.waitFor("the always(3) module in the lowest slot Primary", func(ps []int) bool { return len(ps) == 1 && ps[0] == 1 })
	const both = "1/2,1/3"
	for i := range r.mods {
		r.waitValue(i, "cpsEmuAlwaysModules", both, 10*time.Second, 0)
	}
	oid := r.mods[1].Objects().AlwaysConflict.OID().String()
	sent := func(i int, within time.Duration) []smi.VarBind {
		deadline := time.After(within)
		for {
			select {
			case vbs := <-r.notes[i]:
				if len(vbs) == 3 && vbs[0].Value.OID.String() == oid {
					return vbs
				}
			case <-deadline:
				return nil
			}
		}
	}
	vbs := sent(1, 10*time.Second)
	if vbs == nil {
		t.Fatal("the always(3) module kept Primary raised no cpsEmuAlwaysConflict")
	}
	if got := string(vbs[2].Value.Bytes); got != both {
		t.Errorf("cpsEmuAlwaysConflict names %q, want %q", got, both)
	}
	for _, i := range []int{0, 2} {
		if vbs := sent(i, 0); vbs != nil {
			t.Errorf("module %d, not the one kept Primary, raised cpsEmuAlwaysConflict", i)
		}
	}

	if err := r.set(1, r.vb(1, "cpsmm100WantPrimary", smi.Integer(1), 1, 3)); err != nil {
		t.Fatalf("WantPrimary yes through the Primary: %v", err)
	}
	for i := range r.mods {
		r.waitValue(i, "cpsEmuAlwaysModules", "", 10*time.Second, 0)
	}
}
