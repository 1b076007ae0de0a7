package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/cpsmm/cpsmm/stack/labfile"
)

// A lab's run directory holds lab.path (the lab file) and one run
// directory per stack, named after it, each holding its generated
// stack.yaml and the stack.path that names it: `cpsstack status -run
// DIR/STACK` works as for any stack.

// runLab carries out `cpsstack lab up|status|down [LABFILE]`.
func runLab(c command, o options, rest []string) error {
	var file string
	switch {
	case len(rest) == 1:
		file = rest[0]
	case len(rest) == 0 && o.run != "":
		b, err := os.ReadFile(filepath.Join(o.run, "lab.path"))
		if err != nil {
			return fmt.Errorf("no lab file given and none recorded in %s: %w\n%s", o.run, err, c.shortUsage())
		}
		file = strings.TrimSpace(string(b))
	default:
		return errors.New(c.shortUsage())
	}
	lab, err := labfile.Load(file)
	if err != nil {
		return err
	}
	dir := o.run
	if dir == "" {
		dir = filepath.Join("run", "lab-"+lab.Name)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	if o.parallel < 1 {
		return fmt.Errorf("-parallel %d: want at least 1", o.parallel)
	}
	switch c.name {
	case "lab up":
		return labUp(os.Stdout, os.Stderr, file, lab, dir, o.parallel)
	case "lab status":
		return labStatus(os.Stdout, lab, dir, o.json, o.parallel)
	case "lab down":
		return labDown(os.Stdout, os.Stderr, lab, dir, o.parallel)
	}
	return fmt.Errorf("command %q has no action", c.name)
}

// isTerminal tells whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress shows how far a lab command has come: on a terminal one line
// rewritten five times a second, elsewhere a line every five seconds.
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time
	line  func() string
	stop  chan struct{}
	done  chan struct{}
}

func startProgress(w io.Writer, line func() string) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = isTerminal(f)
	}
	p := &progress{w: w, tty: tty, start: time.Now(), line: line, stop: make(chan struct{}), done: make(chan struct{})}
	every := 5 * time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				if p.tty {
					fmt.Fprintf(p.w, "\r\033[K")
				}
				return
			case <-t.C:
				p.show()
			}
		}
	}()
	return p
}

func (p *progress) elapsed() time.Duration { return time.Since(p.start).Round(100 * time.Millisecond) }

func (p *progress) show() {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s, %s", p.line(), p.elapsed())
		return
	}
	fmt.Fprintf(p.w, "%s, %s\n", p.line(), p.elapsed())
}

func (p *progress) finish() {
	close(p.stop)
	<-p.done
}

// labUp brings every stack of the lab up, parallel at a time: it writes
// each stack's file into its run directory and runs up there. Progress
// goes to prog, the summary to out.
func labUp(out, prog io.Writer, file string, lab *labfile.Lab, dir string, parallel int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "lab.path"), []byte(abs+"\n"), 0o644); err != nil {
		return err
	}
	answering := make([]atomic.Int64, len(lab.Stacks))
	var settled, failed atomic.Int64
	total := func() int64 {
		var n int64
		for i := range answering {
			n += answering[i].Load()
		}
		return n
	}
	p := startProgress(prog, func() string {
		return fmt.Sprintf("lab %s: %d of %d modules ready, %d of %d stacks up, %d failed", lab.Name, total(), lab.Modules,
			settled.Load(), len(lab.Stacks), failed.Load())
	})
	errs := make([]error, len(lab.Stacks))
	eachStack(len(lab.Stacks), parallel, func(i int) {
		s := lab.Stacks[i]
		sdir := filepath.Join(dir, s.Name)
		if _, err := os.Stat(filepath.Join(sdir, "pids")); err == nil {
			errs[i] = fmt.Errorf("%s already holds a running stack (cpsstack lab down first)", sdir)
			failed.Add(1)
			return
		}
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			errs[i] = err
			failed.Add(1)
			return
		}
		sfile := filepath.Join(sdir, "stack.yaml")
		if err := os.WriteFile(sfile, s.Text, 0o644); err != nil {
			errs[i] = err
			failed.Add(1)
			return
		}
		_, err := up(sfile, s.Stack, sdir, func(n int) { answering[i].Store(int64(n)) }, false)
		if err != nil {
			errs[i] = err
			failed.Add(1)
			return
		}
		settled.Add(1)
	})
	p.finish()
	took := time.Since(p.start)
	ready := total()
	fmt.Fprintf(out, "lab %s: %d of %d stacks up, %d of %d modules ready in %s (%.1f modules/s); run directory %s\n",
		lab.Name, settled.Load(), len(lab.Stacks), ready, lab.Modules, took.Round(100*time.Millisecond), float64(ready)/took.Seconds(), dir)
	return stackErrors(out, lab, errs, "did not come up")
}

// stackErrors prints each stack's error and returns one error saying how
// many failed, or nil.
func stackErrors(out io.Writer, lab *labfile.Lab, errs []error, what string) error {
	n := 0
	for i, err := range errs {
		if err != nil {
			n++
			fmt.Fprintf(out, "  %s: %v\n", lab.Stacks[i].Name, err)
		}
	}
	if n > 0 {
		return fmt.Errorf("%d of %d stacks %s", n, len(lab.Stacks), what)
	}
	return nil
}

