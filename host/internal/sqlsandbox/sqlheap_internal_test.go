package sqlsandbox

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/describe"
)

// heapBomb grows eight JSON arrays over an endless recursive CTE: no value
// reaches the length limit until the end, which never comes, while SQLite
// allocates without bound.
const heapBomb = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)
SELECT json_group_array(hex(zeroblob(500)) || x), json_group_array(x), json_group_array(x), json_group_array(x),
       json_group_array(x), json_group_array(x), json_group_array(x), json_group_array(x) FROM c`

// heapBound is how long a statement may take to reach the heap cap: far
// less than a default tick's 30 s, which it ran through before.
const heapBound = 20 * time.Second

// TestHeapCapFailsStatement: statements that make SQLite allocate without
// bound fail with out of memory at the connection's cap, without spilling
// to a temporary file, and leave the connection, the host's connections
// and other plugins' connections working.
func TestHeapCapFailsStatement(t *testing.T) {
	db, s := mustSession(t)
	other, err := openSession(context.Background(), db, describe.Descriptor{Name: "other", Reads: []string{"ff_worker_registry"}}, DefaultLimits, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.close()
	tests := []struct{ name, sql string }{
		{"json aggregates", heapBomb},
		{"endless sort", `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c ORDER BY hex(zeroblob(1000)) || x`},
		{"endless distinct", `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM (SELECT DISTINCT hex(zeroblob(1000)) || x FROM c)`},
		{"endless group by", `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT hex(zeroblob(1000)) || x AS k, count(*) FROM c GROUP BY k`},
		{"growing recursion queue", `WITH RECURSIVE c(x, p) AS (SELECT 1, hex(zeroblob(1000)) UNION ALL SELECT x + 1, p FROM c UNION ALL SELECT x + 2, p FROM c) SELECT count(*) FROM c`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			temps := watchTempFiles(t)
			start := time.Now()
			err := s.run(func() error {
				_, err := s.Query(ctx, nil, []byte(tc.sql), nil, 1<<20)
				return err
			})
			took := time.Since(start)
			if seen := temps(); len(seen) > 0 {
				t.Errorf("SQLite opened temporary files: %q", seen)
			}
			if n := s.glue.tempOpens.Load(); n > 0 {
				t.Errorf("SQLite tried to open %d temporary files", n)
			}
			status, msg := s.Explain(err)
			if status != abi.StatusOther || !strings.HasPrefix(msg, "out of memory") {
				t.Fatalf("status %v, %q; want other, out of memory", status, msg)
			}
			if took > heapBound {
				t.Errorf("the statement ran %v before it failed", took)
			}
			t.Logf("failed after %v, peak %d MiB of SQLite heap", took.Round(time.Millisecond), s.glue.heap.peak.Load()>>20)
			if used := s.glue.heap.used.Load(); used > 8<<20 {
				t.Errorf("after the failure the connection still holds %d MiB", used>>20)
			}
			for _, sess := range []*Session{s, other} {
				if got := queryRow(t, sess, `SELECT count(*) FROM ff_worker_registry`); got[0] != int64(0) {
					t.Errorf("a query after the failure = %v", got)
				}
			}
			var n int
			if err := db.SQL.QueryRow(`SELECT count(*) FROM ff_worker_registry`).Scan(&n); err != nil {
				t.Errorf("the host's connection after the failure: %v", err)
			}
		})
	}
	t.Logf("process peak RSS: %s", peakRSS())
}

// TestTempStoreStaysInMemory: a sort too large for SQLite's sorter to keep
// in memory on the host's own connection, which spills it to a temporary
// file, stays in memory on a plugin's connection.
func TestTempStoreStaysInMemory(t *testing.T) {
	db, s := mustSession(t)
	const sort = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
SELECT x FROM c ORDER BY hex(zeroblob(500)) || x`
	temps := watchTempFiles(t)
	rows, err := db.SQL.Query(sort)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	rows.Close()
	if len(temps()) == 0 {
		t.Fatal("the host's connection sorted 20 MB without a temporary file: this test sees none")
	}
	temps = watchTempFiles(t)
	if got := queryRow(t, s, sort); got[0] != int64(1) {
		t.Errorf("the sort's first row is %v, want 1", got[0])
	}
	if seen := temps(); len(seen) > 0 {
		t.Errorf("the plugin's sort opened temporary files: %q", seen)
	}
	if peak := s.glue.heap.peak.Load(); peak < 10<<20 {
		t.Errorf("the plugin's sort peaked at %d bytes of SQLite heap: not in memory?", peak)
	}
}

// watchTempFiles watches the process's open files for SQLite's temporary
// files until the returned function is called, which returns those seen.
// SQLite unlinks a temporary file as it opens it (or opens it O_TMPFILE),
// so Linux names it "... (deleted)".
func watchTempFiles(t *testing.T) func() []string {
	t.Helper()
	if _, err := os.ReadDir("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd to watch")
	}
	var (
		mu   sync.Mutex
		seen []string
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			ents, _ := os.ReadDir("/proc/self/fd")
			for _, e := range ents {
				if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasSuffix(target, "(deleted)") && !strings.HasPrefix(target, "/memfd:") {
					mu.Lock()
					seen = append(seen, target)
					mu.Unlock()
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() []string {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

// peakRSS returns the process's peak resident set size, as Linux reports it.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
