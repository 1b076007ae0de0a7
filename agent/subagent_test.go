package agent

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cpsmm/cpsmm/agent/pdu"
	"github.com/cpsmm/cpsmm/mib"
	"github.com/cpsmm/cpsmm/mib/smi"
)

// testMaster is the master side of the protocol, spoken by the test itself:
// it accepts the subagent's connection, answers Open and Register, and sends
// requests whose answers the tests check byte-for-byte decoded.
type testMaster struct {
	t      *testing.T
	ln     net.Listener
	conn   net.Conn
	order  uint8 // FlagNetworkByteOrder or 0 for the requests we send
	nextID uint32
}

func newTestMaster(t *testing.T) (*testMaster, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &testMaster{t: t, ln: ln}, path
}

func (m *testMaster) read() *pdu.Packet {
	m.t.Helper()
	_ = m.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	p, err := pdu.ReadPacket(m.conn, 1<<20)
	if err != nil {
		m.t.Fatalf("master read: %v", err)
	}
	return p
}

func (m *testMaster) write(p *pdu.Packet) {
	m.t.Helper()
	b, err := pdu.Marshal(p)
	if err != nil {
		m.t.Fatalf("master marshal: %v", err)
	}
	if _, err := m.conn.Write(b); err != nil {
		m.t.Fatalf("master write: %v", err)
	}
}

// accept takes the subagent's connection and answers Open and n Registers.
func (m *testMaster) accept(nreg int) (open *pdu.Packet, regs []*pdu.Packet) {
	m.t.Helper()
	c, err := m.ln.Accept()
	if err != nil {
		m.t.Fatal(err)
	}
	m.conn = c
	m.t.Cleanup(func() { c.Close() })
	open = m.read()
	if open.Header.Type != pdu.TypeOpen {
		m.t.Fatalf("first PDU is type %d, want Open", open.Header.Type)
	}
	m.reply(open, 42, smi.NoError)
	for i := 0; i < nreg; i++ {
		r := m.read()
		if r.Header.Type != pdu.TypeRegister || r.Header.SessionID != 42 {
			m.t.Fatalf("PDU %d: type %d session %d, want Register on session 42", i, r.Header.Type, r.Header.SessionID)
		}
		regs = append(regs, r)
		m.reply(r, 42, smi.NoError)
	}
	return open, regs
}

func (m *testMaster) reply(req *pdu.Packet, session uint32, st smi.ErrorStatus) {
	m.write(&pdu.Packet{Header: pdu.Header{
		Type: pdu.TypeResponse, Flags: req.Header.Flags & pdu.FlagNetworkByteOrder,
		SessionID: session, TransactionID: req.Header.TransactionID, PacketID: req.Header.PacketID,
	}, Error: st})
}

// ask sends a request and returns the subagent's Response.
func (m *testMaster) ask(p *pdu.Packet) *pdu.Packet {
	m.t.Helper()
	m.nextID++
	p.Header.SessionID = 42
	p.Header.PacketID = m.nextID
	p.Header.Flags |= m.order
	m.write(p)
	res := m.read()
	if res.Header.Type != pdu.TypeResponse || res.Header.PacketID != m.nextID || res.Header.TransactionID != p.Header.TransactionID {
		m.t.Fatalf("answer: type %d packet %d tx %d, want Response to %d/%d", res.Header.Type, res.Header.PacketID, res.Header.TransactionID, m.nextID, p.Header.TransactionID)
	}
	if res.Header.Flags&pdu.FlagNetworkByteOrder != m.order {
		m.t.Fatalf("answer byte order flag %#x, want %#x (the request's)", res.Header.Flags, m.order)
	}
	return res
}

func testStore(t testing.TB) *mib.Store {
	t.Helper()
	s := mib.NewStore(mib.DefaultRegistry())
	put := func(name string, v smi.Value, idx ...uint32) {
		if err := s.Put(name, v, idx...); err != nil {
			t.Fatal(err)
		}
	}
	for _, slot := range []uint32{1, 2, 3} {
		put("cpsModuleBiaIndex", smi.Integer(1), 1, slot)
		put("cpsModuleSlotIndex", smi.Integer(int32(slot)), 1, slot)
		put("cpsModuleModel", smi.ObjectID(smi.MustOID("1.3.6.1.4.1.868.1.4.1.2.1001")), 1, slot)
	}
	put("cpsmm100SysName", smi.String("one"), 1, 1)
	put("cpsmm100WantPrimary", smi.Integer(1), 1, 1)
	put("cpsIsPrimary", smi.Integer(1), 0)
	return s
}

