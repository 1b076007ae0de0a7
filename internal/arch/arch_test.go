package arch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// goList lists every package of the module with its dependencies.
func goList(t *testing.T) []Package {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(goBin); err != nil {
		goBin = "go"
	}
	cmd := exec.Command(goBin, "list", "-json", Module+"/...")
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p Package
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	for _, v := range Check(Rules(), goList(t)) {
		t.Error(v)
	}
}

func TestEveryRuleHasAReason(t *testing.T) {
	for _, r := range Rules() {
		if strings.TrimSpace(r.Why) == "" || len(r.Forbid) == 0 {
			t.Errorf("rule for %s: no reason or nothing forbidden", r.Pkg)
		}
	}
}

// The checker itself: it reports what the rules forbid and nothing else.
func TestCheckFindsBackwardArrows(t *testing.T) {
	p := func(path string, deps ...string) Package {
		pk := Package{ImportPath: Module + "/" + path}
		for _, d := range deps {
			if strings.Contains(d, ".") {
				pk.Deps = append(pk.Deps, d) // outside the project
			} else {
				pk.Deps = append(pk.Deps, Module+"/"+d)
			}
		}
		return pk
	}
	rules := []Rule{
		{Pkg: "stack/stackfile", Forbid: []string{"stack/module", "agent/..."}, Why: "config below runtime"},
		{Pkg: "negotiation/...", Forbid: []string{"..."}, Except: []string{"stack/ident"}, Why: "pure"},
		{Pkg: "stack/gone", Forbid: []string{"..."}, Why: "renamed"},
	}
	got := Check(rules, []Package{
		p("stack/stackfile", "stack/ident", "stack/module", "agent/pdu", "gopkg.in/yaml.v3", "stack/modules"),
		p("negotiation", "stack/ident", "mib/smi", "golang.org/x/sys"),
		p("negotiation/sim", "negotiation"),
		p("stack/module", "stack/stackfile"),
	})
	want := []string{
		Module + "/negotiation depends on " + Module + "/mib/smi: pure",
		Module + "/negotiation/sim depends on " + Module + "/negotiation: pure",
		Module + "/stack/stackfile depends on " + Module + "/agent/pdu: config below runtime",
		Module + "/stack/stackfile depends on " + Module + "/stack/module: config below runtime",
		"rule for stack/gone matches no package",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"mib/...", Module + "/mib", true},
		{"mib/...", Module + "/mib/smi", true},
		{"mib/...", Module + "/mibx", false},
		{"mib", Module + "/mib/smi", false},
		{"...", Module, true},
		{"...", "github.com/cpsmm/cpsmmx/y", false},
		{"...", "gopkg.in/yaml.v3", false},
	} {
		if got := match(tc.pattern, tc.path); got != tc.want {
			t.Errorf("match(%q, %q) = %v", tc.pattern, tc.path, got)
		}
	}
}
