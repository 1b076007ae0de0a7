package web

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/stackfile"
)

// View is one picture of the stack, what the page draws.
type View struct {
	Stack   string
	Taken   time.Time
	Primary string // the module answering Primary, "" if none
	// Address is the stack address ("" if the stack has none) and
	// Holder the module serving it now ("" if none).
	Address, Holder string
	NMS             string // where the device data comes from
	NMSErr          string
	Cabinets        []Cabinet
	Modules         []Module
	Paths           []PathRow
	Peers           []string // the column heads of Paths
	Events          []Event
	Controls        *ControlForms
}

// Cabinet is one chassis's front panel.
type Cabinet struct {
	Bia         int32
	Model       string
	Slots       []Slot
	Description string
	Supplies    []LED
	Source      string
}

// Slot is one slot of a front panel.
type Slot struct {
	At     string // B/S
	N      int32
	Kind   string // bmm, converter, aggregation, empty, other
	Title  string
	Module *Module
	LEDs   []LED
	Detail string
	Source string
}

// LED is a lamp and its state in words: State is on, off, fault or
// unknown, Text says what it means.
type LED struct {
	Name, State, Text string
}

// Module is one Base Management Module.
type Module struct {
	Name       string
	At         string
	SNMP       string
	Role       string // primary, standby, not-answering, unknown
	Can, Want  string
	Err        string
	LastChange string
	Reason     string
	EthLink    string
	TrapMgrs   []string
	// Managers: the module's own account of its trap managers' states
	// (keepalive on), or nil.
	Managers  []string
	Keepalive string
	// IPMon: the IP monitor's verdict and hosts in words ("" if none).
	IPMon      string
	IPMonHosts []string
	Extra      []Field
}

// PathRow is one module's view of the paths to its peers.
type PathRow struct {
	Module string
	Cells  []PathCell
}

// PathCell is what Module knows of the two paths to one peer.
type PathCell struct {
	Peer                string
	Self                bool
	Known               bool
	Alive               bool
	Backplane, Ethernet string // up, down
	LinkFailure         bool
}

// Event is one thing that happened.
type Event struct {
	Time   time.Time
	Text   string
	Source string
}

// ControlForms is what the page offers when controls are on.
type ControlForms struct {
	Modules, ModuleFaults   []string
	Devices, DeviceFaults   []string
	Cabinets, CabinetFaults []string
	Wants                   []string
}

