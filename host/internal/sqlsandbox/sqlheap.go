package sqlsandbox

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite's heap is capped per plugin connection. SQLite itself has only a
// process-wide cap (sqlite3_hard_heap_limit64), which modernc.org/sqlite's
// build ignores (SQLITE_DEFAULT_MEMSTATUS=0) unless memory statistics are
// switched on before SQLite initializes, and which would fail the host's
// own connections and every other plugin along with the one at fault.
//
// Instead this file installs an allocator of its own
// (SQLITE_CONFIG_MALLOC) when package host initializes, before anything
// can open a connection. It allocates with libc's malloc, as SQLite's
// default allocator does, and puts a 16-byte header before each block: its
// size and the id of the budget it counts against. modernc.org/sqlite
// runs every call on a connection with that connection's own *libc.TLS,
// so an allocation belongs to the plugin connection whose TLS makes it.
// A budget past its cap refuses the allocation and interrupts the
// connection's statement: most of SQLite fails a statement on a refused
// allocation (SQLITE_NOMEM), but a few builders, such as
// json_group_array's, merely stop growing and let the statement run on.

// heapHeader is the size of the header before each block: the block's
// size, then the owning budget's id (0: counted against none). 16 bytes
// keep malloc's alignment.
const heapHeader = 16

type heapBlock struct {
	size  int64
	owner int64
}

var heap struct {
	err error // why the allocator could not be installed; nil if it is

	mu      sync.Mutex                            // serializes changes of budgets
	budgets atomic.Pointer[map[int32]*heapBudget] // by the id of the connection's TLS; copied on write
}

func init() { heap.err = installHeap() }

// installHeap makes SQLite allocate through heapMalloc and its siblings.
// It fails if SQLite was initialized before package host: then some
// other package opened a connection from its own init.
func installHeap() error {
	tls := libc.NewTLS()
	defer tls.Close()
	m := libc.Xcalloc(tls, 1, types.Size_t(unsafe.Sizeof(sqlite3.Tsqlite3_mem_methods{})))
	if m == 0 {
		return fmt.Errorf("allocate sqlite3_mem_methods: out of memory")
	}
	defer libc.Xfree(tls, m) // sqlite3_config copies it
	methods := (*sqlite3.Tsqlite3_mem_methods)(cMem(m))
	methods.FxMalloc = cFunc(heapMalloc)
	methods.FxFree = cFunc(heapFree)
	methods.FxRealloc = cFunc(heapRealloc)
	methods.FxSize = cFunc(heapSize)
	methods.FxRoundup = cFunc(heapRoundup)
	methods.FxInit = cFunc(heapInit)
	methods.FxShutdown = cFunc(heapShutdown)
	va := libc.Xmalloc(tls, 8)
	if va == 0 {
		return fmt.Errorf("allocate va_list: out of memory")
	}
	defer libc.Xfree(tls, va)
	if rc := sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_MALLOC, libc.VaList(va, m)); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("sqlite3_config(SQLITE_CONFIG_MALLOC): code %d (was SQLite initialized before package host?)", rc)
	}
	return nil
}

// heapBudget is the cap on one plugin connection's SQLite heap.
type heapBudget struct {
	id      int32 // the connection's TLS id
	limit   int64
	db      uintptr // the connection's handle, interrupted at the cap
	used    atomic.Int64
	peak    atomic.Int64
	tripped atomic.Bool // an allocation was refused since the last reset
}

// newHeapBudget counts every later allocation made with the TLS whose id
// is tlsID against a cap of limit bytes; db is that TLS's connection.
func newHeapBudget(tlsID int32, db uintptr, limit int64) (*heapBudget, error) {
	if heap.err != nil {
		return nil, fmt.Errorf("cap sqlite heap: %w", heap.err)
	}
	b := &heapBudget{id: tlsID, limit: limit, db: db}
	heap.mu.Lock()
	defer heap.mu.Unlock()
	m := map[int32]*heapBudget{}
	if old := heap.budgets.Load(); old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	if _, dup := m[tlsID]; dup {
		return nil, fmt.Errorf("cap sqlite heap: TLS %d already has a budget", tlsID)
	}
	m[tlsID] = b
	heap.budgets.Store(&m)
	return b, nil
}

