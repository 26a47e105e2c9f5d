package daemon

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
)

// budget is a tiny plugin declaring the tables budget_reset does.
func budget(version string) tinySpec {
	return tinySpec{Name: "budget", Version: version, IntervalMS: 20, Processed: 1,
		Reads: []string{"ff_budget_policy", "ff_budget_usage"}, Writes: []string{"ff_budget_usage"}}
}

var (
	policyOnly = map[string]host.Grant{"budget": {Read: []string{"ff_budget_policy"}}}
	fullGrant  = map[string]host.Grant{"budget": {Read: []string{"ff_budget_policy"}, Write: []string{"ff_budget_usage"}}}
)

// invalid returns the refusal of file, or "".
func (f *fixture) invalid(file string) string {
	for _, inv := range f.d.Status(context.Background()).Invalid {
		if filepath.Base(inv.File) == file {
			return inv.Error
		}
	}
	return ""
}

// reconfigure puts cfg (over the fixture's own) in force.
func (f *fixture) reconfigure(change func(*Config)) error {
	f.t.Helper()
	cfg := f.cfg
	change(&cfg)
	return f.d.Reconfigure(context.Background(), cfg)
}

func TestGrantRefusesAndReconfigureWidensAndNarrows(t *testing.T) {
	f := newFixture(t, Config{Grants: policyOnly})
	f.write("budget.wasm", tinyWasm(t, budget("1")))
	f.write("alpha.wasm", tinyWasm(t, alpha("1"))) // no grant: declared = granted
	f.open()
	const want = "plugin budget declares tables beyond its grant: ff_budget_usage (write)"
	if got := f.invalid("budget.wasm"); got != want {
		t.Fatalf("budget refusal = %q, want %q", got, want)
	}
	if _, ok := f.plugin("budget"); ok {
		t.Fatal("budget runs beyond its grant")
	}
	f.waitTicks("alpha", "", 1)

	// Widening the grant loads it, without a restart.
	if err := f.reconfigure(func(c *Config) { c.Grants = fullGrant }); err != nil {
		t.Fatal(err)
	}
	f.waitTicks("budget", "", 1)
	if got := f.invalid("budget.wasm"); got != "" {
		t.Errorf("budget still refused: %q", got)
	}

	// Narrowing it again stops it.
	if err := f.reconfigure(func(c *Config) { c.Grants = policyOnly }); err != nil {
		t.Fatal(err)
	}
	f.waitFor("budget to stop", func() bool { _, ok := f.plugin("budget"); return !ok })
	if got := f.invalid("budget.wasm"); got != want {
		t.Errorf("budget refusal after narrowing = %q, want %q", got, want)
	}
	if _, ok := f.d.sup.Remove("budget"); ok {
		t.Error("budget's loop still registered after narrowing")
	}
	// An unforced scan leaves it refused.
	f.scan()
	if _, ok := f.plugin("budget"); ok {
		t.Error("budget loaded again by a scan while its grant is narrower")
	}
	if !strings.Contains(f.log.String(), want) {
		t.Errorf("log does not name the refusal:\n%s", f.log)
	}
}

func TestVersionBeyondGrantLeavesTheOldOneRunning(t *testing.T) {
	f := newFixture(t, Config{Grants: map[string]host.Grant{"alpha": {Read: []string{"ff_budget_policy"}}}})
	v1 := tinyWasm(t, alpha("1"))
	f.write("alpha.wasm", v1)
	f.open()
	f.waitTicks("alpha", sha(v1), 1)
	v2 := alpha("2")
	v2.Writes = []string{"ff_budget_usage"}
	f.write("alpha.wasm", tinyWasm(t, v2))
	f.scan()
	if got := f.invalid("alpha.wasm"); !strings.Contains(got, "ff_budget_usage (write)") {
		t.Errorf("alpha v2 refusal = %q, want it to name ff_budget_usage", got)
	}
	ps, ok := f.plugin("alpha")
	if !ok || ps.SHA256 != sha(v1) {
		t.Fatalf("alpha = %+v, want v1 still running", ps)
	}
	if !strings.Contains(f.log.String(), "the previous version keeps running") {
		t.Errorf("log does not say the old version keeps running:\n%s", f.log)
	}
}

func TestReconfigure(t *testing.T) {
	f := newFixture(t, Config{})
	f.write("alpha.wasm", tinyWasm(t, alpha("1")))
	f.open()
	f.waitTicks("alpha", "", 1)

	// A bad configuration changes nothing.
	err := f.reconfigure(func(c *Config) { c.Intervals = map[string]time.Duration{"Alpha": time.Second} })
	if err == nil || !strings.Contains(err.Error(), `"Alpha"`) {
		t.Fatalf("Reconfigure(bad) = %v, want an error naming Alpha", err)
	}
	if ps, _ := f.plugin("alpha"); ps.IntervalMS != 20 {
		t.Errorf("interval after a refused config = %d ms, want 20", ps.IntervalMS)
	}

	// A new interval takes effect without a restart; so does disabling.
	if err := f.reconfigure(func(c *Config) { c.Intervals = map[string]time.Duration{"alpha": 30 * time.Millisecond} }); err != nil {
		t.Fatal(err)
	}
	if ps, _ := f.plugin("alpha"); ps.IntervalMS != 30 {
		t.Errorf("interval after reconfigure = %d ms, want 30", ps.IntervalMS)
	}
	if err := f.reconfigure(func(c *Config) { c.Intervals = map[string]time.Duration{"alpha": 0} }); err != nil {
		t.Fatal(err)
	}
	if ps, _ := f.plugin("alpha"); ps.Enabled {
		t.Errorf("alpha = %+v, want disabled", ps)
	}

	// A setting that needs a restart is said so.
	if err := f.reconfigure(func(c *Config) { c.Grace = time.Minute; c.StaleAfter = 9 }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.log.String(), "take effect only at restart") || !strings.Contains(f.log.String(), "grace, stale-after") {
		t.Errorf("log does not name the settings needing a restart:\n%s", f.log)
	}
}
