// Package web serves a live page of a running stack: its cabinets as front
// panels, every slot's device with its LEDs in words, the modules' roles,
// the paths between them and recent events, updated through server-sent
// events. Its data is what an NMS and `cpsstack status` see: the modules'
// status rows (the command's JSON, through Config.Status), a walk of one
// agent's Point System subtree (gosnmp) and the processes' logs; the page
// says where each item comes from. Fault injection and WantPrimary go
// through Controls, the command's own code, and only when it is given.
package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/catalog"
	"github.com/cpsmm/cpsmm/stack/stackfile"
)

//go:embed assets
var assets embed.FS

// Controls are the stack's fault injection and WantPrimary, as the command
// line does them.
type Controls interface {
	// Fail and Restore take the operands of `cpsstack fail` and `cpsstack
	// restore` after FILE.
	Fail(ctx context.Context, ops []string) error
	Restore(ctx context.Context, ops []string) error
	// SetWant sets a module's WantPrimary through the Primary.
	SetWant(ctx context.Context, module, want string) error
	// Faults are the faults Fail offers for a module, a device and a
	// cabinet.
	Faults() (module, device, cabinet []string)
}

// Config configures a Server.
type Config struct {
	Stack *stackfile.Stack
	// Status returns `cpsstack status --json` of the stack.
	Status func(context.Context) ([]byte, error)
	// Logs are read for events.
	Logs []LogFile
	// Controls, if not nil, are offered on the page.
	Controls Controls
	// Every is how often the stack is read (default 250 ms).
	Every time.Duration
	// SNMPTimeout bounds one request of the walk (default 400 ms).
	SNMPTimeout time.Duration
	Log         logrus.FieldLogger
}

// maxEvents is how many events the page keeps.
const maxEvents = 60

// Server is the page's HTTP server.
type Server struct {
	cfg   Config
	reg   *mib.Registry
	cat   *catalog.Catalog
	tmpl  *template.Template
	forms *ControlForms
	notes chan Event // events from the control handlers, for the loop

	mu      sync.Mutex // guards what the loop publishes
	version uint64
	live    []byte // the live part of the page, rendered
	state   []byte // the View as JSON
	changed chan struct{}
}

// New builds a server; Run reads the stack, Handler serves the page.
func New(cfg Config) (*Server, error) {
	if cfg.Stack == nil || cfg.Status == nil {
		return nil, errors.New("web: a stack and its status are needed")
	}
	if cfg.Every <= 0 {
		cfg.Every = 250 * time.Millisecond
	}
	if cfg.SNMPTimeout <= 0 {
		cfg.SNMPTimeout = 400 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = logrus.New()
	}
	reg := mib.DefaultRegistry()
	cat, err := catalog.New(reg)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	tmpl, err := template.New("page").Funcs(template.FuncMap{
		"clock": func(t time.Time) string { return t.Format("15:04:05.000") },
	}).ParseFS(assets, "assets/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s := &Server{cfg: cfg, reg: reg, cat: cat, tmpl: tmpl, notes: make(chan Event, 64), changed: make(chan struct{})}
	if c := cfg.Controls; c != nil {
		f := &ControlForms{Wants: []string{"yes", "no", "always"}}
		f.ModuleFaults, f.DeviceFaults, f.CabinetFaults = c.Faults()
		for _, m := range cfg.Stack.Modules {
			f.Modules = append(f.Modules, m.Name)
		}
		for _, d := range cfg.Stack.Devices {
			f.Devices = append(f.Devices, d.At().String())
		}
		for _, cb := range cfg.Stack.Cabinets {
			f.Cabinets = append(f.Cabinets, strconv.Itoa(int(cb.Bia)))
		}
		s.forms = f
	}
	s.publish(&View{Stack: cfg.Stack.Name, Taken: time.Now()})
	return s, nil
}

// Serve runs the loop and serves the page on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go s.Run(ctx)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Run reads the stack every cfg.Every until ctx ends: the one writer of
// the published page.
func (s *Server) Run(ctx context.Context) {
	l := s.newLoop()
	t := time.NewTicker(s.cfg.Every)
	defer t.Stop()
	for {
		s.step(ctx, l)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case e := <-s.notes: // a control's outcome: shown at once
			l.pending = append(l.pending, e)
		}
	}
}

