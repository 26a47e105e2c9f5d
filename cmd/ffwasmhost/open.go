package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// newEngine returns the engine a command loads plugins with: its
// compilation cache in cacheDir, or, when that is empty, in
// host.DefaultCacheDir() (in memory if that cannot be used).
func newEngine(cacheDir string, lim *limitFlag, log *slog.Logger) (*host.Engine, error) {
	cfg := host.EngineConfig{CacheDir: cacheDir, Logger: log}
	if cacheDir == "" {
		cfg.CacheDir, cfg.CacheFallback = host.DefaultCacheDir(), true
	}
	if lim != nil {
		cfg.Limits = lim.all
		cfg.PluginLimits = func(name string) host.Limits { return lim.plugin[name] }
	}
	return host.NewEngine(cfg)
}

func cacheDirDefault() string {
	if d := host.DefaultCacheDir(); d != "" {
		return d
	}
	return "in memory"
}

// openExisting opens a database that must exist already and whose host
// schema this binary knows: a SQLite file, or a PostgreSQL database when
// path is a postgres:// URL. Every error names the database (never a
// password).
func openExisting(ctx context.Context, path string, opts sqlite.Options, pg postgres.Options) (store.Store, error) {
	if postgres.IsURL(path) {
		return openPostgres(ctx, path, pg)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if dir := filepath.Dir(path); !exists(dir) {
			return nil, fmt.Errorf("database %s: directory %s does not exist", path, dir)
		}
		return nil, fmt.Errorf("database %s does not exist (create it with: ffwasmhost migrate --db %s)", path, path)
	}
	db, err := sqlite.Open(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	v, err := db.SchemaVersion(ctx)
	if err == nil && v > sqlite.LatestSchemaVersion {
		err = fmt.Errorf("host schema version %d, this ffwasmhost knows up to %d: %w (upgrade ffwasmhost)",
			v, sqlite.LatestSchemaVersion, sqlite.ErrSchemaTooNew)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	return db, nil
}

// openPostgres opens a PostgreSQL database that ffwasmhost migrate has
// prepared, with a host schema this binary knows.
func openPostgres(ctx context.Context, url string, pg postgres.Options) (store.Store, error) {
	db, err := postgres.Open(ctx, url, pg)
	if err != nil {
		return nil, err
	}
	v, err := db.SchemaVersion(ctx)
	switch {
	case err != nil:
	case v == 0:
		err = fmt.Errorf("not migrated (run: ffwasmhost migrate --db %s)", db.Location())
	case v > postgres.LatestSchemaVersion:
		err = fmt.Errorf("host schema version %d, this ffwasmhost knows up to %d: %w (upgrade ffwasmhost)",
			v, postgres.LatestSchemaVersion, postgres.ErrSchemaTooNew)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", db.Location(), err)
	}
	return db, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