// eachStack calls f(0..n-1), parallel at a time, and returns when every
// call has.
func eachStack(n, parallel int, f func(i int)) {
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}

// labDown stops every stack of the lab that runs, parallel at a time.
func labDown(out, prog io.Writer, lab *labfile.Lab, dir string, parallel int) error {
	var stopped, skipped, modulesDown atomic.Int64
	p := startProgress(prog, func() string {
		return fmt.Sprintf("lab %s: %d of %d modules down, %d of %d stacks", lab.Name, modulesDown.Load(), lab.Modules,
			stopped.Load()+skipped.Load(), len(lab.Stacks))
	})
	errs := make([]error, len(lab.Stacks))
	eachStack(len(lab.Stacks), parallel, func(i int) {
		sdir := filepath.Join(dir, lab.Stacks[i].Name)
		defer modulesDown.Add(int64(len(lab.Stacks[i].Stack.Modules)))
		if _, err := os.Stat(filepath.Join(sdir, "pids")); err != nil {
			skipped.Add(1) // never brought up, or down already
			return
		}
		if err := down(sdir); err != nil {
			errs[i] = err
			return
		}
		stopped.Add(1)
	})
	p.finish()
	fmt.Fprintf(out, "lab %s: %d stacks stopped, %d were not running, in %s\n", lab.Name, stopped.Load(), skipped.Load(),
		time.Since(p.start).Round(100*time.Millisecond))
	return stackErrors(out, lab, errs, "did not stop cleanly")
}

// stackSummary is one stack of `cpsstack lab status`.
type stackSummary struct {
	Stack   string   `json:"stack"`
	Primary string   `json:"primary,omitempty"`
	Up      int      `json:"modules_up"`
	Modules int      `json:"modules"`
	Faults  []string `json:"faults,omitempty"`
	Rows    []row    `json:"rows,omitempty"`
}

// summarize is one stack's summary from its rows and its processes.
func summarize(name, dir string, rows []row) stackSummary {
	s := stackSummary{Stack: name, Modules: len(rows), Rows: rows}
	ps, err := readProcs(dir)
	if err != nil {
		s.Faults = append(s.Faults, "not running")
		s.Rows = nil
		return s
	}
	newest := map[string]proc{}
	for _, p := range ps {
		newest[p.kind+" "+p.name] = p
	}
	var dead []string
	for k, p := range newest {
		if !p.running() {
			dead = append(dead, k)
		}
	}
	if len(dead) > 0 {
		slices.Sort(dead)
		s.Faults = append(s.Faults, "not running: "+strings.Join(dead, ", "))
	}
	var primaries, silent []string
	for _, r := range rows {
		switch {
		case r.Err != "":
			silent = append(silent, r.Module)
		case r.Role == "primary":
			primaries = append(primaries, r.Module)
		}
		if r.Err == "" {
			s.Up++
		}
	}
	if len(silent) > 0 {
		s.Faults = append(s.Faults, "not answering: "+strings.Join(silent, ", "))
	}
	switch len(primaries) {
	case 0:
		s.Faults = append(s.Faults, "no Primary")
	case 1:
		s.Primary = primaries[0]
	default:
		s.Primary = strings.Join(primaries, "+")
		s.Faults = append(s.Faults, fmt.Sprintf("%d Primaries", len(primaries)))
	}
	return s
}

// labStatus prints per stack its Primary, modules up and faults, a total,
// then every module's row; it asks parallel stacks at once.
func labStatus(out io.Writer, lab *labfile.Lab, dir string, asJSON bool, parallel int) error {
	sums := make([]stackSummary, len(lab.Stacks))
	eachStack(len(lab.Stacks), parallel, func(i int) {
		s := lab.Stacks[i]
		sdir := filepath.Join(dir, s.Name)
		var rows []row
		if _, err := os.Stat(filepath.Join(sdir, "pids")); err == nil {
			rows = query(s.Stack)
		} else {
			rows = make([]row, len(s.Stack.Modules))
		}
		sums[i] = summarize(s.Name, sdir, rows)
	})
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(sums)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STACK\tPRIMARY\tMODULES UP\tFAULTS")
	up, modules, faulty := 0, 0, 0
	for _, s := range sums {
		faults := strings.Join(s.Faults, "; ")
		if faults == "" {
			faults = "-"
		} else {
			faulty++
		}
		primary := s.Primary
		if primary == "" {
			primary = "-"
		}
		up += s.Up
		modules += s.Modules
		fmt.Fprintf(w, "%s\t%s\t%d/%d\t%s\n", s.Stack, primary, s.Up, s.Modules, faults)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nlab %s: %d stacks, %d of %d modules up, %d stacks with faults\n\n", lab.Name, len(sums), up, modules, faulty)
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STACK\tMODULE\tCABINET/SLOT\tSNMP\tROLE\tCAN\tWANT")
	for _, s := range sums {
		for _, r := range s.Rows {
			role := r.Role
			if r.Err != "" {
				role = "not answering"
			}
			fmt.Fprintf(w, "%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", s.Stack, r.Module, r.Cabinet, r.Slot, r.SNMP, role, r.Can, r.Want)
		}
	}
	return w.Flush()
}
