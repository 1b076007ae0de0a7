package main

import (
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/module"
)

// trapOIDVarBind is a notification's snmpTrapOID.0 varbind, as stack/member queues it.
var trapOIDVarBind = smi.VarBind{Name: smi.MustOID("1.3.6.1.6.3.1.1.4.1.0"), Value: smi.ObjectID(smi.MustOID("1.3.6.1.4.1.868.2.4.0.1"))}

func TestTrapPDUs(t *testing.T) {
	name := smi.MustOID("1.3.6.1.4.1.868.2.4.9.1")
	up := gosnmp.SnmpPDU{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(4242)}
	trap := gosnmp.SnmpPDU{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.868.2.4.0.1"}
	for _, c := range []struct {
		name string
		in   smi.Value
		typ  gosnmp.Asn1BER
		val  any
	}{
		{"Integer", smi.Integer(-7), gosnmp.Integer, -7},
		{"OctetString", smi.String("cab 1"), gosnmp.OctetString, []byte("cab 1")},
		{"empty OctetString", smi.OctetString(nil), gosnmp.OctetString, []byte(nil)},
		{"ObjectID", smi.ObjectID(smi.MustOID("1.3.6.1.4.1.868")), gosnmp.ObjectIdentifier, ".1.3.6.1.4.1.868"},
		{"IpAddress", smi.IPAddress(netip.MustParseAddr("10.1.2.3")), gosnmp.IPAddress, "10.1.2.3"},
		{"IpAddress of a wrong length", smi.Value{Type: smi.TypeIPAddress, Bytes: []byte{1, 2}}, gosnmp.IPAddress, "0.0.0.0"},
		{"Counter32", smi.Counter32(4000000000), gosnmp.Counter32, uint32(4000000000)},
		{"Gauge32", smi.Gauge32(17), gosnmp.Gauge32, uint32(17)},
		{"TimeTicks", smi.TimeTicks(360000), gosnmp.TimeTicks, uint32(360000)},
		{"Counter64", smi.Counter64(1 << 40), gosnmp.Counter64, uint64(1 << 40)},
		{"Opaque", smi.Opaque([]byte{1, 2, 3}), gosnmp.Opaque, []byte{1, 2, 3}},
		{"Null", smi.Null(), gosnmp.Null, nil},
		{"noSuchObject", smi.Exception(smi.TypeNoSuchObject), gosnmp.NoSuchObject, nil},
		{"noSuchInstance", smi.Exception(smi.TypeNoSuchInstance), gosnmp.NoSuchInstance, nil},
		{"endOfMibView", smi.Exception(smi.TypeEndOfMibView), gosnmp.EndOfMibView, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := trapPDUs(4242, []smi.VarBind{trapOIDVarBind, {Name: name, Value: c.in}})
			want := []gosnmp.SnmpPDU{up, trap, {Name: ".1.3.6.1.4.1.868.2.4.9.1", Type: c.typ, Value: c.val}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("trapPDUs:\n got %#v\nwant %#v", got, want)
			}
		})
	}
	t.Run("a sysUpTime.0 of the notification is replaced", func(t *testing.T) {
		got := trapPDUs(4242, []smi.VarBind{{Name: smi.MustOID("1.3.6.1.2.1.1.3.0"), Value: smi.TimeTicks(1)}, trapOIDVarBind})
		if want := []gosnmp.SnmpPDU{up, trap}; !reflect.DeepEqual(got, want) {
			t.Errorf("trapPDUs:\n got %#v\nwant %#v", got, want)
		}
	})
}

// freeUDPPort returns a loopback UDP port nobody listens on now.
func freeUDPPort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

