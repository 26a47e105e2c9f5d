package pgsandbox

import (
	"errors"
	"strings"
	"testing"
)

// kinds renders the tokens of sql as "kind:text" for comparison.
func kinds(t *testing.T, sql string) string {
	t.Helper()
	toks, err := lex(sql)
	if err != nil {
		t.Fatalf("lex(%q): %v", sql, err)
	}
	names := map[tokenKind]string{
		tokIdent: "id", tokQuotedIdent: "qid", tokString: "str", tokNumber: "num",
		tokParam: "param", tokSemicolon: "semi", tokOpen: "open", tokPunct: "p",
	}
	var parts []string
	for _, tk := range toks {
		parts = append(parts, names[tk.kind]+":"+tk.text)
	}
	return strings.Join(parts, " ")
}

func TestLex(t *testing.T) {
	tests := []struct {
		name, sql, want string
	}{
		{"keywords are lowercased", `SELECT Foo FROM "Bar"`, `id:select id:foo id:from qid:Bar`},
		{"doubled quote in a string", `SELECT 'it''s;'`, `id:select str:'it''s;'`},
		{"backslash is plain in a standard string", `SELECT '\' , 1`, `id:select str:'\' p:, num:1`},
		{"backslash escapes a quote in an E string", `SELECT E'\';', 1`, `id:select str:E'\';' p:, num:1`},
		{"lowercase e prefix", `SELECT e'\\'`, `id:select str:e'\\'`},
		{"identifier ending in e is no prefix", `SELECT the'x'`, `id:select id:the str:'x'`},
		{"bit and hex strings", `SELECT B'01', x'ff', N'n'`, `id:select str:B'01' p:, str:x'ff' p:, str:N'n'`},
		{"unicode string", `SELECT U&'d\0061t' UESCAPE '\'`, `id:select str:U&'d\0061t' id:uescape str:'\'`},
		{"continuation over a newline", "SELECT 'a'\n'b'", "id:select str:'a'\n'b'"},
		{"no continuation on one line", "SELECT 'a' 'b'", "id:select str:'a' str:'b'"},
		{"continuation keeps E mode", "SELECT E'a'\n'\\';'", "id:select str:E'a'\n'\\';'"},
		{"continuation after a comment and newline", "SELECT 'a' -- c\n  'b'", "id:select str:'a' -- c\n  'b'"},
		{"block comment stops continuation", "SELECT 'a' /* c */\n'b'", "id:select str:'a' str:'b'"},
		{"dollar quotes", `SELECT $$a;'b$$, $t$x$$y$t$`, `id:select str:$$a;'b$$ p:, str:$t$x$$y$t$`},
		{"dollar tag must match exactly", `SELECT $ab$ $a$ $ab$`, `id:select str:$ab$ $a$ $ab$`},
		{"dollar in an identifier", `SELECT a$b$c, $1`, `id:select id:a$b$c p:, param:$1`},
		{"nested block comments", `SELECT /* a /* b; */ c; */ 1`, `id:select num:1`},
		{"line comment", "SELECT 1 -- ; DROP\n, 2", "id:select num:1 p:, num:2"},
		{"comment inside an operator", "SELECT 1+--x\n2", "id:select num:1 p:+ num:2"},
		{"quoted identifier with a doubled quote", `SELECT "a""b;"`, `id:select qid:a"b;`},
		{"numbers", `SELECT 1.5e-3, .5, 3., a[1:2]`, `id:select num:1.5e-3 p:, num:.5 p:, num:3. p:, id:a p:[ num:1 p:: num:2 p:]`},
		{"casts and semicolon", `SELECT $1::int8;`, `id:select param:$1 p:: p:: id:int8 semi:;`},
		{"non-ASCII identifier", "SELECT été", "id:select id:été"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kinds(t, tt.sql); got != tt.want {
				t.Errorf("lex(%q)\n got %s\nwant %s", tt.sql, got, tt.want)
			}
		})
	}
}

