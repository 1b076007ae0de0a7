package mib

import (
	"fmt"
	"sort"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// Registry indexes object definitions by name and by OID.
type Registry struct {
	byName map[string]*Object
	byOID  map[string]*Object
	sorted []*Object // by OID
}

// NewRegistry builds a registry from one or more definition lists. Duplicate
// names or OIDs are an error.
func NewRegistry(lists ...[]Object) (*Registry, error) {
	r := &Registry{byName: map[string]*Object{}, byOID: map[string]*Object{}}
	for _, l := range lists {
		for i := range l {
			o := &l[i]
			if _, dup := r.byName[o.Name]; dup {
				return nil, fmt.Errorf("registry: duplicate object name %q", o.Name)
			}
			k := o.OID.String()
			if other, dup := r.byOID[k]; dup {
				return nil, fmt.Errorf("registry: %s and %s share OID %s", other.Name, o.Name, k)
			}
			r.byOID[k] = o
			r.byName[o.Name] = o
			r.sorted = append(r.sorted, o)
		}
	}
	sort.Slice(r.sorted, func(i, j int) bool { return r.sorted[i].OID.Compare(r.sorted[j].OID) < 0 })
	return r, nil
}

// DefaultRegistry holds the Point System objects and the emulator's own.
func DefaultRegistry() *Registry {
	r, err := NewRegistry(PointSystemObjects(), EmulatorObjects())
	if err != nil {
		panic(err) // the built-in definitions are checked by tests
	}
	return r
}

// Lookup returns the object with the given name.
func (r *Registry) Lookup(name string) (*Object, bool) {
	o, ok := r.byName[name]
	return o, ok
}

// MustLookup is Lookup for names known to exist.
func (r *Registry) MustLookup(name string) *Object {
	o, ok := r.byName[name]
	if !ok {
		panic(fmt.Sprintf("mib: unknown object %q", name))
	}
	return o
}

// Objects returns all definitions in OID order.
func (r *Registry) Objects() []*Object { return append([]*Object(nil), r.sorted...) }

// Covering returns the scalar or column whose OID is a proper prefix of the
// instance OID oid, with the instance suffix (the index, or 0 for a scalar).
func (r *Registry) Covering(oid smi.OID) (*Object, smi.OID, bool) {
	for n := len(oid) - 1; n > 0; n-- {
		if o, ok := r.byOID[oid[:n].String()]; ok {
			if o.Kind == KindScalar || o.Kind == KindColumn {
				return o, oid[n:], true
			}
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// ByOID returns the object defined at exactly oid.
func (r *Registry) ByOID(oid smi.OID) (*Object, bool) {
	o, ok := r.byOID[oid.String()]
	return o, ok
}
