package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeConfig writes text to path the way an editor that saves by rename
// does: a new file renamed over the old.
func writeConfig(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestGrantRefusesThenLoadsOnConfigChange: under a grant of
// ff_budget_policy only, budget_reset is refused naming ff_budget_usage;
// granting ff_budget_usage in the file makes it load without a restart; a
// broken file is then refused and the configuration in force stays.
func TestGrantRefusesThenLoadsOnConfigChange(t *testing.T) {
	t.Parallel()
	dir := copyPlugins(t, "budget_reset")
	conf := filepath.Join(t.TempDir(), "ffwasmhost.toml")
	writeConfig(t, conf, `
[plugin.budget_reset]
interval = "200ms"
grant = { write = ["ff_budget_policy"] }
`)
	p := startDaemon(t, nil, "--config", conf, "--plugins", dir, "--db", dbPath(t))
	var refusal string
	p.waitFor("budget_reset refused", func() bool {
		for _, inv := range p.status().Invalid {
			if filepath.Base(inv.File) == "budget_reset.wasm" {
				refusal = inv.Error
				return true
			}
		}
		return false
	})
	if want := "plugin budget_reset declares tables beyond its grant: ff_budget_usage (write)"; refusal != want {
		t.Errorf("refusal = %q, want %q", refusal, want)
	}
	if _, ok := p.plugin("budget_reset"); ok {
		t.Fatal("budget_reset runs beyond its grant")
	}

	writeConfig(t, conf, `
[plugin.budget_reset]
interval = "200ms"
grant = { write = ["ff_budget_policy", "ff_budget_usage"] }
`)
	p.waitTicks("budget_reset", "", 1)
	if n := len(p.status().Invalid); n != 0 {
		t.Errorf("invalid after the grant widened = %+v", p.status().Invalid)
	}

	writeConfig(t, conf, "[plugin.budget_reset]\ninterval = \"200ms\"\ngrnat = {}\n")
	p.waitFor("the broken file to be refused", func() bool {
		return strings.Contains(p.log.String(), "configuration refused; the one in force keeps running")
	})
	if !strings.Contains(p.log.String(), "ffwasmhost.toml:3: plugin.budget_reset.grnat: unknown key") {
		t.Errorf("log does not name the line and key:\n%s", p.log)
	}
	before, _ := p.plugin("budget_reset")
	p.waitTicks("budget_reset", "", before.Ticks+1)
	if code := p.stop(); code != 0 {
		t.Errorf("exit status = %d", code)
	}
}

func TestConfigCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		writeConfig(t, path, text)
		return path
	}
	good := write("good.toml", `
[plugin.budget_reset]
grant = { write = ["ff_budget_policy", "ff_budget_usage"] }
[plugin.worker_ttl]
grant = { write = ["ff_worker_registry", "ff_worker_registry_event"] }
`)
	narrow := write("narrow.toml", `
[plugin.budget_reset]
grant = { write = ["ff_budget_policy"] }
[plugin.worker_tl]
enabled = false
`)
	broken := write("broken.toml", "db = \"x\"\n[plugin.budget_reset]\nintervall = \"1s\"\ngrace = 5\n")
	for _, tc := range []struct {
		name   string
		file   string
		code   int
		stdout []string
	}{
		{"good", good, 0, []string{"ok " + good + " (2 plugins in " + pluginDir + ")"}},
		{"narrow", narrow, 1, []string{
			"error: " + narrow + ":2: plugin.budget_reset.grant: plugin budget_reset declares tables beyond its grant: ff_budget_usage (write)",
			"warning: " + narrow + ":4: plugin.worker_tl: no plugin named worker_tl in the plugin directory",
			"warning: " + narrow + ": plugin worker_ttl has no grant: it may use every table it declares",
		}},
		{"broken", broken, 1, []string{
			"error: " + broken + ":3: plugin.budget_reset.intervall: unknown key",
			"error: " + broken + ":4: plugin.budget_reset.grace: unknown key",
		}},
	} {
		r := ffwasmhost(t, nil, "config", "check", tc.file, "--plugins", pluginDir, "--cache-dir", cacheDir)
		if r.code != tc.code || r.stdout != strings.Join(tc.stdout, "\n")+"\n" {
			t.Errorf("%s: exit %d, stdout:\n%s\nwant exit %d, stdout:\n%s", tc.name, r.code, r.stdout, tc.code, strings.Join(tc.stdout, "\n"))
		}
	}
	if r := ffwasmhost(t, nil, "config", "check"); r.code != 2 || !strings.Contains(r.stderr, "want check FILE") {
		t.Errorf("config check without FILE: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := ffwasmhost(t, nil, "config", "check", filepath.Join(dir, "none.toml")); r.code != 1 || !strings.Contains(r.stderr, "none.toml") {
		t.Errorf("config check of a missing file: exit %d, stderr %q", r.code, r.stderr)
	}
}
