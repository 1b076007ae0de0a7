package mib

import (
	"fmt"
	"net/netip"
	"reflect"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// Handle is a scalar or column resolved once from a Registry. The typed
// handles below (Int, Str, IP, OID, Ticks, Counter) make the values written
// through them the object's base type, so a write through a handle cannot
// fail.
type Handle struct{ obj *Object }

// Object returns the definition behind h.
func (h Handle) Object() *Object { return h.obj }

// Name returns the object's name.
func (h Handle) Name() string { return h.obj.Name }

// OID returns the instance OID at index (scalars: index 0).
func (h Handle) OID(index ...uint32) smi.OID { return h.obj.OID.Append(index...) }

// VarBind returns the varbind of the instance at index with value c.
func (h Handle) VarBind(c Cell, index ...uint32) smi.VarBind {
	return smi.VarBind{Name: h.OID(index...), Value: c.v}
}

// Cell is a value bound to its object, made only by a typed handle.
type Cell struct {
	obj *Object
	v   smi.Value
}

// Value returns the cell's value.
func (c Cell) Value() smi.Value { return c.v }

// Int is an INTEGER object (enumerations included).
type Int struct{ Handle }

// Of returns the cell of value v.
func (h Int) Of(v int32) Cell { return Cell{h.obj, smi.Integer(v)} }

// Str is an OCTET STRING object.
type Str struct{ Handle }

// Of returns the cell of value s.
func (h Str) Of(s string) Cell { return Cell{h.obj, smi.String(s)} }

// Bytes returns the cell of value b.
func (h Str) Bytes(b []byte) Cell { return Cell{h.obj, smi.OctetString(b)} }

// IP is an IpAddress object.
type IP struct{ Handle }

// Of returns the cell of address a (0.0.0.0 for anything but IPv4).
func (h IP) Of(a netip.Addr) Cell {
	if !a.Is4() {
		a = netip.IPv4Unspecified()
	}
	return Cell{h.obj, smi.IPAddress(a)}
}

// OID is an OBJECT IDENTIFIER object.
type OID struct{ Handle }

// Of returns the cell of value o.
func (h OID) Of(o smi.OID) Cell { return Cell{h.obj, smi.ObjectID(o)} }

// Ticks is a TimeTicks object.
type Ticks struct{ Handle }

// Of returns the cell of value t (hundredths of a second).
func (h Ticks) Of(t uint32) Cell { return Cell{h.obj, smi.TimeTicks(t)} }

// Counter is a Counter32 object.
type Counter struct{ Handle }

// Of returns the cell of value c.
func (h Counter) Of(c uint32) Cell { return Cell{h.obj, smi.Counter32(c)} }

// Gauge is a Gauge32 object.
type Gauge struct{ Handle }

// Of returns the cell of value g.
func (h Gauge) Of(g uint32) Cell { return Cell{h.obj, smi.Gauge32(g)} }

// Entry is a table's entry (a row), for deleting whole rows.
type Entry struct{ Handle }

// Notification is a NOTIFICATION-TYPE.
type Notification struct{ Handle }

// Identity is an OBJECT-IDENTITY (a product identifier).
type Identity struct{ Handle }

// handleKinds maps each handle type to what builds it from an object.
func handleKinds() map[reflect.Type]func(*Object) (reflect.Value, error) {
	return map[reflect.Type]func(*Object) (reflect.Value, error){
		reflect.TypeOf(Int{}):          typed[Int](smi.TypeInteger, func(h Handle) Int { return Int{h} }),
		reflect.TypeOf(Str{}):          typed[Str](smi.TypeOctetString, func(h Handle) Str { return Str{h} }),
		reflect.TypeOf(IP{}):           typed[IP](smi.TypeIPAddress, func(h Handle) IP { return IP{h} }),
		reflect.TypeOf(OID{}):          typed[OID](smi.TypeObjectID, func(h Handle) OID { return OID{h} }),
		reflect.TypeOf(Ticks{}):        typed[Ticks](smi.TypeTimeTicks, func(h Handle) Ticks { return Ticks{h} }),
		reflect.TypeOf(Counter{}):      typed[Counter](smi.TypeCounter32, func(h Handle) Counter { return Counter{h} }),
		reflect.TypeOf(Gauge{}):        typed[Gauge](smi.TypeGauge32, func(h Handle) Gauge { return Gauge{h} }),
		reflect.TypeOf(Entry{}):        kinded[Entry](KindEntry, func(h Handle) Entry { return Entry{h} }),
		reflect.TypeOf(Notification{}): kinded[Notification](KindNotification, func(h Handle) Notification { return Notification{h} }),
		reflect.TypeOf(Identity{}):     kinded[Identity](KindIdentity, func(h Handle) Identity { return Identity{h} }),
	}
}

func typed[T any](base smi.Type, mk func(Handle) T) func(*Object) (reflect.Value, error) {
	return func(o *Object) (reflect.Value, error) {
		if o.Kind != KindScalar && o.Kind != KindColumn {
			return reflect.Value{}, fmt.Errorf("%s is not a scalar or column", o.Name)
		}
		if o.Syntax.Base != base {
			return reflect.Value{}, fmt.Errorf("%s is %s, not %s", o.Name, o.Syntax.Base, base)
		}
		return reflect.ValueOf(mk(Handle{o})), nil
	}
}

func kinded[T any](kind Kind, mk func(Handle) T) func(*Object) (reflect.Value, error) {
	return func(o *Object) (reflect.Value, error) {
		if o.Kind != kind {
			return reflect.Value{}, fmt.Errorf("%s is not of the kind its handle needs", o.Name)
		}
		return reflect.ValueOf(mk(Handle{o})), nil
	}
}

// Resolve fills every handle field of the struct dst points to from reg: a
// field `IsPrimary mib.Int `mib:"cpsmm100IsPrimary"“ gets the object of that
// name, checked for its kind and base type. Nested structs are resolved
// too, with their `mib` tag (if any) as a prefix of their fields' names. An
// unknown name or a mismatched type is an error naming the field: a
// misspelt name fails at start-up, never at run time.
func Resolve(reg *Registry, dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("mib: Resolve needs a pointer to a struct, not %T", dst)
	}
	return resolve(reg, handleKinds(), v.Elem(), "")
}

