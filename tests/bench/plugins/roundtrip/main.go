// Command roundtrip is a benchmark-only ffwasmhost plugin (it is not in
// plugins/, so `make plugins` does not ship it). Its scan_tick reads the
// now_ms argument as a command, because a tick has no other input:
//
//	now_ms = n, 0 <= n < 1e9     run `SELECT 1` n times through the guest
//	                             SDK (guest.Conn QueryRow + Scan), the path
//	                             the plugins take
//	now_ms = 1e9 + n             call the sql_query host function n times
//	                             directly: the bare host call
//	now_ms = 2e9 + n             run it n times through database/sql
//	                             (abi/guest/stdlib, QueryRowContext + Scan)
//	now_ms < 0                   fail the tick (the host then discards the
//	                             instance)
//
// The report's processed is the number of statements run.
package main

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/abi/guest/stdlib"
)

const (
	rawBase    = 1_000_000_000
	stdSQLBase = 2_000_000_000
)

func init() {
	guest.Register(guest.Plugin{
		Name:        "bench_roundtrip",
		Version:     "1.0.0",
		Description: "Benchmark: runs SELECT 1 as many times as now_ms says.",
		Tick:        tick,
	})
}

func main() {}

const query = "SELECT 1"

func tick(ctx context.Context, db *guest.Conn, now int64) (guest.Report, error) {
	var rep guest.Report
	switch {
	case now < 0:
		return rep, errors.New("asked to fail")
	case now >= stdSQLBase:
		sdb := stdlib.DB()
		for i := int64(0); i < now-stdSQLBase; i++ {
			var v int64
			if err := sdb.QueryRowContext(ctx, query).Scan(&v); err != nil {
				return rep, err
			}
			rep.Processed++
		}
	case now >= rawBase:
		out := make([]byte, 4<<10)
		for i := int64(0); i < now-rawBase; i++ {
			r := rawQuery(unsafe.Pointer(unsafe.StringData(query)), uint32(len(query)), nil, 0,
				unsafe.Pointer(unsafe.SliceData(out)), uint32(len(out)))
			if st, _ := abi.Unpack(r); st != abi.StatusOK {
				return rep, fmt.Errorf("raw sql_query: status %s", st)
			}
			rep.Processed++
		}
	default:
		for i := int64(0); i < now; i++ {
			var v int64
			if err := db.QueryRow(query).Scan(&v); err != nil {
				return rep, err
			}
			rep.Processed++
		}
	}
	return rep, nil
}
