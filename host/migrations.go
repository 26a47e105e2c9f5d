package host

import (
	"context"
	"fmt"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// PluginSchema returns what st needs to apply d's migrations: its owned
// tables, its other tables, and its migrations in st's dialect.
func PluginSchema(d describe.Descriptor, dialect store.Dialect) store.PluginSchema {
	s := store.PluginSchema{Plugin: d.Name, Owns: d.Owns, Declared: append(append([]string{}, d.Reads...), d.Writes...)}
	for _, m := range d.Migrations[string(dialect)] {
		s.Migrations = append(s.Migrations, store.PluginMigration{ID: m.ID, Name: m.Name, SQL: m.SQL})
	}
	return s
}

// migrator returns st's PluginMigrator, or nil if d owns no tables. It
// fails if d owns tables and st cannot apply migrations, or d declares
// none in st's dialect while it has some in another.
func migrator(st store.Store, d describe.Descriptor) (store.PluginMigrator, error) {
	if len(d.Owns) == 0 {
		return nil, nil
	}
	m, ok := st.(store.PluginMigrator)
	if !ok {
		return nil, fmt.Errorf("plugin %s owns tables, and the %s store does not apply plugin migrations", d.Name, st.Dialect())
	}
	if len(d.Migrations) > 0 && len(d.Migrations[string(st.Dialect())]) == 0 {
		return nil, fmt.Errorf("plugin %s declares migrations, none for %s", d.Name, st.Dialect())
	}
	return m, nil
}

// PendingMigrations returns the migrations of d that st lacks, changing
// nothing (store.PluginMigrator.PendingMigrations). A plugin that owns no
// tables has none.
func PendingMigrations(ctx context.Context, st store.Store, d describe.Descriptor) ([]store.PluginMigration, error) {
	m, err := migrator(st, d)
	if m == nil || err != nil {
		return nil, err
	}
	return m.PendingMigrations(ctx, PluginSchema(d, st.Dialect()))
}

// ApplyMigrations applies the migrations of d that st lacks and returns
// them (store.PluginMigrator.ApplyMigrations). A plugin that owns no tables
// has none.
func ApplyMigrations(ctx context.Context, st store.Store, d describe.Descriptor) ([]store.PluginMigration, error) {
	m, err := migrator(st, d)
	if m == nil || err != nil {
		return nil, err
	}
	return m.ApplyMigrations(ctx, PluginSchema(d, st.Dialect()))
}
