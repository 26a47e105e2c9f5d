// Command slow_query is an adversarial fixture: one SELECT of 2000 columns that each hex-encode 4 MB, minutes of work inside a single host call, so the host call itself must be interrupted.
package main

import (
	"context"
	"strings"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/abi/guest/stdlib"
)

func init() {
	guest.Register(guest.Plugin{Name: "slow_query", Version: "0.0.1", Tick: func(ctx context.Context, _ *guest.Conn, _ int64) (guest.Report, error) {
		db := stdlib.DB()
		cols := strings.TrimSuffix(strings.Repeat("length(hex(zeroblob(4000000))), ", 2000), ", ")
		rows, err := db.QueryContext(ctx, "SELECT "+cols)
		if err != nil {
			return guest.Report{}, err
		}
		rows.Close()
		return guest.Report{Processed: 1}, nil
	}})
}

func main() {}
