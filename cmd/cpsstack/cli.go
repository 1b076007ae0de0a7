package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// options are every flag of every command; each command's FlagSet
// defines only its own (command.flags).
type options struct {
	run      string
	json     bool
	socket   string
	control  string
	state    string
	stack    string
	listen   string
	controls bool
	parallel int
}

// command is one line of the command line's table: what `cpsstack help`
// prints, and what `cpsstack CMD -h` prints with its flags.
type command struct {
	name    string // "up", "lab up"
	group   string // a key of groups; "" for internal commands
	args    string // operands, after the flags
	summary string
	example string
	// operands is how many operands follow FILE (stack commands); a
	// command that takes FILE and no other has 0.
	operands int
	flags    func(fs *flag.FlagSet, o *options)
}

// groups are the headings of `cpsstack help`, in order.
func groups() []struct{ key, title string } {
	return []struct{ key, title string }{
		{"run", "Run a stack (FILE: a stack file, e.g. examples/stack.yaml)"},
		{"inspect", "Inspect a running stack"},
		{"faults", "Faults and preferences"},
		{"lab", "Labs: many stacks from one lab file (e.g. examples/lab.yaml)"},
	}
}

func runFlag(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.run, "run", "", "the stack's run directory `DIR` (default run/stack-NAME); with it, FILE may be left out")
}

func labFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.run, "run", "", "the lab's run directory `DIR`, one subdirectory per stack (default run/lab-NAME); with it, LABFILE may be left out")
	fs.IntVar(&o.parallel, "parallel", 16, "work on `N` stacks at once")
}

// commands is the command line's table.
func commands() []command {
	return []command{
		{name: "up", group: "run", args: "[FILE]", flags: runFlag,
			summary: "start the chassis, and per module an snmpd and a cpsmm; return once every module answers and one is Primary (and holds the stack address, if any)",
			example: "cpsstack up examples/stack.yaml"},
		{name: "down", group: "run", args: "[FILE]", flags: runFlag,
			summary: "stop every process of the stack (modules first, then snmpds and the chassis)",
			example: "cpsstack down"},
		{name: "status", group: "inspect", args: "[FILE]",
			flags: func(fs *flag.FlagSet, o *options) {
				runFlag(fs, o)
				fs.BoolVar(&o.json, "json", false, "print the rows as JSON")
			},
			summary: "every module's role, eligibility and preference, which holds the stack address (if the stack file names one), then per module its negotiation state and peers",
			example: "cpsstack status -json"},
		{name: "primary", group: "inspect", args: "[FILE]", flags: runFlag,
			summary: "print the SNMP address of the module answering Primary",
			example: "snmpwalk -v2c -c public $(cpsstack primary) MCC16-MIB::cpsmm100Table"},
		{name: "web", group: "inspect", args: "[FILE]",
			flags: func(fs *flag.FlagSet, o *options) {
				runFlag(fs, o)
				fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "serve the page on `ADDR`")
				fs.BoolVar(&o.controls, "controls", false, "offer fault injection and WantPrimary on the page")
			},
			summary: "serve a live page of the stack until interrupted",
			example: "cpsstack web -controls"},
		{name: "fail", group: "faults", operands: 2, flags: runFlag,
			args: "[FILE] MODULE kill|hang|link-down|backplane-down|isolate|ip-down\n" +
				"[FILE] device CABINET/SLOT link-down|fault|remove|insert\n" +
				"[FILE] cabinet CABINET ps1-off|ps2-off|remove\n" +
				"[FILE] gateway IP down|loss PCT|delay DURATION",
			summary: "inject a fault into a module (kill: the module and its snmpd; hang: the module process; ip-down: no IP on its Ethernet side, link up), " +
				"a converter, a cabinet, or the gateway the IP monitors poll",
			example: "cpsstack fail bmm-a kill"},
		{name: "restore", group: "faults", operands: 1, flags: runFlag,
			args:    "[FILE] MODULE | device CABINET/SLOT | cabinet CABINET | gateway IP",
			summary: "clear every fault of a module (restarting what was killed), a converter, a cabinet or a gateway",
			example: "cpsstack restore bmm-a"},
		{name: "want", group: "faults", operands: 2, flags: runFlag,
			args:    "[FILE] MODULE yes|no|always",
			summary: "set a module's cpsmm100WantPrimary through the Primary",
			example: "cpsstack want bmm-c always"},
		{name: "lab up", group: "lab", args: "[LABFILE]", flags: labFlags,
			summary: "bring up every stack of the lab, showing modules ready of total; ends with a summary",
			example: "cpsstack lab up examples/lab.yaml"},
		{name: "lab status", group: "lab", args: "[LABFILE]",
			flags: func(fs *flag.FlagSet, o *options) {
				labFlags(fs, o)
				fs.BoolVar(&o.json, "json", false, "print every stack's summary and rows as JSON")
			},
			summary: "per stack its Primary, modules up and faults, then every module's row",
			example: "cpsstack lab status -run run/lab-lab"},
		{name: "lab down", group: "lab", args: "[LABFILE]", flags: labFlags,
			summary: "stop every stack of the lab",
			example: "cpsstack lab down examples/lab.yaml"},
		{name: "chassis", args: "-socket PATH [-control PATH] [-stack FILE] [-state FILE]",
			flags: func(fs *flag.FlagSet, o *options) {
				fs.StringVar(&o.socket, "socket", "", "backplane socket `PATH`")
				fs.StringVar(&o.control, "control", "", "control socket `PATH`")
				fs.StringVar(&o.state, "state", "", "device state `FILE`")
				fs.StringVar(&o.stack, "stack", "", "stack `FILE` whose devices the chassis carries")
			},
			summary: "carry a stack's backplane and converters (started by up; not for people)",
			example: "cpsstack chassis -socket /tmp/chassis.sock"},
	}
}

