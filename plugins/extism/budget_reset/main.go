// Command budget_reset is the Extism build of the budget_reset reconciler, which
// resets budgets whose reset window has lapsed: the same code as plugins/budget_reset
// (internal/budgetreset), reaching the host through Extism (pdkhost). Build:
// GOOS=wasip1 GOARCH=wasm go build -tags ffextism -buildmode=c-shared.
package main

import (
	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/internal/budgetreset"
	_ "github.com/ffwasmhost/ffwasmhost/plugins/extism/pdkhost"
)

func init() {
	p := budgetreset.Plugin
	p.Name += "_extism"
	// Like the C and Rust ports: loaded beside the Go plugin, it runs only
	// when the operator gives it an interval.
	p.DefaultInterval = 0
	guest.Register(p)
}

func main() {}
