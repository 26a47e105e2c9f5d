// Command slow_query is an adversarial fixture: one SELECT of 2000 columns that each hex-encode 4 MB, minutes of work inside a single host call, so the host call itself must be interrupted.
package main

import (
	"context"
	"database/sql"
	"strings"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

func init() {
	guest.Register(guest.Plugin{Name: "slow_query", Version: "0.0.1", Tick: func(ctx context.Context, db *sql.DB, _ int64) (guest.Report, error) {
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
