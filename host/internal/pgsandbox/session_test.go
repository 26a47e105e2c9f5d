package pgsandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/internal/pgtest"
)

func TestResultTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.writer(t)
	ctx := context.Background()
	tests := []struct {
		expr string
		want any
	}{
		{"NULL", nil},
		{"NULL::bigint", nil},
		{"7::smallint", int64(7)},
		{"-8::integer", int64(-8)},
		{"9223372036854775807::bigint", int64(math.MaxInt64)},
		{"4294967295::oid", int64(4294967295)},
		{"true", int64(1)},
		{"false", int64(0)},
		{"1.5::real", 1.5},
		{"-2.25::double precision", -2.25},
		{"'Infinity'::float8", math.Inf(1)},
		{"12::numeric", int64(12)},
		{"-12.000::numeric", -12.0},
		{"1.25::numeric", 1.25},
		{"sum(x) FROM (VALUES (9223372036854775807::bigint), (1)) v(x)", 9223372036854775808.0},
		{"'-Infinity'::numeric", math.Inf(-1)},
		{"('1' || repeat('0', 400))::numeric", "1" + strings.Repeat("0", 400)},
		{"'héllo'::text", "héllo"},
		{"'v'::varchar(5)", "v"},
		{"'ab'::char(3)", "ab "},
		{"'n'::name", "n"},
		{`'{"a": 1}'::json`, `{"a": 1}`},
		{`'{"b":2, "a":1e3}'::jsonb`, `{"a": 1000, "b": 2}`},
		{`'{"a":1}'::jsonb->'a'`, "1"},
		{`'{"a":"x"}'::jsonb->'a'`, `"x"`},
		{"'\\xff00'::bytea", []byte{0xff, 0}},
		{"''::bytea", []byte{}},
		{"ARRAY['a','b']::text[]", "a,b"},
		{"'{}'::text[]", ""},
		{"ARRAY['x']::varchar[]", "x"},
		{"ARRAY[1,2]", "{1,2}"},
		{"'2024-02-29'::date", "2024-02-29"},
		{"'1 day'::interval", "1 day"},
		{"'00000000-0000-0000-0000-000000000001'::uuid", "00000000-0000-0000-0000-000000000001"},
	}
	for _, tt := range tests {
		got := one(t, querySQL(t, ctx, s, "SELECT "+tt.expr))
		if f, ok := tt.want.(float64); ok && math.IsNaN(f) {
			if g, ok := got.(float64); !ok || !math.IsNaN(g) {
				t.Errorf("SELECT %s = %#v, want NaN", tt.expr, got)
			}
			continue
		}
		switch w := tt.want.(type) {
		case []byte:
			if g, ok := got.([]byte); !ok || !bytes.Equal(g, w) {
				t.Errorf("SELECT %s = %#v, want %#v", tt.expr, got, w)
			}
		default:
			if got != tt.want {
				t.Errorf("SELECT %s = %#v (%T), want %#v (%T)", tt.expr, got, got, tt.want, tt.want)
			}
		}
	}
	nan := one(t, querySQL(t, ctx, s, "SELECT 'NaN'::numeric"))
	if f, ok := nan.(float64); !ok || !math.IsNaN(f) {
		t.Errorf("NaN numeric = %#v, want float NaN", nan)
	}

	// Arrays that comma-joined text cannot carry fail rather than change.
	for _, expr := range []string{"ARRAY['a,b']", "ARRAY['a', NULL]", "ARRAY[['a'],['b']]", "ARRAY['']"} {
		r := querySQL(t, ctx, s, "SELECT "+expr+"::text[]")
		if r.status != abi.StatusOther || !strings.Contains(r.msg, "cannot be read as comma-joined text") {
			t.Errorf("SELECT %s: %s %q, want other, cannot be read as comma-joined text", expr, r.status, r.msg)
		}
	}
	// Column names come through, and a statement without columns has none.
	r := must(t, querySQL(t, ctx, s, `SELECT 1 AS one, 'x' AS "Two"`))
	if strings.Join(r.cols, ",") != "one,Two" {
		t.Errorf("columns %v", r.cols)
	}
	r = must(t, querySQL(t, ctx, s, `UPDATE items SET name = name WHERE false`))
	if len(r.cols) != 0 || len(r.rows) != 0 {
		t.Errorf("UPDATE as a query: %v %v, want no columns or rows", r.cols, r.rows)
	}
}

