package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// table reads cpsmm100Table from module i's agent with snmptable: a map
// per row (its index "bia.slot"), column names without the cpsmm100 prefix.
func (s *testStack) table(i int) (map[string]map[string]string, string, error) {
	out, err := s.snmp("snmptable", i, "public", "-Cf", "|", "-Ci", "-Cb", "MCC16-MIB::cpsmm100Table")
	if err != nil {
		return nil, out, err
	}
	var head []string
	rows := map[string]map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Split(l, "|")
		if len(f) < 3 {
			continue
		}
		if head == nil {
			for _, h := range f {
				head = append(head, strings.TrimPrefix(h, "cpsmm100"))
			}
			continue
		}
		r := map[string]string{}
		for k, v := range f {
			if k < len(head) {
				r[head[k]] = v
			}
		}
		rows[f[0]] = r
	}
	return rows, out, nil
}

// valueText reads one object from module i's agent, its value only.
func (s *testStack) valueText(i int, obj string) string {
	out, err := s.snmp("snmpget", i, "public", "-Oqv", obj)
	if err != nil {
		return "ERROR: " + strings.TrimSpace(out)
	}
	return strings.Trim(strings.TrimSpace(out), `"`)
}

// TestRowsThroughThePrimary: real snmpd and net-snmp tools. snmptable of
// cpsmm100Table on the Primary shows every module's real settings and
// uptime; one snmpset through the Primary of a Standby's SysName, trap
// manager and IP address is answered once the Standby holds them, which
// its own agent and the Primary's table then show; the same through a
// Standby is inconsistentValue; a PDU for a live and a hung Standby fails
// and leaves nothing of itself anywhere.
func TestRowsThroughThePrimary(t *testing.T) {
	const hello, hold = 250 * time.Millisecond, 750 * time.Millisecond
	s := startStack(t, hello, hold, "yes", "yes", "yes")
	p, _ := s.waitPrimary(-1, 15*time.Second)
	s.waitOnly(p, "after up")
	a, b := (p+1)%3, (p+2)%3
	obj := func(col string, i int) string { return fmt.Sprintf("MCC16-MIB::cpsmm100%s.1.%d", col, i+1) }

	// Every module's row on the Primary: its real address, an uptime.
	var rows map[string]map[string]string
	var out string
	eventually(t, 10*time.Second, "every row of the Primary's cpsmm100Table with its uptime", func() bool {
		var err error
		if rows, out, err = s.table(p); err != nil || len(rows) != 3 {
			return false
		}
		for i := range 3 {
			r := rows[fmt.Sprintf("1.%d", i+1)]
			if r == nil || r["SysUpTime"] == "" || r["SysUpTime"] == "?" || strings.HasPrefix(r["SysUpTime"], "0:0:00:00.0") {
				return false
			}
		}
		return true
	})
	t.Logf("snmptable on the Primary m%d:\n%s", p+1, out)
	for i := range 3 {
		r := rows[fmt.Sprintf("1.%d", i+1)]
		if r["IPAddress"] != fmt.Sprintf("192.0.2.1%d", i+1) || r["SysName"] != fmt.Sprintf("m%d", i+1) || r["SubnetMask"] != "255.255.255.0" {
			t.Errorf("m%d's row on the Primary: %v", i+1, r)
		}
	}

	// One PDU through the Primary: three columns of Standby a's row.
	// (An Ack later than 30 ms, on a loaded machine, answers commitFailed
	// and takes the Set back: then it is tried again.)
	var o string
	var err error
	for try := 1; ; try++ {
		o, err = s.snmp("snmpset", p, "private",
			obj("SysName", a), "s", "lab-a",
			obj("SNMPTrapMgr", a), "a", "127.0.0.2",
			obj("IPAddress", a), "a", "192.0.2.77")
		if err == nil || !strings.Contains(o, "commitFailed") || try == 3 {
			break
		}
		t.Logf("snmpset through the Primary, try %d: %s", try, strings.TrimSpace(o))
	}
	if err != nil {
		t.Fatalf("snmpset through the Primary m%d: %v\n%s", p+1, err, o)
	}
	t.Logf("snmpset through the Primary m%d:\n%s", p+1, o)
	// Answered after the Ack: the Standby's own agent holds them already.
	got := s.valueText(a, obj("SysName", a)) + " " + s.valueText(a, obj("SNMPTrapMgr", a)) + " " + s.valueText(a, obj("IPAddress", a))
	if got != "lab-a 127.0.0.2 192.0.2.77" {
		t.Fatalf("m%d's own agent after the answer: %q", a+1, got)
	}
	eventually(t, 5*time.Second, "the Set in every module's table", func() bool {
		for i := range 3 {
			rows, _, err := s.table(i)
			r := rows[fmt.Sprintf("1.%d", a+1)]
			if err != nil || r["SysName"] != "lab-a" || r["SNMPTrapMgr"] != "127.0.0.2" || r["IPAddress"] != "192.0.2.77" {
				return false
			}
		}
		return true
	})
	// The Standby's notifier takes its new trap manager (it would use it
	// as Primary after a failover).
	eventually(t, 5*time.Second, fmt.Sprintf("m%d's notifier with its new trap manager", a+1), func() bool {
		return s.valueText(a, "CPSMM-EMULATOR-MIB::cpsEmuTrapMgrAddress.1") == "127.0.0.2"
	})
	if v := s.valueText(a, "MCC16-MIB::cpsIsPrimary.0"); v != "no" {
		t.Errorf("m%d answers cpsIsPrimary %s after its IP change", a+1, v)
	}
	s.logSetTimes(p, a)

	// Through a Standby: inconsistentValue, nothing changes.
	o, err = s.snmp("snmpset", b, "private", obj("SysName", a), "s", "via-standby")
	if err == nil || !strings.Contains(o, "inconsistentValue") {
		t.Fatalf("snmpset through Standby m%d: %v\n%s", b+1, err, o)
	}
	// Bad values through the Primary: the SNMP error, named varbind.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{obj("SysName", a), "s", strings.Repeat("x", 256)}, "wrongLength"},
		{[]string{obj("SysContact", b), "s", "ok", obj("IPAddress", a), "a", "224.0.0.9"}, "wrongValue"},
		{[]string{obj("Gateway", a), "a", "198.51.100.1"}, "inconsistentValue"},
		{[]string{obj("SysName", a), "i", "4"}, "wrongType"},
	} {
		// -Ir: the client passes what it would refuse itself.
		o, err := s.snmp("snmpset", p, "private", append([]string{"-Ir"}, tc.args...)...)
		if err == nil || !strings.Contains(o, "Reason: "+tc.want) {
			t.Errorf("snmpset %v through the Primary: want %s, got %v\n%s", tc.args, tc.want, err, o)
		}
	}
	if v := s.valueText(b, obj("SysContact", b)); v != "" {
		t.Errorf("m%d's SysContact is %q after refused Sets", b+1, v)
	}

	// A PDU for a live Standby and a hung one, within the hung one's
	// holdtime (the Primary still hears it): commitFailed, and nothing of
	// it stays: the live one's part is taken back, the hung one, resumed,
	// reads the Set and its take-back in order.
	nameB := s.valueText(b, obj("SysName", b))
	hungName := fmt.Sprintf("m%d", b+1)
	for attempt := 1; ; attempt++ {
		hungAt := time.Now()
		if o, err := s.cli("fail", hungName, "hang"); err != nil {
			t.Fatalf("hang %s: %v\n%s", hungName, err, o)
		}
		hung := true
		t.Cleanup(func() {
			if hung {
				_, _ = s.cli("restore", hungName)
			}
		})
		start := time.Now()
		o, err = s.snmp("snmpset", p, "private", obj("SysName", a), "s", "half", obj("SysName", b), "s", "half", obj("SNMPTrapMgr2", b), "a", "127.0.0.3")
		took := time.Since(start)
		inHold := time.Since(hungAt) < hold
		if err == nil {
			t.Fatalf("the Set with hung m%d succeeded:\n%s", b+1, o)
		}
		// Meanwhile (b still hung) the Primary's table holds nothing of it.
		rows, _, _ := s.table(p)
		if r := rows[fmt.Sprintf("1.%d", a+1)]; r["SysName"] != "lab-a" {
			t.Errorf("the Primary shows m%d's SysName %q after the failed Set", a+1, r["SysName"])
		}
		if r := rows[fmt.Sprintf("1.%d", b+1)]; r["SysName"] != nameB || r["SNMPTrapMgr2"] != "0.0.0.0" {
			t.Errorf("the Primary shows m%d's row %v after the failed Set", b+1, r)
		}
		if o2, err := s.cli("restore", hungName); err != nil {
			t.Fatalf("restore %s: %v\n%s", hungName, err, o2)
		}
		hung = false
		if inHold {
			t.Logf("snmpset with m%d hung: %s after the hang, %s:\n%s", b+1, time.Since(hungAt).Round(time.Millisecond), took.Round(time.Millisecond), o)
			if !strings.Contains(o, "Reason: "+hungSetError) {
				t.Errorf("want %s:\n%s", hungSetError, o)
			}
			break
		}
		t.Logf("attempt %d: the Set ended past the holdtime of the hang (%s), again", attempt, strings.TrimSpace(o))
		if !strings.Contains(o, "inconsistentValue") && !strings.Contains(o, hungSetError) {
			t.Errorf("past the holdtime: want inconsistentValue or %s:\n%s", hungSetError, o)
		}
		if attempt == 3 {
			t.Fatal("three attempts, none within the holdtime of the hang")
		}
		s.waitOnly(p, "after the restore")
		eventually(t, 15*time.Second, fmt.Sprintf("the Primary hears m%d again", b+1), func() bool { return s.peerAlive(p, b) })
	}
	s.waitAnswers(b)
	// Watched for three holdtimes: each module's own agent and the
	// Primary's table end with none of the failed Set.
	var seen []string
	for end := time.Now().Add(3 * hold); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		v := s.valueText(a, obj("SysName", a)) + "/" + s.valueText(b, obj("SysName", b)) + "/" + s.valueText(b, obj("SNMPTrapMgr2", b))
		if len(seen) == 0 || seen[len(seen)-1] != v {
			seen = append(seen, v)
		}
	}
	logText, _ := os.ReadFile(filepath.Join(s.run, hungName, "cpsmm.log"))
	t.Logf("own agents m%d/m%d after the restore: %v; m%d's log: %d Sets applied from the Primary, %d refused", a+1, b+1, seen, b+1,
		strings.Count(string(logText), "set by the Primary"), strings.Count(string(logText), "set from the backplane refused"))
	if want := "lab-a/" + nameB + "/0.0.0.0"; seen[len(seen)-1] != want {
		t.Fatalf("after the restore the own agents show %s, want %s (values seen %v)", seen[len(seen)-1], want, seen)
	}
	eventually(t, 5*time.Second, "the Primary's table without the failed Set", func() bool {
		rows, _, _ := s.table(p)
		ra, rb := rows[fmt.Sprintf("1.%d", a+1)], rows[fmt.Sprintf("1.%d", b+1)]
		return ra["SysName"] == "lab-a" && rb["SysName"] == nameB && rb["SNMPTrapMgr2"] == "0.0.0.0"
	})
	s.waitOnly(p, "at the end")
}

