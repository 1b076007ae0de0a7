package pdu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// MaxSubIDs is the largest number of sub-identifiers an AgentX OID carries.
const MaxSubIDs = 128

// ParseError is malformed AgentX content. When HeaderOK is set, Header
// holds the packet's header so the receiver can answer with parseError.
type ParseError struct {
	Header   Header
	HeaderOK bool
	Msg      string
}

func (e *ParseError) Error() string { return "agentx parse error: " + e.Msg }

// byteOrder is both a ByteOrder and an AppendByteOrder (as binary's are).
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func order(flags uint8) byteOrder {
	if flags&FlagNetworkByteOrder != 0 {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// hasContext reports whether PDUs of type t carry a context field.
func hasContext(t Type) bool {
	switch t {
	case TypeRegister, TypeUnregister, TypeGet, TypeGetNext, TypeGetBulk, TypeTestSet,
		TypeNotify, TypePing, TypeIndexAllocate, TypeIndexDeallocate, TypeAddAgentCaps, TypeRemoveAgentCaps:
		return true
	}
	return false
}

// ---- encoding ----

type encoder struct {
	b  []byte
	bo byteOrder
}

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16) { e.b = e.bo.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = e.bo.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = e.bo.AppendUint64(e.b, v) }

func (e *encoder) oid(o smi.OID, include bool) error {
	prefix := uint8(0)
	if len(o) >= 5 && o[0] == 1 && o[1] == 3 && o[2] == 6 && o[3] == 1 && o[4] >= 1 && o[4] <= 255 {
		prefix = uint8(o[4])
		o = o[5:]
	}
	// The limit is on n_subid, what is left once the prefix is taken off
	// (the decoder accepts 128 sub-identifiers after a prefix).
	if len(o) > MaxSubIDs {
		return fmt.Errorf("OID of %d sub-identifiers after the prefix (max %d)", len(o), MaxSubIDs)
	}
	inc := uint8(0)
	if include {
		inc = 1
	}
	e.b = append(e.b, uint8(len(o)), prefix, inc, 0)
	for _, s := range o {
		e.u32(s)
	}
	return nil
}

func (e *encoder) octets(b []byte) {
	e.u32(uint32(len(b)))
	e.b = append(e.b, b...)
	for i := len(b); i%4 != 0; i++ {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) varbind(vb smi.VarBind) error {
	e.u16(uint16(vb.Value.Type))
	e.u16(0)
	if err := e.oid(vb.Name, false); err != nil {
		return err
	}
	v := vb.Value
	switch v.Type {
	case smi.TypeInteger:
		e.u32(uint32(v.Int))
	case smi.TypeCounter32, smi.TypeGauge32, smi.TypeTimeTicks:
		if v.Uint > math.MaxUint32 {
			return fmt.Errorf("%s value %d does not fit 32 bits", v.Type, v.Uint)
		}
		e.u32(uint32(v.Uint))
	case smi.TypeCounter64:
		e.u64(v.Uint)
	case smi.TypeOctetString, smi.TypeOpaque, smi.TypeIPAddress:
		e.octets(v.Bytes)
	case smi.TypeObjectID:
		return e.oid(v.OID, false)
	case smi.TypeNull, smi.TypeNoSuchObject, smi.TypeNoSuchInstance, smi.TypeEndOfMibView:
	default:
		return fmt.Errorf("unknown varbind type %d", v.Type)
	}
	return nil
}

// Marshal encodes p as one whole AgentX packet.
func Marshal(p *Packet) ([]byte, error) { return AppendMarshal(nil, p) }

// AppendMarshal appends the encoding of p to dst. The byte order is network
// order when p's header has FlagNetworkByteOrder, little-endian otherwise.
func AppendMarshal(dst []byte, p *Packet) ([]byte, error) {
	h := p.Header
	if h.Version == 0 {
		h.Version = 1
	}
	if h.Version != 1 {
		return dst, fmt.Errorf("agentx: cannot encode version %d", h.Version)
	}
	if h.Type == 0 || h.Type > TypeResponse {
		return dst, fmt.Errorf("agentx: cannot encode PDU type %d", h.Type)
	}
	start := len(dst)
	e := encoder{b: dst, bo: order(h.Flags)}
	e.b = append(e.b, h.Version, uint8(h.Type), h.Flags, 0)
	e.u32(h.SessionID)
	e.u32(h.TransactionID)
	e.u32(h.PacketID)
	e.u32(0) // payload length, patched below
	if h.Flags&FlagNonDefaultContext != 0 && hasContext(h.Type) {
		e.octets(p.Context)
	}
	var err error
	switch h.Type {
	case TypeOpen:
		e.b = append(e.b, p.Timeout, 0, 0, 0)
		if err = e.oid(p.ID, false); err == nil {
			e.octets(p.Descr)
		}
	case TypeClose:
		e.b = append(e.b, p.Reason, 0, 0, 0)
	case TypeRegister, TypeUnregister:
		first := p.Timeout
		if h.Type == TypeUnregister {
			first = 0
		}
		e.b = append(e.b, first, p.Priority, p.RangeSubID, 0)
		if int(p.RangeSubID) > len(p.Subtree) {
			// The decoder refuses this too: never send what we would not accept.
			err = fmt.Errorf("range_subid %d beyond a subtree of %d sub-identifiers", p.RangeSubID, len(p.Subtree))
		} else if err = e.oid(p.Subtree, false); err == nil && p.RangeSubID != 0 {
			e.u32(p.UpperBound)
		}
	case TypeGetBulk:
		e.u16(p.NonRepeaters)
		e.u16(p.MaxRepetitions)
		err = e.ranges(p.SearchRanges)
	case TypeGet, TypeGetNext:
		err = e.ranges(p.SearchRanges)
	case TypeTestSet, TypeNotify, TypeIndexAllocate, TypeIndexDeallocate:
		err = e.varbinds(p.VarBinds)
	case TypeCommitSet, TypeUndoSet, TypeCleanupSet, TypePing:
	case TypeAddAgentCaps:
		if err = e.oid(p.ID, false); err == nil {
			e.octets(p.Descr)
		}
	case TypeRemoveAgentCaps:
		err = e.oid(p.ID, false)
	case TypeResponse:
		e.u32(p.SysUpTime)
		e.u16(uint16(p.Error))
		e.u16(p.Index)
		err = e.varbinds(p.VarBinds)
	}
	if err != nil {
		return dst, fmt.Errorf("agentx: encode type %d: %w", h.Type, err)
	}
	e.bo.PutUint32(e.b[start+16:start+20], uint32(len(e.b)-start-HeaderSize))
	return e.b, nil
}

func (e *encoder) ranges(rs []SearchRange) error {
	for _, r := range rs {
		if err := e.oid(r.Start, r.Include); err != nil {
			return err
		}
		if err := e.oid(r.End, false); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) varbinds(vbs []smi.VarBind) error {
	for _, vb := range vbs {
		if err := e.varbind(vb); err != nil {
			return err
		}
	}
	return nil
}

// ---- decoding ----

// decoder reads a payload. Decoded OIDs and octet strings never alias the
// payload: they are copied into two arenas, so that a packet costs a few
// allocations however many OIDs and strings it holds. Arena chunks are
// sized from the bytes still unread, never from a length field alone.
type decoder struct {
	b   []byte
	off int
	bo  binary.ByteOrder
	err error

	subs  []uint32 // unused part of the current sub-identifier chunk
	bytes []byte   // unused part of the current octet chunk
}

func (d *decoder) fail(format string, a ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("offset %d: %s", d.off, fmt.Sprintf(format, a...))
	}
}

func (d *decoder) need(n int) bool {
	if d.err != nil {
		return false
	}
	if n < 0 || len(d.b)-d.off < n {
		d.fail("need %d bytes, %d left", n, len(d.b)-d.off)
		return false
	}
	return true
}

func (d *decoder) left() int { return len(d.b) - d.off }

func (d *decoder) u8() uint8 {
	if !d.need(1) {
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) u16() uint16 {
	if !d.need(2) {
		return 0
	}
	v := d.bo.Uint16(d.b[d.off:])
	d.off += 2
	return v
}

func (d *decoder) u32() uint32 {
	if !d.need(4) {
		return 0
	}
	v := d.bo.Uint32(d.b[d.off:])
	d.off += 4
	return v
}

func (d *decoder) u64() uint64 {
	if !d.need(8) {
		return 0
	}
	v := d.bo.Uint64(d.b[d.off:])
	d.off += 8
	return v
}

func (d *decoder) skip(n int) {
	if d.need(n) {
		d.off += n
	}
}

// newOID returns an OID of length n (n <= MaxSubIDs+5) from the arena. Its
// capacity is n, so appending to it never writes over a neighbour.
func (d *decoder) newOID(n int) smi.OID {
	if n == 0 {
		return smi.OID{} // empty, not nil, and no allocation
	}
	if n > len(d.subs) {
		// The rest of the payload cannot hold more sub-identifiers than
		// left/4, plus the five a prefix adds to each OID; a new chunk of
		// left/4 + 10 covers the common case of at most two prefixed OIDs
		// and grows only with the payload.
		size := d.left()/4 + 10
		if size < n {
			size = n
		}
		d.subs = make([]uint32, size)
	}
	o := smi.OID(d.subs[:n:n])
	d.subs = d.subs[n:]
	return o
}

// oid decodes an OID with its include byte.
func (d *decoder) oid() (smi.OID, bool) {
	if !d.need(4) {
		return nil, false
	}
	n, prefix, inc := int(d.b[d.off]), d.b[d.off+1], d.b[d.off+2]
	d.off += 4
	if n > MaxSubIDs {
		d.fail("OID of %d sub-identifiers (max %d)", n, MaxSubIDs)
		return nil, false
	}
	if inc > 1 {
		d.fail("OID include field %d", inc)
		return nil, false
	}
	if !d.need(4 * n) {
		return nil, false
	}
	size, i := n, 0
	if prefix != 0 {
		size += 5
	}
	o := d.newOID(size)
	if prefix != 0 {
		o[0], o[1], o[2], o[3], o[4] = 1, 3, 6, 1, uint32(prefix)
		i = 5
	}
	for ; i < size; i++ {
		o[i] = d.bo.Uint32(d.b[d.off:])
		d.off += 4
	}
	return o, inc == 1
}

// octets decodes an octet string (length, data, padding to 4 bytes).
func (d *decoder) octets() []byte {
	n := d.u32()
	if d.err != nil {
		return nil
	}
	if uint64(n) > uint64(d.left()) {
		d.fail("octet string of %d bytes, %d left", n, d.left())
		return nil
	}
	padded := (int(n) + 3) &^ 3
	if !d.need(padded) {
		return nil
	}
	if n == 0 {
		d.off += padded
		return []byte{}
	}
	if int(n) > len(d.bytes) {
		// Every octet string still to come lies in the unread payload.
		d.bytes = make([]byte, d.left())
	}
	b := d.bytes[:n:n]
	d.bytes = d.bytes[n:]
	copy(b, d.b[d.off:])
	d.off += padded
	return b
}

func (d *decoder) varbind() smi.VarBind {
	t := smi.Type(d.u16())
	d.skip(2)
	name, _ := d.oid()
	vb := smi.VarBind{Name: name, Value: smi.Value{Type: t}}
	if d.err != nil {
		return vb
	}
	switch t {
	case smi.TypeInteger:
		vb.Value.Int = int32(d.u32())
	case smi.TypeCounter32, smi.TypeGauge32, smi.TypeTimeTicks:
		vb.Value.Uint = uint64(d.u32())
	case smi.TypeCounter64:
		vb.Value.Uint = d.u64()
	case smi.TypeOctetString, smi.TypeOpaque, smi.TypeIPAddress:
		vb.Value.Bytes = d.octets()
	case smi.TypeObjectID:
		vb.Value.OID, _ = d.oid()
	case smi.TypeNull, smi.TypeNoSuchObject, smi.TypeNoSuchInstance, smi.TypeEndOfMibView:
	default:
		d.fail("unknown varbind type %d", t)
	}
	return vb
}

// listBuf is how many list elements are collected on the stack before the
// list is copied into one exactly sized slice.
const listBuf = 8

// varbinds decodes a VarBindList up to the end of the payload.
func (d *decoder) varbinds() []smi.VarBind {
	var buf [listBuf]smi.VarBind
	vbs := buf[:0]
	for d.err == nil && d.left() > 0 {
		vbs = append(vbs, d.varbind())
	}
	if d.err != nil || len(vbs) == 0 {
		return nil
	}
	return append([]smi.VarBind(nil), vbs...)
}

// ranges decodes a SearchRangeList up to the end of the payload.
func (d *decoder) ranges() []SearchRange {
	var buf [listBuf]SearchRange
	rs := buf[:0]
	for d.err == nil && d.left() > 0 {
		start, inc := d.oid()
		end, _ := d.oid()
		rs = append(rs, SearchRange{Start: start, Include: inc, End: end})
	}
	if d.err != nil || len(rs) == 0 {
		return nil
	}
	return append([]SearchRange(nil), rs...)
}

// DecodeHeader decodes the fixed 20-byte header (b may be longer). It
// refuses a version other than 1 and a payload length that is not a
// multiple of 4; the PDU type is checked with the payload, so that a
// reader can skip a packet of an unknown type and stay in step.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, &ParseError{Msg: fmt.Sprintf("header of %d bytes", len(b))}
	}
	h := Header{Version: b[0], Type: Type(b[1]), Flags: b[2]}
	bo := order(h.Flags)
	h.SessionID = bo.Uint32(b[4:])
	h.TransactionID = bo.Uint32(b[8:])
	h.PacketID = bo.Uint32(b[12:])
	h.PayloadLength = bo.Uint32(b[16:])
	if h.Version != 1 {
		return h, &ParseError{Header: h, Msg: fmt.Sprintf("version %d", h.Version)}
	}
	if h.PayloadLength%4 != 0 {
		return h, &ParseError{Header: h, Msg: fmt.Sprintf("payload length %d is not a multiple of 4", h.PayloadLength)}
	}
	return h, nil
}

// Unmarshal decodes exactly one whole packet: a header and exactly the
// payload it announces. The packet shares no memory with b. Malformed
// input is a *ParseError (HeaderOK set when the header was sound).
func Unmarshal(b []byte) (*Packet, error) {
	h, err := DecodeHeader(b)
	if err != nil {
		return nil, err
	}
	if uint64(len(b)-HeaderSize) != uint64(h.PayloadLength) {
		return nil, &ParseError{Header: h, HeaderOK: true, Msg: fmt.Sprintf("payload of %d bytes, header says %d", len(b)-HeaderSize, h.PayloadLength)}
	}
	return decodePayload(h, b[HeaderSize:])
}

func decodePayload(h Header, payload []byte) (*Packet, error) {
	if h.Type == 0 || h.Type > TypeResponse {
		return nil, &ParseError{Header: h, HeaderOK: true, Msg: fmt.Sprintf("unknown PDU type %d", h.Type)}
	}
	p := &Packet{Header: h}
	d := decoder{b: payload, bo: order(h.Flags)}
	if h.Flags&FlagNonDefaultContext != 0 && hasContext(h.Type) {
		p.Context = d.octets()
	}
	switch h.Type {
	case TypeOpen:
		p.Timeout = d.u8()
		d.skip(3)
		p.ID, _ = d.oid()
		p.Descr = d.octets()
	case TypeClose:
		p.Reason = d.u8()
		d.skip(3)
	case TypeRegister, TypeUnregister:
		t := d.u8()
		if h.Type == TypeRegister {
			p.Timeout = t
		}
		p.Priority = d.u8()
		p.RangeSubID = d.u8()
		d.skip(1)
		p.Subtree, _ = d.oid()
		if p.RangeSubID != 0 {
			if int(p.RangeSubID) > len(p.Subtree) {
				d.fail("range_subid %d beyond a subtree of %d sub-identifiers", p.RangeSubID, len(p.Subtree))
			}
			p.UpperBound = d.u32()
		}
	case TypeGetBulk:
		p.NonRepeaters = d.u16()
		p.MaxRepetitions = d.u16()
		p.SearchRanges = d.ranges()
	case TypeGet, TypeGetNext:
		p.SearchRanges = d.ranges()
	case TypeTestSet, TypeNotify, TypeIndexAllocate, TypeIndexDeallocate:
		p.VarBinds = d.varbinds()
	case TypeCommitSet, TypeUndoSet, TypeCleanupSet, TypePing:
	case TypeAddAgentCaps:
		p.ID, _ = d.oid()
		p.Descr = d.octets()
	case TypeRemoveAgentCaps:
		p.ID, _ = d.oid()
	case TypeResponse:
		p.SysUpTime = d.u32()
		p.Error = smi.ErrorStatus(d.u16())
		p.Index = d.u16()
		p.VarBinds = d.varbinds()
	}
	if d.err == nil && d.left() != 0 {
		d.fail("%d trailing bytes", d.left())
	}
	if d.err != nil {
		return nil, &ParseError{Header: h, HeaderOK: true, Msg: fmt.Sprintf("type %d: %v", h.Type, d.err)}
	}
	return p, nil
}

// ReadPacket reads one whole packet from r. A payload longer than
// maxPayload is refused before it is read (the stream is then out of step:
// the caller should close it). A malformed payload that was read whole is
// a *ParseError with HeaderOK set, and the stream stays in step. Read
// errors are returned as they are (io.EOF before a header, and
// io.ErrUnexpectedEOF within a packet).
func ReadPacket(r io.Reader, maxPayload uint32) (*Packet, error) {
	var buf []byte
	return readPacket(r, maxPayload, &buf)
}

// Reader reads packets from one stream, reusing its read buffer: a decoded
// packet never aliases the bytes it came from, so the buffer is free again
// once a packet is decoded. Not safe for concurrent use.
type Reader struct {
	r   io.Reader
	max uint32
	buf []byte
}

// NewReader returns a Reader of packets of at most maxPayload octets.
func NewReader(r io.Reader, maxPayload uint32) *Reader {
	return &Reader{r: r, max: maxPayload}
}

// Next reads the next packet, as ReadPacket does.
func (r *Reader) Next() (*Packet, error) {
	p, err := readPacket(r.r, r.max, &r.buf)
	if cap(r.buf) > readBufKeep {
		r.buf = nil // do not hold on to a rare large buffer
	}
	return p, err
}

// readBufKeep is the largest buffer a Reader keeps between packets.
const readBufKeep = 64 << 10

func readPacket(r io.Reader, maxPayload uint32, bp *[]byte) (*Packet, error) {
	if cap(*bp) < HeaderSize {
		*bp = make([]byte, 0, 512)
	}
	hb := (*bp)[:HeaderSize]
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, err
	}
	h, err := DecodeHeader(hb)
	if err != nil {
		return nil, err
	}
	if h.PayloadLength > maxPayload {
		return nil, &ParseError{Header: h, Msg: fmt.Sprintf("payload of %d bytes exceeds the limit of %d", h.PayloadLength, maxPayload)}
	}
	n := int(h.PayloadLength)
	if cap(*bp) < n {
		*bp = make([]byte, 0, n) // bounded by maxPayload
	}
	payload := (*bp)[:n]
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return decodePayload(h, payload)
}