// loop is what the loop keeps between readings.
type loop struct {
	tails           []*tail
	events, pending []Event
	prev            map[string]fact
}

func (s *Server) newLoop() *loop {
	l := &loop{}
	for _, f := range s.cfg.Logs {
		l.tails = append(l.tails, newTail(f))
	}
	return l
}

// step takes one reading, adds the events since the last and publishes
// the page.
func (s *Server) step(ctx context.Context, l *loop) {
	v := s.read(ctx)
	var fresh []Event
	cur := v.facts()
	if l.prev != nil {
		fresh = append(fresh, changes(l.prev, cur, v.Taken)...)
	}
	l.prev = cur
	for _, tl := range l.tails {
		for _, line := range tl.lines() {
			if e, ok := logEvent(tl.Name, line); ok {
				fresh = append(fresh, e)
			}
		}
	}
	fresh, l.pending = append(fresh, l.pending...), nil
	l.events = mergeEvents(l.events, fresh)
	v.Events = l.events
	s.publish(v)
}

// mergeEvents adds fresh to events, newest first, keeping maxEvents.
func mergeEvents(events, fresh []Event) []Event {
	all := append(slices.Clone(fresh), events...)
	slices.SortStableFunc(all, func(a, b Event) int { return b.Time.Compare(a.Time) })
	if len(all) > maxEvents {
		all = all[:maxEvents]
	}
	return all
}

// read takes one picture: the status rows, then a walk of the Primary's
// agent (or, with no Primary, of the first that answers).
func (s *Server) read(ctx context.Context) *View {
	now := time.Now()
	data, err := s.cfg.Status(ctx)
	var rows []Row
	if err == nil {
		rows, err = DecodeRows(data)
	}
	if err != nil {
		s.cfg.Log.WithError(err).Warn("status not read")
	}
	order := make([]Row, 0, len(rows))
	for _, r := range rows {
		if r.Role == "primary" {
			order = append(order, r)
		}
	}
	for _, r := range rows {
		if r.Role != "primary" && r.Err == "" {
			order = append(order, r)
		}
	}
	var nms *nmsView
	for _, r := range order {
		nms = walk(s.reg, r.Module, r.SNMP, s.cat.Subtree(), s.cfg.SNMPTimeout)
		if nms.Err == "" {
			break
		}
	}
	if nms == nil {
		nms = &nmsView{From: "no module", Err: "no module answers SNMP"}
	}
	v := build(s.cfg.Stack, s.cat, s.reg, rows, nms, now)
	if err != nil {
		v.NMSErr = "status: " + err.Error()
	}
	return v
}

// publish renders v and wakes the page's event streams.
func (s *Server) publish(v *View) {
	var b bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&b, "live", v); err != nil {
		s.cfg.Log.WithError(err).Error("page not rendered")
		return
	}
	state, err := json.Marshal(v)
	if err != nil {
		s.cfg.Log.WithError(err).Error("state not encoded")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	s.live, s.state = b.Bytes(), state
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) current() (uint64, []byte, []byte, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version, s.live, s.state, s.changed
}

// Handler serves the page (/), its live part (/live), the state as JSON
// (/state), the event stream (/events) and, with controls, /control.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("GET /live", func(w http.ResponseWriter, r *http.Request) {
		_, live, _, _ := s.current()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(live)
	})
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) {
		_, _, state, _ := s.current()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(state)
	})
	mux.HandleFunc("GET /events", s.events)
	mux.HandleFunc("POST /control", s.control)
	return mux
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	_, live, _, _ := s.current()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	err := s.tmpl.ExecuteTemplate(w, "page.html", struct {
		Stack    string
		Live     template.HTML
		Controls *ControlForms
	}{s.cfg.Stack.Name, template.HTML(live), s.forms}) // live: rendered by our template
	if err != nil {
		s.cfg.Log.WithError(err).Warn("page not served")
	}
}

