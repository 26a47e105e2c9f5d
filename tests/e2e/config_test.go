package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
// broken file is then refused and the configuration in force stays;
// narrowing the grant again stops it; SIGHUP reloads the file.
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

	// Narrowing the grant in the file stops the running plugin; SIGHUP
	// reloads the file too, and keeps it stopped.
	writeConfig(t, conf, "[plugin.budget_reset]\ninterval = \"200ms\"\ngrant = { write = [\"ff_budget_policy\"] }\n")
	p.waitFor("the narrowed grant to stop budget_reset", func() bool { _, ok := p.plugin("budget_reset"); return !ok })
	reloads := strings.Count(p.log.String(), "configuration reloaded")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitFor("SIGHUP to reload the file", func() bool {
		return strings.Count(p.log.String(), "configuration reloaded") > reloads &&
			strings.Contains(p.log.String(), "SIGHUP: reloading the configuration")
	})
	if _, ok := p.plugin("budget_reset"); ok {
		t.Error("budget_reset runs after SIGHUP under a grant narrower than it declares")
	}
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
	// tick applies the file's grant as run does.
	db := dbPath(t)
	if r := ffwasmhost(t, nil, "migrate", "--db", db); r.code != 0 {
		t.Fatalf("migrate: %s", r.stderr)
	}
	r := ffwasmhost(t, nil, "tick", "--db", db, "--plugins", pluginDir, "--cache-dir", cacheDir, "--config", narrow, "budget_reset")
	if r.code != 1 || !strings.Contains(r.stderr, "plugin budget_reset declares tables beyond its grant: ff_budget_usage (write)") {
		t.Errorf("tick under a narrower grant: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := ffwasmhost(t, nil, "tick", "--db", db, "--plugins", pluginDir, "--cache-dir", cacheDir, "--config", good, "budget_reset"); r.code != 0 {
		t.Errorf("tick under its grant: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := ffwasmhost(t, nil, "config", "check"); r.code != 2 || !strings.Contains(r.stderr, "want check FILE") {
		t.Errorf("config check without FILE: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := ffwasmhost(t, nil, "config", "check", filepath.Join(dir, "none.toml")); r.code != 1 || !strings.Contains(r.stderr, "none.toml") {
		t.Errorf("config check of a missing file: exit %d, stderr %q", r.code, r.stderr)
	}
}
