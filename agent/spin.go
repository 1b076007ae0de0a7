package agent

import (
	"io"
	"net"
	"syscall"
	"time"
)

// spinReader reads a connection, first polling it without sleeping for a
// short while before parking in the runtime's poller. The master agent
// sends its next request within microseconds of our answer while it works
// through a walk or a GetBulk (one AgentX round trip per repetition); a
// parked reader pays a scheduler and CPU wake-up on every one of them,
// which dominated the round trip. The spin is bounded, so an idle session
// costs nothing.
type spinReader struct {
	rc   syscall.RawConn
	spin time.Duration
}

// newSpinReader returns a reader over c that spins for up to spin before
// sleeping, or c itself when c exposes no file descriptor or spin is 0.
func newSpinReader(c net.Conn, spin time.Duration) io.Reader {
	sc, ok := c.(syscall.Conn)
	if !ok || spin <= 0 {
		return c
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	return &spinReader{rc: rc, spin: spin}
}

func (r *spinReader) Read(p []byte) (int, error) {
	var n int
	var rerr error
	first := true
	err := r.rc.Read(func(fd uintptr) bool {
		var deadline time.Time
		for {
			n, rerr = syscall.Read(int(fd), p)
			if rerr == syscall.EINTR {
				continue
			}
			if rerr != syscall.EAGAIN {
				return true
			}
			if !first {
				return false // park until the poller says readable
			}
			now := time.Now()
			if deadline.IsZero() {
				deadline = now.Add(r.spin)
			} else if now.After(deadline) {
				first = false
				return false
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}