// lookup finds the command args names ("lab" takes the next word as
// well), and returns it with the arguments after its name.
func lookup(args []string) (command, []string, bool) {
	if len(args) == 0 {
		return command{}, nil, false
	}
	name, rest := args[0], args[1:]
	if name == "lab" && len(rest) > 0 {
		name, rest = "lab "+rest[0], rest[1:]
	}
	for _, c := range commands() {
		if c.name == name {
			return c, rest, true
		}
	}
	return command{}, nil, false
}

// flagSet is c's own FlagSet: it prints nothing itself; the caller turns
// -h into c's help and an error into a short usage.
func (c command) flagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("cpsstack "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if c.flags != nil {
		c.flags(fs, o)
	}
	return fs
}

// usageLines is "cpsstack NAME [flags] ARGS", one line per form.
func (c command) usageLines(fs *flag.FlagSet) []string {
	flags := ""
	fs.VisitAll(func(f *flag.Flag) {
		name, _ := flag.UnquoteUsage(f)
		if name != "" {
			name = " " + name
		}
		flags += fmt.Sprintf(" [-%s%s]", f.Name, name)
	})
	var out []string
	for _, a := range strings.Split(c.args, "\n") {
		out = append(out, strings.TrimRight("cpsstack "+c.name+flags+" "+a, " "))
	}
	return out
}

// shortUsage is the one line an error about c's command line ends with.
func (c command) shortUsage() string {
	return fmt.Sprintf("usage: %s (cpsstack help %s)", c.usageLines(c.flagSet(&options{}))[0], c.name)
}

// printCommandHelp is `cpsstack help CMD` and `cpsstack CMD -h`.
func printCommandHelp(w io.Writer, c command) {
	fs := c.flagSet(&options{})
	for i, l := range c.usageLines(fs) {
		if i == 0 {
			fmt.Fprintf(w, "usage: %s\n", l)
		} else {
			fmt.Fprintf(w, "       %s\n", l)
		}
	}
	fmt.Fprintf(w, "\n%s.\n", c.summary)
	if strings.Contains(c.args, "[FILE]") {
		fmt.Fprintln(w, "\nFILE is a stack file; without it, the one in -run DIR (its stack.path), else the one last brought up from this directory (run/current).")
	}
	if strings.Contains(c.args, "[LABFILE]") {
		fmt.Fprintln(w, "\nLABFILE is a lab file; without it, the one -run DIR was brought up from (its lab.path).")
	}
	fmt.Fprintln(w, "\nflags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nexample:\n  %s\n", c.example)
}

// printHelp is `cpsstack help` and `cpsstack -h`: the commands by group,
// each with its arguments and one example.
func printHelp(w io.Writer) {
	fmt.Fprintln(w, "cpsstack launches and inspects emulated Point System stacks: per stack a chassis (backplane),")
	fmt.Fprintln(w, "and per Base Management Module one snmpd and one cpsmm process.")
	fmt.Fprintln(w, "\nusage: cpsstack COMMAND [flags] [FILE] [operands]")
	for _, g := range groups() {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, c := range commands() {
			if c.group != g.key {
				continue
			}
			for _, a := range strings.Split(c.args, "\n") {
				fmt.Fprintf(w, "  %s %s\n", c.name, a)
			}
			fmt.Fprintf(w, "        %s\n        e.g. %s\n", c.summary, c.example)
		}
	}
	fmt.Fprintln(w, "\nWithout FILE, a command takes the stack of -run DIR, else the one last brought up from this directory.")
	fmt.Fprintln(w, "cpsstack help COMMAND (or cpsstack COMMAND -h) lists a command's flags.")
}
