package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Row is one module as `cpsstack status --json` reports it: its agent's
// answers (SNMP) and, under Negotiation, the module's own account (its
// control socket). The page decodes the command's JSON rather than its Go
// types, so that it reads exactly what the command prints and needs
// nothing of the stack's runtime.
type Row struct {
	Module      string       `json:"module"`
	Cabinet     int32        `json:"cabinet"`
	Slot        int32        `json:"slot"`
	SNMP        string       `json:"snmp"`
	Role        string       `json:"role"`
	Can         string       `json:"can_primary"`
	Want        string       `json:"want_primary"`
	Err         string       `json:"error"`
	Negotiation *Negotiation `json:"negotiation"`
	// StackAddress is the stack's address (every row, when the stack file
	// has one); HoldsAddress marks the module serving it now.
	StackAddress string `json:"stack_address"`
	HoldsAddress bool   `json:"holds_address"`
	// TrapManagers is the module's keepalive to its trap managers.
	TrapManagers *TrapManagers `json:"trap_managers"`
	// Extra are the fields of the row and of its negotiation state that
	// this page does not know (a newer status carries them: the stack
	// address, trap managers' states…), flattened to key: value, shown as
	// they come.
	Extra []Field `json:"-"`
}

// Negotiation is a module's account of the election.
type Negotiation struct {
	Role        string    `json:"role"`
	CanPrimary  bool      `json:"can_primary"`
	Want        string    `json:"want_primary"`
	ActiveSince time.Time `json:"active_since"`
	LastChange  time.Time `json:"last_change"`
	LastReason  string    `json:"last_reason"`
	Peers       []Peer    `json:"peers"`
	// IPMonitor is the module's IP monitor of its Ethernet side, if any.
	IPMonitor *IPMonitor `json:"ip_monitor"`
}

// IPMonitor is a module's IP monitor: its verdict and each host.
type IPMonitor struct {
	Verdict struct {
		Failed   bool   `json:"failed"`
		Degraded bool   `json:"degraded"`
		Reason   string `json:"reason"`
	} `json:"verdict"`
	Hosts []struct {
		Kind   string `json:"kind"` // target, peer
		Name   string `json:"name"`
		Up     bool   `json:"up"`
		Misses int    `json:"misses"`
	} `json:"hosts"`
}

// Peer is a module's view of another.
type Peer struct {
	MAC       string `json:"mac"`
	Cabinet   int32  `json:"cabinet"`
	Slot      int32  `json:"slot"`
	Alive     bool   `json:"alive"`
	Role      string `json:"role"`
	LinkFault bool   `json:"link_failure"`
	Backplane Path   `json:"backplane"`
	Ethernet  Path   `json:"ethernet"`
}

// Path is what a module knows of one path to a peer.
type Path struct {
	OK        bool      `json:"ok"`
	LastHeard time.Time `json:"last_heard"`
}

// TrapManagers is a module's account of its trap managers.
type TrapManagers struct {
	Keepalive string        `json:"keepalive"` // "off" or the interval
	Queued    int           `json:"queued"`
	Dropped   uint64        `json:"dropped"`
	Managers  []TrapManager `json:"managers"`
}

// TrapManager is one configured manager.
type TrapManager struct {
	Manager int       `json:"manager"`
	Address string    `json:"address"`
	State   string    `json:"state"` // active, standby, failed, traps
	LastAck time.Time `json:"last_ack"`
	Misses  int       `json:"consecutive_misses"`
	Sent    uint64    `json:"notifications_sent"`
	Acked   uint64    `json:"notifications_acknowledged"`
}

// Field is one value the page shows as it comes.
type Field struct {
	Key, Value string
}

// known are the keys Row and Negotiation draw; everything else is Extra.
func knownRowKeys() []string {
	return []string{"module", "cabinet", "slot", "snmp", "role", "can_primary", "want_primary", "error", "negotiation",
		"stack_address", "holds_address", "trap_managers"}
}

func knownNegotiationKeys() []string {
	return []string{"role", "can_primary", "want_primary", "active_since", "last_change", "last_reason", "peers",
		"solicitations", "device_reports", "sets_in_flight", "ip_monitor"}
}

// maxExtra bounds the fields flattened from one row.
const maxExtra = 64

// DecodeRows reads `cpsstack status --json`: a JSON array of rows.
func DecodeRows(data []byte) ([]Row, error) {
	var rows []Row
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, fmt.Errorf("status rows: %w", err)
	}
	var raws []map[string]json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, fmt.Errorf("status rows: %w", err)
	}
	for i := range rows {
		var extra []Field
		flattenUnknown(raws[i], knownRowKeys(), "", &extra)
		if n, ok := raws[i]["negotiation"]; ok {
			var m map[string]json.RawMessage
			if json.Unmarshal(n, &m) == nil {
				flattenUnknown(m, knownNegotiationKeys(), "negotiation.", &extra)
			}
		}
		sort.Slice(extra, func(a, b int) bool { return extra[a].Key < extra[b].Key })
		rows[i].Extra = extra
	}
	return rows, nil
}

func flattenUnknown(m map[string]json.RawMessage, known []string, prefix string, out *[]Field) {
	for k, v := range m {
		skip := false
		for _, kn := range known {
			if k == kn {
				skip = true
			}
		}
		if !skip {
			flatten(prefix+k, v, out, 0)
		}
	}
}

// flatten turns a JSON value into key: value fields, objects and arrays
// by their paths (a.b, a[0]).
func flatten(key string, v json.RawMessage, out *[]Field, depth int) {
	if len(*out) >= maxExtra {
		return
	}
	v = bytes.TrimSpace(v)
	if depth < 4 && len(v) > 0 && v[0] == '{' {
		var m map[string]json.RawMessage
		if json.Unmarshal(v, &m) == nil {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				flatten(key+"."+k, m[k], out, depth+1)
			}
			return
		}
	}
	if depth < 4 && len(v) > 0 && v[0] == '[' {
		var a []json.RawMessage
		if json.Unmarshal(v, &a) == nil {
			for i, e := range a {
				flatten(fmt.Sprintf("%s[%d]", key, i), e, out, depth+1)
			}
			return
		}
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		*out = append(*out, Field{Key: key, Value: s})
		return
	}
	*out = append(*out, Field{Key: key, Value: strings.TrimSpace(string(v))})
}
