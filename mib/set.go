package mib

import (
	"errors"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// Policy holds the rules of a Set that depend on more than one object or on
// the module's circumstances. The store calls it with its lock held: a
// Policy must not call the Store.
type Policy interface {
	// Check sees the proposed state (every varbind of the PDU applied) after
	// each varbind passed its own syntax rules. It returns nil, or the error
	// status, the 1-based index of the varbind to blame and the reason.
	Check(p *Proposal) *SetError
	// Commit runs once the proposal is applied; it may write further cells
	// with p.Put (they are undone with the rest). An error fails the commit
	// and restores everything.
	Commit(p *Proposal) error
	// Done runs, outside the lock, after a committed Set is cleaned up:
	// the place for actions that cannot be undone.
	Done(changes []Change)
}

// Undoer is a Policy whose Commit has effects outside the store (a file
// written): UndoSet calls Undo, with the store already restored, to take
// them back.
type Undoer interface {
	Undo(p *Proposal) error
}

type nopPolicy struct{}

func (nopPolicy) Check(*Proposal) *SetError { return nil }
func (nopPolicy) Commit(*Proposal) error    { return nil }
func (nopPolicy) Done([]Change)             {}

// Change is one varbind of a Set: the object, the instance index, and the
// values before and after.
type Change struct {
	Object   *Object
	Index    smi.OID
	Old, New smi.Value
	VarBind  int // 1-based position in the PDU; 0 for cells a Policy wrote
}

// Proposal is a Set under examination: the store's state with the Set's
// values laid over it.
type Proposal struct {
	s       *Store
	changes []Change
	undo    []undoRec
}

type undoRec struct {
	oid   smi.OID
	obj   *Object
	old   smi.Value
	fresh bool // the cell did not exist before
}

// Changes returns the varbinds of the Set in PDU order.
func (p *Proposal) Changes() []Change { return p.changes }

// Changed returns the change to object name at index, if the Set has one.
func (p *Proposal) Changed(name string, index ...uint32) (Change, bool) {
	for i := len(p.changes) - 1; i >= 0; i-- {
		c := p.changes[i]
		if c.Object.Name == name && c.Index.Equal(index) {
			return c, true
		}
	}
	return Change{}, false
}

// Value returns the proposed value of object name at index.
func (p *Proposal) Value(name string, index ...uint32) (smi.Value, bool) {
	if c, ok := p.Changed(name, index...); ok {
		return c.New, true
	}
	obj, ok := p.s.reg.Lookup(name)
	if !ok {
		return smi.Value{}, false
	}
	i, ok := p.s.find(obj.OID.Append(index...))
	if !ok {
		return smi.Value{}, false
	}
	return p.s.cells[i].value(), true
}

// Put writes a cell during Commit; it is undone if the Set is undone.
func (p *Proposal) Put(name string, v smi.Value, index ...uint32) {
	obj := p.s.reg.MustLookup(name)
	p.write(obj, obj.OID.Append(index...), v)
}

// write sets a cell's stored value. A live cell (PutFunc) keeps showing
// its function's value: a Set of it is a request that the Policy carries
// out (cpsIsPrimary in a stack shows the negotiation's decision).
func (p *Proposal) write(obj *Object, oid smi.OID, v smi.Value) {
	i, ok := p.s.find(oid)
	rec := undoRec{oid: oid, obj: obj, fresh: !ok}
	if ok {
		rec.old = p.s.cells[i].val
		if p.s.cells[i].fn != nil {
			p.undo = append(p.undo, rec)
			p.s.cells[i].val = v.Clone()
			return
		}
	}
	p.undo = append(p.undo, rec)
	p.s.put(obj, oid[len(obj.OID):], v.Clone(), nil)
}

func (p *Proposal) rollback() {
	for i := len(p.undo) - 1; i >= 0; i-- {
		u := p.undo[i]
		j, ok := p.s.find(u.oid)
		if !ok {
			continue
		}
		if u.fresh {
			p.s.cells = append(p.s.cells[:j], p.s.cells[j+1:]...)
		} else {
			p.s.cells[j].val = u.old
		}
	}
	p.undo = nil
}

// Tx is a Set transaction across its TestSet/CommitSet/UndoSet/CleanupSet.
type Tx struct {
	prop      Proposal
	committed bool
}

// SetError is the outcome of a failed Set phase (defined with the error
// statuses in smi, so that the AgentX side needs no more than smi).
type SetError = smi.SetError

// ErrTxUnknown is returned for a phase of a transaction that was never tested.
var ErrTxUnknown = errors.New("mib: unknown set transaction")

// TestSet validates vbs as one Set and, when every varbind is acceptable,
// remembers it under id for CommitSet. Nothing changes.
func (s *Store) TestSet(id uint64, vbs []smi.VarBind) *SetError {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.txs, id)
	tx := &Tx{prop: Proposal{s: s}}
	for i, vb := range vbs {
		obj, idx, err := s.checkVarBind(vb)
		if err != nil {
			err.Index = i + 1
			return err
		}
		old := smi.Value{}
		if j, ok := s.find(vb.Name); ok {
			old = s.cells[j].value()
		}
		tx.prop.changes = append(tx.prop.changes, Change{Object: obj, Index: idx, Old: old, New: vb.Value.Clone(), VarBind: i + 1})
	}
	if err := s.policy.Check(&tx.prop); err != nil {
		return err
	}
	s.txs[id] = tx
	return nil
}

