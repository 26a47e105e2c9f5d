package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/daemon"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
)

// envRolePrefix is the environment fallback of --role-prefix.
const envRolePrefix = "FF_PG_ROLE_PREFIX"

// pgFlags are the flags of a PostgreSQL store.
type pgFlags struct {
	rolePrefix *string
}

func addPGFlags(a *app, fs *flag.FlagSet) *pgFlags {
	return &pgFlags{rolePrefix: fs.String("role-prefix", a.envOr(envRolePrefix, "ffwasmhost_plugin_"),
		"on PostgreSQL: prefix of the plugins' login roles; two deployments on one server need two (env "+envRolePrefix+")")}
}

func (f *pgFlags) options() postgres.Options {
	return postgres.Options{RolePrefix: *f.rolePrefix}
}

// migratePostgres creates FlowFabric's tables and the host's on an empty
// database (checking, and leaving alone, those FlowFabric made), then the
// login role of each plugin in the plugin directory. Where the URL's role
// may not create roles, it prints their SQL on stdout for an operator and
// exits 1; with --print-roles it only prints it.
func (a *app) migratePostgres(ctx context.Context, o *migrateOpts) int {
	db, err := postgres.Open(ctx, *o.db, o.pg.options())
	if err != nil {
		a.failf("migrate: %v", err)
		return exitFail
	}
	defer db.Close()
	where := db.Location()
	if !*o.printRoles {
		if err := db.Migrate(ctx); err != nil {
			a.failf("database %s: %v", where, err)
			return exitFail
		}
	}
	plugins, code := a.pluginDescriptors(ctx, *o.plugins)
	if code != exitOK {
		return code
	}
	var denied []string
	for _, p := range plugins {
		if !*o.printRoles {
			err := db.EnsureRole(ctx, p.Name, p.Reads, p.Writes)
			if err == nil {
				fmt.Fprintf(a.stdout, "role %s of plugin %s\n", mustRole(db, p.Name), p.Name)
				continue
			}
			if !errors.Is(err, postgres.ErrInsufficientPrivilege) {
				a.failf("database %s: plugin %s: %v", where, p.Name, err)
				return exitFail
			}
			ready, rerr := db.RoleReady(ctx, p.Name, p.Reads, p.Writes)
			if rerr != nil {
				a.failf("database %s: plugin %s: %v", where, p.Name, rerr)
				return exitFail
			}
			if ready {
				fmt.Fprintf(a.stdout, "role %s of plugin %s (made by an operator)\n", mustRole(db, p.Name), p.Name)
				continue
			}
		}
		denied = append(denied, p.Name)
		sql, err := db.RoleSQL(p.Name, p.Reads, p.Writes)
		if err != nil {
			a.failf("plugin %s: %v", p.Name, err)
			return exitFail
		}
		fmt.Fprintln(a.stdout, sql)
	}
	if *o.printRoles {
		return exitOK
	}
	if len(denied) > 0 {
		a.failf("migrate: %s may not create the roles of %d plugins: have an operator run the SQL above in it", where, len(denied))
		return exitFail
	}
	fmt.Fprintf(a.stdout, "ok %s\n", where)
	return exitOK
}

func mustRole(db *postgres.Store, plugin string) string {
	r, _ := db.RoleName(plugin) // EnsureRole checked it
	return r
}

// pluginDesc is what a role needs of a plugin.
type pluginDesc struct {
	Name          string
	Reads, Writes []string
}

// pluginDescriptors reads the descriptors of the plugins in dir; a
// directory that does not exist has none. An invalid file fails.
func (a *app) pluginDescriptors(ctx context.Context, dir string) ([]pluginDesc, int) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, exitOK
	}
	if err := host.CheckPluginDir(dir); err != nil {
		a.failf("migrate: %v", err)
		return nil, exitFail
	}
	eng, err := newEngine("", nil, slog.New(slog.DiscardHandler))
	if err != nil {
		a.failf("migrate: %v", err)
		return nil, exitFail
	}
	defer eng.Close(ctx)
	plugins, errs, err := eng.LoadDir(ctx, dir)
	if err != nil {
		a.failf("migrate: %s: %v", dir, err)
		return nil, exitFail
	}
	var out []pluginDesc
	for _, p := range plugins {
		out = append(out, pluginDesc{p.Desc.Name, p.Desc.Reads, p.Desc.Writes})
		p.Close(ctx)
	}
	if len(errs) > 0 {
		for _, err := range errs {
			a.failf("migrate: %v", err)
		}
		return nil, exitFail
	}
	return out, exitOK
}

// partitionsFlag collects repeated --partitions FAMILY=N flags.
type partitionsFlag map[string]int

func (f partitionsFlag) String() string {
	parts := make([]string, 0, len(f))
	for _, fam := range slices.Sorted(maps.Keys(f)) {
		parts = append(parts, fam+"="+strconv.Itoa(f[fam]))
	}
	return strings.Join(parts, ",")
}

func (f partitionsFlag) Set(s string) error {
	fam, num, ok := strings.Cut(s, "=")
	if !ok || !describe.ValidName(fam) {
		return fmt.Errorf("%q: want FAMILY=N, FAMILY lowercase letters, digits and _", s)
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > daemon.MaxPartitions {
		return fmt.Errorf("%q: want a partition count from 1 to %d", s, daemon.MaxPartitions)
	}
	f[fam] = n
	return nil
}
