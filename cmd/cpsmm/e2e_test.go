package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// demoArgs fix the identity so that walks are reproducible.
var demoArgs = []string{"-name", "demo", "-cabinet", "1", "-slot", "1", "-mac", "00:c0:f2:00:00:01",
	"-serial", "100001", "-ip", "192.0.2.10", "-mask", "255.255.255.0", "-gateway", "192.0.2.1"}

var uptimeRe = regexp.MustCompile(`(cpsmm100SysUpTime\.1\.1 = Timeticks: )\(\d+\) [0-9:.]+( days?, [0-9:.]+)?`)

// TestWalkGolden walks the whole module through snmpd with symbolic names
// and compares with testdata/walk-demo.golden (uptime masked). UPDATE_GOLDEN=1
// rewrites the golden file.
func TestWalkGolden(t *testing.T) {
	r := newRig(t, demoArgs...)
	out := r.mustCLI("snmpwalk", "-c", "public", r.addr, "1.3.6.1.4.1.868")
	out += r.mustCLI("snmpwalk", "-c", "public", r.addr, "CPSMM-EMULATOR-MIB::cpsmmEmulatorMIB")
	got := uptimeRe.ReplaceAllString(out, "${1}UPTIME")
	golden := filepath.Join("testdata", "walk-demo.golden")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (UPDATE_GOLDEN=1 writes it)", err)
	}
	if got != string(want) {
		t.Errorf("walk differs from %s:\n%s", golden, lineDiff(string(want), got))
	}
	// Every one of the 31 cpsmm100 columns is there, by name.
	for _, col := range strings.Fields(allColumns) {
		if !strings.Contains(out, "MCC16-MIB::"+col+".1.1 = ") {
			t.Errorf("walk lacks %s", col)
		}
	}
}

const allColumns = `cpsmm100BiaIndex cpsmm100SlotIndex cpsmm100Groups cpsmm100Reset cpsmm100SaveConfig
cpsmm100HwRevision cpsmm100SwRevision cpsmm100IPAddress cpsmm100SubnetMask cpsmm100Gateway
cpsmm100IsPrimary cpsmm100WantPrimary cpsmm100CanPrimary cpsmm100EthernetLink cpsmm100TntRIP
cpsmm100TntRIPMask cpsmm100SNMPTrapMgr cpsmm100SNMPTrapInterval cpsmm100SysUpTime cpsmm100SysContact
cpsmm100SysName cpsmm100SysLocation cpsmm100CfgMatch cpsmm100SerialNumber cpsmm100ICIF
cpsmm100MRevision cpsmm100LastGasp cpsmm100SNMPTrapMgr2 cpsmm100SNMPTrapMgr3 cpsmm100SNMPTrapMgr4
cpsmm100CacheClean`

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("- " + wl + "\n+ " + gl + "\n")
		}
	}
	return b.String()
}

func TestBulkwalkMatchesWalk(t *testing.T) {
	r := newRig(t, demoArgs...)
	walk := uptimeRe.ReplaceAllString(r.mustCLI("snmpwalk", "-c", "public", r.addr, "MCC16-MIB::cpsmm100Table"), "${1}U")
	bulk := uptimeRe.ReplaceAllString(r.mustCLI("snmpbulkwalk", "-Cr25", "-c", "public", r.addr, "MCC16-MIB::cpsmm100Table"), "${1}U")
	if walk != bulk {
		t.Errorf("bulkwalk differs from walk:\n%s", lineDiff(walk, bulk))
	}
	if n := strings.Count(walk, "\n"); n != 31 {
		t.Errorf("cpsmm100Table has %d instances, want 31 (one row)", n)
	}
}

