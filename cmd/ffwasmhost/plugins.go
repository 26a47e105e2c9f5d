package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/config"
	"github.com/ffwasmhost/ffwasmhost/host/daemon"
)

func (a *app) pluginsFlags() (*flag.FlagSet, [3]*string) {
	fs := newFlagSet("plugins")
	dir := fs.String("plugins", a.envOr(envPluginsDir, "./"+daemon.DefaultPluginDir), "plugin directory (env "+envPluginsDir+")")
	cache := fs.String("cache-dir", "", "wazero compilation cache `DIR` (default "+cacheDirDefault()+")")
	conf := fs.String("config", a.envOr(envConfig, ""), "configuration `FILE` whose [plugin.NAME.config] values to show beside each plugin's config keys (env "+envConfig+")")
	return fs, [3]*string{dir, cache, conf}
}

// cmdPlugins prints a table of the valid plugins in a directory; invalid
// files go to stderr, one line each, and make the exit status 1.
func (a *app) cmdPlugins(args []string) int {
	fs, f := a.pluginsFlags()
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		a.failf("plugins: unexpected argument %q (see 'ffwasmhost help plugins')", pos[0])
		return exitUsage
	}
	dir := *f[0]
	var file *config.Config
	if *f[2] != "" {
		var err error
		if file, err = config.Load(*f[2]); err != nil {
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
	eng, err := newEngine(*f[1], nil, quiet)
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
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFILE\tSHA256\tABI\tVERSION\tINTERVAL\tREADS\tWRITES")
	for _, p := range plugins {
		d := p.Desc
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, p.File, p.SHA256[:12], d.ABIVersion, d.Version,
			intervalString(d.DefaultIntervalMS), tables(d.Reads), tables(d.Writes))
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
