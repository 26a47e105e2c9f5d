// Command tx_lost is a fixture for transactions SQLite rolls back on its own: it writes a row, begins a transaction, writes another, runs the statement in tx_lost_input (one that makes SQLite roll the transaction back), then tries to go on, and fails its tick with what each step got.
package main

import (
	"context"
	"errors"
	"strings"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

func init() {
	guest.Register(guest.Plugin{
		Name:    "tx_lost",
		Version: "0.0.1",
		Reads:   []string{"tx_lost_input"},
		Writes:  []string{"ff_worker_registry"},
		Tick:    tick,
	})
}

const insert = `INSERT INTO ff_worker_registry VALUES ('tx_lost', ?, 'w', '', '', 0, 0, 0)`

func tick(_ context.Context, c *guest.Conn, _ int64) (guest.Report, error) {
	var trap string
	if err := c.QueryRow(`SELECT sql FROM tx_lost_input`).Scan(&trap); err != nil {
		return guest.Report{}, guest.Wrap("read tx_lost_input", err)
	}
	var steps []string
	step := func(name string, err error) {
		if err == nil {
			steps = append(steps, name+"=ok")
		} else {
			steps = append(steps, name+"="+err.Error())
		}
	}
	_, err := c.Exec(insert, "before")
	step("before", err)
	step("begin", c.Begin())
	_, err = c.Exec(insert, "in_tx")
	step("in_tx", err)
	_, err = c.Exec(trap)
	step("trap", err)
	_, err = c.Exec(insert, "after")
	step("after", err)
	_, err = c.Query(`SELECT count(*) FROM ff_worker_registry`)
	step("query", err)
	step("commit", c.Commit())
	step("rollback", c.Rollback())
	return guest.Report{}, errors.New(strings.Join(steps, " | "))
}

func main() {}
