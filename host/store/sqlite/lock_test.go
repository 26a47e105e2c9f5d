//go:build unix

package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

func TestActiveLockIsExclusiveAndPassesOn(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ff.db")
	first, err := sqlite.TryActiveLock(db)
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	if _, err := sqlite.TryActiveLock(db); !errors.Is(err, sqlite.ErrLocked) {
		t.Fatalf("second lock = %v, want ErrLocked", err)
	}
	waited := make(chan struct{})
	got := make(chan error, 1)
	go func() {
		l, err := sqlite.WaitActiveLock(context.Background(), db, 10*time.Millisecond, func() { close(waited) })
		if err == nil {
			defer l.Release()
		}
		got <- err
	}()
	testutil.WaitFor(t, waited, "standby to start waiting")
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := testutil.WaitFor(t, got, "standby to take over"); err != nil {
		t.Fatalf("standby: %v", err)
	}
	if err := first.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
}

func TestWaitActiveLockHonoursContext(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ff.db")
	l, err := sqlite.TryActiveLock(db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sqlite.WaitActiveLock(ctx, db, time.Millisecond, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitActiveLock = %v, want context.Canceled", err)
	}
}
