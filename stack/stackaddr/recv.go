package stackaddr

import (
	"net"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"
)

// poller reads a UDP socket without waiting, through a duplicate of its
// descriptor: one recvfrom, with the sender's address decoded in place
// (syscall.Recvfrom would allocate it on every datagram). The duplicate
// keeps it clear of the runtime's read lock on the socket, which a
// goroutine parked in ReadFrom holds while it waits. The duplicate shares
// the socket's non-blocking flag.
type poller struct {
	mu     sync.Mutex // guards fd against close, and rsa
	fd     int        // -1 once closed
	rsa    syscall.RawSockaddrAny
	closed bool
}

func newPoller(c *net.UDPConn) (*poller, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = syscall.Dup(int(s)) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	syscall.CloseOnExec(fd)
	return &poller{fd: fd}, nil
}

// close closes the duplicate; recv then finds nothing.
func (p *poller) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		_ = syscall.Close(p.fd)
	}
}

// recv returns a datagram waiting on the socket, if there is one.
func (p *poller) recv(buf []byte) (int, netip.AddrPort, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(buf) == 0 {
		return 0, netip.AddrPort{}, false
	}
	for {
		l := uint32(syscall.SizeofSockaddrAny)
		r, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, uintptr(p.fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)),
			syscall.MSG_DONTWAIT, uintptr(unsafe.Pointer(&p.rsa)), uintptr(unsafe.Pointer(&l)))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, netip.AddrPort{}, false // EAGAIN: nothing; anything else, the blocking reader sees it
		}
		var from netip.AddrPort
		switch p.rsa.Addr.Family {
		case syscall.AF_INET:
			sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&p.rsa))
			from = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), sa.Port>>8|sa.Port<<8)
		case syscall.AF_INET6:
			sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&p.rsa))
			from = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), sa.Port>>8|sa.Port<<8)
		}
		return int(r), from, true
	}
}
