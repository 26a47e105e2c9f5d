// Command huge_sql is an adversarial fixture: it sends a 10 MiB SQL string and a 10 MiB argument.
package main

import (
	"context"
	"errors"
	"strings"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/abi/guest/stdlib"
)

func init() {
	guest.Register(guest.Plugin{Name: "huge_sql", Version: "0.0.1", Writes: []string{"ff_worker_registry"}, Tick: tick})
}

func tick(ctx context.Context, _ *guest.Conn, _ int64) (guest.Report, error) {
	db := stdlib.DB()
	big := strings.Repeat("x", 10<<20)
	_, err1 := db.ExecContext(ctx, `UPDATE ff_worker_registry SET lanes = '`+big+`'`)
	_, err2 := db.ExecContext(ctx, `UPDATE ff_worker_registry SET lanes = ?`, big)
	if err1 == nil || err2 == nil {
		return guest.Report{}, errors.New("ESCAPED: a 10 MiB statement ran")
	}
	return guest.Report{}, errors.Join(err1, err2)
}

func main() {}
