//go:build unix

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// ActiveLock is the exclusive lock that makes one daemon the active one for
// a database. It is an OS advisory lock (flock) on a file beside the
// database, so the kernel releases it the moment its holder dies, however
// it dies: a standby that polls every interval takes over within one.
type ActiveLock struct {
	f *os.File
}

// LockPath returns the lock file used for the database at dbPath.
func LockPath(dbPath string) string { return dbPath + ".active-lock" }

// ErrLocked is returned by TryActiveLock when another process holds the lock.
var ErrLocked = store.ErrActive

// TryActiveLock takes the lock for dbPath without waiting.
func TryActiveLock(dbPath string) (*ActiveLock, error) {
	path := LockPath(dbPath)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// Record the holder for operators; the lock itself is the flock.
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d since %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))), 0)
	return &ActiveLock{f: f}, nil
}

// WaitActiveLock polls TryActiveLock every poll until it succeeds or ctx
// ends. waiting is called once, before the first wait, so the caller can
// say it is on standby.
func WaitActiveLock(ctx context.Context, dbPath string, poll time.Duration, waiting func()) (*ActiveLock, error) {
	for first := true; ; first = false {
		l, err := TryActiveLock(dbPath)
		if !errors.Is(err, ErrLocked) {
			return l, err
		}
		if first && waiting != nil {
			waiting()
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// LockHolder returns what the holder of the lock for dbPath wrote about
// itself ("pid N since TIME"), or "" if nothing can be read.
func LockHolder(dbPath string) string {
	b, err := os.ReadFile(LockPath(dbPath))
	if err != nil {
		return ""
	}
	s, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(s)
}

// Release gives the lock up. It is safe to call more than once.
func (l *ActiveLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor drops the flock
	l.f = nil
	return err
}
