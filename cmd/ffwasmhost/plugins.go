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
	"github.com/ffwasmhost/ffwasmhost/host/daemon"
)

func (a *app) pluginsFlags() (*flag.FlagSet, [2]*string) {
	fs := newFlagSet("plugins")
	dir := fs.String("plugins", a.envOr(envPluginsDir, "./"+daemon.DefaultPluginDir), "plugin directory (env "+envPluginsDir+")")
	cache := fs.String("cache-dir", "", "wazero compilation cache `DIR` (default "+cacheDirDefault()+")")
	return fs, [2]*string{dir, cache}
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
	fmt.Fprintln(tw, "NAME\tKIND\tFILE\tSHA256\tABI\tVERSION\tINTERVAL\tREADS\tWRITES")
	for _, p := range plugins {
		d := p.Desc
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, p.Kind, p.File, p.SHA256[:12], d.ABIVersion, d.Version,
			intervalString(d.DefaultIntervalMS), tables(d.Reads), tables(d.Writes))
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
		fmt.Fprintf(a.stdout, "ok %s %s %s\n", p.Desc.Name, p.Kind, f)
		p.Close(ctx)
	}
	if failed > 0 {
		return exitFail
	}
	return exitOK
}
