package stackaddr

import (
	"bytes"

	"github.com/cpsmm/cpsmm/mib/smi"
)

// The relay reads just enough of an SNMP message to know a request's PDU
// type and request-id (v1/v2c: SEQUENCE { version, community, PDU {
// request-id, … } }). It never decodes more, and it forwards every
// datagram as it came, whatever it makes of it.

// PDU tags (context-specific, constructed).
const (
	tagGet      = 0xa0
	tagGetNext  = 0xa1
	tagResponse = 0xa2
	tagSet      = 0xa3
	tagGetBulk  = 0xa5
)

// header is what the relay reads of one SNMP message.
type header struct {
	tag   byte
	reqID int64
}

// tlv reads one BER tag-length header at b[i:] and returns the tag, the
// start and end of its contents. Lengths in the short form and the long
// form of up to 3 octets are read; anything else is not ok.
func tlv(b []byte, i int) (tag byte, start, end int, ok bool) {
	if i+2 > len(b) {
		return 0, 0, 0, false
	}
	tag = b[i]
	l := int(b[i+1])
	start = i + 2
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 3 || start+n > len(b) {
			return 0, 0, 0, false
		}
		l = 0
		for _, c := range b[start : start+n] {
			l = l<<8 | int(c)
		}
		start += n
	}
	end = start + l
	if end > len(b) || end < start {
		return 0, 0, 0, false
	}
	return tag, start, end, true
}

// readHeader reads an SNMPv1/v2c message's PDU type and request-id.
func readHeader(b []byte) (header, bool) {
	tag, s, e, ok := tlv(b, 0)
	if !ok || tag != 0x30 {
		return header{}, false
	}
	b = b[:e]
	// version
	tag, _, e, ok = tlv(b, s)
	if !ok || tag != 0x02 {
		return header{}, false
	}
	// community
	tag, _, e, ok = tlv(b, e)
	if !ok || tag != 0x04 {
		return header{}, false
	}
	pdu, s, pe, ok := tlv(b, e)
	if !ok || pdu < 0xa0 || pdu > 0xa8 {
		return header{}, false
	}
	tag, s, e, ok = tlv(b[:pe], s)
	if !ok || tag != 0x02 || e == s || e-s > 4 {
		return header{}, false
	}
	id := int64(int8(b[s])) // sign of the first octet
	for _, c := range b[s+1 : e] {
		id = id<<8 | int64(c)
	}
	return header{tag: pdu, reqID: id}, true
}

// appendOID appends the BER encoding (tag, length, contents) of o, which
// has at least two arcs, the first 1, as every OID of ours.
func appendOID(dst []byte, o smi.OID) []byte {
	var body []byte
	body = append(body, byte(o[0]*40+o[1]))
	for _, arc := range o[2:] {
		var tmp [5]byte
		i := len(tmp) - 1
		tmp[i] = byte(arc & 0x7f)
		for arc >>= 7; arc > 0; arc >>= 7 {
			i--
			tmp[i] = byte(arc&0x7f) | 0x80
		}
		body = append(body, tmp[i:]...)
	}
	dst = append(dst, 0x06, byte(len(body)))
	return append(dst, body...)
}

// sayNo is the encoded varbind "o = INTEGER 2": what an answer of a
// module that is not Primary says of cpsIsPrimary.0 and of its own
// cpsmm100IsPrimary.
func sayNo(o smi.OID) []byte {
	return append(appendOID(nil, o), 0x02, 0x01, 0x02)
}

// sayMissing are the encoded varbinds "o = noSuchObject" and "o =
// noSuchInstance": what an snmpd answers of a module's objects once its
// module has gone (a graceful stop: the subagent's session closed).
func sayMissing(o smi.OID) [][]byte {
	return [][]byte{append(appendOID(nil, o), 0x80, 0x00), append(appendOID(nil, o), 0x81, 0x00)}
}

// containsAny reports whether b holds one of the patterns.
func containsAny(b []byte, patterns [][]byte) bool {
	for _, p := range patterns {
		if bytes.Contains(b, p) {
			return true
		}
	}
	return false
}
