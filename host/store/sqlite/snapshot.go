package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// Snapshot pins the database file as it is now: a read transaction on a
// connection of the host's pool, which in WAL mode sees this moment until
// it ends, holds no write lock and blocks no writer (it only keeps a
// checkpoint from passing it).
func (db *Store) Snapshot(ctx context.Context) (store.Snapshot, error) {
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err == nil {
		// A read transaction takes its snapshot at its first read.
		var n int64
		err = tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n)
		if err != nil {
			tx.Rollback()
		}
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return &snapshot{conn: conn, tx: tx}, nil
}

type snapshot struct {
	conn *sql.Conn
	tx   *sql.Tx
}

func (s *snapshot) Rows(ctx context.Context, table string, maxBytes int64) ([]string, [][]any, error) {
	rows, err := s.tx.QueryContext(ctx, fmt.Sprintf("SELECT * FROM %q", table))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", table, err)
	}
	var out [][]any
	var size int64
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", table, err)
		}
		for _, v := range vals {
			size += store.ValueBytes(v)
		}
		if size > maxBytes {
			return nil, nil, fmt.Errorf("read %s: more than %d bytes: %w", table, maxBytes, store.ErrTooBig)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", table, err)
	}
	return cols, out, nil
}

func (s *snapshot) Close() error {
	err := s.tx.Rollback()
	if cerr := s.conn.Close(); err == nil {
		err = cerr
	}
	return err
}
