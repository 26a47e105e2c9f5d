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
	"github.com/ffwasmhost/ffwasmhost/host/config"
	"github.com/ffwasmhost/ffwasmhost/host/daemon"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

type pluginsOpts struct {
	dir, cache, db, conf *string
	pg                   *pgFlags
}

func (a *app) pluginsFlags() (*flag.FlagSet, *pluginsOpts) {
	fs := newFlagSet("plugins")
	o := &pluginsOpts{}
	o.dir = fs.String("plugins", a.envOr(envPluginsDir, "./"+daemon.DefaultPluginDir), "plugin directory (env "+envPluginsDir+")")
	o.cache = fs.String("cache-dir", "", "wazero compilation cache `DIR` (default "+cacheDirDefault()+")")
	o.db = fs.String("db", "", "also show, for this database (a SQLite file or a postgres:// URL), each plugin's migrations (applied/declared, what is pending) and whether it can run there (on PostgreSQL: whether its role is ready)")
	o.conf = fs.String("config", a.envOr(envConfig, ""), "configuration `FILE` whose [plugin.NAME.config] values to show beside each plugin's config keys (env "+envConfig+")")
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
	var file *config.Config
	if *o.conf != "" {
		var err error
		if file, err = config.Load(*o.conf); err != nil {
			a.failf("plugins: %v", err)
			return exitUsage
		}
	}
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
	header := "NAME\tKIND\tFILE\tSHA256\tABI\tVERSION\tINTERVAL\tREADS\tWRITES\tOWNS\tDIALECTS\tPARTITIONS"
	if db != nil {
		header += "\tMIGRATIONS\tON " + strings.ToUpper(string(db.Dialect()))
	}
	fmt.Fprintln(tw, header)
	for _, p := range plugins {
		d := p.Desc
		fam := d.PartitionFamily
		if fam == "" {
			fam = "-"
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", d.Name, p.Kind, p.File, p.SHA256[:12], d.ABIVersion, d.Version,
			intervalString(d.DefaultIntervalMS), tables(d.Reads), tables(d.Writes), tables(d.Owns), strings.ReplaceAll(d.DialectList(), " ", ""), fam)
		if db != nil {
			line += "\t" + migrationState(ctx, db, p) + "\t" + runsOn(ctx, db, d)
		}
		fmt.Fprintln(tw, line)
		p.Close(ctx)
	}
	tw.Flush()
	for _, p := range plugins {
		if len(p.Desc.Config) == 0 {
			continue
		}
		var vals map[string]host.ConfigValue
		if file != nil {
			vals = map[string]host.ConfigValue{}
			for k, v := range file.Plugin[p.Desc.Name].Values {
				vals[k] = host.ConfigValue{Literal: v.Literal, Env: v.Env, File: v.File}
			}
		}
		entries, err := host.ResolveConfig(p.Desc, vals, a.lookupEnv)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(a.stdout, "\n%s config:\n", p.Desc.Name)
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  KEY\tTYPE\tVALUE\tSOURCE\tDOC")
		for _, e := range entries {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.Key, e.Type, e.Shown(), e.Source, e.Doc)
		}
		tw.Flush()
	}
	for _, err := range errs {
		a.failf("%v", err)
	}
	if len(errs) > 0 {
		return exitFail
	}
	return exitOK
}

// migrationState says how far the database is with p's migrations in its
// dialect: "applied/declared", what is pending, or why it cannot tell.
func migrationState(ctx context.Context, db store.Store, p *host.Plugin) string {
	declared := len(p.Desc.Migrations[string(db.Dialect())])
	if len(p.Desc.Owns) == 0 {
		return "-"
	}
	pending, err := host.PendingMigrations(ctx, db, p.Desc)
	if err != nil {
		return "refused: " + err.Error()
	}
	s := fmt.Sprintf("%d/%d", declared-len(pending), declared)
	if len(pending) > 0 {
		s += fmt.Sprintf(" (pending from %d %s)", pending[0].ID, pending[0].Name)
	}
	return s
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

func (a *app) validateFlags() (*flag.FlagSet, [2]*string) {
	fs := newFlagSet("validate")
	cache := fs.String("cache-dir", "", "wazero compilation cache `DIR` (default "+cacheDirDefault()+")")
	db := fs.String("db", "", "also check each plugin's migrations against this SQLite database `FILE` and list the pending ones, applying nothing")
	return fs, [2]*string{cache, db}
}

// cmdValidate loads and checks each file: "ok NAME FILE" on stdout for a
// good one, the error on stderr for a bad one, and exit status 1 if any was
// bad. With --db, a plugin's migrations are checked against the database
// too (a changed applied step makes the file bad), and each pending step
// is listed as "pending NAME ID STEP", applying nothing.
func (a *app) cmdValidate(args []string) int {
	fs, f := a.validateFlags()
	cache := f[0]
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
	var db store.Store
	if *f[1] != "" {
		if db, err = openExisting(ctx, *f[1], sqlite.Options{}, postgres.Options{}); err != nil {
			a.failf("validate: %v", err)
			return exitFail
		}
		defer db.Close()
	}
	failed := 0
	for _, f := range files {
		p, err := eng.Load(ctx, f, host.Limits{})
		if err != nil {
			failed++
			a.failf("%v", err)
			continue
		}
		var pending []store.PluginMigration
		if db != nil {
			pending, err = host.PendingMigrations(ctx, db, p.Desc)
		}
		p.Close(ctx)
		if err != nil {
			failed++
			a.failf("validate %s: %v", f, err)
			continue
		}
		fmt.Fprintf(a.stdout, "ok %s %s %s\n", p.Desc.Name, p.Kind, f)
		for _, m := range pending {
			fmt.Fprintf(a.stdout, "pending %s %d %s\n", p.Desc.Name, m.ID, m.Name)
		}
	}
	if failed > 0 {
		return exitFail
	}
	return exitOK
}