// build draws the stack from the stack file (layout), the modules' status
// rows and one agent's walk.
func build(st *stackfile.Stack, cat *catalog.Catalog, reg *mib.Registry, rows []Row, nms *nmsView, now time.Time) *View {
	v := &View{Stack: st.Name, Taken: now}
	if nms != nil {
		v.NMS = fmt.Sprintf("SNMP walk of %s's agent (%s)", nms.From, nms.Addr)
		v.NMSErr = nms.Err
	}
	byName := map[string]*Row{}
	for i := range rows {
		byName[rows[i].Module] = &rows[i]
	}
	macName := map[string]string{}
	bySlot := map[ident.Slot]*Module{}
	for _, m := range st.Modules {
		macName[m.MAC.String()] = m.Name
	}
	for _, m := range st.Modules {
		mod := Module{Name: m.Name, At: m.At().String(), SNMP: m.SNMP.String(), Role: "unknown"}
		if r := byName[m.Name]; r != nil {
			mod.Role, mod.Can, mod.Want, mod.Err, mod.Extra = r.Role, r.Can, r.Want, r.Err, r.Extra
			if r.StackAddress != "" {
				v.Address = r.StackAddress
			}
			if r.HoldsAddress {
				v.Holder = m.Name
			}
			if tm := r.TrapManagers; tm != nil {
				mod.Keepalive = tm.Keepalive
				for _, g := range tm.Managers {
					t := fmt.Sprintf("%d %s: %s", g.Manager, g.Address, strings.ToUpper(g.State))
					if g.Misses > 0 {
						t += fmt.Sprintf(", %d missed", g.Misses)
					}
					if !g.LastAck.IsZero() {
						t += ", last ack " + g.LastAck.Format("15:04:05")
					}
					t += fmt.Sprintf(", %d sent / %d acked", g.Sent, g.Acked)
					mod.Managers = append(mod.Managers, t)
				}
			}
			if r.Err != "" && r.Role != "primary" && r.Role != "standby" {
				mod.Role = "not-answering"
			}
			if n := r.Negotiation; n != nil {
				if !n.LastChange.IsZero() {
					mod.LastChange = n.LastChange.Format("15:04:05.000")
				}
				mod.Reason = n.LastReason
				if im := n.IPMonitor; im != nil {
					switch {
					case im.Verdict.Failed:
						mod.IPMon = "FAILED"
					case im.Verdict.Degraded:
						mod.IPMon = "degraded"
					default:
						mod.IPMon = "ok"
					}
					if im.Verdict.Reason != "" {
						mod.IPMon += ": " + im.Verdict.Reason
					}
					for _, h := range im.Hosts {
						name := h.Name
						if n := macName[name]; n != "" {
							name = n
						}
						state := "up"
						if !h.Up {
							state = "DOWN"
						}
						t := fmt.Sprintf("%s %s %s", h.Kind, name, state)
						if h.Misses > 0 {
							t += fmt.Sprintf(" (%d missed)", h.Misses)
						}
						mod.IPMonHosts = append(mod.IPMonHosts, t)
					}
				}
			}
		}
		if mod.Role == "primary" {
			v.Primary = m.Name
		}
		mod.EthLink = nms.label(reg, "cpsmm100EthernetLink", m.At().Index()...)
		for _, col := range []string{"cpsmm100SNMPTrapMgr", "cpsmm100SNMPTrapMgr2", "cpsmm100SNMPTrapMgr3", "cpsmm100SNMPTrapMgr4"} {
			if a := nms.label(reg, col, m.At().Index()...); a != "" && a != "0.0.0.0" {
				mod.TrapMgrs = append(mod.TrapMgrs, a)
			}
		}
		v.Modules = append(v.Modules, mod)
		bySlot[m.At()] = &v.Modules[len(v.Modules)-1]
	}
	// Paths: every module's account of every other.
	for _, m := range st.Modules {
		pr := PathRow{Module: m.Name}
		r := byName[m.Name]
		for _, p := range st.Modules {
			c := PathCell{Peer: p.Name, Self: p.Name == m.Name}
			if r != nil && r.Negotiation != nil && !c.Self {
				for _, pe := range r.Negotiation.Peers {
					if macName[pe.MAC] != p.Name {
						continue
					}
					c.Known, c.Alive, c.LinkFailure = true, pe.Alive, pe.LinkFault
					c.Backplane, c.Ethernet = upDown(pe.Backplane.OK), upDown(pe.Ethernet.OK)
				}
			}
			pr.Cells = append(pr.Cells, c)
		}
		v.Paths = append(v.Paths, pr)
		v.Peers = append(v.Peers, m.Name)
	}
	declared := map[ident.Slot]stackfile.Device{}
	for _, d := range st.Devices {
		declared[d.At()] = d
	}
	via := "SNMP via " + v.nmsFrom(nms)
	for _, c := range st.Cabinets {
		cab := Cabinet{Bia: int32(c.Bia), Model: c.Model, Description: c.Description, Source: via}
		model, _ := cat.CabinetModel(c.Model)
		idx := []uint32{uint32(c.Bia)}
		if _, ok := reg.Lookup(model.Detail + "PSPower1"); ok && model.Detail != "" {
			// Only cpsMc1800Table and cpsMc1300Table show power supplies.
			for i, ps := range []string{"1", "2"} {
				power := nms.label(reg, model.Detail+"PSPower"+ps, idx...)
				inUse := nms.label(reg, model.Detail+"PSInUse"+ps, idx...)
				led := LED{Name: "PS" + ps, State: "unknown", Text: "not shown"}
				// PSPower1 is on/off, PSPower2 yes/no (the vendor's MIB).
				switch {
				case power == "on" || power == "yes":
					led.State, led.Text = "on", "power on"
				case power == "off" || power == "no":
					led.State, led.Text = "off", "POWER OFF"
				}
				if inUse != "" {
					led.Text += ", in use " + inUse
				}
				_ = i
				cab.Supplies = append(cab.Supplies, led)
			}
		}
		for s := int32(1); s <= model.Slots; s++ {
			at := ident.At(c.Bia, s)
			cab.Slots = append(cab.Slots, v.slot(reg, cat, nms, at, bySlot[at], declared, via))
		}
		v.Cabinets = append(v.Cabinets, cab)
	}
	return v
}

func (v *View) nmsFrom(nms *nmsView) string {
	if nms == nil {
		return "no agent"
	}
	return nms.From
}

func upDown(ok bool) string {
	if ok {
		return "up"
	}
	return "down"
}

