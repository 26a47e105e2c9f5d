// Command wasi_escape is an adversarial fixture: it tries to read, create and list files, find preopened directories, accept and dial sockets, and read its environment and arguments through WASI; its tick always fails, with "ESCAPED" if anything worked and "sandbox held" if nothing did.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"unsafe"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

//go:wasmimport wasi_snapshot_preview1 fd_prestat_get
func fdPrestatGet(fd int32, prestat unsafe.Pointer) int32

//go:wasmimport wasi_snapshot_preview1 sock_accept
func sockAccept(fd, flags int32, newFD unsafe.Pointer) int32

func init() {
	guest.Register(guest.Plugin{Name: "wasi_escape", Version: "0.0.1", Tick: tick})
}

func tick(context.Context, *guest.Conn, int64) (guest.Report, error) {
	var held, escaped []error
	try := func(what string, err error) {
		if err != nil {
			held = append(held, fmt.Errorf("%s: %w", what, err))
		} else {
			escaped = append(escaped, errors.New(what))
		}
	}
	_, err := os.ReadFile("/etc/passwd")
	try("read /etc/passwd", err)
	f, err := os.Create("/tmp/ffwasmhost-adversarial-wasi")
	if err == nil {
		f.Close()
	}
	try("create /tmp/ffwasmhost-adversarial-wasi", err)
	_, err = os.ReadDir("/")
	try("list /", err)
	// Go's wasip1 net package dials an in-process fake network, so this
	// reaches no host socket either way; the raw calls below are the test.
	c, err := net.Dial("tcp", "127.0.0.1:22")
	if err == nil {
		c.Close()
	}
	try("dial tcp 127.0.0.1:22", err)
	var buf [8]uint32
	for fd := int32(0); fd < 16; fd++ {
		// wazero answers fd_prestat_get on stdin, stdout and stderr with
		// success and writes nothing, so only fds from 3 can be directories.
		if errno := fdPrestatGet(fd, unsafe.Pointer(&buf)); errno == 0 && fd > 2 {
			escaped = append(escaped, fmt.Errorf("fd %d is a preopened directory", fd))
		}
		if errno := sockAccept(fd, 0, unsafe.Pointer(&buf)); errno == 0 {
			escaped = append(escaped, fmt.Errorf("accepted a connection on fd %d", fd))
		}
	}
	held = append(held, errors.New("no preopened directory on fds 3-15, no socket on fds 0-15"))
	if env := os.Environ(); len(env) > 0 {
		escaped = append(escaped, fmt.Errorf("environment: %q", env))
	}
	if len(os.Args) > 1 {
		escaped = append(escaped, fmt.Errorf("arguments: %q", os.Args))
	}
	if len(escaped) > 0 {
		return guest.Report{}, fmt.Errorf("ESCAPED: %w", errors.Join(escaped...))
	}
	return guest.Report{}, fmt.Errorf("sandbox held: %w", errors.Join(held...))
}

func main() {}