// close stops counting: allocations of the connection still live are
// freed uncounted. The caller has closed the connection.
func (b *heapBudget) close() {
	heap.mu.Lock()
	defer heap.mu.Unlock()
	old := heap.budgets.Load()
	if old == nil {
		return
	}
	m := make(map[int32]*heapBudget, len(*old))
	for k, v := range *old {
		if k != b.id {
			m[k] = v
		}
	}
	heap.budgets.Store(&m)
}

// budgetOf returns the budget of the TLS or owner id, or nil.
func budgetOf(id int32) *heapBudget {
	m := heap.budgets.Load()
	if m == nil {
		return nil
	}
	return (*m)[id]
}

// take counts n more bytes, or refuses them past the cap: then it
// interrupts the connection's statement.
func (b *heapBudget) take(tls *libc.TLS, n int64) bool {
	used := b.used.Add(n)
	if used > b.limit {
		b.used.Add(-n)
		b.tripped.Store(true)
		if b.db != 0 {
			sqlite3.Xsqlite3_interrupt(tls, b.db)
		}
		return false
	}
	for {
		p := b.peak.Load()
		if used <= p || b.peak.CompareAndSwap(p, used) {
			return true
		}
	}
}

// give uncounts n bytes.
func (b *heapBudget) give(n int64) { b.used.Add(-n) }

// reset forgets an earlier refusal, before a new statement.
func (b *heapBudget) reset() { b.tripped.Store(false) }

func heapMalloc(tls *libc.TLS, n int32) uintptr {
	b := budgetOf(tls.ID)
	if b != nil && !b.take(tls, int64(n)) {
		return 0
	}
	p := libc.Xmalloc(tls, types.Size_t(n)+heapHeader)
	if p == 0 {
		if b != nil {
			b.give(int64(n))
		}
		return 0
	}
	h := (*heapBlock)(cMem(p))
	h.size, h.owner = int64(n), 0
	if b != nil {
		h.owner = int64(b.id)
	}
	return p + heapHeader
}

func heapFree(tls *libc.TLS, p uintptr) {
	if p == 0 {
		return
	}
	h := (*heapBlock)(cMem(p - heapHeader))
	if h.owner != 0 {
		if b := budgetOf(int32(h.owner)); b != nil {
			b.give(h.size)
		}
	}
	libc.Xfree(tls, p-heapHeader)
}

// heapRealloc charges growth to the block's budget. A block that counts
// against none, allocated before its connection had a budget, is adopted
// by the caller's budget, whole.
func heapRealloc(tls *libc.TLS, p uintptr, n int32) uintptr {
	h := (*heapBlock)(cMem(p - heapHeader))
	charge := int64(n) - h.size
	var b *heapBudget
	adopt := false
	if h.owner != 0 {
		b = budgetOf(int32(h.owner))
	} else if b = budgetOf(tls.ID); b != nil {
		adopt, charge = true, int64(n)
	}
	if b != nil && charge > 0 && !b.take(tls, charge) {
		return 0
	}
	q := libc.Xrealloc(tls, p-heapHeader, types.Size_t(n)+heapHeader)
	if q == 0 {
		if b != nil && charge > 0 {
			b.give(charge)
		}
		return 0
	}
	if b != nil && charge < 0 {
		b.give(-charge)
	}
	h = (*heapBlock)(cMem(q))
	h.size = int64(n)
	if adopt {
		h.owner = int64(b.id)
	}
	return q + heapHeader
}

func heapSize(_ *libc.TLS, p uintptr) int32 {
	if p == 0 {
		return 0
	}
	return int32((*heapBlock)(cMem(p - heapHeader)).size)
}

func heapRoundup(_ *libc.TLS, n int32) int32 { return (n + 7) &^ 7 }

func heapInit(*libc.TLS, uintptr) int32 { return sqlite3.SQLITE_OK }

func heapShutdown(*libc.TLS, uintptr) {}

// cMem is the C memory at p, which libc or SQLite allocated outside the
// Go heap, as an unsafe.Pointer.
func cMem(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }
