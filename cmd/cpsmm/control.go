package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/stack/member"
	"github.com/cpsmm/cpsmm/stack/module"
)

// serveControl answers fault-injection commands on a unix socket, one line
// each ("link down", "link up", "ethernet isolate"), with "ok" or
// "error: ...". "link up" also ends an isolation. "status" answers the
// member's negotiation state as one line of JSON.
func serveControl(ctx context.Context, path string, mem *member.Member, mod *module.Module, log logrus.FieldLogger) error {
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
				if strings.TrimSpace(line) == "status" {
					// One JSON line; not a fault, not logged.
					b, _ := json.Marshal(mem.Status())
					fmt.Fprintln(c, string(b))
					return
				}
				switch strings.TrimSpace(line) {
				case "link down":
					mem.SetLink(false)
					mod.SetEthernetLink(false)
				case "ethernet isolate":
					// Cut off from the other modules' Ethernet sides with the
					// link up: still eligible (a partition, with backplane-down).
					mem.Transport().SetLink(false)
				case "link up":
					mem.SetLink(true)
					mod.SetEthernetLink(true)
				default:
					reply = fmt.Sprintf("error: unknown command %q", strings.TrimSpace(line))
				}
				log.WithField("command", strings.TrimSpace(line)).Info("fault injection: " + reply)
				fmt.Fprintln(c, reply)
			}()
		}
	}()
	return nil
}