func TestLexRefuses(t *testing.T) {
	tests := []struct {
		name, sql, want string
	}{
		{"unterminated string", `SELECT 'abc`, "unterminated quoted string"},
		{"unterminated E string ending in a backslash", `SELECT E'abc\`, "unterminated quoted string"},
		{"unterminated comment", `SELECT 1 /* a /* b */`, "unterminated /* comment"},
		{"unterminated dollar quote", `SELECT $x$ abc $y$`, "unterminated dollar-quoted string"},
		{"unterminated quoted identifier", `SELECT "abc`, "unterminated quoted identifier"},
		{"empty quoted identifier", `SELECT ""`, "zero-length"},
		{"unicode identifier", `SELECT U&"\0070g_class"`, `U&"..." identifiers are not allowed`},
		{"trailing junk after a number", `SELECT 1e'x'`, "trailing junk after numeric literal"},
		{"hex integer", `SELECT 0x1f`, "trailing junk after numeric literal"},
		{"trailing junk after a parameter", `SELECT $1abc`, "trailing junk after parameter"},
		{"lone dollar", `SELECT $ 1`, "$ is not a parameter or a dollar quote"},
		{"NUL byte", "SELECT 1\x00", "unexpected character"},
		{"backslash outside strings", `SELECT \x`, "unexpected character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := lex(tt.sql)
			if !errors.Is(err, errSyntax) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("lex(%q) = %v, want a syntax error containing %q", tt.sql, err, tt.want)
			}
		})
	}
}

func TestCheckStatementAllows(t *testing.T) {
	for _, sql := range []string{
		`SELECT 1`,
		`select 1;`,
		`SELECT 1; -- the end`,
		`  (SELECT 1) UNION (SELECT 2)`,
		`WITH swept AS (DELETE FROM ff_worker_registry WHERE partition_key = $1 RETURNING *) INSERT INTO ff_worker_registry_event SELECT * FROM swept`,
		`INSERT INTO t (a) VALUES ('a;b') ON CONFLICT DO NOTHING`,
		`UPDATE t SET a = $1 WHERE b = $2`,
		`DELETE FROM t WHERE a = 'SET ROLE postgres; SELECT set_config(1,2,3)'`,
		`VALUES (1), (2)`,
		`TABLE ff_budget_policy`,
		`SELECT $$ ; DROP TABLE t; $$`,
		`SELECT /* ; COPY */ 1`,
		`SELECT E'\' ; set_config'`,
		`SELECT pg_sleep(0.1), pg_typeof(1)`,
		`SELECT "into" FROM t`,
		`SELECT policy_json->'reset_interval_ms' FROM ff_budget_policy WHERE budget_id = $1 FOR NO KEY UPDATE`,
	} {
		if d := checkStatement(sql); d != nil {
			t.Errorf("checkStatement(%q) refused: %s", sql, d)
		}
	}
}

