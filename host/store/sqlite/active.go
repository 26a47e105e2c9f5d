package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// WaitActive takes the database's active lock (WaitActiveLock) for the
// store's file.
func (db *Store) WaitActive(ctx context.Context, poll time.Duration, waiting func()) (release func() error, err error) {
	l, err := WaitActiveLock(ctx, db.path, poll, waiting)
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}

// TryActive takes the database's active lock without waiting. While
// another daemon holds it, the error wraps store.ErrActive and names the
// lock file and its holder.
func (db *Store) TryActive() (release func() error, err error) {
	l, err := TryActiveLock(db.path)
	if errors.Is(err, ErrLocked) {
		holder := LockHolder(db.path)
		if holder != "" {
			holder = ", " + holder
		}
		return nil, fmt.Errorf("%w (lock %s%s)", store.ErrActive, LockPath(db.path), holder)
	}
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}
