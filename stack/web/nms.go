package web

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/smi"
)

// cell is one instance an agent answered.
type cell struct {
	Int   int64
	Text  string // a string's bytes, or an OID's or address's text
	IsInt bool
}

// nmsView is what one module's agent shows of the stack, as an NMS walking
// the Point System subtree sees it: cells by object name and index.
type nmsView struct {
	From  string // the module asked
	Addr  string // its SNMP address
	Err   string
	cells map[string]map[string]cell // object name → index ("1.4") → value
}

// get returns object name's instance at index (e.g. 1, 4).
func (v *nmsView) get(name string, index ...uint32) (cell, bool) {
	if v == nil || v.cells == nil {
		return cell{}, false
	}
	c, ok := v.cells[name][smi.OID(index).String()]
	return c, ok
}

// label returns the enum label of an enumerated object's instance, its
// text otherwise, and "" when the agent did not show it.
func (v *nmsView) label(reg *mib.Registry, name string, index ...uint32) string {
	c, ok := v.get(name, index...)
	if !ok {
		return ""
	}
	if !c.IsInt {
		return c.Text
	}
	if o, ok := reg.Lookup(name); ok {
		if l := o.Syntax.EnumLabel(int32(c.Int)); l != "" {
			return l
		}
	}
	return fmt.Sprint(c.Int)
}

// walk walks the subtree root of the agent at addr.
func walk(reg *mib.Registry, module, addr string, root smi.OID, timeout time.Duration) *nmsView {
	v := &nmsView{From: module, Addr: addr}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		v.Err = err.Error()
		return v
	}
	g := &gosnmp.GoSNMP{Target: ap.Addr().String(), Port: ap.Port(), Community: "public", Version: gosnmp.Version2c,
		Timeout: timeout, Retries: 0, MaxRepetitions: 60}
	if err := g.Connect(); err != nil {
		v.Err = err.Error()
		return v
	}
	defer g.Conn.Close()
	pdus, err := g.BulkWalkAll("." + root.String())
	if err != nil {
		v.Err = err.Error()
		return v
	}
	v.cells = map[string]map[string]cell{}
	for _, p := range pdus {
		oid, err := smi.ParseOID(p.Name)
		if err != nil {
			continue
		}
		o, idx, ok := reg.Covering(oid)
		if !ok {
			continue
		}
		var c cell
		switch p.Type {
		case gosnmp.Integer, gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Counter64, gosnmp.Uinteger32:
			c = cell{Int: gosnmp.ToBigInt(p.Value).Int64(), IsInt: true}
		case gosnmp.OctetString:
			b, _ := p.Value.([]byte)
			c = cell{Text: string(b)}
		case gosnmp.ObjectIdentifier, gosnmp.IPAddress:
			s, _ := p.Value.(string)
			c = cell{Text: s}
		default:
			continue // noSuchInstance and the like: not shown
		}
		if v.cells[o.Name] == nil {
			v.cells[o.Name] = map[string]cell{}
		}
		v.cells[o.Name][idx.String()] = c
	}
	return v
}
