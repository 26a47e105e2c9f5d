// Command worker_ttl is the Extism build of the worker_ttl reconciler, which
// sweeps workers whose liveness TTL has expired: the same code as plugins/worker_ttl
// (internal/workerttl), reaching the host through Extism (pdkhost). Build:
// GOOS=wasip1 GOARCH=wasm go build -tags ffextism -buildmode=c-shared.
package main

import (
	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/internal/workerttl"
	_ "github.com/ffwasmhost/ffwasmhost/plugins/extism/pdkhost"
)

func init() {
	p := workerttl.Plugin
	p.Name += "_extism"
	// Like the C and Rust ports: loaded beside the Go plugin, it runs only
	// when the operator gives it an interval.
	p.DefaultInterval = 0
	guest.Register(p)
}

func main() {}