// checkVarBind applies the per-object rules: existence, access, type,
// length and value.
func (s *Store) checkVarBind(vb smi.VarBind) (*Object, smi.OID, *SetError) {
	obj, idx, ok := s.reg.Covering(vb.Name)
	if !ok {
		if o, exact := s.reg.ByOID(vb.Name); exact && (o.Kind == KindScalar || o.Kind == KindColumn) {
			return nil, nil, &SetError{Status: smi.NoCreation, Reason: "an object name without an instance"}
		}
		return nil, nil, &SetError{Status: smi.NotWritable, Reason: "no such object"}
	}
	if obj.Access != ReadWrite && obj.Access != ReadCreate {
		return nil, nil, &SetError{Status: smi.NotWritable, Reason: obj.Name + " is " + obj.Access.String()}
	}
	if _, exists := s.find(vb.Name); !exists {
		return nil, nil, &SetError{Status: smi.NoCreation, Reason: obj.Name + "." + idx.String() + " does not exist"}
	}
	if st, why := CheckValue(obj, vb.Value); st != smi.NoError {
		return nil, nil, &SetError{Status: st, Reason: why}
	}
	return obj, idx, nil
}

// CommitSet applies a tested transaction. On failure everything it changed is
// restored and commitFailed is returned.
func (s *Store) CommitSet(id uint64) *SetError {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, ok := s.txs[id]
	if !ok {
		return &SetError{Status: smi.CommitFailed, Reason: ErrTxUnknown.Error()}
	}
	p := &tx.prop
	for _, c := range p.changes {
		p.write(c.Object, c.Object.OID.Append(c.Index...), c.New)
	}
	if err := s.policy.Commit(p); err != nil {
		p.rollback()
		// Blame the first varbind: a master agent turns an error without
		// an index into genError (net-snmp's agentx/master.c does).
		return &SetError{Status: smi.CommitFailed, Index: 1, Reason: err.Error()}
	}
	tx.committed = true
	return nil
}

// Changes returns the varbinds of the tested transaction id (nil when there
// is none), for a caller that must act on them before the commit.
func (s *Store) Changes(id uint64) []Change {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if tx, ok := s.txs[id]; ok {
		return append([]Change(nil), tx.prop.changes...)
	}
	return nil
}

// UndoSet restores what CommitSet changed.
func (s *Store) UndoSet(id uint64) *SetError {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, ok := s.txs[id]
	if !ok {
		return &SetError{Status: smi.UndoFailed, Reason: ErrTxUnknown.Error()}
	}
	wasCommitted := tx.committed
	tx.prop.rollback()
	tx.committed = false
	if u, ok := s.policy.(Undoer); ok && wasCommitted {
		if err := u.Undo(&tx.prop); err != nil {
			return &SetError{Status: smi.UndoFailed, Reason: err.Error()}
		}
	}
	return nil
}

// CleanupSet ends a transaction; after a commit it runs the policy's Done.
func (s *Store) CleanupSet(id uint64) {
	s.mu.Lock()
	tx, ok := s.txs[id]
	delete(s.txs, id)
	policy := s.policy
	s.mu.Unlock()
	if ok && tx.committed {
		policy.Done(tx.prop.changes)
	}
}

// AbortAll forgets every open transaction (the master agent went away).
func (s *Store) AbortAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txs = map[uint64]*Tx{}
}

// Set runs a whole Set (test, commit, cleanup) as a manager's request would.
func (s *Store) Set(vbs []smi.VarBind) *SetError {
	const local = ^uint64(0)
	if err := s.TestSet(local, vbs); err != nil {
		return err
	}
	if err := s.CommitSet(local); err != nil {
		s.CleanupSet(local)
		return err
	}
	s.CleanupSet(local)
	return nil
}
