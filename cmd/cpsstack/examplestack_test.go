package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// startExampleStack brings up a stack equivalent to examples/stack.yaml
// (two cpsmc1800 cabinets, three modules, four converters and an
// aggregation converter) on free loopback ports, with a fresh random key
// and the given timers; with CPSMM_EXAMPLE_IPMON set, with its IP
// monitor too (the figures of the README were taken without).
func startExampleStack(t testing.TB, hello, hold, poll time.Duration) *testStack {
	t.Helper()
	return startExampleStackWith(t, hello, hold, poll, false, "")
}

// startExampleStackWith is startExampleStack with the MACs of the first
// two modules swapped if swapMACs (so that m2, in cabinet 1 slot 2, has
// the lowest MAC), and extra added to the stack file (top-level keys).
func startExampleStackWith(t testing.TB, hello, hold, poll time.Duration, swapMACs bool, extra string) *testStack {
	t.Helper()
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	taken := map[int]bool{}
	var b strings.Builder
	fmt.Fprintf(&b, "stack: test\nkey: %q\ntimers: {hello: %s, holdtime: %s, poll: %s}\n", hex.EncodeToString(key), hello, hold, poll)
	b.WriteString("cabinets:\n  - {bia: 1, model: cpsmc1800, description: \"Rack A, top\"}\n" +
		"  - {bia: 2, model: cpsmc1800, description: \"Rack A, bottom\"}\nmodules:\n")
	// examples/stack.yaml's modules, named m1, m2, m3 (as the testStack
	// helpers expect): two in cabinet 1, one in cabinet 2 wanting no
	// Primary role.
	modules := []struct {
		cabinet, slot int
		want          string
	}{{1, 1, "yes"}, {1, 2, "yes"}, {2, 1, "no"}}
	var addrs []string
	for i, m := range modules {
		p := freePortPair(t, taken)
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", p))
		mac := i + 1
		if swapMACs && i < 2 {
			mac = 2 - i
		}
		fmt.Fprintf(&b, "  - {name: m%d, cabinet: %d, slot: %d, mac: \"00:c0:f2:00:00:0%d\", serial: 10000%d, ip: 192.0.2.1%d, "+
			"mask: 255.255.255.0, gateway: 192.0.2.1, snmp: \"127.0.0.1:%d\", want_primary: %s}\n",
			i+1, m.cabinet, m.slot, mac, i+1, i+1, p, m.want)
	}
	agg := freePortPair(t, taken)
	fmt.Fprintf(&b, "devices:\n"+
		"  - {cabinet: 1, slot: 4, type: cettf100, serial: 200001, conn_a: rj-45, conn_b: scmm}\n"+
		"  - {cabinet: 1, slot: 5, type: cfetf100, serial: 200002, conn_a: rj-45, conn_b: sc40km}\n"+
		"  - {cabinet: 2, slot: 3, type: cfetf100, serial: 200003, conn_a: rj-45, conn_b: lc}\n"+
		"  - {cabinet: 2, slot: 4, type: cettf100, serial: 200004, conn_a: rj-45, conn_b: stmm}\n"+
		"  - {cabinet: 2, slot: 6, type: smacf100p, ethernet: \"127.0.0.1:%d\"}\n", agg)
	if os.Getenv("CPSMM_EXAMPLE_IPMON") != "" {
		// examples/stack.yaml's ip_monitor, its gateway answered at a free port.
		fmt.Fprintf(&b, "ip_monitor: {hosts: {192.0.2.1: \"127.0.0.1:%d\"}}\n", freePort(t, taken))
	}
	// The stack address, as examples/stack.yaml has one.
	address := fmt.Sprintf("127.0.0.1:%d", freePortPair(t, taken))
	fmt.Fprintf(&b, "address: %q\n", address)
	b.WriteString(extra)
	s := launchStack(t, b.String(), addrs)
	s.address = address
	return s
}

// exampleGroups returns the converters' read-write cettf100Groups and
// cfetf100Groups instances of the example stack.
func exampleGroups() []string {
	return []string{
		".1.3.6.1.4.1.868.2.4.1.2.2.3.1.3.1.4", // cettf100Groups.1.4
		".1.3.6.1.4.1.868.2.4.1.2.2.4.1.3.1.5", // cfetf100Groups.1.5
		".1.3.6.1.4.1.868.2.4.1.2.2.4.1.3.2.3", // cfetf100Groups.2.3
		".1.3.6.1.4.1.868.2.4.1.2.2.3.1.3.2.4", // cettf100Groups.2.4
	}
}