// logSetTimes logs, not judged, what a three-column Set of Standby a's
// row through the Primary p costs against the same Set of p's own row
// (gosnmp, 30 each, interleaved). A Set whose Ack comes later than 30 ms
// (a loaded machine) answers commitFailed: counted, not timed.
func (s *testStack) logSetTimes(p, a int) {
	g := s.manager(p, "private")
	pdu := func(slot, k int) []gosnmp.SnmpPDU {
		col := func(c int) string { return fmt.Sprintf("%s.%d.1.%d", oidCpsmm100, c, slot) }
		return []gosnmp.SnmpPDU{
			{Name: col(21), Type: gosnmp.OctetString, Value: fmt.Sprintf("n%d", k)},           // SysName
			{Name: col(20), Type: gosnmp.OctetString, Value: fmt.Sprintf("c%d", k)},           // SysContact
			{Name: col(28), Type: gosnmp.IPAddress, Value: fmt.Sprintf("127.0.0.%d", 10+k%2)}, // SNMPTrapMgr2
		}
	}
	var remote, local []time.Duration
	late := 0 // commitFailed: the Ack later than 30 ms (a loaded machine)
	for k := range 30 {
		for _, slot := range []int{a + 1, p + 1} {
			start := time.Now()
			res, err := g.Set(pdu(slot, k))
			d := time.Since(start)
			if err == nil && res.Error == gosnmp.CommitFailed && slot == a+1 {
				late++
				continue
			}
			if err != nil || res.Error != gosnmp.NoError {
				s.t.Fatalf("Set of row 1.%d through the Primary: %v %v", slot, err, res)
			}
			if slot == p+1 {
				local = append(local, d)
			} else {
				remote = append(remote, d)
			}
		}
	}
	if len(remote) < 20 {
		s.t.Fatalf("%d of 30 Sets of a Standby's row answered commitFailed", late)
	}
	slices.Sort(remote)
	slices.Sort(local)
	q := func(d []time.Duration, p float64) time.Duration {
		return d[int(p*float64(len(d)-1))].Round(10 * time.Microsecond)
	}
	s.t.Logf("three-column Set through the Primary, 30 each: a Standby's row p50 %s max %s (%d commitFailed: no Ack within 30 ms); the Primary's own row p50 %s max %s",
		q(remote, 0.5), q(remote, 1), late, q(local, 0.5), q(local, 1))
	// Put the Standby's row back as the test left it.
	for try := 1; ; try++ {
		res, err := g.Set([]gosnmp.SnmpPDU{
			{Name: fmt.Sprintf("%s.21.1.%d", oidCpsmm100, a+1), Type: gosnmp.OctetString, Value: "lab-a"},
			{Name: fmt.Sprintf("%s.20.1.%d", oidCpsmm100, a+1), Type: gosnmp.OctetString, Value: ""},
			{Name: fmt.Sprintf("%s.28.1.%d", oidCpsmm100, a+1), Type: gosnmp.IPAddress, Value: "0.0.0.0"},
		})
		if err == nil && res.Error == gosnmp.NoError {
			break
		}
		if try == 5 {
			s.t.Fatalf("restore row 1.%d: %v %v", a+1, err, res)
		}
	}
}
