package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/cpsmm/cpsmm/stack/stackfile"
	"github.com/cpsmm/cpsmm/stack/web"
)

// serveWeb serves the live page of the stack in dir (stack/web) until
// SIGINT or SIGTERM.
func serveWeb(file string, st *stackfile.Stack, dir, listen string, controls bool) error {
	if _, err := readProcs(dir); err != nil {
		return err
	}
	logs := []web.LogFile{{Name: "chassis", Path: filepath.Join(dir, "chassis.log")}}
	for _, m := range st.Modules {
		logs = append(logs, web.LogFile{Name: m.Name, Path: filepath.Join(dir, m.Name, "cpsmm.log")})
	}
	log := logrus.New()
	cfg := web.Config{Stack: st, Logs: logs, Log: log,
		Status: func(context.Context) ([]byte, error) { return json.Marshal(statusRows(st, dir)) }}
	if controls {
		cfg.Controls = stackControls{file: file, st: st, dir: dir}
	}
	srv, err := web.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stdout, "stack %s: http://%s/\n", st.Name, ln.Addr())
	return srv.Serve(ctx, ln)
}

// stackControls are the page's controls: the command line's own fail,
// restore and want.
type stackControls struct {
	file string
	st   *stackfile.Stack
	dir  string
}

func (c stackControls) Fail(_ context.Context, ops []string) error {
	return inject(c.file, c.st, c.dir, false, ops)
}

func (c stackControls) Restore(_ context.Context, ops []string) error {
	return inject(c.file, c.st, c.dir, true, ops)
}

func (c stackControls) SetWant(_ context.Context, module, want string) error {
	return setWant(c.st, module, want)
}

func (c stackControls) Faults() (module, device, cabinet []string) {
	return moduleFaults(), deviceFaults(), cabinetFaults()
}
