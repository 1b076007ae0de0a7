package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/cpsmm/cpsmm/agent/snmpd"
	"github.com/cpsmm/cpsmm/mib/smi"
)

// TestNotifyThroughRealSnmpd: a Notify PDU from our subagent leaves a real
// snmpd as an SNMPv2c trap to its trap sink, where gosnmp receives it.
func TestNotifyThroughRealSnmpd(t *testing.T) {
	trapPort, err := snmpd.FreeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	traps := make(chan *gosnmp.SnmpPacket, 4)
	tl := gosnmp.NewTrapListener()
	tl.OnNewTrap = func(p *gosnmp.SnmpPacket, _ *net.UDPAddr) { traps <- p }
	tl.Params = gosnmp.Default
	go func() { _ = tl.Listen(fmt.Sprintf("127.0.0.1:%d", trapPort)) }()
	select {
	case <-tl.Listening():
	case <-time.After(5 * time.Second):
		t.Fatal("trap listener did not start")
	}
	defer tl.Close()

	dir, err := os.MkdirTemp("", "cpsmm-agent-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	port, err := snmpd.FreeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := snmpd.Start(context.Background(), snmpd.Options{Dir: dir, UDP: fmt.Sprintf("127.0.0.1:%d", port),
		TrapSinks: []string{fmt.Sprintf("127.0.0.1:%d", trapPort)}})
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Stop()
	a := startSubagent(t, testStore(t), sd.Opts.AgentXSocket)
	select {
	case <-a.Connected():
	case <-time.After(10 * time.Second):
		t.Fatal("no session with snmpd")
	}
	trapOID := smi.MustOID("1.3.6.1.4.1.868.1.4.1.2.1.0.113") // pSDeviceInserted
	err = a.Notify(context.Background(), []smi.VarBind{
		{Name: smi.MustOID("1.3.6.1.6.3.1.1.4.1.0"), Value: smi.ObjectID(trapOID)},
		{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.1.1.1.1.1.2"), Value: smi.Integer(1)},
		{Name: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.1.1.1.2.1.2"), Value: smi.Integer(2)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case p := <-traps:
			var gotOID string
			var slot any
			for _, v := range p.Variables {
				switch v.Name {
				case ".1.3.6.1.6.3.1.1.4.1.0":
					gotOID, _ = v.Value.(string)
				case ".1.3.6.1.4.1.868.2.4.1.2.1.1.1.2.1.2":
					slot = v.Value
				}
			}
			if strings.TrimPrefix(gotOID, ".") != trapOID.String() {
				continue // snmpd's own coldStart and the like
			}
			if slot != 2 {
				t.Errorf("trap varbinds: %+v", p.Variables)
			}
			return
		case <-time.After(10 * time.Second):
			t.Fatal("no trap from snmpd")
		}
	}
}
