// Package chassis is the stack hardware the chassis process emulates
// besides the backplane bus: the converters in their slots and the
// cabinets. The Host attaches to the backplane like a module, answers the
// Primary's solicitations with reports every module hears, applies the
// configuration the Primary distributes (and acknowledges it only once it
// is on disk), answers aggregation converters' solicitations on their own
// Ethernet addresses, and takes fault injections.
package chassis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/atomicfile"
	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/configmsg"
	"github.com/cpsmm/cpsmm/stack/device"
	"github.com/cpsmm/cpsmm/stack/ident"
	"github.com/cpsmm/cpsmm/stack/stackfile"
	"github.com/cpsmm/cpsmm/stack/transport"
)

// ID is the chassis's sender ID on the backplane (locally administered).
var ID = backplane.ID{0x02, 0xc9, 0x5c, 0, 0, 0}

// State is everything the chassis persists: the devices' memories, the
// cabinets, and the stack-wide cpsGroupCtrl.
type State struct {
	Devices   []*device.Device  `json:"devices"`
	Cabinets  []*device.Cabinet `json:"cabinets"`
	GroupCtrl string            `json:"group_ctrl"`
}

// Host is the chassis's devices, running.
type Host struct {
	reg  *mib.Registry
	cat  *catalog.Catalog
	key  []byte
	file string // state file
	log  logrus.FieldLogger

	mu  sync.Mutex // guards st and the indexes
	st  State
	dev map[ident.Slot]*device.Device
	cab map[ident.Cabinet]*device.Cabinet

	managers map[ident.Slot]bool // the management modules' slots: never polled

	tr       *transport.Transport
	macs     []*net.UDPConn
	gateways []*Gateway    // the IP monitors' targets
	seq      atomic.Uint64 // sequence numbers of the aggregation converters' frames
}

// Config configures a Host.
type Config struct {
	Stack *stackfile.Stack
	// ChassisNetwork/ChassisAddr is the backplane socket to attach to.
	ChassisNetwork, ChassisAddr string
	// StateFile keeps the device state across restarts of the chassis.
	StateFile string
	Log       logrus.FieldLogger
}

