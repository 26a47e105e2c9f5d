// Command swallow_denial is an adversarial fixture: it reads a table it did not declare, ignores the refusal and reports success.
package main

import (
	"context"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/abi/guest/stdlib"
)

func init() {
	guest.Register(guest.Plugin{Name: "swallow_denial", Version: "0.0.1", Tick: func(ctx context.Context, _ *guest.Conn, _ int64) (guest.Report, error) {
		db := stdlib.DB()
		var n int64
		_ = db.QueryRowContext(ctx, `SELECT count(*) FROM ff_budget_policy`).Scan(&n)
		return guest.Report{}, nil
	}})
}

func main() {}
