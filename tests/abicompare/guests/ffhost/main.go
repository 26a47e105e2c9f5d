// Command ffhost is variant (b) of the ABI comparison: an ffwasmhost
// plugin that runs N single-row UPDATEs in one transaction. now_ms selects
// the path:
//
//	now_ms = n          through the guest SDK (guest.WithTx, Conn.Exec), as
//	                    the plugins do
//	now_ms = 1e9 + n    through the ffhost imports directly (tx_begin,
//	                    sql_exec with abi.AppendArgs, tx_commit): the ABI
//	                    itself, as a plugin in another language would use it
//	now_ms = 2e9 + n    through database/sql in the guest (abi/guest/stdlib,
//	                    tx.ExecContext)
package main

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/abi/guest/stdlib"
)

const stmt = "UPDATE bench_rows SET v = v + 1 WHERE id = ?"

const (
	rows       = 1000
	rawBase    = 1_000_000_000
	stdSQLBase = 2_000_000_000
)

func init() {
	guest.Register(guest.Plugin{
		Name:        "abicompare_ffhost",
		Version:     "1.0.0",
		Description: "ABI comparison: N single-row UPDATEs in one transaction.",
		Writes:      []string{"bench_rows"},
		Tick:        tick,
	})
}

func main() {}

func tick(ctx context.Context, db *guest.Conn, now int64) (guest.Report, error) {
	var rep guest.Report
	switch {
	case now >= stdSQLBase:
		return viaDatabaseSQL(ctx, now-stdSQLBase)
	case now >= rawBase:
		return raw(now - rawBase)
	}
	err := guest.WithTx(ctx, db, func() error {
		for i := int64(0); i < now; i++ {
			res, err := db.Exec(stmt, i%rows+1)
			if err != nil {
				return err
			}
			if res.RowsAffected != 1 {
				return fmt.Errorf("update %d: %d rows", i, res.RowsAffected)
			}
			rep.Processed++
		}
		return nil
	})
	return rep, err
}

func viaDatabaseSQL(ctx context.Context, n int64) (guest.Report, error) {
	var rep guest.Report
	err := stdlib.WithTx(ctx, stdlib.DB(), func(tx *sql.Tx) error {
		for i := int64(0); i < n; i++ {
			res, err := tx.ExecContext(ctx, stmt, i%rows+1)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return fmt.Errorf("update %d: %d rows", i, n)
			}
			rep.Processed++
		}
		return nil
	})
	return rep, err
}

func raw(n int64) (guest.Report, error) {
	var rep guest.Report
	out := make([]byte, 4096)
	outPtr, outCap := unsafe.Pointer(unsafe.SliceData(out)), uint32(len(out))
	if st, _ := abi.Unpack(txBegin(outPtr, outCap)); st != abi.StatusOK {
		return rep, fmt.Errorf("tx_begin: %s", st)
	}
	var args []byte
	for i := int64(0); i < n; i++ {
		args, _ = abi.AppendArgs(args[:0], []any{i%rows + 1})
		st, m := abi.Unpack(sqlExec(unsafe.Pointer(unsafe.StringData(stmt)), uint32(len(stmt)),
			unsafe.Pointer(unsafe.SliceData(args)), uint32(len(args)), outPtr, outCap))
		if st != abi.StatusOK {
			return rep, fmt.Errorf("sql_exec: %s: %s", st, out[:min(int(m), len(out))])
		}
		if ra := binary.LittleEndian.Uint64(out); ra != 1 {
			return rep, fmt.Errorf("update %d: %d rows", i, ra)
		}
		rep.Processed++
	}
	if st, _ := abi.Unpack(txCommit(outPtr, outCap)); st != abi.StatusOK {
		return rep, fmt.Errorf("tx_commit: %s", st)
	}
	return rep, nil
}
