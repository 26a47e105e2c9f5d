// Command loop_in_tx is an adversarial fixture: it begins a transaction, inserts a worker row, then spins forever holding the write lock.
package main

import (
	"context"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/abi/guest/stdlib"
)

var spins int64

func init() {
	guest.Register(guest.Plugin{Name: "loop_in_tx", Version: "0.0.1", Writes: []string{"ff_worker_registry"}, Tick: tick})
}

func tick(ctx context.Context, _ *guest.Conn, now int64) (guest.Report, error) {
	db := stdlib.DB()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return guest.Report{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ff_worker_registry VALUES ('loop_in_tx', 'w1', 'w1', '', '', ?, 1, ?)`, now, now); err != nil {
		return guest.Report{}, err
	}
	for {
		spins++
	}
}

func main() {}
