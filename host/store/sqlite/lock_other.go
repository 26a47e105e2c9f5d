//go:build !unix

package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// ActiveLock is not available on this OS: the daemon refuses to start
// rather than run without it.
type ActiveLock struct{}

// LockPath returns the lock file used for the database at dbPath.
func LockPath(dbPath string) string { return dbPath + ".active-lock" }

// ErrLocked is returned by TryActiveLock when another process holds the lock.
var ErrLocked = store.ErrActive

var errNoLock = errors.New("an active lock (flock) is not available on this OS")

// TryActiveLock fails: there is no flock on this OS.
func TryActiveLock(string) (*ActiveLock, error) { return nil, errNoLock }

// WaitActiveLock fails: there is no flock on this OS.
func WaitActiveLock(context.Context, string, time.Duration, func()) (*ActiveLock, error) {
	return nil, errNoLock
}

// Release does nothing.
func (l *ActiveLock) Release() error { return nil }
