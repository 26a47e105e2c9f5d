package guest

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Backoff is the wait before each retry of a busy or locked call: three
// attempts in all, as FlowFabric's SQLite backend does.
var Backoff = []time.Duration{5 * time.Millisecond, 10 * time.Millisecond}

// Retry runs fn, and runs it again after each wait in Backoff for as long as
// it fails with a retryable (busy or locked) error. It returns fn's last
// error, or ctx's error if ctx ends while waiting.
func Retry(ctx context.Context, fn func() error) error {
	err := fn()
	for _, wait := range Backoff {
		if !IsRetryable(err) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		err = fn()
	}
	return err
}

// WithTx runs fn in one BEGIN IMMEDIATE transaction and commits it; if fn
// fails the transaction is rolled back. A busy or locked failure of the
// whole transaction is retried as Retry does.
func WithTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	return Retry(ctx, func() error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	})
}
