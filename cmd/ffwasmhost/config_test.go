package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/config"
	"github.com/ffwasmhost/ffwasmhost/host/daemon"
)

// TestConfigPrecedence: a flag beats the environment, which beats the
// file, which beats the default.
func TestConfigPrecedence(t *testing.T) {
	const file = `
db = "file.db"
plugins = "file-plugins"
http = "127.0.0.1:1"
grace = "3s"
stale-after = 7
catch-up = "once"
role-prefix = "file_"
lease-ttl = "20s"
[partitions]
budget = 64
worker_registry = 128
[limits]
memory = "32MiB"
tick-timeout = "3s"
[plugin.budget_reset]
interval = "3s"
drain = true
[plugin.budget_reset.limits]
max-log-lines = 30
[plugin.worker_ttl]
enabled = false
`
	tests := []struct {
		name  string
		flags []string
		env   map[string]string
		file  bool
		check func(t *testing.T, c daemon.Config)
	}{
		{"defaults", nil, nil, false, func(t *testing.T, c daemon.Config) {
			want(t, "db", c.DBPath, "./"+daemon.DefaultDBPath)
			want(t, "http", c.HTTPAddr, daemon.DefaultHTTPAddr)
			want(t, "grace", c.Grace, daemon.DefaultGrace)
			want(t, "stale-after", c.StaleAfter, daemon.DefaultStaleAfter)
			want(t, "intervals", len(c.Intervals), 0)
			want(t, "grants", c.Grants == nil, true)
			want(t, "role-prefix", c.PGOptions.RolePrefix, "ffwasmhost_plugin_")
			want(t, "partitions", len(c.Partitions), 0)
		}},
		{"file beats default", nil, nil, true, func(t *testing.T, c daemon.Config) {
			want(t, "db", c.DBPath, "file.db")
			want(t, "plugins", c.PluginDir, "file-plugins")
			want(t, "http", c.HTTPAddr, "127.0.0.1:1")
			want(t, "grace", c.Grace, 3*time.Second)
			want(t, "stale-after", c.StaleAfter, 7)
			want(t, "catch-up", c.CatchUp, true)
			want(t, "limits", c.Limits, host.Limits{MemoryBytes: 32 << 20, TickTimeout: 3 * time.Second})
			want(t, "budget_reset interval", c.Intervals["budget_reset"], 3*time.Second)
			want(t, "budget_reset drain", c.Drain["budget_reset"], true)
			want(t, "budget_reset limits", c.PluginLimits["budget_reset"], host.Limits{MaxLogLines: 30})
			iv, ok := c.Intervals["worker_ttl"]
			want(t, "worker_ttl disabled", ok && iv == 0, true)
			want(t, "role-prefix", c.PGOptions.RolePrefix, "file_")
			want(t, "lease-ttl", c.LeaseTTL, 20*time.Second)
			want(t, "budget partitions", c.Partitions["budget"], 64)
			want(t, "worker_registry partitions", c.Partitions["worker_registry"], 128)
		}},
		{"flag partitions beat the file's, family by family", []string{"--partitions", "budget=16", "--lease-ttl", "5s"},
			map[string]string{envRolePrefix: "env_"}, true, func(t *testing.T, c daemon.Config) {
				want(t, "budget partitions", c.Partitions["budget"], 16)
				want(t, "worker_registry partitions", c.Partitions["worker_registry"], 128)
				want(t, "lease-ttl", c.LeaseTTL, 5*time.Second)
				want(t, "role-prefix", c.PGOptions.RolePrefix, "env_")
			}},
		{"env beats file", nil, map[string]string{envDB: "env.db", envHTTPAddr: "127.0.0.1:2",
			"FF_BUDGET_RESET_INTERVAL_S": "4", "FF_WORKER_REGISTRY_TTL_INTERVAL_S": "5"}, true, func(t *testing.T, c daemon.Config) {
			want(t, "db", c.DBPath, "env.db")
			want(t, "plugins", c.PluginDir, "file-plugins")
			want(t, "http", c.HTTPAddr, "127.0.0.1:2")
			want(t, "budget_reset interval", c.Intervals["budget_reset"], 4*time.Second)
			want(t, "worker_ttl interval", c.Intervals["worker_ttl"], 5*time.Second)
		}},
		{"flag beats env and file", []string{"--db", "flag.db", "--http", "127.0.0.1:3", "--grace", "9s",
			"--stale-after", "2", "--catch-up", "never", "--interval", "budget_reset=6s", "--limit", "memory=16MiB",
			"--limit", "budget_reset.max-log-lines=60", "--plugins", "flag-plugins"},
			map[string]string{envDB: "env.db", envHTTPAddr: "127.0.0.1:2", "FF_BUDGET_RESET_INTERVAL_S": "4"}, true,
			func(t *testing.T, c daemon.Config) {
				want(t, "db", c.DBPath, "flag.db")
				want(t, "plugins", c.PluginDir, "flag-plugins")
				want(t, "http", c.HTTPAddr, "127.0.0.1:3")
				want(t, "grace", c.Grace, 9*time.Second)
				want(t, "stale-after", c.StaleAfter, 2)
				want(t, "catch-up", c.CatchUp, false)
				want(t, "budget_reset interval", c.Intervals["budget_reset"], 6*time.Second)
				want(t, "limits", c.Limits, host.Limits{MemoryBytes: 16 << 20, TickTimeout: 3 * time.Second})
				want(t, "budget_reset limits", c.PluginLimits["budget_reset"], host.Limits{MaxLogLines: 60})
			}},
		{"flag beats env without file", []string{"--db", "flag.db"}, map[string]string{envDB: "env.db"}, false,
			func(t *testing.T, c daemon.Config) { want(t, "db", c.DBPath, "flag.db") }},
		{"env without file", nil, map[string]string{envDB: "env.db"}, false,
			func(t *testing.T, c daemon.Config) { want(t, "db", c.DBPath, "env.db") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _, _ := testApp(tt.env)
			fs, o := a.runFlags()
			if err := fs.Parse(tt.flags); err != nil {
				t.Fatal(err)
			}
			var f *config.Config
			if tt.file {
				var err error
				if f, err = config.Parse("ff.toml", []byte(file)); err != nil {
					t.Fatal(err)
				}
			}
			c, err := a.daemonConfig(o, setFlags(fs), f)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func want[T comparable](t *testing.T, what string, got, w T) {
	t.Helper()
	if got != w {
		t.Errorf("%s = %v, want %v", what, got, w)
	}
}

// TestRunBadConfig: a bad file stops run before anything starts, with one
// line naming the file, the line and the key.
func TestRunBadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ff.toml")
	if err := os.WriteFile(path, []byte("db = \"x.db\"\n[plugin.budget_reset]\nintervall = \"1s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"run", "--config", path}, {"run"}} {
		a, _, stderr := testApp(map[string]string{envConfig: path})
		if code := a.main(args); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
		wantErr := "ffwasmhost: run: " + path + ":3: plugin.budget_reset.intervall: unknown key\n"
		if stderr.String() != wantErr {
			t.Errorf("%v: stderr = %q, want %q", args, stderr, wantErr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("database created despite the bad config: %v", err)
	}
}