func TestCheckStatementRefuses(t *testing.T) {
	tests := []struct {
		name, sql, want string
	}{
		{"SET", `SET statement_timeout = 0`, "statement SET: only SELECT"},
		{"SET ROLE", `SET ROLE postgres`, "statement SET"},
		{"SET SESSION AUTHORIZATION", `set session authorization postgres`, "statement SET"},
		{"RESET", `RESET ALL`, "statement RESET"},
		{"BEGIN", `BEGIN`, "statement BEGIN"},
		{"COMMIT", `COMMIT`, "statement COMMIT"},
		{"SAVEPOINT", `SAVEPOINT a`, "statement SAVEPOINT"},
		{"COPY TO PROGRAM", `COPY t TO PROGRAM 'sh'`, "statement COPY"},
		{"COPY TO STDOUT", `COPY (SELECT 1) TO STDOUT`, "statement COPY"},
		{"DO", `DO $$BEGIN PERFORM 1; END$$`, "statement DO"},
		{"LISTEN", `LISTEN ch`, "statement LISTEN"},
		{"NOTIFY", `NOTIFY ch`, "statement NOTIFY"},
		{"PREPARE", `PREPARE p AS SELECT 1`, "statement PREPARE"},
		{"EXECUTE", `EXECUTE p`, "statement EXECUTE"},
		{"CREATE", `CREATE TEMP TABLE t (a int)`, "statement CREATE"},
		{"DROP", `DROP TABLE t`, "statement DROP"},
		{"ALTER", `ALTER TABLE t ADD b int`, "statement ALTER"},
		{"TRUNCATE", `TRUNCATE t`, "statement TRUNCATE"},
		{"VACUUM", `VACUUM t`, "statement VACUUM"},
		{"CALL", `CALL p()`, "statement CALL"},
		{"LOCK", `LOCK TABLE t`, "statement LOCK"},
		{"EXPLAIN", `EXPLAIN ANALYZE DELETE FROM t`, "statement EXPLAIN"},
		{"MERGE", `MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE`, "statement MERGE"},
		{"quoted first word", `"select" 1`, `statement "select"`},
		{"empty", `  -- nothing`, "no statement"},
		{"two statements", `SELECT 1; SELECT 2`, "multiple statements"},
		{"two semicolons", `SELECT 1;;`, "multiple statements"},
		{"semicolon after a comment", `SELECT 1 /* x */; SET ROLE postgres`, "multiple statements"},
		{"semicolon after a dollar quote", `SELECT $a$ x $a$; RESET ALL`, "multiple statements"},
		{"semicolon after an E string", `SELECT E'\';' ; RESET ALL`, "multiple statements"},
		{"semicolon after a continued E string", "SELECT E'a'\n'\\'' ; RESET ALL", "multiple statements"},
		{"SELECT INTO", `SELECT 1 INTO TEMP t`, "select into INTO"},
		{"WITH SELECT INTO", `WITH a AS (SELECT 1) SELECT * INTO t FROM a`, "select into INTO"},
		{"set_config", `SELECT set_config('role', 'postgres', false)`, "name set_config: changes a session setting"},
		{"qualified set_config", `SELECT pg_catalog.set_config('statement_timeout', '0', false)`, "name pg_catalog"},
		{"quoted set_config", `SELECT "set_config"('a', 'b', false)`, "name set_config"},
		{"current_setting", `SELECT current_setting('ffwasmhost.secret')`, "name current_setting"},
		{"advisory lock", `SELECT pg_advisory_lock(1)`, "advisory locks are the host's to take"},
		{"try advisory lock", `SELECT pg_try_advisory_xact_lock(1)`, "advisory locks"},
		{"large object", `SELECT lo_from_bytea(0, 'x')`, "name lo_from_bytea: large objects"},
		{"loread", `SELECT loread(1, 2)`, "name loread"},
		{"dblink", `SELECT * FROM dblink('host=x', 'select 1') AS t(a int)`, "name dblink: reaches other databases"},
		{"pg_read_file", `SELECT pg_read_file('/etc/passwd')`, "name pg_read_file"},
		{"pg_ls_dir", `SELECT pg_ls_dir('.')`, "name pg_ls_dir"},
		{"pg_notify", `SELECT pg_notify('ch', 'x')`, "name pg_notify"},
		{"catalog table", `SELECT * FROM pg_authid`, "name pg_authid"},
		{"information_schema", `SELECT * FROM information_schema.tables`, "name information_schema"},
		{"temp schema", `INSERT INTO pg_temp.t VALUES (1)`, "name pg_temp"},
		{"query_to_xml", `SELECT query_to_xml('select lo_create(0)', true, true, '')`, "name query_to_xml"},
		{"ts_stat", `SELECT * FROM ts_stat('select 1')`, "name ts_stat"},
		{"host objects", `SELECT ffwasmhost_fence('p', 1, 1, NULL)`, "name ffwasmhost_fence: the host's own objects"},
		{"lexer error", `SELECT 'x`, "unterminated quoted string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := checkStatement(tt.sql)
			if d == nil {
				t.Fatalf("checkStatement(%q) allowed it", tt.sql)
			}
			if !strings.Contains(d.String(), tt.want) {
				t.Errorf("checkStatement(%q) = %q, want it to contain %q", tt.sql, d, tt.want)
			}
		})
	}
}

// FuzzLex: the lexer never panics, and a statement it accepts keeps the
// same tokens when a comment or a run of spaces is put between any two
// of them.
func FuzzLex(f *testing.F) {
	for _, s := range []string{
		`SELECT 'a''b', E'\'', $$x$$, $t$;$t$, "q""i", /* /* */ */ 1 -- c`,
		"SELECT 'a'\n'b'", `SELECT U&'x' UESCAPE '!'`, `WITH a AS (DELETE FROM t RETURNING *) SELECT $1::int8`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		toks, err := lex(sql)
		if err != nil {
			return
		}
		var b strings.Builder
		prev := 0
		for _, tk := range toks {
			b.WriteString(sql[prev:tk.pos])
			b.WriteString(" /**/ ")
			prev = tk.pos
		}
		b.WriteString(sql[prev:])
		again, err := lex(b.String())
		if err != nil {
			t.Fatalf("lex(%q) = %v after adding comments to %q", b.String(), err, sql)
		}
		if len(again) != len(toks) {
			t.Fatalf("%d tokens became %d after adding comments: %q", len(toks), len(again), b.String())
		}
		for i := range toks {
			if toks[i].kind != again[i].kind {
				t.Fatalf("token %d changed kind after adding comments: %q", i, b.String())
			}
		}
	})
}