// events streams the live part of the page: one message now, one on every
// change.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	var sent uint64
	for {
		v, live, _, changed := s.current()
		if v != sent {
			msg, _ := json.Marshal(struct {
				V    uint64 `json:"v"`
				HTML string `json:"html"`
			}{v, string(live)})
			if _, err := fmt.Fprintf(w, "id: %d\ndata: %s\n\n", v, msg); err != nil {
				return
			}
			fl.Flush()
			sent = v
		}
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		}
	}
}

// control carries out one control of the page's forms.
func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	c := s.cfg.Controls
	if c == nil {
		http.Error(w, "controls are off (cpsstack web -controls turns them on)", http.StatusForbidden)
		return
	}
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
		http.Error(w, "cross-origin control refused", http.StatusForbidden)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	action, what := r.PostForm.Get("action"), ""
	var run func() error
	switch action {
	case "fail", "restore":
		ops, err := s.operands(action, r.PostForm.Get("target"), r.PostForm.Get("name"), r.PostForm.Get("fault"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		what = fmt.Sprint(action, " ", ops)
		run = func() error {
			if action == "fail" {
				return c.Fail(r.Context(), ops)
			}
			return c.Restore(r.Context(), ops)
		}
	case "want":
		name, want := r.PostForm.Get("name"), r.PostForm.Get("want")
		if !slices.Contains(s.forms.Modules, name) || !slices.Contains(s.forms.Wants, want) {
			http.Error(w, fmt.Sprintf("want: no module %q or value %q", name, want), http.StatusBadRequest)
			return
		}
		what = fmt.Sprintf("WantPrimary of %s = %s through the Primary", name, want)
		run = func() error { return c.SetWant(r.Context(), name, want) }
	default:
		http.Error(w, fmt.Sprintf("unknown action %q: fail, restore or want", action), http.StatusBadRequest)
		return
	}
	err := run()
	e := Event{Time: time.Now(), Text: "page: " + what + ": ok", Source: "this page's controls"}
	if err != nil {
		e.Text = "page: " + what + ": " + err.Error()
	}
	select {
	case s.notes <- e:
	default: // the loop is behind: the outcome is still answered below
	}
	s.cfg.Log.WithFields(logrus.Fields{"control": what, "error": err}).Info("control from the page")
	if r.Header.Get("X-Cpsstack") != "fetch" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if err != nil {
		http.Error(w, e.Text, http.StatusConflict)
		return
	}
	fmt.Fprintln(w, e.Text)
}

// operands checks a form's target against the stack and the faults
// offered, and returns the command line's operands.
func (s *Server) operands(action, target, name, fault string) ([]string, error) {
	f := s.forms
	var names, faults []string
	switch target {
	case "module":
		names, faults = f.Modules, f.ModuleFaults
	case "device":
		names, faults = f.Devices, f.DeviceFaults
	case "cabinet":
		names, faults = f.Cabinets, f.CabinetFaults
	default:
		return nil, fmt.Errorf("unknown target %q: module, device or cabinet", target)
	}
	if !slices.Contains(names, name) {
		return nil, fmt.Errorf("no %s %q in stack %s", target, name, s.cfg.Stack.Name)
	}
	var ops []string
	if target != "module" {
		ops = append(ops, target)
	}
	ops = append(ops, name)
	if action == "fail" {
		if !slices.Contains(faults, fault) {
			return nil, fmt.Errorf("no %s fault %q (offered: %v)", target, fault, faults)
		}
		ops = append(ops, fault)
	}
	return ops, nil
}