func startSubagent(t *testing.T, h Handler, path string) *Subagent {
	t.Helper()
	a, err := New(Config{
		Network: "unix", Address: path, ID: smi.MustOID("1.3.6.1.4.1.868.1.4.1.2.1"), Descr: "test",
		Registrations: []Registration{{Subtree: smi.MustOID("1.3.6.1.4.1.868.2.4"), Priority: 100},
			{Subtree: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.1.1.1"), RangeSubID: 13, UpperBound: 3}},
		Handler: h, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("subagent did not stop")
		}
	})
	return a
}

var (
	colModel = smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.1.1.1.3")
	colSlot  = smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.1.1.1.2")
	sysName  = smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.2.1.1.21.1.1")
	want     = smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.2.1.1.12.1.1")
)

func TestOpenRegister(t *testing.T) {
	m, path := newTestMaster(t)
	a := startSubagent(t, testStore(t), path)
	open, regs := m.accept(2)
	<-a.Connected()
	done := make(chan error, 1)
	go func() {
		done <- a.Unregister(context.Background(), Registration{Subtree: smi.MustOID("1.3.6.1.4.1.868.2.4.1.2.1.1.1"), RangeSubID: 13, UpperBound: 3})
	}()
	un := m.read()
	if un.Header.Type != pdu.TypeUnregister || un.RangeSubID != 13 || un.UpperBound != 3 || un.Priority != 127 {
		t.Errorf("unregister = %+v", un)
	}
	m.reply(un, 42, smi.NoError)
	if err := <-done; err != nil {
		t.Errorf("unregister: %v", err)
	}
	if open.Timeout != 5 || string(open.Descr) != "test" || !open.ID.Equal(smi.MustOID("1.3.6.1.4.1.868.1.4.1.2.1")) {
		t.Errorf("open = timeout %d descr %q id %s", open.Timeout, open.Descr, open.ID)
	}
	if regs[0].Priority != 100 || !regs[0].Subtree.Equal(smi.MustOID("1.3.6.1.4.1.868.2.4")) || regs[0].RangeSubID != 0 {
		t.Errorf("register 1 = %+v", regs[0])
	}
	if regs[1].Priority != 127 || regs[1].RangeSubID != 13 || regs[1].UpperBound != 3 {
		t.Errorf("register 2 (range) = pri %d range %d upper %d", regs[1].Priority, regs[1].RangeSubID, regs[1].UpperBound)
	}
}

func TestGetAndGetNextSemantics(t *testing.T) {
	for _, order := range []uint8{0, pdu.FlagNetworkByteOrder} {
		m, path := newTestMaster(t)
		m.order = order
		startSubagent(t, testStore(t), path)
		m.accept(2)
		slot2 := colSlot.Append(1, 2)
		tests := []struct {
			name string
			sr   pdu.SearchRange
			want smi.VarBind
		}{
			{"exclusive start skips itself", pdu.SearchRange{Start: slot2}, smi.VarBind{Name: colSlot.Append(1, 3), Value: smi.Integer(3)}},
			{"include returns the start", pdu.SearchRange{Start: slot2, Include: true}, smi.VarBind{Name: slot2, Value: smi.Integer(2)}},
			{"end bound is exclusive", pdu.SearchRange{Start: slot2, End: colSlot.Append(1, 3)}, smi.VarBind{Name: slot2, Value: smi.Exception(smi.TypeEndOfMibView)}},
			{"next column", pdu.SearchRange{Start: colSlot.Append(1, 3)}, smi.VarBind{Name: colModel.Append(1, 1), Value: smi.ObjectID(smi.MustOID("1.3.6.1.4.1.868.1.4.1.2.1001"))}},
			{"past everything", pdu.SearchRange{Start: smi.MustOID("1.3.6.1.4.1.868.3")}, smi.VarBind{Name: smi.MustOID("1.3.6.1.4.1.868.3"), Value: smi.Exception(smi.TypeEndOfMibView)}},
		}
		for _, tc := range tests {
			res := m.ask(&pdu.Packet{Header: pdu.Header{Type: pdu.TypeGetNext}, SearchRanges: []pdu.SearchRange{tc.sr}})
			if len(res.VarBinds) != 1 || !res.VarBinds[0].Name.Equal(tc.want.Name) || !res.VarBinds[0].Value.Equal(tc.want.Value) {
				t.Errorf("order %#x %s: got %v", order, tc.name, res.VarBinds)
			}
		}
		res := m.ask(&pdu.Packet{Header: pdu.Header{Type: pdu.TypeGet}, SearchRanges: []pdu.SearchRange{
			{Start: sysName}, {Start: colSlot.Append(9, 9)}, {Start: smi.MustOID("1.3.6.1.4.1.868.2.4.77")},
		}})
		wantTypes := []smi.Type{smi.TypeOctetString, smi.TypeNoSuchInstance, smi.TypeNoSuchObject}
		for i, vb := range res.VarBinds {
			if vb.Value.Type != wantTypes[i] {
				t.Errorf("order %#x get %d: %v, want %s", order, i, vb, wantTypes[i])
			}
		}
	}
}

func TestGetBulk(t *testing.T) {
	m, path := newTestMaster(t)
	startSubagent(t, testStore(t), path)
	m.accept(2)
	res := m.ask(&pdu.Packet{Header: pdu.Header{Type: pdu.TypeGetBulk}, NonRepeaters: 1, MaxRepetitions: 4,
		SearchRanges: []pdu.SearchRange{{Start: sysName}, {Start: colSlot}, {Start: colModel.Append(1, 2)}}})
	var got []string
	for _, vb := range res.VarBinds {
		got = append(got, vb.Name.String()+"="+vb.Value.String())
	}
	base := "1.3.6.1.4.1.868.2.4.1.2.1.1.1."
	empty := "OID: 1.3.6.1.4.1.868.1.4.1.2.1001"
	want := []string{
		"1.3.6.1.4.1.868.2.4.2.2.3.3.0=INTEGER: 1",
		base + "2.1.1=INTEGER: 1", base + "3.1.3=" + empty,
		base + "2.1.2=INTEGER: 2", "1.3.6.1.4.1.868.2.4.1.2.2.1.1.12.1.1=INTEGER: 1",
		base + "2.1.3=INTEGER: 3", "1.3.6.1.4.1.868.2.4.1.2.2.1.1.21.1.1=OCTET STRING: \"one\"",
		base + "3.1.1=" + empty, "1.3.6.1.4.1.868.2.4.2.2.3.3.0=INTEGER: 1",
	}
	if len(got) != len(want) {
		t.Fatalf("getbulk gave %d varbinds:\n%v\nwant %d:\n%v", len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("varbind %d = %s, want %s", i, got[i], want[i])
		}
	}
}

func TestSetPhases(t *testing.T) {
	s := testStore(t)
	m, path := newTestMaster(t)
	startSubagent(t, s, path)
	m.accept(2)
	set := func(tx uint32, vbs ...smi.VarBind) *pdu.Packet {
		return m.ask(&pdu.Packet{Header: pdu.Header{Type: pdu.TypeTestSet, TransactionID: tx}, VarBinds: vbs})
	}
	phase := func(tx uint32, typ pdu.Type) *pdu.Packet {
		return m.ask(&pdu.Packet{Header: pdu.Header{Type: typ, TransactionID: tx}})
	}
	value := func() string { v, _ := s.Value("cpsmm100SysName", 1, 1); return string(v.Bytes) }

	// A bad second varbind fails TestSet with its index; nothing changes.
	res := set(1, smi.VarBind{Name: sysName, Value: smi.String("two")}, smi.VarBind{Name: want, Value: smi.Integer(7)})
	if res.Error != smi.WrongValue || res.Index != 2 || value() != "one" {
		t.Fatalf("bad set: %s index %d, sysName %q", res.Error, res.Index, value())
	}
	// TestSet changes nothing; CommitSet applies; UndoSet restores.
	if res = set(2, smi.VarBind{Name: sysName, Value: smi.String("two")}); res.Error != smi.NoError || value() != "one" {
		t.Fatalf("testset: %s, sysName %q", res.Error, value())
	}
	if res = phase(2, pdu.TypeCommitSet); res.Error != smi.NoError || value() != "two" {
		t.Fatalf("commit: %s, sysName %q", res.Error, value())
	}
	if res = phase(2, pdu.TypeUndoSet); res.Error != smi.NoError || value() != "one" {
		t.Fatalf("undo: %s, sysName %q", res.Error, value())
	}
	// CleanupSet has no Response: the next request's answer must be the
	// next packet.
	m.nextID++
	m.write(&pdu.Packet{Header: pdu.Header{Type: pdu.TypeCleanupSet, SessionID: 42, TransactionID: 2, PacketID: m.nextID}})
	if res = set(3, smi.VarBind{Name: sysName, Value: smi.String("three")}); res.Error != smi.NoError {
		t.Fatal(res.Error)
	}
	phase(3, pdu.TypeCommitSet)
	if value() != "three" {
		t.Fatalf("sysName %q after commit", value())
	}
	// Commit of an unknown transaction fails.
	if res = phase(99, pdu.TypeCommitSet); res.Error != smi.CommitFailed {
		t.Errorf("commit of unknown tx: %s", res.Error)
	}
}

func TestMalformedPDUGetsParseError(t *testing.T) {
	m, path := newTestMaster(t)
	startSubagent(t, testStore(t), path)
	m.accept(2)
	// A Get whose payload holds an OID claiming 200 sub-identifiers.
	bad := []byte{1, byte(pdu.TypeGet), 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 8, 0, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0}
	if _, err := m.conn.Write(bad); err != nil {
		t.Fatal(err)
	}
	res := m.read()
	if res.Header.Type != pdu.TypeResponse || res.Header.PacketID != 7 || res.Error != smi.ParseError {
		t.Fatalf("answer to malformed PDU: type %d packet %d error %s", res.Header.Type, res.Header.PacketID, res.Error)
	}
	// The session still works.
	r := m.ask(&pdu.Packet{Header: pdu.Header{Type: pdu.TypeGet}, SearchRanges: []pdu.SearchRange{{Start: sysName}}})
	if r.VarBinds[0].Value.Type != smi.TypeOctetString {
		t.Fatalf("get after parse error: %v", r.VarBinds)
	}
}

func TestReconnectsAndReregisters(t *testing.T) {
	m, path := newTestMaster(t)
	a := startSubagent(t, testStore(t), path)
	m.accept(2)
	<-a.Connected()
	m.conn.Close() // the master goes away
	m.accept(2)    // and comes back: Open and both Registers again
	deadline := time.After(5 * time.Second)
	for a.Sessions() < 2 {
		select {
		case <-deadline:
			t.Fatalf("sessions = %d, want 2", a.Sessions())
		case <-time.After(time.Millisecond):
		}
	}
}

func TestCloseOnShutdown(t *testing.T) {
	m, path := newTestMaster(t)
	a, err := New(Config{Network: "unix", Address: path, Handler: testStore(t),
		Registrations: []Registration{{Subtree: smi.MustOID("1.3.6.1.4.1.868.2.4")}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	m.accept(1)
	<-a.Connected()
	cancel()
	p := m.read()
	if p.Header.Type != pdu.TypeClose || p.Reason != pdu.ReasonShutdown {
		t.Fatalf("on shutdown got type %d reason %d, want Close(shutdown)", p.Header.Type, p.Reason)
	}
	m.reply(p, 42, smi.NoError)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
}

// TestConcurrentReadsAndWrites runs GetNext walks through the session while
// the store changes underneath (meaningful under -race).
func TestConcurrentReadsAndWrites(t *testing.T) {
	s := testStore(t)
	m, path := newTestMaster(t)
	startSubagent(t, s, path)
	m.accept(2)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := int32(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = s.Put("cpsmm100SysName", smi.String("n"), 1, 1)
			_ = s.Put("cpsModuleSlotIndex", smi.Integer(i), 1, 2)
			if i%2 == 0 {
				s.Delete("cpsModuleEntry", 1, 3)
			} else {
				_ = s.Put("cpsModuleSlotIndex", smi.Integer(3), 1, 3)
			}
		}
	}()
	for i := 0; i < 300; i++ {
		start := smi.MustOID("1.3.6.1.4.1.868.2.4")
		for n := 0; n < 50; n++ {
			res := m.ask(&pdu.Packet{Header: pdu.Header{Type: pdu.TypeGetNext}, SearchRanges: []pdu.SearchRange{{Start: start}}})
			vb := res.VarBinds[0]
			if vb.Value.Type == smi.TypeEndOfMibView {
				break
			}
			if vb.Name.Compare(start) <= 0 {
				t.Fatalf("getnext went backwards: %s after %s", vb.Name, start)
			}
			start = vb.Name
		}
	}
	close(stop)
	wg.Wait()
}

// TestPingWhenIdle: an idle session is checked with a Ping; a master that
// does not answer it gets the session closed and reopened.
func TestPingWhenIdle(t *testing.T) {
	m, path := newTestMaster(t)
	a, err := New(Config{Network: "unix", Address: path, Handler: testStore(t), PingInterval: 50 * time.Millisecond,
		Timeout: time.Second, MinBackoff: 10 * time.Millisecond,
		Registrations: []Registration{{Subtree: smi.MustOID("1.3.6.1.4.1.868.2.4")}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = a.Run(ctx) }()
	m.accept(1)
	p := m.read()
	if p.Header.Type != pdu.TypePing || p.Header.SessionID != 42 {
		t.Fatalf("idle session sent type %d session %d, want Ping on 42", p.Header.Type, p.Header.SessionID)
	}
	// No answer: after the session timeout the subagent reconnects.
	m.accept(1)
	if a.Sessions() < 1 {
		t.Fatal("no session")
	}
}
