package trapmgr

import (
	"net/netip"
	"testing"
	"time"
)

func TestReport(t *testing.T) {
	m := New[string](Config{})
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	addrs := [Slots]netip.Addr{netip.MustParseAddr("127.0.0.2"), {}, netip.MustParseAddr("127.0.0.4")}
	m.Configure(t0, addrs, 0)
	r := m.Status().Report()
	if r.Keepalive != "off" || r.Active != 0 || len(r.Managers) != 2 || r.Managers[0].State != "traps" || r.Managers[1].Manager != 3 {
		t.Fatalf("keepalive off: %+v", r)
	}
	m.SetPrimary(t0, true)
	m.Configure(t0, addrs, 2*time.Second)
	m.Ack(t0.Add(time.Millisecond), m.Ready().Sends[0].ID)
	r = m.Status().Report()
	if r.Keepalive != "2s" || r.Active != 1 || r.Managers[0].State != "active" || r.Managers[1].State != "standby" ||
		r.Managers[0].KeepalivesAcked != 1 || !r.Managers[0].LastAck.Equal(t0.Add(time.Millisecond)) {
		t.Fatalf("keepalive on: %+v", r)
	}
}
