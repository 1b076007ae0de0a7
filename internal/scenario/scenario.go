// Package scenario runs data-driven test files in the style of
// etcd-io/raft's: a command per line, and after a command whose output is
// checked, the expected output between "----" and a blank line. Blank
// lines and lines starting with # are skipped. With REWRITE=1 in the
// environment the expected outputs are rewritten from what the commands
// print.
package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Exec carries out one command of a file and returns what it prints.
type Exec func(cmd string) (string, error)

// Run runs every file matching glob as a subtest named for the file; each
// file gets a fresh Exec from start.
func Run(t *testing.T, glob string, start func() Exec) { run(t, glob, start, false) }

// RunChecked is Run where a command that prints something must be followed
// by its expected output: nothing a command prints goes unchecked.
func RunChecked(t *testing.T, glob string, start func() Exec) { run(t, glob, start, true) }

func run(t *testing.T, glob string, start func() Exec, checked bool) {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files %s: %v", glob, err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { file(t, f, start(), checked) })
	}
}

func file(t *testing.T, file string, exec Exec, checked bool) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var out strings.Builder // the rewritten file
	rewrite := os.Getenv("REWRITE") != ""
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		out.WriteString(line + "\n")
		cmd := strings.TrimSpace(line)
		if cmd == "" || strings.HasPrefix(cmd, "#") {
			continue
		}
		got, err := exec(cmd)
		if err != nil {
			t.Fatalf("%s:%d: %s: %v", file, i+1, cmd, err)
		}
		expected := i+1 < len(lines) && strings.TrimSpace(lines[i+1]) == "----"
		if checked && got != "" && !expected && !rewrite {
			t.Fatalf("%s:%d: %q prints, and no expected output follows", file, i+1, cmd)
		}
		if expected {
			j := i + 2
			var want []string
			for ; j < len(lines) && strings.TrimSpace(lines[j]) != ""; j++ {
				want = append(want, lines[j])
			}
			wantS, gotS := strings.Join(want, "\n"), strings.TrimRight(got, "\n")
			if gotS != wantS && !rewrite {
				t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", file, i+1, cmd, gotS, wantS)
			}
			out.WriteString("----\n" + gotS + "\n")
			i = j - 1
		}
	}
	if rewrite {
		if err := os.WriteFile(file, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