func TestArguments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.writer(t)
	ctx := context.Background()
	tests := []struct {
		arg      any
		wantType string
		want     any
	}{
		{int64(-5), "bigint", int64(-5)},
		{int64(math.MinInt64), "bigint", int64(math.MinInt64)},
		{1.5, "double precision", 1.5},
		{math.Inf(-1), "double precision", math.Inf(-1)},
		{"t'\\x;", "text", "t'\\x;"},
		{"", "text", ""},
		{[]byte{0, 1, 0xff}, "bytea", []byte{0, 1, 0xff}},
		{[]byte{}, "bytea", []byte{}},
	}
	for _, tt := range tests {
		r := must(t, querySQL(t, ctx, s, `SELECT $1, pg_typeof($1)::text`, tt.arg))
		got, typ := r.rows[0][0], r.rows[0][1]
		if typ != tt.wantType {
			t.Errorf("%#v binds as %v, want %s", tt.arg, typ, tt.wantType)
		}
		if b, ok := tt.want.([]byte); ok {
			if g, ok := got.([]byte); !ok || !bytes.Equal(g, b) {
				t.Errorf("%#v reads back as %#v", tt.arg, got)
			}
		} else if got != tt.want {
			t.Errorf("%#v reads back as %#v", tt.arg, got)
		}
	}
	// A NULL has no type of its own: the server infers it from the
	// statement, and where it cannot, the statement says.
	if r := querySQL(t, ctx, s, `SELECT $1, pg_typeof($1)`, nil); r.status != abi.StatusOther || !strings.Contains(r.msg, "could not determine data type") {
		t.Errorf("untyped NULL: %s %q", r.status, r.msg)
	}
	if got := one(t, querySQL(t, ctx, s, `SELECT $1::bigint`, nil)); got != nil {
		t.Errorf("NULL reads back as %#v", got)
	}
	// -0 and NaN keep their bits.
	for _, f := range []float64{math.Copysign(0, -1), math.NaN()} {
		got := one(t, querySQL(t, ctx, s, `SELECT $1`, f)).(float64)
		if math.Float64bits(got) != math.Float64bits(f) && !(math.IsNaN(f) && math.IsNaN(got)) {
			t.Errorf("%v reads back as %v", f, got)
		}
	}
	// A bigint argument goes into a smallint column if it fits, and a
	// NULL takes the column's type; text goes into jsonb and text[]
	// through a cast.
	must(t, execSQL(t, ctx, s, `INSERT INTO items (id, small, doc, tags, score, data, flag)
VALUES ($1, $2, $3::jsonb, string_to_array($4, ','), $5, $6, $7 <> 0)`, int64(1), int64(300), `{"k": [1]}`, "b,c", 0.5, []byte("d"), int64(1)))
	r := must(t, querySQL(t, ctx, s, `SELECT small, doc, tags, score, data, flag FROM items WHERE id = $1`, int64(1)))
	want := []any{int64(300), `{"k": [1]}`, "b,c", 0.5, []byte("d"), int64(1)}
	for i, w := range want {
		if b, ok := w.([]byte); ok {
			if !bytes.Equal(r.rows[0][i].([]byte), b) {
				t.Errorf("column %s = %#v, want %#v", r.cols[i], r.rows[0][i], w)
			}
		} else if r.rows[0][i] != w {
			t.Errorf("column %s = %#v, want %#v", r.cols[i], r.rows[0][i], w)
		}
	}
	if r := execSQL(t, ctx, s, `UPDATE items SET small = $1 WHERE id = 1`, int64(70000)); r.status != abi.StatusOther || !strings.Contains(r.msg, "out of range") {
		t.Errorf("70000 into smallint: %s %q, want other, out of range", r.status, r.msg)
	}
	// Bad encodings and too few arguments.
	if _, err := s.Exec(ctx, nil, []byte(`SELECT $1`), []byte{1, 0, 0, 0, 9}); err == nil {
		t.Error("an unknown tag was accepted")
	} else if st, _ := s.Explain(err); st != abi.StatusInvalid {
		t.Errorf("unknown tag: %s, want invalid", st)
	}
	if r := execSQL(t, ctx, s, `SELECT $1::int8 + $2::int8`, int64(1)); r.status != abi.StatusOther {
		t.Errorf("too few arguments: %s %q, want other", r.status, r.msg)
	}
}