func TestGetEveryColumn(t *testing.T) {
	r := newRig(t, demoArgs...)
	want := map[string]string{
		"cpsmm100BiaIndex": "INTEGER: 1", "cpsmm100SlotIndex": "INTEGER: 1",
		"cpsmm100Reset": "INTEGER: noReset(2)", "cpsmm100SaveConfig": "INTEGER: noSaveConfig(2)",
		"cpsmm100IPAddress": "IpAddress: 192.0.2.10", "cpsmm100SubnetMask": "IpAddress: 255.255.255.0",
		"cpsmm100Gateway": "IpAddress: 192.0.2.1", "cpsmm100IsPrimary": "INTEGER: yes(1)",
		"cpsmm100WantPrimary": "INTEGER: yes(1)", "cpsmm100CanPrimary": "INTEGER: yes(1)",
		"cpsmm100EthernetLink": "INTEGER: on(1)", "cpsmm100SNMPTrapMgr": "IpAddress: 0.0.0.0",
		"cpsmm100SysName": `STRING: demo`, "cpsmm100SerialNumber": "INTEGER: 100001",
		"cpsmm100ICIF": "INTEGER: yes(1)", "cpsmm100LastGasp": "INTEGER: no(2)",
		"cpsmm100CacheClean": "INTEGER: clean(1)", "cpsmm100CfgMatch": "INTEGER: notApplicable(3)",
		"cpsmm100SNMPTrapMgr4": "IpAddress: 0.0.0.0",
	}
	var args []string
	for _, col := range strings.Fields(allColumns) {
		args = append(args, "MCC16-MIB::"+col+".1.1")
	}
	out := r.mustCLI("snmpget", append([]string{"-c", "public", r.addr}, args...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 31 {
		t.Fatalf("snmpget of 31 columns gave %d lines:\n%s", len(lines), out)
	}
	for i, col := range strings.Fields(allColumns) {
		if !strings.HasPrefix(lines[i], "MCC16-MIB::"+col+".1.1 = ") || strings.Contains(lines[i], "No Such") {
			t.Errorf("line %d: %s", i, lines[i])
		}
		if w, ok := want[col]; ok && !strings.HasSuffix(lines[i], " = "+w) {
			t.Errorf("%s: %s, want %s", col, lines[i], w)
		}
	}
	// The module's own slot in the slot summary, and the scalars.
	out = r.mustCLI("snmpget", "-c", "public", r.addr, "MCC16-MIB::cpsModuleModel.1.1", "MCC16-MIB::cpsIsPrimary.0", "MCC16-MIB::cpsModuleModel.1.2")
	for _, w := range []string{"cpsModuleModel.1.1 = OID: MCC16-MIB::cpsmM100Id", "cpsIsPrimary.0 = INTEGER: yes(1)", "cpsModuleModel.1.2 = OID: MCC16-MIB::cpsEmptyId"} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in\n%s", w, out)
		}
	}
}

