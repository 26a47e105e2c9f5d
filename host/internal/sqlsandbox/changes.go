package sqlsandbox

import (
	"maps"
	"slices"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// changes counts the rows a plugin's writes insert, update and delete, from
// SQLite's pre-update hook, which sees every row a statement writes,
// triggers' included. A row counts once it is committed (or, in a dry run,
// once it would be): the hook's counts go to the running statement's
// level, which on success moves to the open transaction's (or, outside
// one, to the tick's), and the transaction's moves to the tick's when it
// commits; a statement or transaction that fails drops its level.
type changes struct {
	stmt, tx, tick level

	// In a diff, the rows themselves, up to maxRows a tick; the rest are
	// counted in omitted.
	diff    bool
	maxRows int
	omitted int64
}

// level is the counts and rows of one statement, transaction or tick.
type level struct {
	counts map[tableOp]int64
	rows   []store.RowChange
}

func (l *level) add(m *level) {
	if l.counts == nil {
		l.counts = map[tableOp]int64{}
	}
	for k, n := range m.counts {
		l.counts[k] += n
	}
	l.rows = append(l.rows, m.rows...)
	m.clear()
}

func (l *level) clear() {
	clear(l.counts)
	l.rows = l.rows[:0]
}

type tableOp struct {
	table string
	op    int32 // SQLITE_INSERT, SQLITE_UPDATE, SQLITE_DELETE
}

func newChanges(diff bool, maxRows int) *changes {
	return &changes{diff: diff, maxRows: maxRows}
}

// hook is the connection's pre-update hook.
func (c *changes) hook(d sqlite.SQLitePreUpdateData) {
	if c.stmt.counts == nil {
		c.stmt.counts = map[tableOp]int64{}
	}
	c.stmt.counts[tableOp{strings.ToLower(d.TableName), d.Op}]++
	if !c.diff {
		return
	}
	if len(c.tick.rows)+len(c.tx.rows)+len(c.stmt.rows) >= c.maxRows {
		c.omitted++ // past the bound: counted, whether it stays or not
		return
	}
	rc := store.RowChange{Table: d.TableName, Op: opName(d.Op)}
	n := d.Count()
	if d.Op != sqlite3.SQLITE_INSERT {
		rc.Old = make([]any, n)
		_ = d.Old(rc.Old...) // fills rc.Old's own elements
	}
	if d.Op != sqlite3.SQLITE_DELETE {
		rc.New = make([]any, n)
		_ = d.New(rc.New...)
	}
	c.stmt.rows = append(c.stmt.rows, rc)
}

func opName(op int32) string {
	switch op {
	case sqlite3.SQLITE_INSERT:
		return store.OpInsert
	case sqlite3.SQLITE_UPDATE:
		return store.OpUpdate
	}
	return store.OpDelete
}

// endStatement ends a plugin's statement: a failed one wrote nothing, a
// successful one's rows wait for its transaction, or count at once
// outside one.
func (c *changes) endStatement(ok, inTx bool) {
	switch {
	case !ok:
		c.stmt.clear()
	case inTx:
		c.tx.add(&c.stmt)
	default:
		c.tick.add(&c.stmt)
	}
}

// commit counts the transaction's rows; rollback forgets them.
func (c *changes) commit()   { c.tick.add(&c.tx) }
func (c *changes) rollback() { c.tx.clear(); c.stmt.clear() }

// reset starts a tick's counts.
func (c *changes) reset() {
	c.rollback()
	c.tick.clear()
	c.omitted = 0
}

// result returns the tick's changes: counts by table, sorted, and rows.
func (c *changes) result() store.Changes {
	by := map[string]*store.TableChanges{}
	for k, n := range c.tick.counts {
		tc := by[k.table]
		if tc == nil {
			tc = &store.TableChanges{Table: k.table}
			by[k.table] = tc
		}
		switch k.op {
		case sqlite3.SQLITE_INSERT:
			tc.Inserted += n
		case sqlite3.SQLITE_UPDATE:
			tc.Updated += n
		case sqlite3.SQLITE_DELETE:
			tc.Deleted += n
		}
	}
	out := store.Changes{Omitted: c.omitted}
	for _, name := range slices.Sorted(maps.Keys(by)) {
		if tc := by[name]; tc.Inserted+tc.Updated+tc.Deleted > 0 {
			out.Tables = append(out.Tables, *tc)
		}
	}
	if len(c.tick.rows) > 0 {
		out.Rows = slices.Clone(c.tick.rows)
	}
	return out
}
