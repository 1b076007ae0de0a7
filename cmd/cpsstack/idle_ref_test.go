package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// idlePeerEnv makes the test binary a reference peer for BenchmarkIdle
// instead of running tests: "PORT,PEERPORT,PEERPORT…".
const idlePeerEnv = "CPSMM_IDLE_PEER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(idlePeerEnv); spec != "" {
		if err := idlePeer(spec); err != nil {
			fmt.Fprintln(os.Stderr, "idle peer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// idlePeer is the floor an idle module is measured against: a minimal Go
// process (one P, as cpsmm) that does what a settled module's network does
// and nothing else — every second, on the second, two 72-octet frames to
// each peer (a module's advert crosses the backplane and Ethernet), read
// by a goroutine that hands them over a channel to the loop. It runs until
// its parent closes its stdin.
func idlePeer(spec string) error {
	runtime.GOMAXPROCS(1)
	var ports []int
	for _, f := range strings.Split(spec, ",") {
		p, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("%s=%q: %w", idlePeerEnv, spec, err)
		}
		ports = append(ports, p)
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ports[0]})
	if err != nil {
		return err
	}
	in := make(chan []byte, 64)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				close(in)
				return
			}
			in <- append([]byte(nil), buf[:n]...)
		}
	}()
	gone := make(chan struct{})
	go func() { _, _ = os.Stdin.Read(make([]byte, 1)); close(gone) }()
	frame := make([]byte, 72)
	next := func() time.Duration { n := time.Now(); return n.Truncate(time.Second).Add(time.Second).Sub(n) }
	t := time.NewTimer(next())
	for {
		select {
		case <-gone:
			return nil
		case _, ok := <-in:
			if !ok {
				return nil
			}
		case <-t.C:
			for _, p := range ports[1:] {
				for range 2 {
					_, _ = c.WriteToUDP(frame, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
				}
			}
			t.Reset(next())
		}
	}
}

// startIdlePeers starts n reference peers on free ports; stop ends them.
func startIdlePeers(b *testing.B, n int) (pids []int, stop func()) {
	b.Helper()
	var ports []int
	for range n {
		l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		ports = append(ports, l.LocalAddr().(*net.UDPAddr).Port)
		l.Close()
	}
	var cmds []*exec.Cmd
	stop = func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	for i := range n {
		spec := []string{strconv.Itoa(ports[i])}
		for j := range n {
			if j != i {
				spec = append(spec, strconv.Itoa(ports[j]))
			}
		}
		c := exec.Command(os.Args[0])
		c.Env = append(os.Environ(), idlePeerEnv+"="+strings.Join(spec, ","))
		c.Stderr = os.Stderr
		if _, err := c.StdinPipe(); err != nil {
			stop()
			b.Fatal(err)
		}
		if err := c.Start(); err != nil {
			stop()
			b.Fatal(err)
		}
		cmds = append(cmds, c)
		pids = append(pids, c.Process.Pid)
	}
	return pids, stop
}
