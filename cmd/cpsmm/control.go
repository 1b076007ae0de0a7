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
	"github.com/cpsmm/cpsmm/stack/trapmgr"
)

// serveControl answers fault-injection commands on a unix socket, one line
// each ("link down", "link up", "ethernet isolate", "ip down"), with "ok"
// or "error: ...". "link up" also ends an isolation or an ip down. "status" answers the
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
						Managers trapmgr.Report `json:"trap_managers"`
					}{st, notes.Managers().Report()})
					fmt.Fprintln(c, string(b))
					return
				}
				commands := map[string]member.Command{"link down": member.LinkDown, "link up": member.LinkUp, "ethernet isolate": member.EthernetIsolate, "ip down": member.IPDown}
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
