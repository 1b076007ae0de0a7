package mib

import (
	"fmt"
	"sort"
	"sync"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// cell is one object instance held by a Store.
type cell struct {
	oid smi.OID
	obj *Object
	val smi.Value
	fn  func() smi.Value // live value; nil for stored values
}

func (c *cell) value() smi.Value {
	if c.fn != nil {
		return c.fn()
	}
	return c.val
}

// Store is an ordered tree of object instances with Get, GetNext and
// transactional Set. It is safe for concurrent use: readers see either the
// state before a Set or after it, never a half-applied Set.
type Store struct {
	reg *Registry

	mu     sync.RWMutex
	cells  []*cell // sorted by oid
	policy Policy
	txs    map[uint64]*Tx
}

// NewStore returns an empty store over the definitions of reg.
func NewStore(reg *Registry) *Store {
	return &Store{reg: reg, txs: map[uint64]*Tx{}, policy: nopPolicy{}}
}

// Registry returns the definitions the store is built on.
func (s *Store) Registry() *Registry { return s.reg }

// SetPolicy installs the module-specific consistency and commit rules.
func (s *Store) SetPolicy(p Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == nil {
		p = nopPolicy{}
	}
	s.policy = p
}

// InstanceOID returns the OID of the instance of object name at index.
func (s *Store) InstanceOID(name string, index ...uint32) smi.OID {
	return s.reg.MustLookup(name).OID.Append(index...)
}

// find returns the position of oid in cells and whether it is there.
func (s *Store) find(oid smi.OID) (int, bool) {
	i := sort.Search(len(s.cells), func(i int) bool { return s.cells[i].oid.Compare(oid) >= 0 })
	return i, i < len(s.cells) && s.cells[i].oid.Equal(oid)
}

func (s *Store) put(obj *Object, index []uint32, v smi.Value, fn func() smi.Value) {
	oid := obj.OID.Append(index...)
	i, ok := s.find(oid)
	if ok {
		s.cells[i].val, s.cells[i].fn = v, fn
		return
	}
	s.cells = append(s.cells, nil)
	copy(s.cells[i+1:], s.cells[i:])
	s.cells[i] = &cell{oid: oid, obj: obj, val: v, fn: fn}
}

func (s *Store) object(name string) (*Object, error) {
	obj, ok := s.reg.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("mib: unknown object %q", name)
	}
	if obj.Kind != KindScalar && obj.Kind != KindColumn {
		return nil, fmt.Errorf("mib: %s is not a scalar or column", name)
	}
	return obj, nil
}

// Put stores value v for the instance of object name at index (scalars use
// index 0). The value must have the object's base type.
func (s *Store) Put(name string, v smi.Value, index ...uint32) error {
	obj, err := s.object(name)
	if err != nil {
		return err
	}
	if v.Type != obj.Syntax.Base {
		return fmt.Errorf("mib: %s takes %s, not %s", name, obj.Syntax.Base, v.Type)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(obj, index, v.Clone(), nil)
	return nil
}

// PutFunc makes the instance of object name at index a live value computed
// on every read. fn must be safe for concurrent use and must not call the
// store.
func (s *Store) PutFunc(name string, fn func() smi.Value, index ...uint32) error {
	obj, err := s.object(name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(obj, index, smi.Value{}, fn)
	return nil
}

// Delete removes every instance whose OID starts with the instance OID of
// object name at index; with a column name and a row index it removes that
// cell, with an entry name and an index it removes the whole row.
func (s *Store) Delete(name string, index ...uint32) {
	obj := s.reg.MustLookup(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if obj.Kind == KindEntry {
		for _, o := range s.reg.sorted {
			if o.Kind == KindColumn && len(o.OID) == len(obj.OID)+1 && o.OID.HasPrefix(obj.OID) {
				if i, ok := s.find(o.OID.Append(index...)); ok {
					s.cells = append(s.cells[:i], s.cells[i+1:]...)
				}
			}
		}
		return
	}
	if i, ok := s.find(obj.OID.Append(index...)); ok {
		s.cells = append(s.cells[:i], s.cells[i+1:]...)
	}
}

// Value returns the current value of object name at index.
func (s *Store) Value(name string, index ...uint32) (smi.Value, bool) {
	obj, ok := s.reg.Lookup(name)
	if !ok {
		return smi.Value{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.find(obj.OID.Append(index...))
	if !ok {
		return smi.Value{}, false
	}
	return s.cells[i].value().Clone(), true
}

// Get returns the value of the instance oid, or noSuchObject/noSuchInstance.
func (s *Store) Get(oid smi.OID) smi.Value {
	s.mu.RLock()
	i, ok := s.find(oid)
	var v smi.Value
	if ok {
		v = s.cells[i].value()
	}
	s.mu.RUnlock()
	if ok {
		return v
	}
	if _, _, ok := s.reg.Covering(oid); ok {
		return smi.Exception(smi.TypeNoSuchInstance)
	}
	return smi.Exception(smi.TypeNoSuchObject)
}

// GetNext returns the first instance after start (or at start when include
// is set) and before end (no bound when end is empty). ok is false at the end
// of the view.
func (s *Store) GetNext(start smi.OID, include bool, end smi.OID) (smi.OID, smi.Value, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, found := s.find(start)
	if found && !include {
		i++
	}
	if i >= len(s.cells) {
		return nil, smi.Value{}, false
	}
	c := s.cells[i]
	if len(end) > 0 && c.oid.Compare(end) >= 0 {
		return nil, smi.Value{}, false
	}
	return c.oid, c.value(), true
}

// Walk calls fn for every instance in OID order, stopping when it returns
// false. fn must not call the store.
func (s *Store) Walk(fn func(oid smi.OID, obj *Object, v smi.Value) bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, c := range s.cells {
		if !fn(c.oid, c.obj, c.value()) {
			return
		}
	}
}
