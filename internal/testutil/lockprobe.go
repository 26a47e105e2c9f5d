package testutil

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// LockStats is what a LockProbe saw.
type LockStats struct {
	// Attempts and Taken count BEGIN IMMEDIATE statements run and those
	// that got the lock.
	Attempts, Taken int
	// Longest is the longest time the probe wanted the write lock without
	// getting it: from its first attempt after it last held the lock (or
	// started) to the moment it had it again, or to Stop.
	Longest time.Duration
	// LongestEnd is when that wait ended.
	LongestEnd time.Time
	// Err is the last error that was not the lock being busy, if any.
	Err error
}

func (s LockStats) String() string {
	return fmt.Sprintf("%d attempts, %d took the lock, longest wait %v (ended %s)",
		s.Attempts, s.Taken, s.Longest.Round(time.Millisecond), s.LongestEnd.Format("15:04:05.000"))
}

// LockProbe takes and releases the write lock of an SQLite database (BEGIN
// IMMEDIATE, ROLLBACK) over and over, from a connection of its own, and
// records the longest time the lock was out of its reach. With a busy
// timeout of 0 each attempt fails at once while another connection holds
// the lock, and the probe tries again after its pause; with a busy timeout
// an attempt waits inside SQLite.
type LockProbe struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	stats LockStats
	since time.Time // when the current wait began; zero while not waiting
}

// StartLockProbe starts probing the database at path every pause.
func StartLockProbe(path string, busyTimeout, pause time.Duration) (*LockProbe, error) {
	db, err := sql.Open("sqlite", fmt.Sprintf("%s?_pragma=busy_timeout(%d)", path, busyTimeout.Milliseconds()))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := db.Conn(ctx)
	if err != nil {
		cancel()
		db.Close()
		return nil, err
	}
	p := &LockProbe{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer db.Close()
		defer conn.Close()
		for ctx.Err() == nil {
			p.attempt(conn)
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
		}
	}()
	return p, nil
}

func (p *LockProbe) attempt(conn *sql.Conn) {
	start := time.Now()
	// A background context: cancelling one would interrupt the statement
	// and leave the connection unusable for the final attempts.
	_, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
	got := time.Now()
	if err == nil {
		_, err = conn.ExecContext(context.Background(), "ROLLBACK")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Attempts++
	if p.since.IsZero() {
		p.since = start
	}
	if err != nil {
		if !isBusy(err) {
			p.stats.Err = err
		}
		return
	}
	p.stats.Taken++
	p.note(got)
	p.since = time.Time{}
}

// note records a wait that ended at end.
func (p *LockProbe) note(end time.Time) {
	if w := end.Sub(p.since); w > p.stats.Longest {
		p.stats.Longest, p.stats.LongestEnd = w, end
	}
}

// Stop ends the probe and returns what it saw. A wait still going on counts
// up to now.
func (p *LockProbe) Stop() LockStats {
	p.cancel()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.since.IsZero() {
		p.note(time.Now())
	}
	return p.stats
}

// isBusy reports whether err is SQLite's BUSY or LOCKED, with any
// extended code.
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code() & 0xff
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}
