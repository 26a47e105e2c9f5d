package guest

import (
	"context"
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

// WithTx runs fn in one BEGIN IMMEDIATE transaction on c and commits it;
// if fn or the commit fails, the transaction is rolled back. A busy or
// locked failure of the whole transaction is retried as Retry does. A
// Begin that fails leaves nothing to roll back.
func WithTx(ctx context.Context, c *Conn, fn func() error) error {
	return Retry(ctx, func() error {
		if err := c.Begin(); err != nil {
			return Wrap("begin", err)
		}
		if err := fn(); err != nil {
			_ = c.Rollback()
			return err
		}
		if err := c.Commit(); err != nil {
			_ = c.Rollback() // a failed commit leaves the transaction open
			return Wrap("commit", err)
		}
		return nil
	})
}

// Wrap returns err prefixed with what, as fmt.Errorf("%s: %w", what, err)
// does, without fmt: a plugin that links fmt is about a megabyte bigger,
// which costs load time and memory in every host.
func Wrap(what string, err error) error { return &wrapped{what, err} }

type wrapped struct {
	what string
	err  error
}

func (w *wrapped) Error() string { return w.what + ": " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
