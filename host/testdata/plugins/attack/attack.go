// Package attack is shared by the fixture plugins that try statements the
// host must refuse. It is not a plugin itself.
package attack

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/abi/guest/stdlib"
)

// Register registers plugin name, whose every tick runs stmts in order and
// carries on past failures. If a statement succeeds the tick fails with
// "ESCAPED: <stmt>"; otherwise it fails with every refusal, each as
// "refused: <stmt>: <error>".
func Register(name string, reads, writes []string, stmts ...string) {
	guest.Register(guest.Plugin{
		Name:        name,
		Version:     "0.0.1",
		Description: "adversarial fixture",
		Reads:       reads,
		Writes:      writes,
		Tick: func(ctx context.Context, _ *guest.Conn, _ int64) (guest.Report, error) {
			db := stdlib.DB()
			var errs []error
			for _, s := range stmts {
				if err := run(ctx, db, s); err != nil {
					errs = append(errs, errors.New("refused: "+s+": "+err.Error()))
				} else {
					errs = append(errs, errors.New("ESCAPED: "+s))
				}
			}
			return guest.Report{}, errors.Join(errs...)
		},
	})
}

func run(ctx context.Context, db *sql.DB, stmt string) error {
	if !strings.HasPrefix(strings.ToUpper(stmt), "SELECT") {
		_, err := db.ExecContext(ctx, stmt)
		return err
	}
	rows, err := db.QueryContext(ctx, stmt)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}
