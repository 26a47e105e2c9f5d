package sqlsandbox

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// What the host adds to a plugin connection through SQLite's C API, beyond
// the authorizer and the interrupter:
//
//   - a VFS of its own: a copy of SQLite's default VFS, registered under a
//     name of its own, whose clock reads the tick's now_ms and which opens
//     no temporary file (the connection keeps temp_store=MEMORY, so its
//     sorts and temporary tables count against its heap cap);
//   - random() and randomblob() replaced by a generator seeded from the
//     tick's now_ms;
//   - a commit hook that refuses a commit the host did not ask for: any
//     commit during a dry run, and a plugin's write that would commit on
//     its own because SQLite rolled back the transaction it was in;
//   - the budget of sqlheap.go on the connection's heap.
//
// C callbacks find their sqlGlue through the id SQLite hands them: the
// word after the VFS struct, a function's user data, the hook's argument.

var (
	glues   sync.Map // id (int64) -> *sqlGlue
	glueIDs atomic.Int64

	glueNamesOnce sync.Once
	glueNamesErr  error
	randomName    uintptr // "random" as a C string, never freed
	randomblobNm  uintptr // "randomblob" as a C string, never freed
)

// unixEpochJulianMS is 1970-01-01T00:00:00Z as SQLite's VFS clock counts:
// milliseconds since the Julian day epoch.
const unixEpochJulianMS = 210_866_760_000_000

// vfsSize is the size of sqlite3_vfs; the glue's id follows it.
const vfsSize = unsafe.Sizeof(sqlite3.Tsqlite3_vfs{})

// tempFileFlags are the xOpen flags of the files SQLite spills to.
const tempFileFlags = sqlite3.SQLITE_OPEN_TEMP_DB | sqlite3.SQLITE_OPEN_TEMP_JOURNAL |
	sqlite3.SQLITE_OPEN_TRANSIENT_DB | sqlite3.SQLITE_OPEN_SUBJOURNAL | sqlite3.SQLITE_OPEN_SUPER_JOURNAL

// sqlGlue is the C-level state of one plugin connection.
type sqlGlue struct {
	id       int64
	tls      *libc.TLS // for the host's own calls on the connection
	vfs      uintptr   // the registered copy of the default VFS
	vfsName  string
	baseOpen uintptr // the default VFS's xOpen
	db       uintptr // the connection's handle, once attached
	heap     *heapBudget

	nowMS     atomic.Int64 // what the connection's clock reads
	rng       rand.PCG     // random() and randomblob(); used on the connection's goroutine
	tempOpens atomic.Int64 // temporary files SQLite tried to open, all refused

	// mayCommit tells the commit hook whether a commit may go through; it
	// runs on the goroutine of the statement that commits.
	mayCommit func() bool
}

// newSQLGlue registers a VFS for one plugin connection, to be opened with
// vfs=g.vfsName.
func newSQLGlue() (_ *sqlGlue, err error) {
	glueNamesOnce.Do(func() {
		if randomName, glueNamesErr = libc.CString("random"); glueNamesErr == nil {
			randomblobNm, glueNamesErr = libc.CString("randomblob")
		}
	})
	if glueNamesErr != nil {
		return nil, glueNamesErr
	}
	g := &sqlGlue{id: glueIDs.Add(1), tls: libc.NewTLS()}
	g.vfsName = fmt.Sprintf("ffwasmhost-%d", g.id)
	defer func() {
		if err != nil {
			g.close()
		}
	}()
	base := sqlite3.Xsqlite3_vfs_find(g.tls, 0)
	if base == 0 {
		return nil, fmt.Errorf("sqlite has no default vfs")
	}
	p := libc.Xmalloc(g.tls, types.Size_t(vfsSize+8))
	if p == 0 {
		return nil, fmt.Errorf("allocate vfs: out of memory")
	}
	name, err := libc.CString(g.vfsName)
	if err != nil {
		libc.Xfree(g.tls, p)
		return nil, err
	}
	v := (*sqlite3.Tsqlite3_vfs)(cMem(p))
	*v = *(*sqlite3.Tsqlite3_vfs)(cMem(base))
	v.FpNext, v.FzName = 0, name
	g.baseOpen = v.FxOpen
	v.FxOpen = cFunc(vfsOpen)
	v.FxCurrentTime = cFunc(vfsCurrentTime)
	if v.FiVersion >= 2 {
		v.FxCurrentTimeInt64 = cFunc(vfsCurrentTimeInt64)
	}
	*(*int64)(cMem(p + vfsSize)) = g.id
	glues.Store(g.id, g)
	if rc := sqlite3.Xsqlite3_vfs_register(g.tls, p, 0); rc != sqlite3.SQLITE_OK {
		libc.Xfree(g.tls, name)
		libc.Xfree(g.tls, p)
		return nil, fmt.Errorf("register vfs %s: code %d", g.vfsName, rc)
	}
	g.vfs = p
	return g, nil
}

// attach installs the functions, the commit hook and the heap budget on
// the connection opened with g's VFS, whose handle is db and whose calls
// run with the TLS tlsID. No statement may run on it meanwhile.
func (g *sqlGlue) attach(db uintptr, tlsID int32, heapLimit int64) error {
	g.db = db
	b, err := newHeapBudget(tlsID, db, heapLimit)
	if err != nil {
		return err
	}
	g.heap = b
	for _, f := range []struct {
		name  uintptr
		nargs int32
		fn    uintptr
	}{
		{randomName, 0, cFunc(sqlRandom)},
		{randomblobNm, 1, cFunc(sqlRandomblob)},
	} {
		if rc := sqlite3.Xsqlite3_create_function_v2(g.tls, db, f.name, f.nargs, sqlite3.SQLITE_UTF8,
			uintptr(g.id), f.fn, 0, 0, 0); rc != sqlite3.SQLITE_OK {
			return fmt.Errorf("replace %s: code %d", libc.GoString(f.name), rc)
		}
	}
	sqlite3.Xsqlite3_commit_hook(g.tls, db, cFunc(commitHook), uintptr(g.id))
	return nil
}