// TestTrapReachesManagerWithUptimeAndTypes sends a notification to a real
// UDP trap listener configured as the module's cpsmm100SNMPTrapMgr: the
// trap starts with sysUpTime.0 = the module's uptime (not the Unix time)
// and carries a varbind of every SMI type with its type and value.
func TestTrapReachesManagerWithUptimeAndTypes(t *testing.T) {
	cfg := module.Default()
	cfg.TrapManagers[0] = "127.0.0.1"
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	mod, err := module.New(module.Options{Config: cfg, Log: log})
	if err != nil {
		t.Fatal(err)
	}

	port := freeUDPPort(t)
	traps := make(chan *gosnmp.SnmpPacket, 4)
	tl := gosnmp.NewTrapListener()
	tl.Params = &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "public", Logger: gosnmp.NewLogger(nil)}
	tl.OnNewTrap = func(p *gosnmp.SnmpPacket, _ *net.UDPAddr) { traps <- p }
	listenErr := make(chan error, 1)
	go func() { listenErr <- tl.Listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))) }()
	select {
	case <-tl.Listening():
	case err := <-listenErr:
		t.Fatalf("trap listener: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("trap listener not listening after 5s")
	}
	defer tl.Close()

	n := &notifier{mod: mod, trapPort: port, log: log}
	base := smi.MustOID("1.3.6.1.4.1.868.2.4.9")
	sent := []smi.Value{
		smi.Integer(-7), smi.String("cab 1"), smi.ObjectID(smi.MustOID("1.3.6.1.4.1.868.2.4")),
		smi.IPAddress(netip.MustParseAddr("10.1.2.3")), smi.Counter32(4000000000), smi.Gauge32(17),
		smi.TimeTicks(360000), smi.Counter64(1 << 40), smi.Opaque([]byte{1, 2, 3}), smi.Null(),
	}
	vbs := []smi.VarBind{trapOIDVarBind}
	for i, v := range sent {
		vbs = append(vbs, smi.VarBind{Name: base.Append(uint32(i + 1)), Value: v})
	}
	// Let the module's uptime leave 0, so a constant 0 would not pass.
	for deadline := time.Now().Add(5 * time.Second); mod.Uptime() < 10; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("module uptime still %d after 5s", mod.Uptime())
		}
	}
	before := mod.Uptime()
	n.trap(vbs)
	var p *gosnmp.SnmpPacket
	select {
	case p = <-traps:
	case <-time.After(5 * time.Second):
		t.Fatal("no trap within 5s")
	}
	after := mod.Uptime()

	if len(p.Variables) != 2+len(sent) {
		t.Fatalf("trap has %d varbinds, want %d: %v", len(p.Variables), 2+len(sent), p.Variables)
	}
	up := p.Variables[0]
	if up.Name != ".1.3.6.1.2.1.1.3.0" || up.Type != gosnmp.TimeTicks {
		t.Fatalf("first varbind %s %v, want sysUpTime.0 TimeTicks", up.Name, up.Type)
	}
	ticks := gosnmp.ToBigInt(up.Value).Uint64()
	if ticks < uint64(before) || ticks > uint64(after) {
		t.Errorf("sysUpTime.0 = %d, want the module's uptime, between %d and %d", ticks, before, after)
	}
	if unix := uint64(uint32(time.Now().Unix())); ticks+100 >= unix && ticks <= unix+100 {
		t.Errorf("sysUpTime.0 = %d is the Unix time", ticks)
	}
	if ticks > 60*100 {
		t.Errorf("sysUpTime.0 = %d centiseconds: the module started less than a minute ago", ticks)
	}
	if tv := p.Variables[1]; tv.Name != ".1.3.6.1.6.3.1.1.4.1.0" || tv.Value != ".1.3.6.1.4.1.868.2.4.0.1" {
		t.Errorf("second varbind %s = %v, want snmpTrapOID.0", tv.Name, tv.Value)
	}
	for i, v := range sent {
		got := p.Variables[2+i]
		if want := "." + base.Append(uint32(i+1)).String(); got.Name != want {
			t.Errorf("varbind %d is %s, want %s", 2+i, got.Name, want)
		}
		if err := sameValue(v, got); err != nil {
			t.Errorf("%s sent as %s: %v", got.Name, v, err)
		}
	}
}

// sameValue reports how a received varbind differs from the value sent.
func sameValue(v smi.Value, p gosnmp.SnmpPDU) error {
	wantType := map[smi.Type]gosnmp.Asn1BER{
		smi.TypeInteger: gosnmp.Integer, smi.TypeOctetString: gosnmp.OctetString,
		smi.TypeObjectID: gosnmp.ObjectIdentifier, smi.TypeIPAddress: gosnmp.IPAddress,
		smi.TypeCounter32: gosnmp.Counter32, smi.TypeGauge32: gosnmp.Gauge32,
		smi.TypeTimeTicks: gosnmp.TimeTicks, smi.TypeCounter64: gosnmp.Counter64,
		smi.TypeOpaque: gosnmp.Opaque, smi.TypeNull: gosnmp.Null,
	}[v.Type]
	if p.Type != wantType {
		return fmt.Errorf("arrived as type %v, want %v", p.Type, wantType)
	}
	var ok bool
	switch v.Type {
	case smi.TypeInteger:
		ok = gosnmp.ToBigInt(p.Value).Cmp(big.NewInt(int64(v.Int))) == 0
	case smi.TypeCounter32, smi.TypeGauge32, smi.TypeTimeTicks, smi.TypeCounter64:
		ok = gosnmp.ToBigInt(p.Value).Cmp(new(big.Int).SetUint64(v.Uint)) == 0
	case smi.TypeOctetString, smi.TypeOpaque:
		b, isBytes := p.Value.([]byte)
		ok = isBytes && string(b) == string(v.Bytes)
	case smi.TypeObjectID:
		ok = p.Value == "."+v.OID.String()
	case smi.TypeIPAddress:
		ok = p.Value == v.Addr().String()
	case smi.TypeNull:
		ok = p.Value == nil
	}
	if !ok {
		return fmt.Errorf("arrived as %#v", p.Value)
	}
	return nil
}
