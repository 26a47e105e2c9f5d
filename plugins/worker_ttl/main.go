// Command worker_ttl is the ffwasmhost plugin that sweeps workers whose
// liveness TTL has expired. See docs/reconcilers.md, at the repository's root, for the
// contract it keeps. Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
package main

import (
	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/internal/workerttl"
)

func init() { guest.Register(workerttl.Plugin) }

func main() {}