func TestSysUpTimeCounts(t *testing.T) {
	r := newRig(t, demoArgs...)
	g := r.gosnmp("public")
	read := func() uint32 {
		res, err := g.Get([]string{"." + cpsmm100Entry + ".19.1.1"})
		if err != nil {
			t.Fatal(err)
		}
		return res.Variables[0].Value.(uint32)
	}
	first := read()
	deadline := time.Now().Add(10 * time.Second)
	for read() <= first {
		if time.Now().After(deadline) {
			t.Fatal("cpsmm100SysUpTime does not advance")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSetWantPrimaryThroughAllValues(t *testing.T) {
	r := newRig(t, demoArgs...)
	for _, v := range []string{"no", "always", "yes"} {
		num := map[string]string{"yes": "1", "no": "2", "always": "3"}[v]
		out := r.mustCLI("snmpset", "-c", "private", r.addr, "MCC16-MIB::cpsmm100WantPrimary.1.1", "i", num)
		if !strings.Contains(out, "cpsmm100WantPrimary.1.1 = INTEGER: "+v+"("+num+")") {
			t.Errorf("set %s answered %s", v, out)
		}
		// A second, independent manager sees it.
		res, err := r.gosnmp("public").Get([]string{"." + cpsmm100Entry + ".12.1.1"})
		if err != nil {
			t.Fatal(err)
		}
		if got := gosnmp.ToBigInt(res.Variables[0].Value).String(); got != num {
			t.Errorf("gosnmp reads WantPrimary %s after setting %s", got, v)
		}
	}
	// The read-only community cannot set.
	out, err := r.cli("snmpset", "-c", "public", r.addr, "MCC16-MIB::cpsmm100WantPrimary.1.1", "i", "2")
	if err == nil || !strings.Contains(out, "noAccess") {
		t.Errorf("set with community public: %v\n%s", err, out)
	}
}

func TestSetErrorsOverSNMP(t *testing.T) {
	r := newRig(t, demoArgs...)
	long := strings.Repeat("n", 256)
	tests := []struct {
		name string
		args []string // object type value ...
		want string
	}{
		{"octet string to WantPrimary", []string{"MCC16-MIB::cpsmm100WantPrimary.1.1", "s", "yes"}, "wrongType"},
		{"WantPrimary 7", []string{"MCC16-MIB::cpsmm100WantPrimary.1.1", "i", "7"}, "wrongValue"},
		{"Reset 0", []string{"MCC16-MIB::cpsmm100Reset.1.1", "i", "0"}, "wrongValue"},
		{"non-contiguous mask", []string{"MCC16-MIB::cpsmm100SubnetMask.1.1", "a", "255.0.255.0"}, "wrongValue"},
		{"SysName of 256 octets", []string{"MCC16-MIB::cpsmm100SysName.1.1", "s", long}, "wrongLength"},
		{"IsPrimary", []string{"MCC16-MIB::cpsmm100IsPrimary.1.1", "i", "1"}, "notWritable"},
		{"SerialNumber", []string{"MCC16-MIB::cpsmm100SerialNumber.1.1", "i", "5"}, "notWritable"},
		{"row that does not exist", []string{"MCC16-MIB::cpsmm100SysName.9.9", "s", "x"}, "noCreation"},
		{"gateway outside the subnet", []string{"MCC16-MIB::cpsmm100Gateway.1.1", "a", "198.51.100.1"}, "inconsistentValue"},
		{"mask that leaves the gateway outside", []string{"MCC16-MIB::cpsmm100SubnetMask.1.1", "a", "255.255.255.248"}, "inconsistentValue"},
	}
	before := r.mustCLI("snmpwalk", "-c", "public", r.addr, "MCC16-MIB::cpsmm100Table")
	for _, tc := range tests {
		// -Ir: let the agent, not the client, judge the value.
		out, err := r.cli("snmpset", append([]string{"-Ir", "-c", "private", r.addr}, tc.args...)...)
		if err == nil || !strings.Contains(out, "Reason: "+tc.want) {
			t.Errorf("%s: got %v\n%s\nwant Reason: %s", tc.name, err, out, tc.want)
		}
		if !strings.Contains(out, "Failed object: "+tc.args[0]) {
			t.Errorf("%s: failed object not named:\n%s", tc.name, out)
		}
	}
	after := r.mustCLI("snmpwalk", "-c", "public", r.addr, "MCC16-MIB::cpsmm100Table")
	if uptimeRe.ReplaceAllString(before, "U") != uptimeRe.ReplaceAllString(after, "U") {
		t.Errorf("rejected sets changed the table:\n%s", lineDiff(before, after))
	}
	// The same errors seen by gosnmp, by number.
	g := r.gosnmp("private")
	res, err := g.Set([]gosnmp.SnmpPDU{{Name: "." + cpsmm100Entry + ".12.1.1", Type: gosnmp.OctetString, Value: []byte("yes")}})
	if err != nil || res.Error != gosnmp.WrongType || res.ErrorIndex != 1 {
		t.Errorf("gosnmp wrongType: %v %v", err, res)
	}
	res, err = g.Set([]gosnmp.SnmpPDU{{Name: "." + cpsmm100Entry + ".24.1.1", Type: gosnmp.Integer, Value: 5}})
	if err != nil || res.Error != gosnmp.NotWritable {
		t.Errorf("gosnmp notWritable: %v %v", err, res)
	}
}

func TestMultiVarbindSetIsAtomic(t *testing.T) {
	r := newRig(t, demoArgs...)
	out, err := r.cli("snmpset", "-Ir", "-c", "private", r.addr,
		"MCC16-MIB::cpsmm100SysName.1.1", "s", "changed",
		"MCC16-MIB::cpsmm100SysLocation.1.1", "s", "lab",
		"MCC16-MIB::cpsmm100WantPrimary.1.1", "i", "7")
	if err == nil || !strings.Contains(out, "Reason: wrongValue") || !strings.Contains(out, "Failed object: MCC16-MIB::cpsmm100WantPrimary.1.1") {
		t.Fatalf("bad multi-varbind set: %v\n%s", err, out)
	}
	got := r.mustCLI("snmpget", "-c", "public", r.addr, "MCC16-MIB::cpsmm100SysName.1.1", "MCC16-MIB::cpsmm100SysLocation.1.1", "MCC16-MIB::cpsmm100WantPrimary.1.1")
	for _, w := range []string{"cpsmm100SysName.1.1 = STRING: demo", `cpsmm100SysLocation.1.1 = STRING: ` + "\n", "cpsmm100WantPrimary.1.1 = INTEGER: yes(1)"} {
		if !strings.Contains(got+"\n", strings.TrimSuffix(w, "\n")) {
			t.Errorf("after rejected set, want %q in\n%s", w, got)
		}
	}
	if strings.Contains(got, "changed") || strings.Contains(got, "lab") {
		t.Errorf("a rejected set changed something:\n%s", got)
	}
	// IP address, mask and gateway changed together are judged together.
	r.mustCLI("snmpset", "-c", "private", r.addr,
		"MCC16-MIB::cpsmm100IPAddress.1.1", "a", "198.51.100.20",
		"MCC16-MIB::cpsmm100SubnetMask.1.1", "a", "255.255.255.0",
		"MCC16-MIB::cpsmm100Gateway.1.1", "a", "198.51.100.1")
	got = r.mustCLI("snmpget", "-c", "public", r.addr, "MCC16-MIB::cpsmm100Gateway.1.1", "MCC16-MIB::cpsmm100CanPrimary.1.1")
	if !strings.Contains(got, "198.51.100.1") || !strings.Contains(got, "yes(1)") {
		t.Errorf("after moving subnet:\n%s", got)
	}
}

func TestInvalidIPConfigMakesIneligible(t *testing.T) {
	r := newRig(t, append(demoArgs, "-ip", "0.0.0.0")...)
	out := r.mustCLI("snmpget", "-c", "public", r.addr, "MCC16-MIB::cpsmm100CanPrimary.1.1", "MCC16-MIB::cpsmm100IsPrimary.1.1", "MCC16-MIB::cpsIsPrimary.0")
	if strings.Count(out, "no(2)") != 3 {
		t.Fatalf("unconfigured module:\n%s", out)
	}
	// cpsIsPrimary = yes on an ineligible module is refused.
	if out, err := r.cli("snmpset", "-c", "private", r.addr, "MCC16-MIB::cpsIsPrimary.0", "i", "1"); err == nil || !strings.Contains(out, "inconsistentValue") {
		t.Errorf("forcing an ineligible module to Primary: %v\n%s", err, out)
	}
	// Configuring an address makes it eligible, and alone it is Primary.
	r.mustCLI("snmpset", "-c", "private", r.addr, "MCC16-MIB::cpsmm100IPAddress.1.1", "a", "192.0.2.10")
	out = r.mustCLI("snmpget", "-c", "public", r.addr, "MCC16-MIB::cpsmm100CanPrimary.1.1", "MCC16-MIB::cpsmm100IsPrimary.1.1", "MCC16-MIB::cpsIsPrimary.0")
	if strings.Count(out, "yes(1)") != 3 {
		t.Fatalf("configured module:\n%s", out)
	}
	// Alone in its stack, the Primary cannot step down: nobody would take over.
	if out, err := r.cli("snmpset", "-c", "private", r.addr, "MCC16-MIB::cpsIsPrimary.0", "i", "2"); err == nil || !strings.Contains(out, "inconsistentValue") {
		t.Errorf("stepping down alone: %v\n%s", err, out)
	}
}

func TestSaveConfigSurvivesRestart(t *testing.T) {
	r := newRig(t, demoArgs...)
	r.mustCLI("snmpset", "-c", "private", r.addr,
		"MCC16-MIB::cpsmm100SysName.1.1", "s", "saved-name",
		"MCC16-MIB::cpsmm100WantPrimary.1.1", "i", "3",
		"MCC16-MIB::cpsmm100SaveConfig.1.1", "i", "1")
	// Changed after the save: must not survive.
	r.mustCLI("snmpset", "-c", "private", r.addr, "MCC16-MIB::cpsmm100SysLocation.1.1", "s", "unsaved")
	if out := r.mustCLI("snmpget", "-c", "public", r.addr, "MCC16-MIB::cpsmm100SaveConfig.1.1", "CPSMM-EMULATOR-MIB::cpsEmuConfigSaves.0"); !strings.Contains(out, "noSaveConfig(2)") || !strings.Contains(out, "Counter32: 1") {
		t.Errorf("after save:\n%s", out)
	}
	r.stopModule()
	r.startModule()
	r.waitReady(15 * time.Second)
	out := r.mustCLI("snmpget", "-c", "public", r.addr, "MCC16-MIB::cpsmm100SysName.1.1", "MCC16-MIB::cpsmm100WantPrimary.1.1", "MCC16-MIB::cpsmm100SysLocation.1.1")
	if !strings.Contains(out, "STRING: saved-name") || !strings.Contains(out, "always(3)") || strings.Contains(out, "unsaved") {
		t.Errorf("after restart:\n%s", out)
	}
}

func TestResetRestoresSavedConfig(t *testing.T) {
	r := newRig(t, demoArgs...)
	r.mustCLI("snmpset", "-c", "private", r.addr, "MCC16-MIB::cpsmm100SysContact.1.1", "s", "ops@example.net", "MCC16-MIB::cpsmm100SaveConfig.1.1", "i", "1")
	r.mustCLI("snmpset", "-c", "private", r.addr, "MCC16-MIB::cpsmm100SysContact.1.1", "s", "not saved")
	r.mustCLI("snmpset", "-c", "private", r.addr, "MCC16-MIB::cpsmm100Reset.1.1", "i", "1")
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := r.mustCLI("snmpget", "-c", "public", r.addr, "MCC16-MIB::cpsmm100SysContact.1.1")
		if strings.Contains(out, "ops@example.net") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reset did not restore the saved contact:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out := r.mustCLI("snmpget", "-c", "public", r.addr, "MCC16-MIB::cpsmm100Reset.1.1"); !strings.Contains(out, "noReset(2)") {
		t.Errorf("reset reads back %s", out)
	}
}

func TestSnmpdRestartReconnects(t *testing.T) {
	r := newRig(t, demoArgs...)
	r.snmpd.Kill()
	r.startSnmpd()
	took := r.waitReady(2 * time.Second)
	t.Logf("walks answered again %s after snmpd was back", took)
	out := r.mustCLI("snmpwalk", "-c", "public", r.addr, "MCC16-MIB::cpsmm100Table")
	if strings.Count(out, "\n") != 31 {
		t.Errorf("walk after snmpd restart:\n%s", out)
	}
	if out := r.mustCLI("snmpget", "-c", "public", r.addr, "CPSMM-EMULATOR-MIB::cpsEmuAgentxSessions.0"); !strings.Contains(out, "Counter32: 2") {
		t.Errorf("sessions after one reconnect: %s", out)
	}
}

func TestSigtermClosesSession(t *testing.T) {
	r := newRig(t, demoArgs...)
	r.stopModule()
	// snmpd dropped our registrations when the session closed.
	out, _ := r.cli("snmpget", "-c", "public", r.addr, "MCC16-MIB::cpsmm100IsPrimary.1.1")
	if !strings.Contains(out, "No Such Object") {
		t.Errorf("after SIGTERM the subtree still answers:\n%s", out)
	}
	if !strings.Contains(r.log(), "module stopped") {
		t.Errorf("no clean stop in the log:\n%s", r.log())
	}
}
