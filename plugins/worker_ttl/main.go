// Command worker_ttl is the ffwasmhost plugin that sweeps workers whose
// liveness TTL has expired. See docs/reconcilers.md, at the repository's root, for the
// contract it keeps. Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
package main

import (
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

func init() {
	guest.Register(guest.Plugin{
		Name:            "worker_ttl",
		Version:         "1.0.0",
		Description:     "Deletes workers whose heartbeat is older than their liveness TTL and records a ttl_swept event for each.",
		DefaultInterval: 30 * time.Second,
		Writes:          []string{"ff_worker_registry", "ff_worker_registry_event"},
		Tick:            tick,
	})
}

func main() {}
