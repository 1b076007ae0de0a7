package agent

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// rawConn is the AgentX socket taken out of the Go netpoller: a duplicate
// of the dialled connection's descriptor in blocking mode, read with
// read(2) by the session's reader goroutine and written with write(2).
//
// Why: the master sends one AgentX request per varbind of a walk or a
// GetBulk, each within microseconds of our previous answer. Through the
// netpoller every one of them costs an epoll wake-up and a hand-off to the
// reader goroutine; a blocking read(2) returns straight into it. Measured
// on a 2-core machine this took the subagent's CPU per varbind down and
// the aggregate of several modules walked at once up (see README,
// Performance). The thread blocked in read(2) costs nothing while idle.
//
// Lifetime: one goroutine reads. The owner stops it with shutdown, which
// makes a blocked read(2) return end-of-file, waits for the reader to
// return and only then calls close: closing a descriptor another thread is
// blocked on neither wakes it reliably nor is safe against the number
// being reused. Writes hold wmu and fail once closed is set, so a late
// write never reaches a reused descriptor.
type rawConn struct {
	fd int

	wmu    sync.Mutex
	closed bool // guarded by wmu

	down atomic.Bool // shutdown done
}

// errConnClosed is returned by writes after close.
var errConnClosed = errors.New("agentx: connection closed")

// newRawConn duplicates c's descriptor, closes c (which takes it out of the
// netpoller) and returns the duplicate in blocking mode.
func newRawConn(c net.Conn) (*rawConn, error) {
	defer c.Close()
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("agentx: %T exposes no descriptor", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("agentx: descriptor: %w", err)
	}
	fd := -1
	var derr error
	if err := rc.Control(func(orig uintptr) {
		// Under ForkLock so that no child started meanwhile inherits it.
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		if fd, derr = syscall.Dup(int(orig)); derr == nil {
			syscall.CloseOnExec(fd)
		}
	}); err != nil {
		return nil, fmt.Errorf("agentx: descriptor: %w", err)
	}
	if derr != nil {
		return nil, fmt.Errorf("agentx: %w", os.NewSyscallError("dup", derr))
	}
	// O_NONBLOCK belongs to the open file, shared with c's descriptor;
	// c is closed on return and never used again.
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("agentx: %w", os.NewSyscallError("fcntl", err))
	}
	return &rawConn{fd: fd}, nil
}

// Read is read(2); 0 bytes is end-of-file. Only the reader goroutine calls
// it, and never after close.
func (c *rawConn) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(c.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, os.NewSyscallError("read", err)
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write writes all of b with write(2).
func (c *rawConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return 0, errConnClosed
	}
	done := 0
	for done < len(b) {
		n, err := syscall.Write(c.fd, b[done:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return done, os.NewSyscallError("write", err)
		}
		done += n
	}
	return done, nil
}

// shutdown shuts the socket down both ways: a read(2) blocked in the
// reader returns end-of-file, a blocked write(2) fails, the master sees
// the session end. The owner calls it before close, never after.
func (c *rawConn) shutdown() {
	if c.down.Swap(true) {
		return
	}
	_ = syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
}

// close releases the descriptor; the reader must have returned.
func (c *rawConn) close() {
	c.shutdown()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	_ = syscall.Close(c.fd)
}