func TestExecRowsAffected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.writer(t)
	ctx := context.Background()
	steps := []struct {
		sql  string
		args []any
		want int64
	}{
		{`INSERT INTO items (id, name) VALUES ($1, 'a'), ($2, 'b'), ($3, 'c')`, []any{int64(1), int64(2), int64(3)}, 3},
		{`UPDATE items SET name = 'z' WHERE id IN (1, 2)`, nil, 2},
		{`INSERT INTO items (id) VALUES (1) ON CONFLICT DO NOTHING`, nil, 0},
		{`DELETE FROM items WHERE id = $1`, []any{int64(3)}, 1},
		{`SELECT id FROM items`, nil, 3},
		{`WITH d AS (DELETE FROM items WHERE id = 2 RETURNING id) SELECT count(*) FROM d`, nil, 1},
	}
	for _, st := range steps {
		if r := must(t, execSQL(t, ctx, s, st.sql, st.args...)); r.n != st.want {
			t.Errorf("%s: %d rows, want %d", st.sql, r.n, st.want)
		}
	}
}

// TestQueryLimit: a result over the limit fails as invalid and returns
// nothing; the session goes on.
func TestQueryLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.writer(t)
	ctx := context.Background()
	sql := `SELECT repeat('x', 100) FROM generate_series(1, 1000)`
	if r := queryLimit(t, ctx, s, 10_000, sql); r.status != abi.StatusInvalid || !strings.Contains(r.msg, "10000-byte limit") {
		t.Errorf("over the limit: %s %q, want invalid", r.status, r.msg)
	}
	out, err := s.Query(ctx, []byte("keep"), []byte(sql), nil, 10_000)
	if err == nil || string(out) != "keep" {
		t.Errorf("a failed query left %q in the buffer (err %v), want it as it was", out, err)
	}
	if r := queryLimit(t, ctx, s, 200_000, sql); len(r.rows) != 1000 {
		t.Errorf("under the limit: %d rows (%s %s)", len(r.rows), r.status, r.msg)
	}
	// A single row over MaxMessageBytes is refused before it is read: the
	// connection goes, the next call reconnects.
	small := e.plugin(t, nil, []string{"items"}, Options{MaxMessageBytes: 1 << 16})
	if r := querySQL(t, ctx, small, `SELECT repeat('x', 1 << 20)`); r.status == abi.StatusOK {
		t.Error("a 1 MiB row came through a 64 KiB message limit")
	}
	endTick(t, small)
	if got := one(t, querySQL(t, ctx, small, `SELECT 1`)); got != int64(1) {
		t.Errorf("after reconnecting: %v", got)
	}
}

