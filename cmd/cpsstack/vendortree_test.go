package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startEveryModelStack brings up examples/every-model.yaml on free
// loopback ports with a fresh key and short timers: every cabinet model,
// three modules (bmm-a, bmm-b in cabinet 1, bmm-c in cabinet 2),
// converters, Expansion Management Modules and an SMACF100 unit.
func startEveryModelStack(t *testing.T) *testStack {
	t.Helper()
	b, err := os.ReadFile("../../examples/every-model.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	text = strings.Replace(text, `key: "change-me-shared-key"`, fmt.Sprintf("key: %q", hex.EncodeToString(key)), 1)
	text = strings.Replace(text, "stack: every-model", "stack: test", 1)
	text = strings.Replace(text, "timers:\n  hello: 1s\n  holdtime: 3s\n", "timers: {hello: 200ms, holdtime: 600ms, poll: 100ms}\n", 1)
	taken := map[int]bool{}
	var addrs []string
	for _, port := range []string{"16201", "16202", "16203", "18701", "18703"} {
		p := freePortPair(t, taken)
		old := "127.0.0.1:" + port
		if !strings.Contains(text, old) {
			t.Fatalf("the example has no %s", old)
		}
		text = strings.ReplaceAll(text, old, fmt.Sprintf("127.0.0.1:%d", p))
		if strings.HasPrefix(port, "162") {
			addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", p))
		}
	}
	return launchStack(t, text, addrs)
}

// TestEveryModelAndDeviceType: a walk of a stack with every cabinet model
// and device type through real snmpd shows each table of the vendor's
// tree filled: the detail row of every cabinet, the Expansion Management
// Modules with the ICIF the vendor's rule gives, the product identifiers
// in cpsModuleTable and cpsCabinetTable; the SMACF100 unit and its ports
// on the Primary only; smacf100Table's settings are not set.
func TestEveryModelAndDeviceType(t *testing.T) {
	s := startEveryModelStack(t)
	p, _ := s.waitPrimary(-1, 15*time.Second)
	s.waitOnly(p, "after up")
	var standbys []int
	for i := range s.addrs {
		if i != p {
			standbys = append(standbys, i)
		}
	}
	walk := func(i int, table string) string {
		t.Helper()
		out, err := s.snmp("snmpwalk", i, "public", table)
		if err != nil {
			t.Fatalf("walk %s on module %d: %v\n%s", table, i+1, err, out)
		}
		return out
	}
	// Each line a walk must hold, by table.
	common := map[string][]string{
		"MCC16-MIB::cpsMc1800Table": {
			"cpsMc1800Description.1 = STRING: CPSMC1800 Point System chassis", "cpsMc1800PSPower1.1 = INTEGER: on(1)",
			"cpsMc1800Description.5 = STRING: CPSMC1850 Point System chassis", "cpsMc1800MRevision.5 = INTEGER: 1"},
		"MCC16-MIB::cpsMc1300Table": {"cpsMc1300BiaIndex.2 = INTEGER: 2", "cpsMc1300PSInUse2.2 = INTEGER: yes(1)"},
		"MCC16-MIB::cpsMc0200Table": {"cpsMc0200BiaIndex.3 = INTEGER: 3", `cpsMc0200Description.3 = STRING: Desk unit`, "cpsMc0200MRevision.3 = INTEGER: 1"},
		"MCC16-MIB::cpsMc0800Table": {"cpsMc0800BiaIndex.4 = INTEGER: 4", `cpsMc0800Description.4 = STRING: Rack B, top`, "cpsMc0800MRevision.4 = INTEGER: 1"},
		"MCC16-MIB::cpsMc1900Table": {"cpsMc1900BiaIndex.6 = INTEGER: 6", `cpsMc1900Description.6 = STRING: Rack B, bottom`, "cpsMc1900MRevision.6 = INTEGER: 1"},
		"MCC16-MIB::cpsmm200Table": {
			"cpsmm200SerialNumber.1.7 = INTEGER: 310107", "cpsmm200ICIF.1.7 = INTEGER: no(2)", // cabinet 1 has Base Management Modules
			"cpsmm200SerialNumber.3.1 = INTEGER: 310301", "cpsmm200ICIF.3.1 = INTEGER: yes(1)",
			"cpsmm200ICIF.4.2 = INTEGER: yes(1)", "cpsmm200ICIF.4.5 = INTEGER: no(2)", "cpsmm200MRevision.4.5 = INTEGER: 1"},
		"MCC16-MIB::cpsmm100ICIF": {"cpsmm100ICIF.1.1 = INTEGER: yes(1)", "cpsmm100ICIF.1.2 = INTEGER: no(2)", "cpsmm100ICIF.2.1 = INTEGER: yes(1)"},
		"MCC16-MIB::cettf100SerialNumber": {"cettf100SerialNumber.1.4 = INTEGER: 210104", "cettf100SerialNumber.3.2 = INTEGER: 210302",
			"cettf100SerialNumber.5.3 = INTEGER: 210503"},
		"MCC16-MIB::cfetf100SerialNumber": {"cfetf100SerialNumber.1.5 = INTEGER: 210105", "cfetf100SerialNumber.2.3 = INTEGER: 210203",
			"cfetf100SerialNumber.6.19 = INTEGER: 210619"},
		"MCC16-MIB::cpsCabinetModel": {"cpsCabinetModel.1 = OID: MCC16-MIB::chassisCpsmc1800Id", "cpsCabinetModel.2 = OID: MCC16-MIB::chassisCpsmc1300Id",
			"cpsCabinetModel.3 = OID: MCC16-MIB::chassisCpsmc0200Id", "cpsCabinetModel.4 = OID: MCC16-MIB::chassisCpsmc0800Id",
			"cpsCabinetModel.5 = OID: MCC16-MIB::chassisCpsmc1850Id", "cpsCabinetModel.6 = OID: MCC16-MIB::chassisCpsmc1900Id"},
		"MCC16-MIB::cpsModuleModel": {"cpsModuleModel.1.1 = OID: MCC16-MIB::cpsmM100Id", "cpsModuleModel.1.7 = OID: MCC16-MIB::cpsmM200Id",
			"cpsModuleModel.3.1 = OID: MCC16-MIB::cpsmM200Id", "cpsModuleModel.3.2 = OID: MCC16-MIB::cettf100Id",
			"cpsModuleModel.6.19 = OID: MCC16-MIB::cfetf100Id", "cpsModuleModel.4.8 = OID: MCC16-MIB::cpsEmptyId"},
	}
	primaryOnly := map[string][]string{
		"MCC16-MIB::smacf100Table": {"smacf100BiaIndex.7 = INTEGER: 7", `smacf100Description.7 = STRING: Building 2 colony`,
			"smacf100MRevision.7 = INTEGER: 1", "smacf100SpanningTree.7 = INTEGER: enabled(1)", "smacf100ResetCounters.7 = INTEGER: doNothing(2)",
			"smacf100SelfTest.7 = INTEGER: doNothing(2)", "smacf100QosEnable.7 = INTEGER: enabled(1)", "smacf100QosHPThreshold.7 = INTEGER: 4",
			"smacf100QosLqWeight.7 = INTEGER: 1", "smacf100QosHqWeight.7 = INTEGER: 4", "smacf100SNMPModuleInstalled.7 = INTEGER: no(2)",
			"smacf100AgingTimer.7 = INTEGER: 300"},
		"MCC16-MIB::cpsCabinetModel": {"cpsCabinetModel.7 = OID: MCC16-MIB::chassisSmacf100Id"},
		"MCC16-MIB::cpsModuleModel": {"cpsModuleModel.7.1 = OID: MCC16-MIB::smacf100PId", "cpsModuleModel.7.2 = OID: MCC16-MIB::cpsEmptyId",
			"cpsModuleModel.7.3 = OID: MCC16-MIB::smacf100PId", "cpsModuleModel.7.5 = OID: MCC16-MIB::cpsEmptyId"},
	}
	missing := func(i int, want map[string][]string) string {
		var out []string
		for table, lines := range want {
			got := walk(i, table)
			for _, l := range lines {
				if !strings.Contains(got, "MCC16-MIB::"+l+"\n") {
					out = append(out, fmt.Sprintf("%s: no %q", table, l))
				}
			}
		}
		return strings.Join(out, "\n")
	}
	eventually(t, 15*time.Second, "the Primary shows the whole tree", func() bool {
		return missing(p, common) == "" && missing(p, primaryOnly) == ""
	})
	for _, sb := range standbys {
		eventually(t, 10*time.Second, fmt.Sprintf("Standby %d shows the backplane's tree", sb+1), func() bool { return missing(sb, common) == "" })
	}
	if m := missing(p, common) + missing(p, primaryOnly); m != "" {
		t.Fatalf("the Primary module %d:\n%s", p+1, m)
	}
	// Row counts on the Primary: one detail row per cabinet of the model.
	rows := func(i int, column string) int {
		return len(regexp.MustCompile(`(?m)^MCC16-MIB::`+column+`\.`).FindAllString(walk(i, "MCC16-MIB::"+column), -1))
	}
	for column, n := range map[string]int{"cpsMc1800BiaIndex": 2, "cpsMc1300BiaIndex": 1, "cpsMc0200BiaIndex": 1, "cpsMc0800BiaIndex": 1,
		"cpsMc1900BiaIndex": 1, "smacf100BiaIndex": 1, "cpsmm200BiaIndex": 4, "cpsCabinetBiaIndex": 7,
		"cpsModuleModel": 18 + 13 + 2 + 8 + 18 + 19 + 5} {
		if got := rows(p, column); got != n {
			t.Errorf("the Primary has %d rows of %s, want %d", got, column, n)
		}
	}
	// Standbys: the same backplane tables as the Primary, nothing of the
	// SMACF100 unit.
	for _, sb := range standbys {
		for _, table := range []string{"MCC16-MIB::cpsMc1800Table", "MCC16-MIB::cpsMc1300Table", "MCC16-MIB::cpsMc0200Table",
			"MCC16-MIB::cpsMc0800Table", "MCC16-MIB::cpsMc1900Table", "MCC16-MIB::cpsmm200Table", "MCC16-MIB::cettf100Table",
			"MCC16-MIB::cfetf100Table", "MCC16-MIB::cpsSlotPwrTable"} {
			if want, got := walk(p, table), walk(sb, table); got != want {
				t.Errorf("%s differs between the Primary (module %d) and Standby %d:\n%s\n---\n%s", table, p+1, sb+1, want, got)
			}
		}
		if got := walk(sb, "MCC16-MIB::smacf100Table"); regexp.MustCompile(`smacf100[A-Za-z]+\.7 =`).MatchString(got) {
			t.Errorf("Standby %d shows the SMACF100 unit:\n%s", sb+1, got)
		}
		if n := rows(sb, "cpsCabinetBiaIndex"); n != 6 {
			t.Errorf("Standby %d has %d cabinets, want 6 (not the SMACF100 unit)", sb+1, n)
		}
		if got := walk(sb, "MCC16-MIB::cpsModuleModel"); strings.Contains(got, "cpsModuleModel.7.") {
			t.Errorf("Standby %d shows the unit's ports", sb+1)
		}
	}

	// The SMACF100's settings are shown, not set.
	out, err := s.snmp("snmpset", p, "private", "MCC16-MIB::smacf100SpanningTree.7", "i", "disabled")
	if err == nil || !strings.Contains(out, "inconsistentValue") {
		t.Errorf("snmpset smacf100SpanningTree.7 on the Primary: %v\n%s", err, out)
	}

	// The ICIF rule follows the cabinet: cabinet 4's lowest cpsmm200
	// pulled out, the next one is its ICIF; back in, it is again.
	icif := func(i int, at string) string {
		out, err := s.snmp("snmpget", i, "public", "MCC16-MIB::cpsmm200ICIF."+at)
		if err != nil {
			return err.Error()
		}
		return strings.TrimSpace(out[strings.LastIndex(out, ":")+1:])
	}
	if out, err := s.cli("fail", "device", "4/2", "remove"); err != nil {
		t.Fatalf("fail device 4/2 remove: %v\n%s", err, out)
	}
	eventually(t, 10*time.Second, "cpsmm200 4/5 becomes cabinet 4's ICIF on every module", func() bool {
		for i := range s.addrs {
			if icif(i, "4.5") != "yes(1)" {
				return false
			}
		}
		return true
	})
	if out, err := s.cli("restore", "device", "4/2"); err != nil {
		t.Fatalf("restore device 4/2: %v\n%s", err, out)
	}
	eventually(t, 10*time.Second, "cpsmm200 4/2 is cabinet 4's ICIF again", func() bool {
		return icif(p, "4.2") == "yes(1)" && icif(p, "4.5") == "no(2)"
	})
}
