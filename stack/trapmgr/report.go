package trapmgr

import "time"

// Report is a Status for people and scripts: the trap managers' part of
// `cpsstack status` and its --json ("trap_managers").
type Report struct {
	Keepalive string          `json:"keepalive"` // "off", or the interval ("5s")
	Active    int             `json:"active"`    // 1…4, 0 for none
	Queued    int             `json:"queued"`
	Dropped   uint64          `json:"dropped"`
	Managers  []ManagerReport `json:"managers"`
}

// ManagerReport is one configured manager in a Report.
type ManagerReport struct {
	Manager         int       `json:"manager"` // 1…4
	Address         string    `json:"address"`
	State           string    `json:"state"` // active, standby, failed, traps (keepalive off)
	LastAck         time.Time `json:"last_ack,omitzero"`
	Misses          int       `json:"consecutive_misses"`
	Keepalives      uint64    `json:"keepalives_sent"`
	KeepalivesAcked uint64    `json:"keepalives_acknowledged"`
	Sent            uint64    `json:"notifications_sent"`
	Acked           uint64    `json:"notifications_acknowledged"`
	Queued          int       `json:"notifications_queued"`
	Dropped         uint64    `json:"notifications_dropped"`
}

// Report returns st as a Report (configured managers only).
func (st Status) Report() Report {
	out := Report{Keepalive: "off", Active: st.Active + 1, Queued: st.Queued, Dropped: st.Dropped, Managers: []ManagerReport{}}
	if st.On {
		out.Keepalive = st.Interval.String()
	}
	for _, ms := range st.Managers {
		if ms.State == Unconfigured || !ms.Addr.IsValid() {
			continue
		}
		state := ms.State.String()
		if !st.On {
			state = "traps"
		}
		out.Managers = append(out.Managers, ManagerReport{Manager: ms.Slot + 1, Address: ms.Addr.String(), State: state,
			LastAck: ms.LastAck, Misses: ms.Misses, Keepalives: ms.Keepalives, KeepalivesAcked: ms.KeepalivesAcked,
			Sent: ms.Sent, Acked: ms.Acked, Queued: ms.Queued, Dropped: ms.Dropped})
	}
	return out
}
