package module

import (
	"context"
	"errors"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// Phase is a phase of an SNMP Set (RFC 2741 7.2.4), or the end of every
// open one (the master agent went away).
type Phase uint8

// Set phases.
const (
	PhaseTest Phase = iota + 1
	PhaseCommit
	PhaseUndo
	PhaseCleanup
	PhaseAbort
)

func (p Phase) String() string {
	return [...]string{"", "test", "commit", "undo", "cleanup", "abort"}[p]
}

// SetRequest is one Set phase handed to the module's loop; the loop answers
// on the request's own channel.
type SetRequest struct {
	Phase    Phase
	Tx       uint64
	VarBinds []smi.VarBind // PhaseTest only
	reply    chan *smi.SetError
}

func (r *SetRequest) answer(err *smi.SetError) { r.reply <- err }

// pendingCommit is a committed Set whose remote part was acknowledged: an
// UndoSet must take that part back too.
type pendingCommit struct{ remote []RemoteChange }

// ErrStopped answers a Set that reaches a module whose loop has stopped.
var ErrStopped = errors.New("module: stopping")

// Handler is the module as an AgentX handler: reads straight from the
// store (safe alongside the loop's writes), Sets through the loop.
type Handler struct{ m *Module }

// Handler returns the module's AgentX handler.
func (m *Module) Handler() Handler { return Handler{m} }

// Get implements agent.Handler.
func (h Handler) Get(oid smi.OID) smi.Value { return h.m.store.Get(oid) }

// GetNext implements agent.Handler.
func (h Handler) GetNext(start smi.OID, include bool, end smi.OID) (smi.OID, smi.Value, bool) {
	return h.m.store.GetNext(start, include, end)
}

// TestSet implements agent.Handler.
func (h Handler) TestSet(tx uint64, vbs []smi.VarBind) *smi.SetError {
	return h.call(&SetRequest{Phase: PhaseTest, Tx: tx, VarBinds: vbs})
}

// CommitSet implements agent.Handler.
func (h Handler) CommitSet(tx uint64) *smi.SetError {
	return h.call(&SetRequest{Phase: PhaseCommit, Tx: tx})
}

// UndoSet implements agent.Handler.
func (h Handler) UndoSet(tx uint64) *smi.SetError {
	return h.call(&SetRequest{Phase: PhaseUndo, Tx: tx})
}

// CleanupSet implements agent.Handler.
func (h Handler) CleanupSet(tx uint64) { h.call(&SetRequest{Phase: PhaseCleanup, Tx: tx}) }

// AbortAll implements agent.Handler.
func (h Handler) AbortAll() { h.call(&SetRequest{Phase: PhaseAbort}) }

// call hands r to the loop and waits for its answer.
func (h Handler) call(r *SetRequest) *smi.SetError {
	r.reply = make(chan *smi.SetError, 1)
	stopped := &smi.SetError{Status: smi.GenErr, Index: 1, Reason: ErrStopped.Error()}
	if r.Phase == PhaseCommit {
		stopped.Status = smi.CommitFailed
	}
	select {
	case h.m.sets <- r:
	case <-h.m.done:
		return stopped
	}
	select {
	case err := <-r.reply:
		return err
	case <-h.m.done:
		return stopped
	}
}

// Sets delivers the Set phases for the loop to Serve.
func (m *Module) Sets() <-chan *SetRequest { return m.sets }

// LoopStopped tells the module its loop has stopped: Sets still waiting
// are answered as failed. The loop's owner calls it once, on its way out.
func (m *Module) LoopStopped() { close(m.done) }

// Run is the lone module's loop: it serves Sets until ctx is done.
func (m *Module) Run(ctx context.Context) error {
	defer m.LoopStopped()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-m.sets:
			m.Serve(r)
		}
	}
}

// Serve carries out one Set phase. Loop only. A commit whose varbinds go
// to other modules or devices is answered once their targets have
// acknowledged (the loop goes on meanwhile); its local cells are written
// only then, under the store's lock, and never while waiting.
func (m *Module) Serve(r *SetRequest) {
	switch r.Phase {
	case PhaseTest:
		err := m.store.TestSet(r.Tx, r.VarBinds)
		if err != nil {
			m.refused(r, err)
		}
		r.answer(err)
	case PhaseCommit:
		var remote []RemoteChange
		for _, c := range m.store.Changes(r.Tx) {
			if rc, ok := m.remoteChange(c); ok {
				remote = append(remote, rc)
			}
		}
		if len(remote) == 0 || m.stack == nil {
			err := m.store.CommitSet(r.Tx)
			if err != nil {
				m.refused(r, err)
			}
			r.answer(err)
			return
		}
		m.stack.Distribute(remote, func(derr error) {
			if derr != nil {
				// Blame a varbind: snmpd turns an error without an index
				// into genError (agentx/master.c).
				err := &smi.SetError{Status: smi.CommitFailed, Index: remote[0].VarBind, Reason: derr.Error()}
				m.refused(r, err)
				r.answer(err)
				return
			}
			if err := m.store.CommitSet(r.Tx); err != nil {
				m.stack.Distribute(inverse(remote), nil) // the local part failed: take the rest back
				m.refused(r, err)
				r.answer(err)
				return
			}
			m.pending[r.Tx] = &pendingCommit{remote: remote}
			r.answer(nil)
		})
	case PhaseUndo:
		err := m.store.UndoSet(r.Tx)
		if p, ok := m.pending[r.Tx]; ok && m.stack != nil {
			delete(m.pending, r.Tx)
			m.stack.Distribute(inverse(p.remote), nil)
		}
		r.answer(err)
	case PhaseCleanup:
		delete(m.pending, r.Tx)
		m.store.CleanupSet(r.Tx)
		r.answer(nil)
		m.NoteSettingsChanged() // every Set ends here, committed or undone
	case PhaseAbort:
		clear(m.pending)
		m.store.AbortAll()
		r.answer(nil)
		m.NoteSettingsChanged()
	}
}

// refused logs a refused or failed Set phase once, with its reason.
func (m *Module) refused(r *SetRequest, err *smi.SetError) {
	f := logrus.Fields{"phase": r.Phase.String(), "status": err.Status.String(), "varbind": err.Index, "reason": err.Reason}
	if err.Index > 0 && err.Index <= len(r.VarBinds) {
		vb := r.VarBinds[err.Index-1]
		f["oid"], f["value"] = vb.Name.String(), vb.Value.String()
	}
	m.log.WithFields(f).Info("set refused")
}

func inverse(rcs []RemoteChange) []RemoteChange {
	out := make([]RemoteChange, len(rcs))
	for i, rc := range rcs {
		out[i] = rc.Inverse()
	}
	return out
}
