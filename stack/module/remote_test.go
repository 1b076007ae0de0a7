package module

import (
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/mib/smi"
	"github.com/cpsmm/cpsmm/stack/configmsg"
)

func strItem(o configmsg.Object, s string) configmsg.Item {
	return configmsg.Item{Object: o, Type: configmsg.Octets, Bytes: []byte(s)}
}

func ipItem(o configmsg.Object, a ...byte) configmsg.Item {
	return configmsg.Item{Object: o, Type: configmsg.IPAddress, Bytes: a}
}

// ApplyFromPrimary is one Set on the module's own row: all items or none,
// with the Set rules' verdict as the Ack's status.
func TestApplyFromPrimary(t *testing.T) {
	dir := t.TempDir()
	m := newModule(t, dir)
	name := func() string { v, _ := m.Store().Value("cpsmm100SysName", 1, 1); return string(v.Bytes) }
	for _, tc := range []struct {
		what  string
		items []configmsg.Item
		want  configmsg.Status
	}{
		{"an identity column", []configmsg.Item{strItem(configmsg.ObjSysName, "x"), {Object: configmsg.ObjSerialNumber, Type: configmsg.Integer, Int: 3}}, configmsg.UnknownObject},
		{"an unknown object", []configmsg.Item{{Object: 0x3f, Type: configmsg.Integer}}, configmsg.UnknownObject},
		{"the wrong type", []configmsg.Item{strItem(configmsg.ObjSysName, "x"), strItem(configmsg.ObjIPAddress, "abcd")}, configmsg.BadValue},
		{"a gateway outside the subnet", []configmsg.Item{strItem(configmsg.ObjSysName, "x"), ipItem(configmsg.ObjGateway, 198, 51, 100, 1)}, configmsg.BadValue},
		{"WantPrimary 9", []configmsg.Item{{Object: configmsg.ObjWantPrimary, Type: configmsg.Integer, Int: 9}}, configmsg.BadValue},
	} {
		if st, why := m.ApplyFromPrimary(tc.items); st != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.what, st, why, tc.want)
		}
		if name() != "cpsmm-1" {
			t.Fatalf("%s: a refused Set left SysName %q", tc.what, name())
		}
	}
	// Mask and gateway together, and a save, in one go.
	st, why := m.ApplyFromPrimary([]configmsg.Item{ipItem(configmsg.ObjSubnetMask, 255, 255, 0, 0), ipItem(configmsg.ObjGateway, 192, 0, 9, 1),
		strItem(configmsg.ObjSysName, "saved"), {Object: configmsg.ObjSaveConfig, Type: configmsg.Integer, Int: 1}})
	if st != configmsg.OK {
		t.Fatalf("%s: %s", st, why)
	}
	saved, ok, err := LoadSaved(dir)
	if err != nil || !ok || saved.SysName != "saved" || saved.Gateway != "192.0.9.1" || saved.SubnetMask != "255.255.0.0" {
		t.Fatalf("saved %+v %v %v", saved, ok, err)
	}
	if v, _ := m.Store().Value("cpsmm100SaveConfig", 1, 1); v.Int != 2 {
		t.Errorf("SaveConfig reads %d", v.Int)
	}
}

