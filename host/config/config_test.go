package config_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/config"
)

func TestLoadFull(t *testing.T) {
	c, err := config.Load(filepath.Join("testdata", "full.toml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("db", *c.DB, "/var/lib/ffwasmhost/ff.db")
	check("plugins", *c.Plugins, "/var/lib/ffwasmhost/plugins")
	check("http", *c.HTTP, "127.0.0.1:9464")
	check("fixtures", *c.Fixtures, "/var/lib/ffwasmhost/fixtures")
	check("cache-dir", *c.CacheDir, "/var/cache/ffwasmhost")
	check("min-interval", *c.MinInterval, 500*time.Millisecond)
	check("drain-pause", *c.DrainPause, 50*time.Millisecond)
	check("standby-poll", *c.StandbyPoll, 2*time.Second)
	check("grace", *c.Grace, 20*time.Second)
	check("catch-up", *c.CatchUp, "once")
	check("stale-after", *c.StaleAfter, 3)
	check("synchronous", *c.Synchronous, "FULL")
	check("plugin-sqlite-heap", *c.PluginSQLiteHeap, int64(32<<20))
	check("log-format", *c.LogFormat, "json")
	check("log-level", *c.LogLevel, slog.LevelDebug)
	check("limits", c.Limits, host.Limits{MemoryBytes: 128 << 20, TickTimeout: 10 * time.Second, MaxLogLines: 500})
	br := c.Plugin["budget_reset"]
	check("budget_reset interval", *br.Interval, 15*time.Second)
	check("budget_reset drain", *br.Drain, true)
	check("budget_reset enabled", br.Enabled, (*bool)(nil))
	check("budget_reset limits", br.Limits, host.Limits{MemoryBytes: 32 << 20})
	check("budget_reset grant", *br.Grant, host.Grant{Read: []string{"ff_budget_policy"}, Write: []string{"ff_budget_usage"}})
	check("batch", br.Values["batch"].Literal, int64(500))
	check("mode", br.Values["mode"].Literal, "strict")
	check("verbose", br.Values["verbose"].Literal, true)
	check("token", br.Values["token"].String(), "(secret from env FF_TOKEN)")
	check("key", br.Values["key"].String(), "(secret from file /etc/ffwasmhost/key)")
	check("token line", br.Values["token"].Line, 35)
	wt := c.Plugin["worker_ttl"]
	check("worker_ttl enabled", *wt.Enabled, false)
	check("worker_ttl grant", wt.Grant, (*host.Grant)(nil))
}

func TestParseEmpty(t *testing.T) {
	c, err := config.Parse("empty.toml", nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.DB != nil || len(c.Plugin) != 0 || c.Limits != (host.Limits{}) {
		t.Errorf("empty file set something: %+v", c)
	}
}

// TestParseErrors: every mistake is named with its file, line and key.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string // each error, in order
	}{
		{"unknown top-level key", "db = \"x\"\n\nintervall = \"1s\"\n",
			[]string{"c.toml:3: intervall: unknown key"}},
		{"unknown plugin key", "[plugin.budget_reset]\ninterval = \"1s\"\nintervall = \"2s\"\n",
			[]string{"c.toml:3: plugin.budget_reset.intervall: unknown key"}},
		{"two unknown keys", "a = 1\n[plugin.x]\nb = 2\n",
			[]string{"c.toml:1: a: unknown key", "c.toml:3: plugin.x.b: unknown key"}},
		{"unknown grant list", "[plugin.x.grant]\nread = []\ndelete = [\"t\"]\n",
			[]string{"c.toml:3: plugin.x.grant.delete: unknown key"}},
		{"syntax", "db = \"x\"\nplugins = \n", []string{"c.toml:2: "}},
		{"wrong type", "db = \"x\"\nstale-after = \"five\"\n", []string{"c.toml:2: stale-after: want a whole number, not a TOML string"}},
		{"wrong type in plugin", "[plugin.x]\nenabled = 1\n", []string{"c.toml:2: plugin.x.enabled: want true or false, not a TOML integer"}},
		{"bad duration", "\n[plugin.x]\ninterval = \"15 seconds\"\n",
			[]string{`c.toml:3: plugin.x.interval: duration "15 seconds": want e.g. 500ms, 15s, 1m`}},
		{"negative duration", "grace = \"-1s\"\n", []string{`c.toml:1: grace: duration "-1s": want a positive duration`}},
		{"long interval", "[plugin.x]\ninterval = \"9000h\"\n", []string{`c.toml:2: plugin.x.interval: duration "9000h" is over the limit of 8760h0m0s`}},
		{"bad plugin name", "[plugin.Budget]\ninterval = \"1s\"\n",
			[]string{`c.toml:1: plugin.Budget: "Budget" is not a plugin name (lowercase letters, digits, '_')`}},
		{"bad catch-up", "catch-up = \"always\"\n", []string{`c.toml:1: catch-up: "always": want once or never`}},
		{"bad limit", "[limits]\nmemory = \"lots\"\n",
			[]string{`c.toml:2: limits.memory: size "lots": want a positive number of bytes, optionally with KiB, MiB or GiB`}},
		{"unknown limit", "[plugin.x.limits]\nmemroy = \"1MiB\"\n",
			[]string{`c.toml:2: plugin.x.limits.memroy: unknown limit "memroy"`}},
		{"bad table in grant", "[plugin.x]\ngrant = { read = [\"ff; drop\"] }\n",
			[]string{`c.toml:2: plugin.x.grant.read: "ff; drop" is not a table name`}},
		{"bad secret", "[plugin.x.config]\ntoken = { env = \"A\", file = \"/b\" }\n",
			[]string{`c.toml:2: plugin.x.config.token: a table value must be a secret`}},
		{"array value", "[plugin.x.config]\n\nlist = [1, 2]\n",
			[]string{`c.toml:3: plugin.x.config.list: want a string, whole number, bool, float or a secret, not an array`}},
		{"bad partitions", "[partitions]\nbudget = 0\nworker_registry = \"256\"\n",
			[]string{"c.toml:2: partitions.budget: 0 partitions: want 1 to 32767",
				"c.toml:3: partitions.worker_registry: want a whole number of partitions, not a string"}},
		{"bad role prefix", "role-prefix = \"Bad-Prefix\"\n",
			[]string{`c.toml:1: role-prefix: "Bad-Prefix": want a lowercase letter`}},
		{"zero lease-ttl", "lease-ttl = \"0s\"\n", []string{`c.toml:1: lease-ttl: duration "0s": want a positive duration`}},
		{"several at once", "grace = \"x\"\nstale-after = 0\n[plugin.x]\ninterval = \"y\"\n",
			[]string{"c.toml:1: grace:", "c.toml:2: stale-after:", "c.toml:4: plugin.x.interval:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("c.toml", []byte(tt.text))
			var es config.Errors
			if !errors.As(err, &es) {
				t.Fatalf("Parse = %v, want config.Errors", err)
			}
			if len(es) != len(tt.want) {
				t.Fatalf("Parse = %d errors (%v), want %d", len(es), err, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(es[i].Error(), w) {
					t.Errorf("error %d = %q, want it to start with %q", i, es[i], w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := config.Load(filepath.Join(dir, "missing.toml")); err == nil || !strings.Contains(err.Error(), "missing.toml") {
		t.Errorf("Load(missing) = %v, want an error naming the file", err)
	}
	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", config.MaxFileBytes)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(big); err == nil || !strings.Contains(err.Error(), "over") {
		t.Errorf("Load(big) = %v, want an error about its size", err)
	}
}
