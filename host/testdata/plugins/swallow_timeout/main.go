// Command swallow_timeout is an adversarial fixture: it runs a statement that outlasts any tick timeout, ignores the interruption and returns success, as if nothing had happened.
package main

import (
	"context"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

func init() {
	guest.Register(guest.Plugin{Name: "swallow_timeout", Version: "0.0.1", Tick: func(_ context.Context, db *guest.Conn, _ int64) (guest.Report, error) {
		// a billion rows of a recursive CTE: minutes of work in one host call
		_, _ = db.Exec(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT count(*) FROM c`)
		return guest.Report{Processed: 1}, nil
	}})
}

func main() {}
