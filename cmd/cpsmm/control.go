package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/stack/member"
	"github.com/cpsmm/cpsmm/trapmgr"
)

// serveControl answers fault-injection commands on a unix socket, one line
// each ("link down", "link up", "ethernet isolate"), with "ok" or
// "error: ...". "link up" also ends an isolation. "status" answers the
// member's negotiation state as one line of JSON.
func serveControl(ctx context.Context, path string, mem *member.Member, notes *notifier, log logrus.FieldLogger) error {
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				reply := "ok"
				rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				cmd := strings.TrimSpace(line)
				if cmd == "status" {
					// One JSON line; not a fault, not logged.
					st, err := mem.Status(rctx)
					if err != nil {
						fmt.Fprintln(c, "error:", err)
						return
					}
					b, _ := json.Marshal(struct {
						member.Status
						Managers managersStatus `json:"trap_managers"`
					}{st, managersOf(notes.Managers())})
					fmt.Fprintln(c, string(b))
					return
				}
				commands := map[string]member.Command{"link down": member.LinkDown, "link up": member.LinkUp, "ethernet isolate": member.EthernetIsolate}
				if mc, ok := commands[cmd]; !ok {
					reply = fmt.Sprintf("error: unknown command %q", cmd)
					log.WithFields(logrus.Fields{"command": cmd, "reason": "unknown command"}).Warn("control command refused")
				} else if err := mem.Control(rctx, mc); err != nil {
					reply = "error: " + err.Error()
				}
				fmt.Fprintln(c, reply)
			}()
		}
	}()
	return nil
}

// managersStatus is the trap managers' part of the status (`cpsstack
// status --json`: "trap_managers").
type managersStatus struct {
	Keepalive string          `json:"keepalive"` // "off", or the interval ("5s")
	Active    int             `json:"active"`    // 1…4, 0 for none
	Queued    int             `json:"queued"`
	Dropped   uint64          `json:"dropped"`
	Managers  []managerStatus `json:"managers"`
}

type managerStatus struct {
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

func managersOf(st trapmgr.Status) managersStatus {
	out := managersStatus{Keepalive: "off", Active: st.Active + 1, Queued: st.Queued, Dropped: st.Dropped, Managers: []managerStatus{}}
	if st.On {
		out.Keepalive = st.Interval.String()
	}
	for _, ms := range st.Managers {
		if ms.State == trapmgr.Unconfigured || !ms.Addr.IsValid() {
			continue
		}
		state := ms.State.String()
		if !st.On {
			state = "traps"
		}
		out.Managers = append(out.Managers, managerStatus{Manager: ms.Slot + 1, Address: ms.Addr.String(), State: state,
			LastAck: ms.LastAck, Misses: ms.Misses, Keepalives: ms.Keepalives, KeepalivesAcked: ms.KeepalivesAcked,
			Sent: ms.Sent, Acked: ms.Acked, Queued: ms.Queued, Dropped: ms.Dropped})
	}
	return out
}
