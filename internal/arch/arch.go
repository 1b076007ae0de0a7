// Package arch holds the project's import rules: which package may depend
// on which, with the reason for each. Its test checks them against `go
// list`, so an arrow that runs back fails the build's tests.
package arch

import (
	"fmt"
	"sort"
	"strings"
)

// Module is the project's module path.
const Module = "github.com/cpsmm/cpsmm"

// Rule forbids the packages that Pkg matches to depend, directly or not,
// on any project package that Forbid matches, but those Except matches.
// Patterns are paths relative to Module; "x/..." is x and every package
// below it; "..." is every package of the project.
type Rule struct {
	Pkg    string
	Forbid []string
	Except []string
	Why    string
}

// Rules are the project's import rules.
func Rules() []Rule {
	runtime := []string{"agent/...", "stack/member", "stack/module", "stack/chassis", "stack/transport",
		"stack/backplane", "stack/device", "stack/configmsg", "negotiation/..."}
	return []Rule{
		{Pkg: "stack/stackfile", Forbid: runtime,
			Why: "configuration is read by the runtime, never the reverse: a stack file is validated against the catalog alone"},
		{Pkg: "stack/labfile", Forbid: runtime,
			Why: "a lab file is configuration, as a stack file is: it generates stack files and validates them with stack/stackfile alone"},
		{Pkg: "stack/device", Forbid: []string{"stack/stackfile", "stack/labfile"},
			Why: "a device is built from its own device.Spec; the stack file's format does not reach the device model"},
		{Pkg: "stack/chassis", Forbid: []string{"stack/module", "stack/member"},
			Why: "the chassis emulates hardware, not a management module; cabinet models come from the catalog"},
		{Pkg: "agent", Forbid: []string{"mib/..."}, Except: []string{"mib/smi"},
			Why: "the subagent serves any Handler and needs only the SMI vocabulary, not the object model"},
		{Pkg: "agent/pdu", Forbid: []string{"mib/..."}, Except: []string{"mib/smi"},
			Why: "the AgentX codec encodes SMI values; it knows no MIB objects"},
		{Pkg: "negotiation/...", Forbid: []string{"..."}, Except: []string{"stack/ident"},
			Why: "the election is a pure state machine: no I/O, no transport, no MIB, only the identities it orders"},
		{Pkg: "stack/trapmgr/...", Forbid: []string{"..."},
			Why: "the trap managers' failover is a pure state machine: the caller sends the informs and reports their acknowledgements"},
		{Pkg: "stack/ipmon", Forbid: []string{"..."},
			Why: "the IP monitor is a pure state machine: no I/O, no transport, no MIB; the member drives it"},
		{Pkg: "mib/...", Forbid: []string{"stack/...", "agent/...", "negotiation/...", "cmd/..."},
			Why: "the object model is below everything that uses it; it knows nothing of stacks or AgentX"},
		{Pkg: "mib/catalog", Forbid: []string{"..."}, Except: []string{"mib", "mib/smi"},
			Why: "the catalog is a leaf over the registry, so that configuration and runtime can both use it"},
		{Pkg: "stack/ident", Forbid: []string{"..."},
			Why: "the identity types are the vocabulary of every stack package: a leaf"},
		{Pkg: "stack/yamlerr", Forbid: []string{"..."},
			Why: "the configuration error is shared by every configuration reader: a leaf"},
		{Pkg: "stack/atomicfile", Forbid: []string{"..."},
			Why: "the atomic write is shared by every package that persists: a leaf"},
		{Pkg: "stack/module", Forbid: []string{"stack/member/...", "agent/...", "stack/transport", "stack/backplane", "negotiation/..."},
			Why: "the module's view and Set rules know nothing of AgentX, transports or the election: a stack reaches it through module.Stack"},
		{Pkg: "stack/member/configrpc", Forbid: []string{"stack/module", "stack/member", "stack/member/devcache", "negotiation/...", "agent/...", "stack/transport"},
			Why: "one job of the loop: requests and Acks through a Sender, nothing of the module, the election or the other parts"},
		{Pkg: "stack/member/devcache", Forbid: []string{"stack/member", "stack/member/configrpc", "negotiation/...", "agent/...", "stack/transport"},
			Why: "one job of the loop: the device cache through a Sender, nothing of the election or the other parts"},
		{Pkg: "stack/stackaddr", Forbid: []string{"stack/module", "stack/member/...", "agent/...", "stack/chassis"},
			Why: "the stack address follows the adverts as a peer hears them and relays datagrams; it knows nothing of a module's view or the devices"},
		{Pkg: "stack/web", Forbid: append(runtime, "stack/member/..."),
			Why: "the page sees the stack as an NMS and `cpsstack status` do (SNMP, the status rows, the logs), never its runtime"},
		{Pkg: "...", Forbid: []string{"cmd/..."},
			Why: "commands are at the top: nothing imports them"},
	}
}

// Package is what the check needs of `go list -json`: a package's import
// path and its (recursive) dependencies, tests excluded.
type Package struct {
	ImportPath string
	Deps       []string
}

// match reports whether the project package path (full import path)
// matches pattern (relative to Module).
func match(pattern, path string) bool {
	rel, ok := strings.CutPrefix(path, Module)
	if !ok || (rel != "" && rel[0] != '/') {
		return false // not a project package
	}
	rel = strings.TrimPrefix(rel, "/")
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == base || strings.HasPrefix(rel, base+"/")
	}
	return rel == pattern
}

func matchAny(patterns []string, path string) bool {
	for _, p := range patterns {
		if match(p, path) {
			return true
		}
	}
	return false
}

// Check returns one line per forbidden dependency, and one per rule whose
// Pkg matches no package (a rule about a renamed package checks nothing).
func Check(rules []Rule, pkgs []Package) []string {
	var out []string
	for _, r := range rules {
		matched := false
		for _, p := range pkgs {
			if !match(r.Pkg, p.ImportPath) {
				continue
			}
			matched = true
			for _, d := range p.Deps {
				if d == p.ImportPath || !matchAny(r.Forbid, d) || matchAny(r.Except, d) {
					continue
				}
				out = append(out, fmt.Sprintf("%s depends on %s: %s", p.ImportPath, d, r.Why))
			}
		}
		if !matched {
			out = append(out, fmt.Sprintf("rule for %s matches no package", r.Pkg))
		}
	}
	sort.Strings(out)
	return out
}