func resolve(reg *Registry, kinds map[reflect.Type]func(*Object) (reflect.Value, error), v reflect.Value, prefix string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("mib")
		if mk, ok := kinds[f.Type]; ok {
			if !hasTag {
				return fmt.Errorf("mib: field %s has no mib tag", f.Name)
			}
			o, found := reg.Lookup(prefix + tag)
			if !found {
				return fmt.Errorf("mib: field %s: no object %q", f.Name, prefix+tag)
			}
			h, err := mk(o)
			if err != nil {
				return fmt.Errorf("mib: field %s: %w", f.Name, err)
			}
			v.Field(i).Set(h)
			continue
		}
		if f.Type.Kind() == reflect.Struct && hasTag {
			if err := resolve(reg, kinds, v.Field(i), prefix+tag); err != nil {
				return err
			}
		}
	}
	return nil
}

// Write stores the cells at index, under one hold of the lock: readers see
// the row before or after, never half of it.
func (s *Store) Write(index []uint32, cells ...Cell) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cells {
		s.put(c.obj, index, c.v.Clone(), nil)
	}
}

// WriteFunc makes the instance of h at index a live value computed on
// every read. fn must be safe for concurrent use, must not call the store,
// and must return the object's base type.
func (s *Store) WriteFunc(h Handle, fn func() smi.Value, index ...uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(h.obj, index, smi.Value{}, fn)
}

// Read returns the value of h at index.
func (s *Store) Read(h Handle, index ...uint32) (smi.Value, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.find(h.obj.OID.Append(index...))
	if !ok {
		return smi.Value{}, false
	}
	return s.cells[i].value().Clone(), true
}

// DeleteRow removes the row of entry e at index (every column's cell).
func (s *Store) DeleteRow(e Entry, index ...uint32) { s.Delete(e.obj.Name, index...) }

// CellOf binds v to the scalar or column o when v has o's base type (a
// value decoded from the wire, for a column looked up by number).
func CellOf(o *Object, v smi.Value) (Cell, bool) {
	if (o.Kind != KindScalar && o.Kind != KindColumn) || v.Type != o.Syntax.Base {
		return Cell{}, false
	}
	return Cell{o, v}, true
}
