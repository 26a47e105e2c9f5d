// Command huge_result is an adversarial fixture: one query whose single row has 64 columns of a 1,000,000-byte zeroblob, far over a 1 MiB result limit.
package main

import (
	"context"
	"strings"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/abi/guest/stdlib"
)

func init() {
	guest.Register(guest.Plugin{Name: "huge_result", Version: "0.0.1", Tick: func(ctx context.Context, _ *guest.Conn, _ int64) (guest.Report, error) {
		db := stdlib.DB()
		cols := strings.TrimSuffix(strings.Repeat("zeroblob(1000000), ", 64), ", ")
		rows, err := db.QueryContext(ctx, "SELECT "+cols)
		if err != nil {
			return guest.Report{}, err
		}
		rows.Close()
		return guest.Report{}, nil
	}})
}

func main() {}
