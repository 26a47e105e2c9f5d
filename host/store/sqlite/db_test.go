package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

func TestOpenDBRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	readOnly := filepath.Join(dir, "ro.db")
	mustOpenMigrated(t, readOnly, sqlite.Options{}).Close()
	os.Chmod(readOnly, 0o444)
	os.Remove(readOnly + "-wal")
	os.Remove(readOnly + "-shm")
	tests := []struct {
		name, path string
		opts       sqlite.Options
		want       string
	}{
		{"memory", ":memory:", sqlite.Options{}, "need a file path"},
		{"uri", "file:x.db", sqlite.Options{}, "need a file path"},
		{"query", filepath.Join(dir, "a?b.db"), sqlite.Options{}, "may not contain"},
		{"directory", dir, sqlite.Options{}, "is a directory"},
		{"missing parent", filepath.Join(dir, "no", "such", "ff.db"), sqlite.Options{}, "open database"},
		{"bad synchronous", filepath.Join(dir, "s.db"), sqlite.Options{Synchronous: "OFF"}, "want NORMAL or FULL"},
		{"negative size", filepath.Join(dir, "n.db"), sqlite.Options{MaxSizeBytes: -1}, "negative"},
		{"plugin heap too small", filepath.Join(dir, "h.db"), sqlite.Options{PluginHeapBytes: 1 << 20}, "plugin heap 1048576 bytes: want at least"},
	}
	if os.Geteuid() != 0 { // root writes through file modes
		tests = append(tests, struct {
			name, path string
			opts       sqlite.Options
			want       string
		}{"read-only file", readOnly, sqlite.Options{}, "readonly"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := sqlite.Open(context.Background(), tt.path, tt.opts)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) succeeded", tt.path)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Open(%q) = %q, want one line containing %q", tt.path, err, tt.want)
			}
		})
	}
}

func TestOpenDBMaxSizeFailsWritesPastIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "small.db")
	mustOpenMigrated(t, path, sqlite.Options{}).Close()
	db := mustOpenMigrated(t, path, sqlite.Options{MaxSizeBytes: 64 << 10})
	defer db.Close()
	_, err := db.SQL.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 5000)
INSERT INTO ff_worker_registry SELECT 'ns', 'w' || i, 'w', '', '', 0, 0, 0 FROM n`)
	if err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("insert past the cap = %v, want database or disk is full", err)
	}
	var n int
	db.SQL.QueryRow(`SELECT count(*) FROM ff_worker_registry`).Scan(&n)
	if n != 0 {
		t.Errorf("%d rows of a failed statement remain", n)
	}
}

// mustOpenMigrated opens and migrates the database at path.
func mustOpenMigrated(tb testing.TB, path string, opts sqlite.Options) *sqlite.Store {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		db.Close()
		tb.Fatal(err)
	}
	return db
}

// TestOpenNamesAMissingDirectory: a database whose directory does not
// exist is refused with the directory named.
func TestOpenNamesAMissingDirectory(t *testing.T) {
	root := t.TempDir()
	notDir := filepath.Join(root, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		filepath.Join(root, "missing", "ff.db"): "directory " + filepath.Join(root, "missing") + " does not exist",
		filepath.Join(notDir, "ff.db"):          notDir + " is not a directory",
	} {
		_, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%s) = %v, want %q", path, err, want)
		}
	}
}