func TestTransactions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.writer(t)
	ctx := context.Background()
	status := func(err error) abi.Status { st, _ := s.Explain(err); return st }

	// Wrong states are invalid.
	if st := status(s.Commit(ctx)); st != abi.StatusInvalid {
		t.Errorf("commit without a transaction: %s", st)
	}
	if st := status(s.Rollback(ctx)); st != abi.StatusInvalid {
		t.Errorf("rollback without a transaction: %s", st)
	}
	if err := s.Begin(ctx); err != nil {
		t.Fatal(err)
	}
	if st := status(s.Begin(ctx)); st != abi.StatusInvalid {
		t.Errorf("nested begin: %s", st)
	}
	must(t, execSQL(t, ctx, s, `INSERT INTO items (id) VALUES (1)`))
	if n := e.count(t, `SELECT count(*) FROM items WHERE id = 1`); n != 0 {
		t.Error("an uncommitted insert is visible")
	}
	if err := s.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, `SELECT count(*) FROM items WHERE id = 1`); n != 1 {
		t.Error("the committed insert is missing")
	}

	// Rollback undoes.
	must(t, wrapErr(s.Begin(ctx)))
	must(t, execSQL(t, ctx, s, `INSERT INTO items (id) VALUES (2)`))
	must(t, wrapErr(s.Rollback(ctx)))
	if n := e.count(t, `SELECT count(*) FROM items WHERE id = 2`); n != 0 {
		t.Error("a rolled back insert is visible")
	}

	// A failed statement aborts the transaction: later statements fail
	// (other), the commit fails and leaves nothing open or committed, a
	// retried commit fails the same way, and rollback closes it.
	must(t, wrapErr(s.Begin(ctx)))
	must(t, execSQL(t, ctx, s, `INSERT INTO items (id) VALUES (3)`))
	if r := execSQL(t, ctx, s, `INSERT INTO items (id) VALUES (1)`); r.status != abi.StatusConstraint {
		t.Errorf("duplicate key: %s %q", r.status, r.msg)
	}
	if r := execSQL(t, ctx, s, `INSERT INTO items (id) VALUES (4)`); r.status != abi.StatusOther || !strings.Contains(r.msg, "25P02") {
		t.Errorf("statement after a failure: %s %q, want other (25P02)", r.status, r.msg)
	}
	err := s.Commit(ctx)
	if st, msg := s.Explain(err); st != abi.StatusOther || !strings.Contains(msg, "rolled back") {
		t.Errorf("commit after a failure: %s %q", st, msg)
	}
	if st := status(s.Commit(ctx)); st != abi.StatusOther {
		t.Errorf("retried commit: %s", st)
	}
	if r := execSQL(t, ctx, s, `INSERT INTO items (id) VALUES (5)`); r.status == abi.StatusOK {
		t.Error("a statement in a doomed transaction ran")
	}
	must(t, wrapErr(s.Rollback(ctx)))
	if n := e.count(t, `SELECT count(*) FROM items WHERE id IN (3, 4, 5)`); n != 0 {
		t.Errorf("%d rows of the failed transaction were committed", n)
	}
	if endTick(t, s) {
		t.Error("EndTick says a transaction was left open")
	}
}

// wrapErr turns a transaction call's error into a result.
func wrapErr(err error) result {
	if err == nil {
		return result{}
	}
	st, msg := Explain(err)
	return result{status: st, msg: msg}
}

