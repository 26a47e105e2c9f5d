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
