package sqlsandbox

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{"CREATE TABLE a (x); CREATE TABLE b (y);", []string{"CREATE TABLE a (x)", " CREATE TABLE b (y)"}},
		{"INSERT INTO a VALUES ('x;y'); -- c;d\nSELECT 1", []string{"INSERT INTO a VALUES ('x;y')", " -- c;d\nSELECT 1"}},
		{`CREATE TABLE "a;b" (x); /* ; */ ;;`, []string{`CREATE TABLE "a;b" (x)`}},
		{"SELECT 'it''s;' ; SELECT [x;y]", []string{"SELECT 'it''s;' ", " SELECT [x;y]"}},
		{"  ; -- only a comment", nil},
	}
	for _, tt := range tests {
		got, _, err := splitStatements(tt.src)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitStatements(%q) = %q, %v; want %q", tt.src, got, err, tt.want)
		}
	}
	for _, bad := range []string{"SELECT 'x", `CREATE TABLE "a (x)`, "SELECT [x"} {
		if _, _, err := splitStatements(bad); err == nil || !strings.Contains(err.Error(), "unterminated") {
			t.Errorf("splitStatements(%q): %v, want unterminated", bad, err)
		}
	}
}

func TestCheckStatementKind(t *testing.T) {
	for src, ok := range map[string]bool{
		"ALTER TABLE leases ADD COLUMN x":          true,
		"alter table main.leases add x":            true,
		`ALTER TABLE "le""ases" ADD x`:             true,
		"ALTER TABLE leases RENAME TO x":           false,
		"ALTER TABLE leases DROP COLUMN x":         false,
		"ALTER TABLE main.leases RENAME x TO y":    false,
		`ALTER TABLE "add" RENAME TO x`:            false,
		"ALTER TABLE /* ADD */ leases RENAME TO x": false,
		"CREATE TABLE x (y)":                       true,
	} {
		_, toks, err := splitStatements(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkStatementKind(toks[0]); (err == nil) != ok {
			t.Errorf("checkStatementKind(%q) = %v, want ok %v", src, err, ok)
		}
	}
}

// FuzzSplitStatements: splitting never panics, every statement is a piece
// of the step in order, and checkStatementKind takes any token list.
func FuzzSplitStatements(f *testing.F) {
	for _, s := range []string{"CREATE TABLE a (x); ALTER TABLE a ADD y", "SELECT ';' -- ;\n; /* ; */", `ALTER TABLE "a""b" RENAME TO c`, "[", "'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		stmts, toks, err := splitStatements(src)
		if err != nil {
			return
		}
		if len(stmts) != len(toks) {
			t.Fatalf("%d statements, %d token lists", len(stmts), len(toks))
		}
		at := 0
		for i, s := range stmts {
			j := strings.Index(src[at:], s)
			if j < 0 {
				t.Fatalf("statement %q is not in %q after byte %d", s, src, at)
			}
			at += j + len(s)
			_ = checkStatementKind(toks[i])
		}
	})
}
