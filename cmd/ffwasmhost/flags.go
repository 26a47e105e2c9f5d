package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host/config"
	"github.com/ffwasmhost/ffwasmhost/host/daemon"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// Environment variables read as fallbacks for flags.
const (
	envDB         = "FF_DB"
	envPluginsDir = "FF_PLUGINS_DIR"
	envHTTPAddr   = "FF_HTTP_ADDR"
)

// envIntervalVars are FlowFabric's interval variables, in seconds (0
// disables), for the two reconcilers it ships.
var envIntervalVars = []struct{ env, plugin string }{
	{"FF_BUDGET_RESET_INTERVAL_S", "budget_reset"},
	{"FF_WORKER_REGISTRY_TTL_INTERVAL_S", "worker_ttl"},
}

// envOr returns the environment variable key if set, else def.
func (a *app) envOr(key, def string) string {
	if v, ok := a.lookupEnv(key); ok {
		return v
	}
	return def
}

// envIntervals reads the FlowFabric interval variables.
func (a *app) envIntervals() (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, v := range envIntervalVars {
		s, ok := a.lookupEnv(v.env)
		if !ok || s == "" {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s=%q: want whole seconds (0 disables)", v.env, s)
		}
		if d := time.Duration(n) * time.Second; d > daemon.MaxInterval {
			return nil, fmt.Errorf("%s=%q: over the limit of %v", v.env, s, daemon.MaxInterval)
		}
		out[v.plugin] = time.Duration(n) * time.Second
	}
	return out, nil
}

// intervalFlag collects repeated --interval NAME=DURATION flags.
type intervalFlag map[string]time.Duration

func (f intervalFlag) String() string {
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + f[n].String()
	}
	return strings.Join(parts, ",")
}

func (f intervalFlag) Set(s string) error {
	name, dur, ok := strings.Cut(s, "=")
	if !ok {
		return errors.New("want NAME=DURATION, e.g. budget_reset=15s")
	}
	if name == "" {
		return errors.New("missing plugin name before '=' (want NAME=DURATION)")
	}
	if !describe.ValidName(name) {
		return fmt.Errorf("%q is not a plugin name (lowercase letters, digits, '_')", name)
	}
	d, err := time.ParseDuration(dur)
	if err != nil {
		return fmt.Errorf("duration %q: want e.g. 500ms, 15s, 1m (0 disables)", dur)
	}
	if d < 0 {
		return fmt.Errorf("duration %q is negative", dur)
	}
	if d > daemon.MaxInterval {
		return fmt.Errorf("duration %q is over the limit of %v", dur, daemon.MaxInterval)
	}
	f[name] = d
	return nil
}

// nameSet collects repeated plugin-name flags, e.g. --drain NAME.
type nameSet map[string]bool

func (s nameSet) String() string { return strings.Join(slices.Sorted(maps.Keys(s)), ",") }

func (s nameSet) Set(name string) error {
	if !describe.ValidName(name) {
		return fmt.Errorf("%q is not a plugin name (lowercase letters, digits, '_')", name)
	}
	s[name] = true
	return nil
}

// nowFlag is --now: milliseconds since the Unix epoch.
type nowFlag struct {
	ms  int64
	set bool
}

func (f *nowFlag) String() string {
	if !f.set {
		return ""
	}
	return strconv.FormatInt(f.ms, 10)
}

func (f *nowFlag) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return errors.New("want milliseconds since the Unix epoch, e.g. 1767225600000")
	}
	f.ms, f.set = n, true
	return nil
}

// logFlags are --log-format and --log-level.
type logFlags struct {
	format string
	level  slog.Level
}

func (a *app) addLogFlags(fs *flag.FlagSet) *logFlags {
	lf := &logFlags{}
	fs.Func("log-format", "log `FORMAT`: text or json (default text)", func(s string) error {
		if s != "text" && s != "json" {
			return errors.New("want text or json")
		}
		lf.format = s
		return nil
	})
	fs.Func("log-level", "log `LEVEL`: debug, info, warn or error (default info)", func(s string) error {
		if err := lf.level.UnmarshalText([]byte(s)); err != nil {
			return errors.New("want debug, info, warn or error")
		}
		return nil
	})
	return lf
}

func (lf *logFlags) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: lf.level}
	if lf.format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// pluginHeapFlag is --plugin-sqlite-heap: SQLite's heap cap for each
// plugin connection (sqlite.Options.PluginHeapBytes).
func pluginHeapFlag(fs *flag.FlagSet) *int64 {
	v := new(int64)
	fs.Func("plugin-sqlite-heap", "`SIZE` of the memory SQLite may allocate for one plugin's connection, e.g. 64MiB (default 64MiB); a statement past it fails with out of memory", func(s string) error {
		n, err := config.ParseSize(s)
		if err != nil {
			return err
		}
		if n < 8<<20 || n > 1<<40 {
			return fmt.Errorf("size %q: want 8MiB to 1TiB", s)
		}
		*v = int64(n)
		return nil
	})
	return v
}

// synchronousFlag is --synchronous.
func synchronousFlag(fs *flag.FlagSet) *string {
	v := new(string)
	*v = sqlite.SyncNormal
	fs.Func("synchronous", "SQLite synchronous `MODE`: NORMAL (default; WAL, may lose the last commits on power loss) or FULL (fsync every commit)", func(s string) error {
		s = strings.ToUpper(s)
		if s != sqlite.SyncNormal && s != sqlite.SyncFull {
			return errors.New("want NORMAL or FULL")
		}
		*v = s
		return nil
	})
	return v
}