// A peer's Row: what its columns take is written, the rest skipped; its
// uptime counts from the report, stops when it is silent, and a restart
// shows as fresh.
func TestApplyPeerRow(t *testing.T) {
	m := newModule(t, t.TempDir())
	peer := Default()
	peer.Name, peer.Slot, peer.MAC = "p", 2, "00:c0:f2:00:00:02"
	if err := m.AddPeer(peer); err != nil {
		t.Fatal(err)
	}
	up := func() uint64 { v, _ := m.Store().Value("cpsmm100SysUpTime", 1, 2); return v.Uint }
	if up() != 0 {
		t.Fatalf("uptime %d before any Row", up())
	}
	r := configmsg.Row{Uptime: 12345, Items: []configmsg.Item{
		strItem(configmsg.ObjSysName, "peer"), ipItem(configmsg.ObjTrapMgr2, 127, 0, 0, 3),
		strItem(configmsg.ObjSysLocation, "caf\xe9"),                          // not NVT ASCII
		strItem(configmsg.ObjIPAddress, "1234"),                               // the wrong type
		{Object: configmsg.ObjCfgMatch, Type: configmsg.Integer, Int: 7},      // not an enumeration value
		{Object: configmsg.ObjWantPrimary, Type: configmsg.Integer, Int: 2},   // the adverts' column
		{Object: configmsg.ObjSerialNumber, Type: configmsg.Integer, Int: 77}, // identity
		{Object: configmsg.ObjSaveConfig, Type: configmsg.Integer, Int: 1},    // not reported
		{Object: configmsg.ObjTrapInterval, Type: configmsg.Integer, Int: 4},  // fine
		{Object: configmsg.Object(0x99), Type: configmsg.Integer, Int: 4},     // unknown
	}}
	skipped, fresh := m.ApplyPeerRow(1, 2, r)
	if skipped != 6 || !fresh {
		t.Fatalf("skipped %d fresh %v, want 6 true", skipped, fresh)
	}
	get := func(name string) smi.Value { v, _ := m.Store().Value(name, 1, 2); return v }
	if string(get("cpsmm100SysName").Bytes) != "peer" || get("cpsmm100SNMPTrapMgr2").Addr().String() != "127.0.0.3" ||
		get("cpsmm100SerialNumber").Int != 77 || get("cpsmm100SNMPTrapInterval").Int != 4 ||
		string(get("cpsmm100SysLocation").Bytes) != "" || get("cpsmm100WantPrimary").Int != 1 || get("cpsmm100SaveConfig").Int != 2 {
		t.Fatal("the Row's acceptable columns, and only they, are written")
	}
	if u := up(); u < 12345 || u > 12345+100 {
		t.Fatalf("uptime %d, reported 12345", u)
	}
	if _, fresh := m.ApplyPeerRow(1, 2, configmsg.Row{Uptime: 12346, Items: r.Items[:1]}); fresh {
		t.Fatal("the same run of the peer taken for a restart")
	}
	m.PeerSilent(1, 2)
	stopped := up()
	time.Sleep(30 * time.Millisecond)
	if up() != stopped {
		t.Fatal("a silent peer's uptime goes on")
	}
	if _, fresh := m.ApplyPeerRow(1, 2, configmsg.Row{Uptime: 5, Items: r.Items[:1]}); !fresh || up() > 100 {
		t.Fatalf("a restarted peer: fresh %v uptime %d", fresh, up())
	}
	if n, _ := m.ApplyPeerRow(1, 9, r); n != len(r.Items) {
		t.Fatal("a Row for a slot with no peer was written")
	}
	// The module's own report: its settings and identity, not WantPrimary.
	own := m.RowReport()
	objs := map[configmsg.Object]bool{}
	for _, it := range own.Items {
		objs[it.Object] = true
	}
	if !objs[configmsg.ObjSysName] || !objs[configmsg.ObjIPAddress] || !objs[configmsg.ObjTrapMgr4] || !objs[configmsg.ObjSerialNumber] ||
		objs[configmsg.ObjWantPrimary] || objs[configmsg.ObjSaveConfig] || objs[configmsg.ObjReset] {
		t.Errorf("own Row reports %v", objs)
	}
}

func TestDoItem(t *testing.T) {
	save := RemoteChange{Module: true, Object: configmsg.ObjSaveConfig, Old: smi.Integer(2), New: smi.Integer(1)}
	if it := save.DoItem(); it.Int != 1 {
		t.Errorf("save: %+v", it)
	}
	if it := save.Inverse().DoItem(); it.Int != 1 {
		t.Errorf("the take-back of a save does not save: %+v", it)
	}
	reset := RemoteChange{Module: true, Object: configmsg.ObjReset, Old: smi.Integer(2), New: smi.Integer(1)}
	if it := reset.Inverse().DoItem(); it.Int != 2 {
		t.Errorf("the take-back of a reset: %+v", it)
	}
	ip := RemoteChange{Module: true, Object: configmsg.ObjGateway, New: smi.IPAddressBytes([4]byte{1, 2, 3, 4})}
	if it := ip.DoItem(); it.Type != configmsg.IPAddress || string(it.Bytes) != "\x01\x02\x03\x04" {
		t.Errorf("ip: %+v", it)
	}
}