// slot draws one slot: its module, or the device the agent shows there.
func (v *View) slot(reg *mib.Registry, cat *catalog.Catalog, nms *nmsView, at ident.Slot, mod *Module, declared map[ident.Slot]stackfile.Device, via string) Slot {
	s := Slot{At: at.String(), N: at.Slot, Kind: "empty", Title: "empty", Source: via}
	idx := at.Index()
	power := nms.label(reg, "cpsSlotPwrState", idx...)
	powerLED := func() LED {
		switch power {
		case "on":
			return LED{Name: "PWR", State: "on", Text: "power on"}
		case "off":
			return LED{Name: "PWR", State: "off", Text: "POWER OFF"}
		}
		return LED{Name: "PWR", State: "unknown", Text: "power not shown"}
	}
	if mod != nil {
		s.Kind, s.Title, s.Module = "bmm", "CPSMM100 "+mod.Name, mod
		s.Source = "role: SNMP cpsmm100IsPrimary at " + mod.SNMP + "; reason: " + mod.Name + "'s control socket"
		eth := LED{Name: "ETH", State: "unknown", Text: "link not shown"}
		switch mod.EthLink {
		case "on":
			eth.State, eth.Text = "on", "link up"
		case "off":
			eth.State, eth.Text = "fault", "LINK DOWN"
		}
		pri := LED{Name: "PRI", State: "off", Text: "standby"}
		switch mod.Role {
		case "primary":
			pri = LED{Name: "PRI", State: "on", Text: "PRIMARY"}
		case "not-answering", "unknown":
			pri = LED{Name: "PRI", State: "unknown", Text: "not answering"}
		}
		s.LEDs = []LED{pri, eth}
		return s
	}
	model, shown := nms.get("cpsModuleModel", idx...)
	d, isDeclared := declared[at]
	typeName := ""
	if shown {
		if oid, err := smi.ParseOID(strings.TrimPrefix(model.Text, ".")); err == nil {
			for _, t := range cat.DeviceTypes() {
				if t.Product.Equal(oid) {
					typeName = t.Name
				}
			}
			if typeName == "" && !oid.Equal(cat.EmptyID()) {
				typeName = "?"
				if o, ok := reg.ByOID(oid); ok {
					typeName = strings.TrimSuffix(o.Name, "Id")
				}
			}
		}
	} else if isDeclared {
		// Not shown by the agent (an aggregation converter has no row of
		// its own; or no agent answered): what the stack file declares.
		typeName = d.Type
		s.Source = "stack file (not in " + via + ")"
	}
	if typeName == "" {
		if isDeclared {
			s.Detail = d.Type + " declared, shown empty"
		}
		return s
	}
	s.Kind, s.Title = "converter", strings.ToUpper(typeName)
	if t, ok := cat.DeviceType(typeName); ok && t.Ethernet {
		s.Kind = "aggregation"
	}
	if serial, ok := nms.get(typeName+"SerialNumber", idx...); ok {
		s.Detail = fmt.Sprintf("serial %d", serial.Int)
	}
	if !strings.HasPrefix(s.Source, "stack file") {
		s.Source = via + " (cpsModuleTable, " + typeName + "Table, cpsSlotPwrTable)"
	}
	link := func(name, col string) LED {
		switch nms.label(reg, typeName+col, idx...) {
		case "linkUp":
			return LED{Name: name, State: "on", Text: "link up"}
		case "linkDown":
			return LED{Name: name, State: "off", Text: "LINK DOWN"}
		}
		return LED{Name: name, State: "unknown", Text: "not shown"}
	}
	fault := LED{Name: "FLT", State: "unknown", Text: "not shown"}
	switch nms.label(reg, typeName+"Fault", idx...) {
	case "yes":
		fault = LED{Name: "FLT", State: "fault", Text: "FAULT"}
	case "no":
		fault = LED{Name: "FLT", State: "off", Text: "no fault"}
	}
	if s.Kind == "aggregation" {
		s.LEDs = []LED{powerLED()}
		return s
	}
	s.LEDs = []LED{link("TP", "TPLink"), link("FX", "FiberLink"), fault, powerLED()}
	return s
}

// facts are the view's values whose changes are events, by what they are.
func (v *View) facts() map[string]fact {
	f := map[string]fact{}
	for _, m := range v.Modules {
		role := fact{m.Role, "SNMP cpsmm100IsPrimary"}
		if m.Reason != "" && m.Role != "not-answering" {
			role.value += " (" + m.Reason + ")"
			role.source += " + control socket"
		}
		f[m.Name+" role"] = role
		f[m.Name+" CanPrimary"] = fact{m.Can, "SNMP cpsmm100CanPrimary"}
		f[m.Name+" WantPrimary"] = fact{m.Want, "SNMP cpsmm100WantPrimary"}
	}
	for _, r := range v.Paths {
		for _, c := range r.Cells {
			if c.Known {
				f[fmt.Sprintf("%s's backplane path to %s", r.Module, c.Peer)] = fact{c.Backplane, r.Module + "'s control socket"}
				f[fmt.Sprintf("%s's Ethernet path to %s", r.Module, c.Peer)] = fact{c.Ethernet, r.Module + "'s control socket"}
			}
		}
	}
	for _, c := range v.Cabinets {
		for _, l := range c.Supplies {
			f[fmt.Sprintf("cabinet %d %s", c.Bia, l.Name)] = fact{l.Text, c.Source}
		}
		for _, s := range c.Slots {
			if s.Kind == "bmm" {
				continue
			}
			f["slot "+s.At] = fact{strings.ToLower(s.Title), s.Source}
			for _, l := range s.LEDs {
				f[fmt.Sprintf("slot %s %s", s.At, l.Name)] = fact{l.Text, s.Source}
			}
		}
	}
	return f
}

type fact struct{ value, source string }

// changes are the events between two views' facts, in a stable order.
func changes(old, cur map[string]fact, now time.Time) []Event {
	var keys []string
	for k, c := range cur {
		if o, ok := old[k]; ok && o.value != c.value && c.value != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var ev []Event
	for _, k := range keys {
		o, c := old[k], cur[k]
		from := o.value
		if i := strings.Index(from, " ("); i > 0 && strings.HasSuffix(k, " role") {
			from = from[:i]
		}
		ev = append(ev, Event{Time: now, Text: fmt.Sprintf("%s: %s → %s", k, from, c.value), Source: c.source})
	}
	return ev
}
