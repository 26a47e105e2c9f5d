package host

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// The cores of the host functions, shared by both kinds of plugin: the
// ffhost wrappers (fn_*.go) and the Extism wrappers (extism.go) only
// decode arguments from, and encode results into, their own memory.

// sqlCore serves sql_exec (query false) and sql_query (query true): read
// returns the statement and its encoded arguments from guest memory, or a
// message saying which of them is outside it. The payload is the encoded
// result, in st.buf, or an error message.
func sqlCore(ctx context.Context, st *callState, query bool, sqlLen, argsLen uint32, read func() (text, args []byte, bad string)) (abi.Status, []byte) {
	if st == nil || st.conn == nil {
		return abi.StatusInvalid, []byte("SQL is only available during scan_tick")
	}
	if total := uint64(sqlLen) + uint64(argsLen); total > uint64(st.limits.MaxCallBytes) {
		return abi.StatusInvalid, fmt.Appendf(nil, "call of %d bytes exceeds the %d-byte limit", total, st.limits.MaxCallBytes)
	}
	text, args, bad := read()
	if bad != "" {
		return abi.StatusInvalid, []byte(bad)
	}
	var err error
	if query {
		st.buf, err = st.conn.Query(ctx, st.buf[:0], text, args, st.limits.MaxResultBytes)
	} else {
		st.buf, err = st.conn.Exec(ctx, st.buf[:0], text, args)
	}
	if err != nil {
		s, msg := st.conn.Explain(err)
		return s, []byte(msg)
	}
	return abi.StatusOK, st.buf
}

// txCore serves tx_begin, tx_commit and tx_rollback: op on the plugin's
// connection. The payload is empty, or an error message.
func txCore(ctx context.Context, st *callState, op func(store.Conn, context.Context) error) (abi.Status, []byte) {
	if st == nil || st.conn == nil {
		return abi.StatusInvalid, []byte("transactions are only available during scan_tick")
	}
	if err := op(st.conn, ctx); err != nil {
		s, msg := st.conn.Explain(err)
		return s, []byte(msg)
	}
	return abi.StatusOK, nil
}

// logCore serves log: one line of n bytes at ptr in mem, at a slog level
// (clamped to debug..error), counted against MaxLogLines and the log rate.
func logCore(ctx context.Context, st *callState, level int32, mem api.Memory, ptr, n uint32) {
	if !st.countLine() {
		return
	}
	msg, ok := readString(mem, ptr, n, st.limits.MaxOutputBytes)
	st.emit(ctx, level, msg, ok)
}

// logText is logCore for a message the host already holds (Extism's own
// log functions).
func logText(ctx context.Context, st *callState, level int32, msg string) {
	if !st.countLine() {
		return
	}
	st.emit(ctx, level, oneLine(msg, st.limits.MaxOutputBytes), true)
}

// countLine counts a log line against MaxLogLines and reports whether it
// may be written.
func (st *callState) countLine() bool {
	if st == nil {
		return false
	}
	if st.logLines >= st.limits.MaxLogLines {
		st.dropped++
		return false
	}
	st.logLines++
	return true
}

// emit writes a counted line, unless the log rate drops it; !ok means
// the guest's pointer was outside its memory.
func (st *callState) emit(ctx context.Context, level int32, msg string, ok bool) {
	lvl := slog.Level(max(min(level, abi.LevelError), abi.LevelDebug))
	if !ok {
		msg = "plugin log call with a pointer outside its memory"
	}
	if st.logRate != nil && !st.logRate.allow(time.Now(), len(msg)) {
		st.rateDropped++
		return
	}
	if !ok {
		st.log.Warn(msg)
		return
	}
	text, attrs := abi.ParseLog(msg)
	if attrs == nil {
		st.log.Log(ctx, lvl, text, "source", "plugin")
		return
	}
	// A structured message (ABI 1.2): its attributes go in a group of
	// their own, so a plugin cannot pose as the host's keys.
	group := make([]any, len(attrs))
	for i, a := range attrs {
		if a[0] == "" {
			a[0] = "!BADKEY"
		}
		group[i] = slog.String(a[0], a[1])
	}
	st.log.Log(ctx, lvl, text, "source", "plugin", slog.Group("attrs", group...))
}

// tickReportCore serves tick_report: the last call wins; negative counts
// are taken as 0.
func tickReportCore(st *callState, processed, errs int64) {
	if st != nil {
		st.rep.Processed, st.rep.Errors = max(processed, 0), max(errs, 0)
	}
}

// tickMoreCore serves tick_more.
func tickMoreCore(st *callState) {
	if st != nil {
		st.rep.More = true
	}
}

// tickErrorCore serves tick_error: the message of n bytes at ptr in mem,
// cut at MaxOutputBytes.
func tickErrorCore(st *callState, mem api.Memory, ptr, n uint32) {
	if st == nil {
		return
	}
	msg, ok := readString(mem, ptr, n, st.limits.MaxOutputBytes)
	if !ok {
		msg = "tick_error called with a pointer outside guest memory"
	}
	st.tickErr = msg
}
