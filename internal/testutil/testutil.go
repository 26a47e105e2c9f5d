// Package testutil holds the helpers several test packages share.
package testutil

import (
	"bytes"
	"database/sql"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer safe for concurrent writes, such as a log
// the tick loops write to while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// DumpQuery renders every row query returns, with each value's type, in a
// sorted, stable text: two dumps are equal exactly when the rows are.
func DumpQuery(tb testing.TB, db *sql.DB, name, query string) string {
	tb.Helper()
	rows, err := db.Query(query)
	if err != nil {
		tb.Fatalf("dump %s: %v", name, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatalf("dump %s: %v", name, err)
		}
		var line strings.Builder
		for _, v := range vals {
			fmt.Fprintf(&line, "%T:%q|", v, fmt.Sprint(v))
		}
		lines = append(lines, line.String())
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("dump %s: %v", name, err)
	}
	sort.Strings(lines)
	return fmt.Sprintf("== %s (%d rows)\n%s\n", name, len(lines), strings.Join(lines, "\n"))
}

// FreeAddr returns a loopback address with a port nobody listens on now.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// WaitFor receives from c, or fails the test after a generous real-time
// wait naming what it waited for.
func WaitFor[T any](tb testing.TB, c <-chan T, what string) T {
	tb.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		tb.Fatalf("waited 10s for %s", what)
	}
	var zero T
	return zero
}
