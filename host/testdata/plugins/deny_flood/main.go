// Command deny_flood is an adversarial fixture: each tick sends 20000 statements the authorizer refuses, to flood the host's log with denials.
package main

import (
	"context"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/abi/guest/stdlib"
)

func init() {
	guest.Register(guest.Plugin{Name: "deny_flood", Version: "0.0.1", Tick: func(ctx context.Context, _ *guest.Conn, _ int64) (guest.Report, error) {
		db := stdlib.DB()
		var err error
		for range 20000 {
			_, err = db.ExecContext(ctx, `DELETE FROM ff_budget_policy`)
		}
		return guest.Report{}, err
	}})
}

func main() {}
