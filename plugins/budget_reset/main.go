// Command budget_reset is the ffwasmhost plugin that resets budgets whose
// reset window has lapsed. docs/reconcilers.md, at the repository's root,
// is the contract it keeps. Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
package main

import (
	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/internal/budgetreset"
)

func init() { guest.Register(budgetreset.Plugin) }

func main() {}
