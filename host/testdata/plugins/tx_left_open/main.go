// Command tx_left_open is an adversarial fixture: it begins a transaction, inserts a worker row and returns success without committing.
package main

import (
	"context"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/abi/guest/stdlib"
)

func init() {
	guest.Register(guest.Plugin{Name: "tx_left_open", Version: "0.0.1", Writes: []string{"ff_worker_registry"}, Tick: tick})
}

func tick(ctx context.Context, _ *guest.Conn, now int64) (guest.Report, error) {
	db := stdlib.DB()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return guest.Report{}, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO ff_worker_registry VALUES ('tx_left_open', 'w1', 'w1', '', '', ?, 1, ?)`, now, now)
	return guest.Report{Processed: 1}, err // tx is neither committed nor rolled back
}

func main() {}
