// Command poison is a test plugin whose ticks fail on some data: it marks
// every budget's usage rows as seen (a committed write), then fails if a
// budget policy's policy_json is 'poison'. Built with
// -ldflags=-X=main.tolerant=yes it skips such budgets instead: the "fixed"
// build a replay checks.
package main

import (
	"context"
	"errors"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

// tolerant, set at link time, makes the plugin skip poisoned budgets.
var tolerant string

func init() {
	guest.Register(guest.Plugin{
		Name:            "poison",
		Version:         "1.0.0",
		Description:     "Fails its tick on a poisoned budget policy.",
		DefaultInterval: time.Second,
		Reads:           []string{"ff_budget_policy"},
		Writes:          []string{"ff_budget_usage"},
		Tick:            tick,
	})
}

func tick(ctx context.Context, db *guest.Conn, nowMS int64) (guest.Report, error) {
	if _, err := db.Exec(`UPDATE ff_budget_usage SET updated_at_ms = ?`, nowMS); err != nil {
		return guest.Report{}, err
	}
	rows, err := db.Query(`SELECT budget_id, policy_json FROM ff_budget_policy ORDER BY budget_id`)
	if err != nil {
		return guest.Report{}, err
	}
	var rep guest.Report
	for rows.Next() {
		var id, policy string
		if err := rows.Scan(&id, &policy); err != nil {
			return rep, err
		}
		if policy == "poison" && tolerant == "" {
			return rep, errors.New("poisoned budget " + id)
		}
		rep.Processed++
	}
	return rep, rows.Err()
}

func main() {}
