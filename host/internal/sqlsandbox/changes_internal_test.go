package sqlsandbox

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// TestChangesCountWhatCommits: rows count once their transaction commits;
// a rolled-back transaction, a failed statement and what the tick left
// open count nothing; outside a transaction a statement counts at once.
func TestChangesCountWhatCommits(t *testing.T) {
	ctx := context.Background()
	_, s := mustSession(t)
	insert := func(id string) error {
		_, err := s.Exec(ctx, nil, []byte(`INSERT INTO ff_worker_registry VALUES ('ns', ?, 'w', 'a', '', 1, 1, 1)`), mustArgs(t, id))
		return err
	}
	tick := func(fn func() error) []store.TableChanges {
		t.Helper()
		err := s.Tick(ctx, 1, func() {
			if err := fn(); err != nil {
				t.Error(err)
			}
		})
		if err != nil && !errors.Is(err, store.ErrLeftOpen) {
			t.Fatal(err)
		}
		return s.Changes().Tables
	}
	one := []store.TableChanges{{Table: "ff_worker_registry", Inserted: 1}}
	for _, tc := range []struct {
		name string
		fn   func() error
		want []store.TableChanges
	}{
		{"committed", func() error {
			if err := s.Begin(ctx); err != nil {
				return err
			}
			if err := insert("a"); err != nil {
				return err
			}
			return s.Commit(ctx)
		}, one},
		{"rolled back", func() error {
			if err := s.Begin(ctx); err != nil {
				return err
			}
			if err := insert("b"); err != nil {
				return err
			}
			return s.Rollback(ctx)
		}, nil},
		{"failed statement", func() error {
			if insert("a") == nil { // the key is taken
				return errors.New("a duplicate insert succeeded")
			}
			return nil
		}, nil},
		{"left open", func() error {
			if err := s.Begin(ctx); err != nil {
				return err
			}
			return insert("c")
		}, nil},
		{"outside a transaction", func() error { return insert("d") }, one},
	} {
		if got := tick(tc.fn); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: changes %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
