package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/daemon"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

type pluginsOpts struct {
	dir, cache, db *string
	pg             *pgFlags
}

func (a *app) pluginsFlags() (*flag.FlagSet, *pluginsOpts) {
	fs := newFlagSet("plugins")
	o := &pluginsOpts{}
	o.dir = fs.String("plugins", a.envOr(envPluginsDir, "./"+daemon.DefaultPluginDir), "plugin directory (env "+envPluginsDir+")")
	o.cache = fs.String("cache-dir", "", "wazero compilation cache `DIR` (default "+cacheDirDefault()+")")
	o.db = fs.String("db", "", "also say whether each plugin can run on this database, a SQLite file or a postgres:// URL (on PostgreSQL: whether its role is ready)")
	o.pg = addPGFlags(a, fs)
	return fs, o
}

// cmdPlugins prints a table of the valid plugins in a directory; invalid
// files go to stderr, one line each, and make the exit status 1.
func (a *app) cmdPlugins(args []string) int {
	fs, o := a.pluginsFlags()
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		a.failf("plugins: unexpected argument %q (see 'ffwasmhost help plugins')", pos[0])
		return exitUsage
	}
	dir := *o.dir
	if err := host.CheckPluginDir(dir); err != nil {
		a.failf("plugins: %v", err)
		return exitFail
	}
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	eng, err := newEngine(*o.cache, nil, quiet)
	if err != nil {
		a.failf("plugins: %v", err)
		return exitFail
	}
	defer eng.Close(ctx)
	plugins, errs, err := eng.LoadDir(ctx, dir)
	if err != nil {
		a.failf("plugins: %s: %v", dir, err)
		return exitFail
	}
	var db store.Store
	if *o.db != "" {
		if db, err = openExisting(ctx, *o.db, sqlite.Options{}, o.pg.options()); err != nil {
			a.failf("plugins: %v", err)
			return exitFail
		}
		defer db.Close()
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	header := "NAME\tFILE\tSHA256\tABI\tVERSION\tINTERVAL\tREADS\tWRITES\tDIALECTS\tPARTITIONS"
	if db != nil {
		header += "\tON " + strings.ToUpper(string(db.Dialect()))
	}
	fmt.Fprintln(tw, header)
	for _, p := range plugins {
		d := p.Desc
		fam := d.PartitionFamily
		if fam == "" {
			fam = "-"
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", d.Name, p.File, p.SHA256[:12], d.ABIVersion, d.Version,
			intervalString(d.DefaultIntervalMS), tables(d.Reads), tables(d.Writes), strings.ReplaceAll(d.DialectList(), " ", ""), fam)
		if db != nil {
			line += "\t" + runsOn(ctx, db, d)
		}
		fmt.Fprintln(tw, line)
		p.Close(ctx)
	}
	tw.Flush()
	for _, err := range errs {
		a.failf("%v", err)
	}
	if len(errs) > 0 {
		return exitFail
	}
	return exitOK
}

// runsOn says whether a plugin described by d can run on db: "ok", or why
// not; on PostgreSQL, whether its role is ready.
func runsOn(ctx context.Context, db store.Store, d describe.Descriptor) string {
	if !d.Supports(string(db.Dialect())) {
		return "refused: speaks " + d.DialectList() + " only"
	}
	pg, ok := db.(*postgres.Store)
	if !ok {
		return "ok"
	}
	role, err := pg.RoleName(d.Name)
	if err != nil {
		return "refused: " + err.Error()
	}
	ready, err := pg.RoleReady(ctx, d.Name, d.Reads, d.Writes)
	switch {
	case err != nil:
		return "unknown: " + err.Error()
	case !ready:
		return "role " + role + " missing or short of grants (run ffwasmhost migrate)"
	}
	return "ok, role " + role
}

func intervalString(ms int64) string {
	if ms == 0 {
		return "disabled"
	}
	return (time.Duration(ms) * time.Millisecond).String()
}

func tables(ts []string) string {
	if len(ts) == 0 {
		return "-"
	}
	return strings.Join(ts, ",")
}

func (a *app) validateFlags() (*flag.FlagSet, *string) {
	fs := newFlagSet("validate")
	cache := fs.String("cache-dir", "", "wazero compilation cache `DIR` (default "+cacheDirDefault()+")")
	return fs, cache
}

// cmdValidate loads and checks each file without a database: "ok NAME
// FILE" on stdout for a good one, the error on stderr for a bad one, and
// exit status 1 if any was bad.
func (a *app) cmdValidate(args []string) int {
	fs, cache := a.validateFlags()
	files, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	if len(files) == 0 {
		a.failf("validate: want one or more FILE.wasm arguments (see 'ffwasmhost help validate')")
		return exitUsage
	}
	ctx := context.Background()
	eng, err := newEngine(*cache, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		a.failf("validate: %v", err)
		return exitFail
	}
	defer eng.Close(ctx)
	failed := 0
	for _, f := range files {
		p, err := eng.Load(ctx, f, host.Limits{})
		if err != nil {
			failed++
			a.failf("%v", err)
			continue
		}
		fmt.Fprintf(a.stdout, "ok %s %s\n", p.Desc.Name, f)
		p.Close(ctx)
	}
	if failed > 0 {
		return exitFail
	}
	return exitOK
}