// TestSerializationFailureIsBusy: two SERIALIZABLE plugins in a write
// skew; the loser's commit (or statement) fails with busy, the commit
// leaves nothing open, and a retry of the whole transaction succeeds.
func TestSerializationFailureIsBusy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.exec(t, `INSERT INTO items (id, name) VALUES (1, 'on'), (2, 'on')`)
	a := e.plugin(t, nil, []string{"items"}, Options{Isolation: pgx.Serializable})
	b, err := Open(context.Background(), a.cfg.ConnString(), Options{Plugin: "p", Isolation: pgx.Serializable})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	for _, s := range []*Session{a, b} {
		must(t, wrapErr(s.Begin(ctx)))
		must(t, querySQL(t, ctx, s, `SELECT count(*) FROM items WHERE name = 'on'`))
	}
	must(t, execSQL(t, ctx, a, `UPDATE items SET name = 'off' WHERE id = 1`))
	must(t, execSQL(t, ctx, b, `UPDATE items SET name = 'off' WHERE id = 2`))
	must(t, wrapErr(a.Commit(ctx)))
	r := wrapErr(b.Commit(ctx))
	if r.status != abi.StatusBusy || !strings.Contains(r.msg, "40001") {
		t.Fatalf("second commit of a write skew: %s %q, want busy (40001)", r.status, r.msg)
	}
	if b.conn.PgConn().TxStatus() != 'I' {
		t.Error("a failed commit left a transaction open on the server")
	}
	if r := wrapErr(b.Commit(ctx)); r.status != abi.StatusBusy {
		t.Errorf("retried commit: %s %q, want busy again", r.status, r.msg)
	}
	must(t, wrapErr(b.Rollback(ctx)))
	must(t, wrapErr(b.Begin(ctx)))
	must(t, execSQL(t, ctx, b, `UPDATE items SET name = 'off' WHERE id = 2`))
	must(t, wrapErr(b.Commit(ctx)))
	if n := e.count(t, `SELECT count(*) FROM items WHERE name = 'off'`); n != 2 {
		t.Errorf("%d rows off, want 2", n)
	}
}

func TestExplain(t *testing.T) {
	pg := func(code string) error { return &pgconn.PgError{Severity: "ERROR", Code: code, Message: "m"} }
	tests := []struct {
		name string
		err  error
		want abi.Status
	}{
		{"serialization failure", pg("40001"), abi.StatusBusy},
		{"deadlock", pg("40P01"), abi.StatusBusy},
		{"lock not available", pg("55P03"), abi.StatusBusy},
		{"unique", pg("23505"), abi.StatusConstraint},
		{"foreign key", pg("23503"), abi.StatusConstraint},
		{"check", pg("23514"), abi.StatusConstraint},
		{"not null", pg("23502"), abi.StatusConstraint},
		{"exclusion", pg("23P01"), abi.StatusConstraint},
		{"insufficient privilege", pg("42501"), abi.StatusNotAuthorized},
		{"the check", &deniedError{Denial{Action: "statement", Object: "SET", Reason: "r"}}, abi.StatusNotAuthorized},
		{"syntax", pg("42601"), abi.StatusOther},
		{"out of range", pg("22003"), abi.StatusOther},
		{"canceled", pg("57014"), abi.StatusOther},
		{"malformed", &invalidError{"bad"}, abi.StatusInvalid},
		{"interrupted while busy", &interruptedError{pg("40001")}, abi.StatusOther},
		{"deadline", context.DeadlineExceeded, abi.StatusOther},
		{"doomed by a serialization failure", &doomedError{pg("40001")}, abi.StatusBusy},
		{"anything", errors.New("x"), abi.StatusOther},
	}
	for _, tt := range tests {
		st, msg := Explain(tt.err)
		if st != tt.want {
			t.Errorf("%s: %s (%q), want %s", tt.name, st, msg, tt.want)
		}
		if tt.want == abi.StatusNotAuthorized && !strings.HasPrefix(msg, "not authorized: ") {
			t.Errorf("%s: message %q", tt.name, msg)
		}
	}
}

