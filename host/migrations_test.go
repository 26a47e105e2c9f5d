package host_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// noMigrator is a store that applies no plugin migrations.
type noMigrator struct{ store.Store }

func (noMigrator) Dialect() store.Dialect { return store.Postgres }

func TestMigrationsNeedAStoreThatAppliesThem(t *testing.T) {
	ctx := context.Background()
	owner := describe.Descriptor{Name: "owner", Owns: []string{"leases"},
		Migrations: map[string][]describe.Migration{"sqlite": {{ID: 1, Name: "create", SQL: "CREATE TABLE leases (x)"}}}}
	// A plugin that owns nothing needs nothing of the store.
	for _, call := range []func(context.Context, store.Store, describe.Descriptor) ([]store.PluginMigration, error){host.PendingMigrations, host.ApplyMigrations} {
		if ms, err := call(ctx, noMigrator{}, describe.Descriptor{Name: "plain"}); err != nil || ms != nil {
			t.Errorf("a plugin that owns nothing: %v, %v", ms, err)
		}
		if _, err := call(ctx, noMigrator{}, owner); err == nil || !strings.Contains(err.Error(), "plugin owner owns tables, and the postgres store does not apply plugin migrations") {
			t.Errorf("owned tables on a store without migrations: %v", err)
		}
	}
	db := fxOpen(t, sqlite.Options{}).DB
	pgOnly := owner
	pgOnly.Migrations = map[string][]describe.Migration{"postgres": owner.Migrations["sqlite"]}
	if _, err := host.ApplyMigrations(ctx, db, pgOnly); err == nil || !strings.Contains(err.Error(), "plugin owner declares migrations, none for sqlite") {
		t.Errorf("migrations for another dialect only: %v", err)
	}
	if ms, err := host.ApplyMigrations(ctx, db, owner); err != nil || len(ms) != 1 {
		t.Errorf("ApplyMigrations on SQLite = %v, %v", ms, err)
	}
}
