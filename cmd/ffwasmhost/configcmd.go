package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/config"
	"github.com/ffwasmhost/ffwasmhost/host/daemon"
)

func (a *app) configFlags() (*flag.FlagSet, [2]*string) {
	fs := newFlagSet("config")
	dir := fs.String("plugins", "", "plugin `DIR` to check the file against (default: the file's plugins, else env "+envPluginsDir+", else ./"+daemon.DefaultPluginDir+")")
	cache := fs.String("cache-dir", "", "wazero compilation cache `DIR` (default "+cacheDirDefault()+")")
	return fs, [2]*string{dir, cache}
}

// cmdConfig is `config check FILE`: it checks a configuration file, then
// checks it against the plugins in a directory. Each finding goes to
// stdout as one line, "error: FILE:LINE: KEY: ..." or "warning: ...";
// exit 1 if there is an error, 0 otherwise ("ok FILE" when nothing was
// found).
func (a *app) cmdConfig(args []string) int {
	fs, f := a.configFlags()
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 2 || pos[0] != "check" {
		a.failf("config: want check FILE (see 'ffwasmhost help config')")
		return exitUsage
	}
	path := pos[1]
	c, err := config.Load(path)
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintf(a.stdout, "error: %v\n", e)
		}
		return exitFail
	}
	if err != nil {
		a.failf("config check: %v", err)
		return exitFail
	}
	dir := *f[0]
	if dir == "" {
		dir = a.envOr(envPluginsDir, "./"+daemon.DefaultPluginDir)
		if _, set := a.lookupEnv(envPluginsDir); !set && c.Plugins != nil {
			dir = *c.Plugins
		}
	}
	if err := host.CheckPluginDir(dir); err != nil {
		a.failf("config check: %v", err)
		return exitFail
	}
	ctx := context.Background()
	eng, err := newEngine(*f[1], nil, slog.New(slog.DiscardHandler))
	if err != nil {
		a.failf("config check: %v", err)
		return exitFail
	}
	defer eng.Close(ctx)
	plugins, loadErrs, err := eng.LoadDir(ctx, dir)
	if err != nil {
		a.failf("config check: %s: %v", dir, err)
		return exitFail
	}
	descs := make([]describe.Descriptor, 0, len(plugins))
	for _, p := range plugins {
		descs = append(descs, p.Desc)
		p.Close(ctx)
	}
	for _, err := range loadErrs {
		fmt.Fprintf(a.stdout, "warning: %v (not checked)\n", err)
	}
	findings := config.Check(c, descs)
	failed := false
	for _, fd := range findings {
		fmt.Fprintln(a.stdout, fd)
		failed = failed || !fd.Warning
	}
	if failed {
		return exitFail
	}
	if len(findings) == 0 && len(loadErrs) == 0 {
		fmt.Fprintf(a.stdout, "ok %s (%d plugins in %s)\n", path, len(plugins), dir)
	}
	return exitOK
}
