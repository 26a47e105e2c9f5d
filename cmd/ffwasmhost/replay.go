package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/oneshot"
	"github.com/ffwasmhost/ffwasmhost/host/replay"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

type replayOpts struct {
	plugin, db, cacheDir *string
	diff                 diffFlag
	log                  *logFlags
}

func (a *app) replayFlags() (*flag.FlagSet, *replayOpts) {
	fs := newFlagSet("replay")
	o := &replayOpts{}
	o.plugin = fs.String("plugin", "", "the plugin `FILE` to replay with, e.g. a fixed build (default: the file the fixture names)")
	o.db = fs.String("db", "", "write the scratch database to `FILE`, which must not exist, and keep it (default: a temporary file, removed)")
	fs.Var(&o.diff, "diff", "also print the rows the replayed tick changed, as a table or as json (`FORMAT`: table or json)")
	o.cacheDir = fs.String("cache-dir", "", "wazero compilation cache `DIR` (default "+cacheDirDefault()+")")
	o.log = a.addLogFlags(fs)
	return fs, o
}

// replayLine is the JSON line replay prints.
type replayLine struct {
	oneshot.Summary
	// FixtureError is the error the fixture recorded.
	FixtureError string `json:"fixture_error"`
	// SHA256 is the replayed file's; SameBuild whether it is the fixture's.
	SHA256    string `json:"sha256"`
	SameBuild bool   `json:"same_build"`
}

// cmdReplay runs a fixture's tick again on a scratch database holding the
// fixture's rows, prints one JSON line, and exits 1 if the tick failed
// again, 0 if it succeeded: a fixed build exits 0.
func (a *app) cmdReplay(args []string) int {
	fs, o := a.replayFlags()
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		a.failf("replay: want exactly one FIXTURE file, got %d arguments (see 'ffwasmhost help replay')", len(pos))
		return exitUsage
	}
	f, err := replay.Read(pos[0])
	if err != nil {
		a.failf("replay: %v", err)
		return exitFail
	}
	if f.Dialect != "" && f.Dialect != string(store.SQLite) {
		a.failf("replay: fixture %s was written on %s; replay runs fixtures from SQLite only", pos[0], f.Dialect)
		return exitFail
	}
	file := *o.plugin
	if file == "" {
		file = f.File
	}
	ctx := context.Background()
	log := o.log.logger(a.stderr)
	dbPath, cleanup, err := scratchDB(*o.db)
	if err != nil {
		a.failf("replay: %v", err)
		return exitFail
	}
	defer cleanup()
	db, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		a.failf("replay: %v", err)
		return exitFail
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		a.failf("replay: scratch database %s: %v", dbPath, err)
		return exitFail
	}
	eng, err := newEngine(*o.cacheDir, nil, log)
	if err != nil {
		a.failf("replay: %v", err)
		return exitFail
	}
	defer eng.Close(ctx)
	// The tables the plugin owns exist only once its migrations ran: apply
	// them to the scratch database before its rows go in.
	p, err := eng.Load(ctx, file, host.Limits{})
	if err != nil {
		a.failf("replay: %v", err)
		return exitFail
	}
	_, err = host.ApplyMigrations(ctx, db, p.Desc)
	p.Close(ctx)
	if err != nil {
		a.failf("replay: scratch database %s: %v", dbPath, err)
		return exitFail
	}
	if err := f.Restore(ctx, db.SQL); err != nil {
		a.failf("replay: %s: %v", pos[0], err)
		return exitFail
	}
	line := replayLine{FixtureError: f.Error}
	sum, err := oneshot.Tick(ctx, db, eng, oneshot.Options{PluginFile: file, Plugin: f.Plugin, NowMS: f.NowMS,
		Diff: o.diff.format != "", Logger: log})
	var tickErr *oneshot.TickError
	if err != nil && !errors.As(err, &tickErr) {
		a.failf("replay: %v", err)
		return exitFail
	}
	line.Summary = sum
	line.SHA256, line.SameBuild = sum.PluginSHA256, sum.PluginSHA256 == f.SHA256
	if sum.Diff != nil {
		if werr := writeDiff(a.stdout, o.diff.format, sum.Diff); werr != nil {
			a.failf("replay: write diff: %v", werr)
			return exitFail
		}
	}
	b, jerr := json.Marshal(line)
	if jerr != nil {
		a.failf("replay: encode report: %v", jerr)
		return exitFail
	}
	a.stdout.Write(append(b, '\n'))
	if err != nil {
		return exitFail
	}
	return exitOK
}

// scratchDB returns where the scratch database goes: path, which must not
// exist yet, or a new temporary directory that cleanup removes.
func scratchDB(path string) (string, func(), error) {
	if path != "" {
		if _, err := os.Stat(path); err == nil {
			return "", nil, fmt.Errorf("--db %s exists: the scratch database must be a new file", path)
		}
		return path, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "ffwasmhost-replay-")
	if err != nil {
		return "", nil, err
	}
	return filepath.Join(dir, "scratch.db"), func() { os.RemoveAll(dir) }, nil
}
