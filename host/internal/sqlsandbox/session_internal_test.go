package sqlsandbox

import (
	"context"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/describe"
)

// mustSession opens a migrated database and a plugin session on it that may
// write the worker registry.
func mustSession(tb testing.TB) (*testDB, *Session) {
	tb.Helper()
	ctx := context.Background()
	db := mustDB(tb, testOptions{})
	s, err := openSession(ctx, db, describe.Descriptor{Name: "t", Writes: []string{"ff_worker_registry"}}, DefaultLimits, false, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.close)
	return db, s
}

func TestQueryKeepsEmptyBlobApartFromNull(t *testing.T) {
	_, s := mustSession(t)
	var buf []byte
	err := s.run(func() (err error) {
		buf, err = s.Query(context.Background(), nil, []byte(`SELECT x'', NULL, '', 0`), nil, 1<<20)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	d := abi.NewDecoder(buf)
	if _, rows, err := abi.QueryHeader(d); err != nil || rows != 1 {
		t.Fatalf("header: rows %d, %v", rows, err)
	}
	want := []any{[]byte{}, nil, "", int64(0)}
	for i, w := range want {
		v, err := d.Value()
		if err != nil {
			t.Fatal(err)
		}
		switch w := w.(type) {
		case []byte:
			if b, ok := v.([]byte); !ok || len(b) != 0 {
				t.Errorf("column %d = %#v, want an empty blob", i, v)
			}
		default:
			if v != w {
				t.Errorf("column %d = %#v, want %#v", i, v, w)
			}
		}
	}
}
