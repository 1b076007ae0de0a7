package member

import (
	"bytes"

	"github.com/cpsmm/cpsmm/stack/backplane"
	"github.com/cpsmm/cpsmm/stack/device"
	"github.com/cpsmm/cpsmm/stack/transport"
)

// reportMemo keeps, per sender and path, the last device-report payload
// and its decoding. A settled stack's polls bring the same bytes every
// time; decoding them again was a tenth of an idle module's CPU. The
// decoded reports are only read by the device cache, which copies what it
// keeps.
type reportMemo struct {
	last map[memoKey]memoEntry
}

type memoKey struct {
	from backplane.ID
	path transport.Path
}

type memoEntry struct {
	payload []byte
	reports []device.Report
}

// decode returns the reports of payload, decoded once per change.
func (r *reportMemo) decode(from backplane.ID, path transport.Path, payload []byte) ([]device.Report, error) {
	k := memoKey{from, path}
	if e, ok := r.last[k]; ok && bytes.Equal(e.payload, payload) {
		return e.reports, nil
	}
	// Decoded octets point into the payload, and the transport may reuse
	// its buffer: decode a copy that the memo owns.
	own := bytes.Clone(payload)
	rs, err := device.UnmarshalReports(own)
	if err != nil {
		return nil, err
	}
	if r.last == nil {
		r.last = map[memoKey]memoEntry{}
	}
	r.last[k] = memoEntry{payload: own, reports: rs}
	return rs, nil
}