// New builds the host: the state file's content if there is one, else the
// devices and cabinets the stack file declares.
func New(cfg Config) (*Host, error) {
	if cfg.Log == nil {
		cfg.Log = logrus.New()
	}
	h := &Host{reg: mib.DefaultRegistry(), key: []byte(cfg.Stack.Key), file: cfg.StateFile, log: cfg.Log}
	cat, err := catalog.New(h.reg)
	if err != nil {
		return nil, fmt.Errorf("chassis: %w", err)
	}
	h.cat = cat
	h.managers = map[ident.Slot]bool{}
	for _, m := range cfg.Stack.Modules {
		h.managers[ident.At(m.Cabinet, m.Slot)] = true
	}
	if _, err := h.load(); err != nil {
		return nil, err
	}
	if err := h.reconcile(cfg.Stack); err != nil {
		return nil, err
	}
	tr, err := transport.New(transport.Config{ID: ID, Key: h.key, ChassisNetwork: cfg.ChassisNetwork, ChassisAddr: cfg.ChassisAddr,
		Ethernet: netip.MustParseAddrPort("127.0.0.1:0"), Deliver: h.deliver, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	h.tr = tr
	h.seq.Store(uint64(time.Now().UnixNano()))
	for _, d := range h.st.Devices {
		if d.Type != device.Aggregation {
			continue
		}
		ap, err := netip.ParseAddrPort(d.Ethernet)
		if err != nil {
			return nil, fmt.Errorf("aggregation converter %d/%d: %w", d.Bia, d.Slot, err)
		}
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
		if err != nil {
			return nil, fmt.Errorf("aggregation converter %d/%d: %w", d.Bia, d.Slot, err)
		}
		h.macs = append(h.macs, c)
	}
	if cfg.Stack.IPMonitor.Enabled {
		addrs := make([]netip.Addr, 0, len(cfg.Stack.IPMonitor.Hosts))
		for a := range cfg.Stack.IPMonitor.Hosts {
			addrs = append(addrs, a)
		}
		sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
		for _, a := range addrs {
			g, err := newGateway(a, cfg.Stack.IPMonitor.Hosts[a], cfg.Log)
			if err != nil {
				h.close()
				return nil, err
			}
			h.gateways = append(h.gateways, g)
		}
	}
	return h, nil
}

func (h *Host) index() {
	h.dev, h.cab = map[ident.Slot]*device.Device{}, map[ident.Cabinet]*device.Cabinet{}
	for _, d := range h.st.Devices {
		h.dev[d.At()] = d
	}
	for _, c := range h.st.Cabinets {
		h.cab[ident.Cabinet(c.Bia)] = c
	}
}

// reconcile makes the state match the stack file: what it declares and
// the state file holds (same cabinet model, same device type) keeps its
// saved state; what is new comes fresh from the factory; what it no longer
// declares is gone.
func (h *Host) reconcile(st *stackfile.Stack) error {
	h.index()
	saved := h.st
	h.st.Cabinets, h.st.Devices = nil, nil
	for _, c := range st.Cabinets {
		model, ok := h.cat.CabinetModel(c.Model)
		if !ok {
			return fmt.Errorf("cabinet %d: unknown model %q", c.Bia, c.Model)
		}
		if old, ok := h.cab[c.Bia]; ok && old.Model == c.Model {
			old.Ethernet = model.Ethernet
			if old.Detail == nil {
				// A state file from before the cabinet kept a detail.
				var err error
				if old.Detail, err = device.NewDetail(h.reg, model.Detail); err != nil {
					return fmt.Errorf("cabinet %d: %w", c.Bia, err)
				}
			}
			h.st.Cabinets = append(h.st.Cabinets, old)
			continue
		}
		detail, err := device.NewDetail(h.reg, model.Detail)
		if err != nil {
			return fmt.Errorf("cabinet %d: %w", c.Bia, err)
		}
		h.st.Cabinets = append(h.st.Cabinets, &device.Cabinet{Bia: int32(c.Bia), Model: c.Model, Description: c.Description,
			PS1: true, PS2: true, Slots: model.Slots, Ethernet: model.Ethernet, Detail: detail})
	}
	for _, d := range st.Devices {
		typ, ok := h.cat.DeviceType(d.Type)
		if !ok {
			return fmt.Errorf("device %s: unknown type %q", d.At(), d.Type)
		}
		if old, ok := h.dev[d.At()]; ok && old.Type == typ.Code {
			if d.Ethernet.IsValid() {
				old.Ethernet = d.Ethernet.String()
			}
			h.st.Devices = append(h.st.Devices, old)
			continue
		}
		dev, err := device.New(h.reg, device.Spec{At: d.At(), Type: typ.Code, Serial: d.Serial, ConnA: d.ConnA, ConnB: d.ConnB, Ethernet: d.Ethernet})
		if err != nil {
			return err
		}
		h.st.Devices = append(h.st.Devices, dev)
	}
	h.st.GroupCtrl = saved.GroupCtrl
	h.index()
	h.assignICIF()
	return nil
}

// assignICIF sets each Expansion Management Module's ICIF column: the
// inter-cabinet interface of a cabinet is its Base Management Module in
// the lowest slot; a cabinet without one has the Expansion Management
// Module in its lowest slot (of those in the cabinet: a removed one is
// not). Called with h.mu held, or before the host runs.
func (h *Host) assignICIF() {
	base := map[ident.Cabinet]bool{}
	for at := range h.managers {
		base[at.Cabinet] = true
	}
	first := map[ident.Cabinet]*device.Device{}
	for _, d := range h.st.Devices {
		b := ident.Cabinet(d.Bia)
		if d.Type != device.Expansion || d.Removed || base[b] {
			continue
		}
		if f, ok := first[b]; !ok || d.Slot < f.Slot {
			first[b] = d
		}
	}
	for _, d := range h.st.Devices {
		if d.Type == device.Expansion {
			d.SetICIF(h.reg, first[ident.Cabinet(d.Bia)] == d)
		}
	}
}

// load reads the state file, if any.
func (h *Host) load() (bool, error) {
	if h.file == "" {
		return false, nil
	}
	b, err := os.ReadFile(h.file)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("chassis state: %w", err)
	}
	if err := json.Unmarshal(b, &h.st); err != nil {
		return false, fmt.Errorf("chassis state %s: %w", h.file, err)
	}
	h.log.WithField("file", h.file).Info("device state restored")
	return true, nil
}

// save writes the state atomically (stack/atomicfile). Called with h.mu
// held.
func (h *Host) save() error {
	if h.file == "" {
		return nil
	}
	b, err := json.MarshalIndent(h.st, "", " ")
	if err != nil {
		return fmt.Errorf("chassis state: %w", err)
	}
	if err := atomicfile.WriteFile(h.file, b, 0o600); err != nil {
		return fmt.Errorf("chassis state: %w", err)
	}
	return nil
}

// Run serves until ctx is done.
func (h *Host) Run(ctx context.Context) error {
	for _, c := range h.macs {
		go h.serveAggregation(ctx, c)
	}
	for _, g := range h.gateways {
		go g.serve(ctx)
	}
	go func() {
		<-ctx.Done()
		h.close()
	}()
	return h.tr.Run(ctx)
}

// close closes the aggregation converters' and gateways' sockets.
func (h *Host) close() {
	for _, c := range h.macs {
		c.Close()
	}
	for _, g := range h.gateways {
		g.conn.Close()
	}
}

// deliver takes every frame the modules send on the backplane.
func (h *Host) deliver(_ transport.Path, f backplane.Frame) {
	switch f.Type {
	case backplane.TypeSolicit:
		s, err := device.UnmarshalSolicit(f.Payload)
		if err != nil {
			h.log.WithError(err).Warn("solicit dropped")
			return
		}
		if s.IsStackPoll() {
			h.sendBatches(h.pollReports())
			return
		}
		if r, ok := h.report(ident.At(ident.Cabinet(s.Bia), int32(s.Slot)), false); ok {
			h.send(r)
		}
	case backplane.TypeConfigSet:
		s, err := configmsg.UnmarshalSet(f.Payload)
		if err != nil {
			h.log.WithError(err).Warn("config set dropped")
			return
		}
		if s.Target.Kind != configmsg.KindDevice {
			return // for a module
		}
		status, reports := h.apply(s)
		log := h.log.WithFields(logrus.Fields{"bia": s.Target.Slot.Cabinet, "slot": s.Target.Slot.Slot, "object": s.Object, "from": f.From.String()})
		if status != configmsg.OK {
			log.Warn("configuration refused: " + status.String())
		} else {
			log.Info("configuration applied")
		}
		_ = h.tr.Send(backplane.TypeConfigAck, 0, configmsg.MarshalAck(configmsg.Ack{ID: s.ID, Target: s.Target, Status: status}))
		// Whoever listens sees the new state at once.
		for _, r := range reports {
			h.send(r)
		}
	}
}

func (h *Host) send(r device.Report) {
	b, err := device.MarshalReport(r)
	if err != nil {
		h.log.WithError(err).Error("report not encoded")
		return
	}
	_ = h.tr.Send(backplane.TypeDeviceReport, 0, b)
}

// pollReports answers a poll of the whole stack: every cabinet's report
// and every slot's but the management modules'.
func (h *Host) pollReports() []device.Report {
	h.mu.Lock()
	cabs := make([]*device.Cabinet, len(h.st.Cabinets))
	copy(cabs, h.st.Cabinets)
	h.mu.Unlock()
	var out []device.Report
	for _, c := range cabs {
		if c.Ethernet {
			continue // an SMACF100 unit is not on the backplane
		}
		for s := int32(0); s <= c.Slots; s++ {
			at := ident.At(ident.Cabinet(c.Bia), s)
			if h.managers[at] {
				continue
			}
			if r, ok := h.report(at, false); ok {
				out = append(out, r)
			}
		}
	}
	return out
}

// sendBatches sends reports packed into as few frames as they fit.
func (h *Host) sendBatches(reports []device.Report) {
	batches, err := device.MarshalBatches(reports, backplane.MaxPayload)
	if err != nil {
		h.log.WithError(err).Error("reports not encoded")
		return
	}
	for _, b := range batches {
		_ = h.tr.Send(backplane.TypeDeviceReport, 0, b)
	}
}

// report answers a solicitation of a slot (slot 0: the cabinet). An
// aggregation converter answers only over Ethernet; a slot of a removed
// cabinet does not answer.
func (h *Host) report(at ident.Slot, ethernet bool) (device.Report, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.cab[at.Cabinet]
	if !ok {
		return device.Report{}, false
	}
	if at.Slot == 0 {
		if c.Ethernet != ethernet {
			return device.Report{}, false // an SMACF100 unit answers over Ethernet only, a cabinet on the backplane only
		}
		return h.cabinetReport(c), true
	}
	if c.Removed || at.Slot > c.Slots || (c.Ethernet && !ethernet) {
		return device.Report{}, false
	}
	bia, slot := at.Cabinet, at.Slot
	d, ok := h.dev[at]
	switch {
	case ok && (d.Type == device.Aggregation) != ethernet:
		if ethernet {
			return device.Report{}, false
		}
		return device.Report{Kind: device.KindSlot, Bia: uint16(bia), Slot: uint16(slot)}, true // not on the backplane
	case ok:
		return d.Report(), true
	case ethernet:
		return device.Report{}, false
	}
	return device.Report{Kind: device.KindSlot, Bia: uint16(bia), Slot: uint16(slot)}, true // empty
}

// apply carries out a distributed Set, persists it, and returns the
// status for the Ack and the reports that show the change.
func (h *Host) apply(s configmsg.Set) (configmsg.Status, []device.Report) {
	h.mu.Lock()
	defer h.mu.Unlock()
	at := s.Target.Slot
	val := smi.Integer(s.Int)
	if s.Type == configmsg.Octets {
		val = smi.OctetString(s.Bytes)
	}
	var undo func()
	var cabinets []ident.Cabinet
	switch s.Object {
	case configmsg.ObjGroupCtrl:
		if s.Type != configmsg.Octets || len(s.Bytes) > 256 {
			return configmsg.BadValue, nil
		}
		old := h.st.GroupCtrl
		h.st.GroupCtrl = string(s.Bytes)
		undo = func() { h.st.GroupCtrl = old }
		for b := range h.cab {
			cabinets = append(cabinets, b)
		}
	case configmsg.ObjCabinetDescription, configmsg.ObjSlotPower:
		c, ok := h.cab[at.Cabinet]
		if !ok || c.Removed {
			return configmsg.UnknownObject, nil
		}
		old := *c
		old.SlotPowerOff = append([]int32(nil), c.SlotPowerOff...)
		undo = func() { *c = old }
		if s.Object == configmsg.ObjCabinetDescription {
			if s.Type != configmsg.Octets || len(s.Bytes) > 255 {
				return configmsg.BadValue, nil
			}
			c.Description = string(s.Bytes)
		} else if s.Type != configmsg.Integer || (s.Int != mib.On && s.Int != mib.Off) || c.SetSlotPower(at.Slot, s.Int == mib.On) != nil {
			return configmsg.BadValue, nil
		}
		cabinets = []ident.Cabinet{at.Cabinet}
	default:
		d, ok := h.dev[at]
		if !ok || d.Removed || s.Object < 1 || s.Object > 255 {
			return configmsg.UnknownObject, nil
		}
		old := d.Cols[uint32(s.Object)]
		if err := d.Set(h.reg, uint32(s.Object), val); err != nil {
			h.log.WithError(err).Warn("device refuses the value")
			return configmsg.BadValue, nil
		}
		undo = func() { d.Cols[uint32(s.Object)] = old }
	}
	if err := h.save(); err != nil {
		undo()
		h.log.WithError(err).Error("device state not saved: configuration refused")
		return configmsg.BadValue, nil
	}
	if d, ok := h.dev[at]; ok && cabinets == nil {
		return configmsg.OK, []device.Report{d.Report()}
	}
	sort.Slice(cabinets, func(i, j int) bool { return cabinets[i] < cabinets[j] })
	var out []device.Report
	for _, b := range cabinets {
		if h.cab[b].Ethernet {
			continue // not on the backplane: the Primary sees it at its next poll
		}
		out = append(out, h.cabinetReport(h.cab[b]))
	}
	return configmsg.OK, out
}

// cabinetReport is a cabinet's report with the stack-wide cpsGroupCtrl.
// Called with h.mu held.
func (h *Host) cabinetReport(c *device.Cabinet) device.Report {
	r := c.Report()
	if !c.Removed {
		r.Items = append(r.Items, device.Item{Tag: device.TagGroupCtrl, Value: smi.String(h.st.GroupCtrl)})
	}
	return r
}

// serveAggregation answers solicitations on an aggregation converter's
// Ethernet address, to whoever sent them.
func (h *Host) serveAggregation(ctx context.Context, c *net.UDPConn) {
	rx := backplane.NewReceiver(h.key)
	buf := make([]byte, backplane.MaxFrame+1)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		f, err := rx.Accept(buf[:n])
		if err != nil || f.Type != backplane.TypeSolicit {
			continue
		}
		s, err := device.UnmarshalSolicit(f.Payload)
		if err != nil {
			continue
		}
		r, ok := h.report(ident.At(ident.Cabinet(s.Bia), int32(s.Slot)), true)
		if !ok {
			continue
		}
		b, err := device.MarshalReport(r)
		if err != nil {
			continue
		}
		out, err := backplane.Seal(h.key, backplane.Frame{Type: backplane.TypeDeviceReport, From: ID, Seq: h.seq.Add(1), Payload: b})
		if err == nil {
			_, _ = c.WriteToUDPAddrPort(out, from)
		}
	}
}

