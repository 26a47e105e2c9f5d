// Command sql_probe is a fixture for authorizer tests: each tick runs every statement in probe_input (id order) and fails with the first error, or succeeds reporting how many ran.
package main

import (
	"context"
	"fmt"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/abi/guest/stdlib"
)

func init() {
	guest.Register(guest.Plugin{
		Name:    "sql_probe",
		Version: "0.0.1",
		Reads:   []string{"probe_input", "ff_budget_policy"},
		Writes:  []string{"ff_worker_registry"},
		Tick:    tick,
	})
}

func tick(ctx context.Context, _ *guest.Conn, _ int64) (guest.Report, error) {
	db := stdlib.DB()
	var stmts []string
	rows, err := db.QueryContext(ctx, `SELECT sql FROM probe_input ORDER BY id`)
	if err != nil {
		return guest.Report{}, fmt.Errorf("read probe_input: %w", err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return guest.Report{}, err
		}
		stmts = append(stmts, s)
	}
	rows.Close()
	var rep guest.Report
	for _, s := range stmts {
		rows, err := db.QueryContext(ctx, s)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Close()
		}
		if err != nil {
			return rep, err
		}
		rep.Processed++
	}
	return rep, nil
}

func main() {}