// close releases the budget and the VFS; the connection is closed.
func (g *sqlGlue) close() {
	if g.heap != nil {
		g.heap.close()
	}
	if g.vfs != 0 {
		sqlite3.Xsqlite3_vfs_unregister(g.tls, g.vfs)
		v := (*sqlite3.Tsqlite3_vfs)(cMem(g.vfs))
		libc.Xfree(g.tls, v.FzName)
		libc.Xfree(g.tls, g.vfs)
		g.vfs = 0
	}
	glues.Delete(g.id)
	g.tls.Close()
}

// autocommit reports whether the connection is outside any transaction,
// as SQLite itself sees it: sqlite3_get_autocommit, without the
// connection mutex it takes (two libc mutex calls, a tenth of a short
// statement), since the host runs nothing else on the connection
// meanwhile.
func (g *sqlGlue) autocommit() bool {
	return (*sqlite3.Tsqlite3)(cMem(g.db)).FautoCommit != 0
}

// setNow sets what the connection's clock reads, and reseeds random()
// from it: a tick's SQL sees only its now_ms.
func (g *sqlGlue) setNow(nowMS int64) {
	g.nowMS.Store(nowMS)
	g.rng.Seed(uint64(nowMS), 0x9e3779b97f4a7c15)
}

func glueOf(id int64) *sqlGlue {
	if v, ok := glues.Load(id); ok {
		return v.(*sqlGlue)
	}
	return nil
}

func glueOfVFS(pVfs uintptr) *sqlGlue { return glueOf(*(*int64)(cMem(pVfs + vfsSize))) }

// vfsOpen is the VFS's xOpen: the default VFS's, except that it refuses
// temporary files.
func vfsOpen(tls *libc.TLS, pVfs, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	g := glueOfVFS(pVfs)
	if g == nil {
		return sqlite3.SQLITE_CANTOPEN
	}
	if zName == 0 || flags&tempFileFlags != 0 {
		g.tempOpens.Add(1)
		return sqlite3.SQLITE_CANTOPEN
	}
	return (*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{g.baseOpen})))(tls, pVfs, zName, pFile, flags, pOutFlags)
}

// vfsNow is what the VFS pVfs's clock reads: the tick's now_ms, in
// milliseconds since the Julian day epoch.
func vfsNow(pVfs uintptr) int64 {
	var ms int64
	if g := glueOfVFS(pVfs); g != nil {
		ms = g.nowMS.Load()
	}
	return unixEpochJulianMS + ms
}

// vfsCurrentTimeInt64 is the VFS's xCurrentTimeInt64.
func vfsCurrentTimeInt64(_ *libc.TLS, pVfs, piNow uintptr) int32 {
	*(*int64)(cMem(piNow)) = vfsNow(pVfs)
	return sqlite3.SQLITE_OK
}

// vfsCurrentTime is the VFS's older xCurrentTime, in Julian days.
func vfsCurrentTime(_ *libc.TLS, pVfs, prNow uintptr) int32 {
	*(*float64)(cMem(prNow)) = float64(vfsNow(pVfs)) / 86_400_000
	return sqlite3.SQLITE_OK
}

// sqlRandom is random(): a 64-bit integer, as SQLite's, from the
// connection's seeded generator.
func sqlRandom(tls *libc.TLS, ctx uintptr, _ int32, _ uintptr) {
	g := glueOf(int64(sqlite3.Xsqlite3_user_data(tls, ctx)))
	if g == nil {
		sqlite3.Xsqlite3_result_error_nomem(tls, ctx)
		return
	}
	r := int64(g.rng.Uint64())
	if r < 0 { // as SQLite's: never the smallest int64
		r = -(r & math.MaxInt64)
	}
	sqlite3.Xsqlite3_result_int64(tls, ctx, r)
}

// sqlRandomblob is randomblob(N): N bytes (at least 1) from the
// connection's seeded generator.
func sqlRandomblob(tls *libc.TLS, ctx uintptr, _ int32, argv uintptr) {
	g := glueOf(int64(sqlite3.Xsqlite3_user_data(tls, ctx)))
	if g == nil {
		sqlite3.Xsqlite3_result_error_nomem(tls, ctx)
		return
	}
	n := max(sqlite3.Xsqlite3_value_int64(tls, *(*uintptr)(cMem(argv))), 1)
	if n > int64(sqlite3.Xsqlite3_limit(tls, g.db, sqlite3.SQLITE_LIMIT_LENGTH, -1)) {
		sqlite3.Xsqlite3_result_error_toobig(tls, ctx)
		return
	}
	p := sqlite3.Xsqlite3_malloc64(tls, uint64(n))
	if p == 0 {
		sqlite3.Xsqlite3_result_error_nomem(tls, ctx)
		return
	}
	b := unsafe.Slice((*byte)(cMem(p)), n)
	for i := 0; i < len(b); i += 8 {
		u := g.rng.Uint64()
		for j := i; j < min(i+8, len(b)); j++ {
			b[j] = byte(u)
			u >>= 8
		}
	}
	sqlite3.Xsqlite3_result_blob64(tls, ctx, p, uint64(n), cFunc(sqlite3.Xsqlite3_free))
}

// commitHook turns a commit into a rollback unless mayCommit allows it.
func commitHook(_ *libc.TLS, arg uintptr) int32 {
	g := glueOf(int64(arg))
	if g == nil || g.mayCommit == nil || g.mayCommit() {
		return 0
	}
	return 1
}