// TestConstraintsAndPrivileges: real violations and denials map as
// Explain says.
func TestConstraintsAndPrivileges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.plugin(t, nil, []string{"items", "shelf"}, Options{})
	ctx := context.Background()
	tests := []struct {
		sql  string
		want abi.Status
	}{
		{`INSERT INTO items (id) VALUES (100)`, abi.StatusConstraint},
		{`INSERT INTO items (id, name) VALUES (7, NULL)`, abi.StatusConstraint},
		{`INSERT INTO items (id, name) VALUES (8, 'forbidden')`, abi.StatusConstraint},
		{`INSERT INTO shelf VALUES (2, 999, 'x')`, abi.StatusConstraint},
		{`DELETE FROM items WHERE id = 100`, abi.StatusConstraint},
		{`SELECT * FROM secret`, abi.StatusNotAuthorized},
		{`SELECT nonsense FROM items`, abi.StatusOther},
	}
	for _, tt := range tests {
		if r := execSQL(t, ctx, s, tt.sql); r.status != tt.want {
			t.Errorf("%s: %s %q, want %s", tt.sql, r.status, r.msg, tt.want)
		}
	}
}

// TestLockTimeoutIsBusy: a row another transaction holds makes the
// plugin's statement wait LockTimeout, then fail with busy.
func TestLockTimeoutIsBusy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.plugin(t, nil, []string{"items"}, Options{LockTimeout: 100 * time.Millisecond})
	ctx := context.Background()
	tx, err := e.admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `UPDATE items SET name = 'held' WHERE id = 100`); err != nil {
		t.Fatal(err)
	}
	r := execSQL(t, ctx, s, `UPDATE items SET name = 'mine' WHERE id = 100`)
	if r.status != abi.StatusBusy || !strings.Contains(r.msg, "55P03") {
		t.Errorf("waiting on a held row: %s %q, want busy (55P03)", r.status, r.msg)
	}
}

// TestCancelledFromTheClient: a statement past its context's end is
// cancelled on the server; the call reports an interruption and the
// session works in the next tick.
func TestCancelledFromTheClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.writer(t)
	for _, inTx := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		if inTx {
			must(t, wrapErr(s.Begin(ctx)))
			must(t, execSQL(t, ctx, s, `INSERT INTO items (id) VALUES (55)`))
		}
		start := time.Now()
		r := querySQL(t, ctx, s, `SELECT pg_sleep(30)`)
		took := time.Since(start)
		cancel()
		if r.status != abi.StatusOther || !strings.HasPrefix(r.msg, "interrupted: ") {
			t.Errorf("pg_sleep(30) under a 200 ms deadline: %s %q, want other, interrupted", r.status, r.msg)
		}
		if took > 10*time.Second {
			t.Errorf("the cancelled statement took %v", took)
		}
		if left := endTick(t, s); left != inTx {
			t.Errorf("leftOpen = %v, want %v", left, inTx)
		}
		if got := one(t, querySQL(t, context.Background(), s, `SELECT 1`)); got != int64(1) {
			t.Errorf("next tick: %v", got)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM items WHERE id = 55`); n != 0 {
		t.Error("the interrupted transaction's insert was committed")
	}
	// A call whose context already ended does not reach the server.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := execSQL(t, ctx, s, `INSERT INTO items (id) VALUES (56)`); r.status != abi.StatusOther || !strings.Contains(r.msg, "interrupted") {
		t.Errorf("call after the deadline: %s %q", r.status, r.msg)
	}
}

// TestEndTick: whatever a tick leaves behind, EndTick undoes, under its own
// context even when the tick's has expired; the prepared statements stay.
func TestEndTick(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Operator functions every role may call (PUBLIC has EXECUTE on
	// functions): the way a plugin's call could change its session.
	e.exec(t, `CREATE FUNCTION tweak() RETURNS text LANGUAGE sql AS $$
SELECT set_config('statement_timeout', '1ms', false) || set_config('application_name', 'evil', false)
  || pg_advisory_lock(42)::text $$`)
	s := e.writer(t)
	ctx := context.Background()
	must(t, querySQL(t, ctx, s, `SELECT 1`))
	prepared := len(s.stmts)

	must(t, wrapErr(s.Begin(ctx)))
	must(t, execSQL(t, ctx, s, `INSERT INTO items (id) VALUES (9)`))
	must(t, querySQL(t, ctx, s, `SELECT tweak()`))
	expired, cancel := context.WithCancel(ctx)
	cancel()
	left, err := s.EndTick(expired)
	if err != nil {
		t.Fatal(err)
	}
	if !left {
		t.Error("EndTick did not report the open transaction")
	}
	if n := e.count(t, `SELECT count(*) FROM items WHERE id = 9`); n != 0 {
		t.Error("the open transaction was committed")
	}
	// Outside a transaction the settings would have stuck.
	must(t, querySQL(t, ctx, s, `SELECT tweak()`))
	var timeout, app string
	if err := s.conn.QueryRow(ctx, `SELECT current_setting('statement_timeout'), current_setting('application_name')`).Scan(&timeout, &app); err != nil || app != "evil" {
		t.Fatalf("the tweak did not take: %v %q", err, app)
	}
	locks := fmt.Sprintf(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = %d`, s.conn.PgConn().PID())
	if n := e.count(t, locks); n != 1 {
		t.Fatalf("the tweak holds %d advisory locks, want 1", n)
	}
	endTick(t, s)
	if err := s.conn.QueryRow(ctx, `SELECT current_setting('statement_timeout'), current_setting('application_name')`).Scan(&timeout, &app); err != nil {
		t.Fatal(err)
	}
	if timeout != "0" || app != "ffwasmhost plugin p" {
		t.Errorf("after EndTick: statement_timeout %q, application_name %q", timeout, app)
	}
	if n := e.count(t, locks); n != 0 {
		t.Errorf("%d advisory locks survive the tick", n)
	}
	if len(s.stmts) < prepared || len(s.stmts) == 0 {
		t.Errorf("prepared statements: %d after EndTick, %d before", len(s.stmts), prepared)
	}
	if got := one(t, querySQL(t, ctx, s, `SELECT 1`)); got != int64(1) {
		t.Errorf("after EndTick: %v", got)
	}
}

