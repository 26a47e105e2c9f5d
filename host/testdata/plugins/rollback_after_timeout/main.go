// Command rollback_after_timeout is a fixture for a rollback after the tick's deadline: it begins a transaction, writes a row, runs a query that only the deadline ends, then rolls back and returns success.
package main

import (
	"context"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

func init() {
	guest.Register(guest.Plugin{
		Name:    "rollback_after_timeout",
		Version: "0.0.1",
		Writes:  []string{"ff_worker_registry"},
		Tick:    tick,
	})
}

const endless = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT count(*) FROM c`

func tick(_ context.Context, c *guest.Conn, now int64) (guest.Report, error) {
	if err := c.Begin(); err != nil {
		return guest.Report{}, guest.Wrap("begin", err)
	}
	if _, err := c.Exec(`INSERT INTO ff_worker_registry VALUES ('rollback_after_timeout', 'w1', 'w1', '', '', ?, 1, ?)`, now, now); err != nil {
		return guest.Report{}, guest.Wrap("insert", err)
	}
	_, _ = c.Query(endless) // interrupted at the deadline
	if err := c.Rollback(); err != nil {
		return guest.Report{}, guest.Wrap("rollback", err)
	}
	return guest.Report{Processed: 1}, nil
}

func main() {}