// DeviceFault injects a fault into the device at bia/slot: link-down,
// fault, remove, or insert (of a removed device).
func (h *Host) DeviceFault(bia, slot int32, fault string) error {
	return h.change(func() error {
		d, ok := h.dev[ident.At(ident.Cabinet(bia), slot)]
		if !ok {
			return fmt.Errorf("no device at %d/%d", bia, slot)
		}
		switch fault {
		case "link-down":
			d.SetLink(h.reg, false)
		case "fault":
			d.SetFault(h.reg, true)
		case "remove":
			d.Removed = true
		case "insert":
			d.Removed = false
		default:
			return fmt.Errorf("unknown device fault %q: link-down, fault, remove or insert", fault)
		}
		return nil
	})
}

// RestoreDevice clears every fault of the device at bia/slot.
func (h *Host) RestoreDevice(bia, slot int32) error {
	return h.change(func() error {
		d, ok := h.dev[ident.At(ident.Cabinet(bia), slot)]
		if !ok {
			return fmt.Errorf("no device at %d/%d", bia, slot)
		}
		d.Removed = false
		d.SetLink(h.reg, true)
		d.SetFault(h.reg, false)
		return nil
	})
}

// CabinetFault injects a fault into cabinet bia: ps1-off, ps2-off or
// remove (the whole cabinet leaves the stack).
func (h *Host) CabinetFault(bia int32, fault string) error {
	return h.change(func() error {
		c, ok := h.cab[ident.Cabinet(bia)]
		if !ok {
			return fmt.Errorf("no cabinet %d", bia)
		}
		switch fault {
		case "ps1-off":
			c.PS1 = false
		case "ps2-off":
			c.PS2 = false
		case "remove":
			c.Removed = true
		default:
			return fmt.Errorf("unknown cabinet fault %q: ps1-off, ps2-off or remove", fault)
		}
		return nil
	})
}

// RestoreCabinet clears every fault of cabinet bia.
func (h *Host) RestoreCabinet(bia int32) error {
	return h.change(func() error {
		c, ok := h.cab[ident.Cabinet(bia)]
		if !ok {
			return fmt.Errorf("no cabinet %d", bia)
		}
		c.PS1, c.PS2, c.Removed = true, true, false
		return nil
	})
}

// change applies fn under the lock and persists the result.
func (h *Host) change(fn func() error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := fn(); err != nil {
		return err
	}
	h.assignICIF() // a removed or inserted Expansion Management Module
	return h.save()
}

// State returns a copy of the device state (tests, status).
func (h *Host) State() State {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, _ := json.Marshal(h.st)
	var st State
	_ = json.Unmarshal(b, &st)
	return st
}