// TestFence: with a fence set, a commit runs it first and a failing fence
// commits nothing, in a transaction or outside one.
func TestFence(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.writer(t)
	ctx := context.Background()
	errLost := errors.New("fenced: lease lost")
	calls := 0
	var fail bool
	s.SetFence(func(ctx context.Context, conn *pgx.Conn) error {
		calls++
		var inTx bool
		if err := conn.QueryRow(ctx, `SELECT now() = statement_timestamp()`).Scan(&inTx); err != nil {
			return err
		}
		if inTx { // now() is the transaction's start, so it differs within one
			return errors.New("the fence ran outside a transaction")
		}
		if fail {
			return errLost
		}
		return nil
	})
	must(t, execSQL(t, ctx, s, `INSERT INTO items (id) VALUES (1)`))
	must(t, wrapErr(s.Begin(ctx)))
	must(t, execSQL(t, ctx, s, `INSERT INTO items (id) VALUES (2)`))
	must(t, wrapErr(s.Commit(ctx)))

	fail = true
	if r := execSQL(t, ctx, s, `INSERT INTO items (id) VALUES (3)`); r.status != abi.StatusOther || !strings.Contains(r.msg, "fenced") {
		t.Errorf("fenced statement: %s %q", r.status, r.msg)
	}
	must(t, wrapErr(s.Begin(ctx)))
	must(t, execSQL(t, ctx, s, `INSERT INTO items (id) VALUES (4)`))
	if r := wrapErr(s.Commit(ctx)); r.status != abi.StatusOther || !strings.Contains(r.msg, "fenced") {
		t.Errorf("fenced commit: %s %q", r.status, r.msg)
	}
	must(t, wrapErr(s.Rollback(ctx)))
	endTick(t, s)
	if got := e.count(t, `SELECT count(*) FROM items WHERE id IN (1, 2, 3, 4)`); got != 2 {
		t.Errorf("%d of the rows committed, want 2 (the unfenced ones)", got)
	}
	if calls != 4 {
		t.Errorf("the fence ran %d times, want 4", calls)
	}
}

