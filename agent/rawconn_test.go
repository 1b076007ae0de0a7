package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/agent/pdu"
	"github.com/cpsmm/cpsmm/mib/smi"
)

// unixPair returns both ends of a unix stream connection.
func unixPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// waitFor polls cond every millisecond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
	}
}

// blockedInRead reports whether a thread of this process sits in read(2)
// on fd (from /proc/self/task/*/syscall: number, then the arguments).
func blockedInRead(fd int) bool {
	tasks, _ := filepath.Glob("/proc/self/task/*/syscall")
	want := fmt.Sprintf("%d 0x%x ", syscall.SYS_READ, fd)
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err == nil && strings.HasPrefix(string(b), want) {
			return true
		}
	}
	return false
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestRawConnShutdownWakesBlockedReader: a reader blocked in read(2) on the
// duplicated descriptor returns end-of-file when the owner shuts the socket
// down; close then releases the descriptor, later writes fail cleanly, and
// no goroutine or descriptor is left behind.
func TestRawConnShutdownWakesBlockedReader(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("needs /proc")
	}
	goroutines := runtime.NumGoroutine()
	client, server := unixPair(t)
	fds := openFDs(t) - 1 // without the client's descriptor, closed by newRawConn
	c, err := newRawConn(client)
	if err != nil {
		t.Fatal(err)
	}
	if n := openFDs(t); n != fds+1 {
		t.Fatalf("after newRawConn %d descriptors, want %d (the duplicate only)", n, fds+1)
	}

	// It carries bytes both ways.
	if _, err := server.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if _, err := c.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(server, buf[:4]); err != nil || string(buf[:4]) != "pong" {
		t.Fatalf("peer read %q, %v", buf[:4], err)
	}

	readErr := make(chan error, 1)
	go func() {
		_, err := c.Read(buf)
		readErr <- err
	}()
	waitFor(t, 5*time.Second, "the reader to block in read(2)", func() bool { return blockedInRead(c.fd) })
	c.shutdown()
	select {
	case err := <-readErr:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("woken read returned %v, want EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown did not wake the blocked reader")
	}
	// The peer sees the end too.
	_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := server.Read(buf); !errors.Is(err, io.EOF) {
		t.Fatalf("peer read %d, %v after shutdown, want EOF", n, err)
	}

	c.close()
	c.close() // idempotent
	c.shutdown()
	if _, err := c.Write([]byte("late")); !errors.Is(err, errConnClosed) {
		t.Fatalf("write after close: %v, want errConnClosed", err)
	}
	if n := openFDs(t); n != fds {
		t.Errorf("after close %d descriptors, want %d", n, fds)
	}
	waitFor(t, 5*time.Second, "the goroutines to end", func() bool { return runtime.NumGoroutine() <= goroutines })
}

// TestRunLeavesNothing: sessions ended by the master (reconnects) and by
// the subagent's own shutdown leave no descriptor and no goroutine behind.
func TestRunLeavesNothing(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs /proc")
	}
	m, path := newTestMaster(t)
	goroutines := runtime.NumGoroutine()
	fds := openFDs(t)
	a, err := New(Config{Network: "unix", Address: path, Handler: testStore(t),
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		Registrations: []Registration{{Subtree: smi.MustOID("1.3.6.1.4.1.868.2.4")}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	for i := 0; i < 5; i++ {
		m.accept(1)
		res := m.ask(&pdu.Packet{Header: pdu.Header{Type: pdu.TypeGetNext},
			SearchRanges: []pdu.SearchRange{{Start: smi.MustOID("1.3.6.1.4.1.868.2.4")}}})
		if len(res.VarBinds) != 1 || res.VarBinds[0].Value.Type == smi.TypeEndOfMibView {
			t.Fatalf("session %d: getnext answered %+v", i, res.VarBinds)
		}
		if i < 4 {
			m.conn.Close() // the master goes away; the subagent comes back
		}
	}
	cancel()
	p := m.read()
	if p.Header.Type != pdu.TypeClose {
		t.Fatalf("on shutdown got type %d, want Close", p.Header.Type)
	}
	m.reply(p, 42, smi.NoError)
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	// The subagent shut its end: the master reads end-of-file.
	_ = m.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := pdu.ReadPacket(m.conn, 1<<20); !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("master read after Run returned: %v, want EOF", err)
	}
	m.conn.Close()
	if got := a.Sessions(); got != 5 {
		t.Errorf("sessions = %d, want 5", got)
	}
	waitFor(t, 5*time.Second, "descriptors back to the baseline", func() bool { return openFDs(t) <= fds })
	waitFor(t, 5*time.Second, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= goroutines })
}

// TestBusyReported: requests back to back make the session busy, a quiet
// second makes it not busy, and the end of the session too; the calls
// alternate.
func TestBusyReported(t *testing.T) {
	m, path := newTestMaster(t)
	calls := make(chan bool, 16)
	a, err := New(Config{Network: "unix", Address: path, Handler: testStore(t),
		Registrations: []Registration{{Subtree: smi.MustOID("1.3.6.1.4.1.868.2.4")}},
		Busy:          func(b bool) { calls <- b }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	m.accept(1)
	// walk asks back to back until the subagent reports busy.
	walk := func() {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			m.ask(&pdu.Packet{Header: pdu.Header{Type: pdu.TypeGetNext},
				SearchRanges: []pdu.SearchRange{{Start: smi.MustOID("1.3.6.1.4.1.868.2.4")}}})
			select {
			case b := <-calls:
				if !b {
					t.Fatal("Busy(false) while walked")
				}
				return
			default:
			}
		}
		t.Fatal("walked for 10s and never busy")
	}
	next := func(want bool, within time.Duration) {
		t.Helper()
		select {
		case b := <-calls:
			if b != want {
				t.Fatalf("Busy(%v), want Busy(%v)", b, want)
			}
		case <-time.After(within):
			t.Fatalf("no Busy(%v) within %s", want, within)
		}
	}
	walk()
	next(false, QuietAfter+5*time.Second)
	walk()
	// The session ends while busy: not busy any more.
	m.conn.Close()
	next(false, 5*time.Second)
	m.accept(1)
	<-a.Connected()
	cancel()
	p := m.read()
	m.reply(p, 42, smi.NoError)
	<-done
	select {
	case b := <-calls:
		t.Fatalf("Busy(%v) with no requests", b)
	default:
	}
}
