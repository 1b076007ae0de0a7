package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/stack/stackfile"
)

// statStart reads field 22 of /proc/PID/stat (the start time, in clock
// ticks after boot) and the state, field 3.
func statStart(t *testing.T, pid int) (uint64, string) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	start, err := strconv.ParseUint(f[22-3], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return start, f[0]
}

// sleeper starts `sleep 30`, reaped when it ends; done is closed then.
func sleeper(t *testing.T) (pid int, done chan struct{}) {
	t.Helper()
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done = make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	return cmd.Process.Pid, done
}

func exited(done chan struct{}, within time.Duration) bool {
	select {
	case <-done:
		return true
	case <-time.After(within):
		return false
	}
}

// TestSignalsOnlyOurs: a pid in the pids file whose process is no longer
// the one recorded (its start time differs: the pid was reused) is left
// alone by down and fail; the processes that are still ours are stopped.
func TestSignalsOnlyOurs(t *testing.T) {
	dir := t.TempDir()
	oursA, doneA := sleeper(t)
	oursB, doneB := sleeper(t)
	foreign, doneF := sleeper(t)
	startA, _ := statStart(t, oursA)
	startB, _ := statStart(t, oursB)
	startF, _ := statStart(t, foreign)
	pids := fmt.Sprintf("module m1 %d start=%d\nsnmpd m1 %d start=%d\nmodule m2 %d start=%d\n",
		oursA, startA, oursB, startB, foreign, startF+1)
	if err := os.WriteFile(filepath.Join(dir, "pids"), []byte(pids), 0o600); err != nil {
		t.Fatal(err)
	}

	st := &stackfile.Stack{Name: "t", Modules: []stackfile.Module{{Name: "m1"}, {Name: "m2"}}}
	if err := fail(st, dir, "m2", "kill"); err == nil {
		t.Error("fail m2 kill: no error, though m2's recorded process is gone")
	}
	if exited(doneF, 200*time.Millisecond) {
		t.Fatal("fail kill signalled a process that is not ours")
	}

	if err := down(dir); err != nil {
		t.Fatalf("down: %v", err)
	}
	if !exited(doneA, 10*time.Second) || !exited(doneB, 10*time.Second) {
		t.Fatal("down did not stop the processes that are ours")
	}
	if exited(doneF, 200*time.Millisecond) {
		t.Fatal("down signalled a process that is not ours")
	}
	if _, state := statStart(t, foreign); state != "S" && state != "R" {
		t.Fatalf("the foreign process is in state %s", state)
	}
	if syscall.Kill(foreign, 0) != nil {
		t.Fatal("the foreign process is gone")
	}
	if _, err := os.Stat(filepath.Join(dir, "pids")); !os.IsNotExist(err) {
		t.Errorf("pids file after down: %v", err)
	}
}

// The pids file stays readable by people: one process a line.
func TestPidsFileFormat(t *testing.T) {
	dir := t.TempDir()
	pid, _ := sleeper(t)
	start, _ := statStart(t, pid)
	if err := record(dir, "snmpd", "m1", pid); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "pids"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("snmpd m1 %d start=%d\n", pid, start); string(b) != want {
		t.Fatalf("pids file %q, want %q", b, want)
	}
	p, err := procOf(dir, "snmpd", "m1")
	if err != nil || p.pid != pid || p.start != start || !p.running() {
		t.Fatalf("procOf: %+v %v", p, err)
	}
}
