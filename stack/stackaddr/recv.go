package stackaddr

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// poller reads a UDP socket without waiting: one recvfrom on its
// non-blocking descriptor, with the sender's address decoded in place
// (syscall.Recvfrom would allocate it on every datagram).
type poller struct {
	rc  syscall.RawConn
	rsa syscall.RawSockaddrAny
}

func newPoller(c *net.UDPConn) (*poller, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &poller{rc: rc}, nil
}

// recv returns a datagram waiting on the socket, if there is one.
func (p *poller) recv(buf []byte) (int, netip.AddrPort, bool) {
	var n int
	var from netip.AddrPort
	got := false
	_ = p.rc.Read(func(fd uintptr) bool {
		for {
			l := uint32(syscall.SizeofSockaddrAny)
			r, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0,
				uintptr(unsafe.Pointer(&p.rsa)), uintptr(unsafe.Pointer(&l)))
			if e == syscall.EINTR {
				continue
			}
			if e != 0 {
				return true // EAGAIN: nothing waiting; any other error: the blocking reader will see it
			}
			n, got = int(r), true
			switch p.rsa.Addr.Family {
			case syscall.AF_INET:
				sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&p.rsa))
				port := uint16(sa.Port>>8) | uint16(sa.Port<<8)
				from = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port)
			case syscall.AF_INET6:
				sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&p.rsa))
				port := uint16(sa.Port>>8) | uint16(sa.Port<<8)
				from = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
			}
			return true
		}
	})
	return n, from, got
}
