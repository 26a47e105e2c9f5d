//go:build !wasip1

package stdlib_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/abi/guest/stdlib"
)

// mustOpen opens the guest driver outside wasm.
func mustOpen(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sql.Open(stdlib.DriverName, "")
	if err != nil {
		tb.Fatalf("sql.Open(%q): %v", stdlib.DriverName, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// TestDriverOutsideHost: outside a wasm instance run by ffwasmhost, every
// call that would reach the host fails with ErrNotInHost.
func TestDriverOutsideHost(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	tests := []struct {
		name string
		call func() error
	}{
		{"Exec", func() error {
			_, err := db.Exec("UPDATE t SET v = 1")
			return err
		}},
		{"Exec with arguments", func() error {
			_, err := db.ExecContext(ctx, "UPDATE t SET v = ? WHERE id = ? AND at = ? AND b = ?", 1.5, "x", time.Unix(0, 0), []byte(nil))
			return err
		}},
		{"Query", func() error {
			rows, err := db.QueryContext(ctx, "SELECT v FROM t WHERE id = ?", 7)
			if err == nil {
				rows.Close()
			}
			return err
		}},
		{"QueryRow", func() error {
			var v int64
			return db.QueryRowContext(ctx, "SELECT 1").Scan(&v)
		}},
		{"Begin", func() error {
			tx, err := db.BeginTx(ctx, nil)
			if err == nil {
				tx.Rollback()
			}
			return err
		}},
		{"prepared Exec", func() error {
			st, err := db.PrepareContext(ctx, "DELETE FROM t WHERE id = ?")
			if err != nil {
				return err
			}
			defer st.Close()
			_, err = st.ExecContext(ctx, 1)
			return err
		}},
		{"prepared Query", func() error {
			st, err := db.PrepareContext(ctx, "SELECT v FROM t")
			if err != nil {
				return err
			}
			defer st.Close()
			rows, err := st.QueryContext(ctx)
			if err == nil {
				rows.Close()
			}
			return err
		}},
		{"Conn Exec", func() error {
			c, err := db.Conn(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.ExecContext(ctx, "UPDATE t SET v = 2")
			return err
		}},
		{"stdlib.DB Exec", func() error {
			_, err := stdlib.DB().ExecContext(ctx, "UPDATE t SET v = 3")
			return err
		}},
		{"WithTx", func() error {
			return stdlib.WithTx(ctx, db, func(*sql.Tx) error { return errors.New("fn must not run") })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, guest.ErrNotInHost) {
				t.Errorf("err = %v, want ErrNotInHost", err)
			}
			if guest.IsRetryable(err) {
				t.Errorf("ErrNotInHost counted as retryable")
			}
		})
	}
}