// TestOpenRefusesUnfitRoles: a session never runs as a role that could
// step outside its grants.
func TestOpenRefusesUnfitRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	member := pgtest.NewRole(t, "")
	tests := []struct {
		name  string
		setup string // %s is the role
		want  string
	}{
		{"superuser", `ALTER ROLE %s SUPERUSER`, "is a superuser"},
		{"createdb", `ALTER ROLE %s CREATEDB`, "has CREATEDB"},
		{"createrole", `ALTER ROLE %s CREATEROLE`, "has CREATEROLE"},
		{"bypassrls", `ALTER ROLE %s BYPASSRLS`, "has BYPASSRLS"},
		{"member", `GRANT ` + member + ` TO %s`, "is a member of other roles"},
		{"create on schema", `GRANT CREATE ON SCHEMA public TO %s`, "may CREATE in its schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			roles := Roles{Prefix: pgtest.RolePrefix(t)}
			if err := roles.Ensure(ctx, e.admin, "p", nil, []string{"items"}); err != nil {
				t.Fatal(err)
			}
			role, _ := roles.Name("p")
			e.exec(t, strings.ReplaceAll(tt.setup, "%s", role))
			_, err := Open(ctx, pgtest.WithUser(t, e.dsn, role), Options{Plugin: "p"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v, want an error containing %q", err, tt.want)
			}
			// Ensure repairs what it may.
			if tt.name != "create on schema" {
				if err := roles.Ensure(ctx, e.admin, "p", nil, []string{"items"}); err != nil {
					t.Fatal(err)
				}
				s, err := Open(ctx, pgtest.WithUser(t, e.dsn, role), Options{Plugin: "p"})
				if err != nil {
					t.Fatalf("after Ensure: %v", err)
				}
				s.Close()
			}
		})
	}
	if _, err := Open(ctx, e.dsn, Options{Plugin: "p"}); err == nil || !strings.Contains(err.Error(), "is a superuser") {
		t.Errorf("Open as the admin = %v, want a refusal", err)
	}
	if _, err := Open(ctx, e.dsn, Options{Plugin: "p", Role: "ffwasmhost_plugin_p"}); err == nil || !strings.Contains(err.Error(), "want its role") {
		t.Errorf("Open as the wrong role = %v", err)
	}
	if _, err := Open(ctx, e.dsn, Options{Plugin: "p", Isolation: "read uncommitted; DROP"}); err == nil || !strings.Contains(err.Error(), "isolation") {
		t.Errorf("Open with a bad isolation = %v", err)
	}
}

// TestSchemaChangeUnderPreparedStatement: a column added by the operator
// changes the result of a statement prepared before it. Outside a
// transaction the session prepares it again and the call succeeds; inside
// one the transaction has failed, and the statement works again after it.
func TestSchemaChangeUnderPreparedStatement(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.writer(t)
	ctx := context.Background()
	const sql = `SELECT * FROM items WHERE id = 100`
	must(t, querySQL(t, ctx, s, sql))
	e.exec(t, `ALTER TABLE items ADD COLUMN extra int`)
	if got := must(t, querySQL(t, ctx, s, sql)); len(got.cols) != 9 {
		t.Errorf("outside a transaction: columns %v", got.cols)
	}

	e.exec(t, `ALTER TABLE items ADD COLUMN extra2 int`)
	must(t, wrapErr(s.Begin(ctx)))
	r := querySQL(t, ctx, s, sql)
	if r.status != abi.StatusOther || !strings.Contains(r.msg, "cached plan must not change result type") {
		t.Errorf("in a transaction: %s %q", r.status, r.msg)
	}
	must(t, wrapErr(s.Rollback(ctx)))
	if got := must(t, querySQL(t, ctx, s, sql)); len(got.cols) != 10 {
		t.Errorf("after the transaction: columns %v", got.cols)
	}
}
