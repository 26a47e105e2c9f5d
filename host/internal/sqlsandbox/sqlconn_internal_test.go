package sqlsandbox

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/describe"
)

// queryRow runs stmt on s as a plugin's sql_query and returns its first row.
func queryRow(t *testing.T, s *Session, stmt string) []any {
	t.Helper()
	var buf []byte
	err := s.run(func() (err error) {
		buf, err = s.Query(context.Background(), nil, []byte(stmt), nil, 1<<20)
		return err
	})
	if err != nil {
		_, msg := s.Explain(err)
		t.Fatalf("%s: %s", stmt, msg)
	}
	d := abi.NewDecoder(buf)
	cols, rows, err := abi.QueryHeader(d)
	if err != nil || rows == 0 {
		t.Fatalf("%s: %d rows, %v", stmt, rows, err)
	}
	row := make([]any, len(cols))
	for i := range row {
		if row[i], err = d.Value(); err != nil {
			t.Fatal(err)
		}
	}
	return row
}

// TestSQLClockIsTickNow: every way SQL has of reading the time gives the
// tick's now_ms, to the millisecond.
func TestSQLClockIsTickNow(t *testing.T) {
	_, s := mustSession(t)
	const now = 1_700_000_123_456 // 2023-11-14T22:15:23.456Z
	tests := []struct {
		expr string
		want any
	}{
		{"current_timestamp", "2023-11-14 22:15:23"},
		{"current_date", "2023-11-14"},
		{"current_time", "22:15:23"},
		{"date('now')", "2023-11-14"},
		{"time('now')", "22:15:23"},
		{"datetime('now')", "2023-11-14 22:15:23"},
		{"datetime('now', 'subsec')", "2023-11-14 22:15:23.456"},
		{"julianday('now')", float64(unixEpochJulianMS+now) / 86_400_000},
		{"unixepoch()", int64(1_700_000_123)},
		{"unixepoch('now')", int64(1_700_000_123)},
		{"unixepoch('now', 'subsec')", 1_700_000_123.456},
		{"strftime('%s', 'now')", "1700000123"},
		{"strftime('%Y-%m-%d %H:%M:%f', 'now')", "2023-11-14 22:15:23.456"},
		{"timediff('now', '2023-11-14 00:00:00')", "+0000-00-00 22:15:23.456"},
	}
	for _, at := range []int64{now, now + 86_400_000} {
		s.glue.setNow(at)
		for _, tc := range tests {
			got := queryRow(t, s, "SELECT "+tc.expr)[0]
			want := tc.want
			if at != now { // a day later: only the date moves
				switch w := want.(type) {
				case string:
					want = strings.Replace(w, "2023-11-14", "2023-11-15", 1)
					if strings.HasPrefix(tc.expr, "timediff") {
						want = "+0000-00-01 22:15:23.456"
					}
					if strings.HasPrefix(tc.expr, "strftime('%s'") {
						want = "1700086523"
					}
				case int64:
					want = w + 86_400
				case float64:
					want = float64(unixEpochJulianMS+at) / 86_400_000
					if strings.Contains(tc.expr, "subsec") {
						want = w + 86_400
					}
				}
			}
			if got != want {
				t.Errorf("now_ms %d: SELECT %s = %#v, want %#v", at, tc.expr, got, want)
			}
		}
	}
}

// TestSQLRandomIsDeterministic: random() and randomblob() follow a
// generator seeded from the tick's now_ms: the same on every connection
// at the same now_ms, different from call to call and from tick to tick.
func TestSQLRandomIsDeterministic(t *testing.T) {
	db, s1 := mustSession(t)
	s2, err := openSession(context.Background(), db, describe.Descriptor{Name: "t2"}, DefaultLimits, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.close()
	const q = `SELECT random(), random(), randomblob(20), randomblob(0)`
	s1.glue.setNow(42)
	s2.glue.setNow(42)
	a, b := queryRow(t, s1, q), queryRow(t, s2, q)
	for i := range a {
		if x, ok := a[i].([]byte); ok {
			if !bytes.Equal(x, b[i].([]byte)) {
				t.Errorf("column %d: %x on one connection, %x on another at the same now_ms", i, x, b[i])
			}
		} else if a[i] != b[i] {
			t.Errorf("column %d: %v on one connection, %v on another at the same now_ms", i, a[i], b[i])
		}
	}
	if a[0] == a[1] {
		t.Errorf("two calls of random() gave %v", a[0])
	}
	if n := len(a[2].([]byte)); n != 20 {
		t.Errorf("randomblob(20) has %d bytes", n)
	}
	if n := len(a[3].([]byte)); n != 1 {
		t.Errorf("randomblob(0) has %d bytes, want 1 as SQLite's", n)
	}
	s1.glue.setNow(43)
	if c := queryRow(t, s1, q); c[0] == a[0] {
		t.Errorf("random() gave %v at two different now_ms", c[0])
	}
	err = s1.run(func() error {
		_, err := s1.Query(context.Background(), nil, []byte(`SELECT randomblob(1000000000)`), nil, 1<<20)
		return err
	})
	if status, msg := s1.Explain(err); status != abi.StatusInvalid {
		t.Errorf("randomblob past the length limit: %v %q, want invalid", status, msg)
	}
}
