package plugintest_test

import (
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
)

// TestOwnedTablesAndTags: the harness applies a plugin's migrations before
// its first tick, and BuildWith builds with the build tags it is given.
func TestOwnedTablesAndTags(t *testing.T) {
	for _, tc := range []struct {
		tags    []string
		variant string
	}{
		{[]string{}, "plain"},
		{[]string{"tagged"}, "tagged"},
	} {
		t.Run(tc.variant, func(t *testing.T) {
			h := plugintest.New(t, plugintest.BuildWith(t, "./testdata/notes", plugintest.BuildOptions{Tags: tc.tags}))
			if len(h.Migrations) != 2 || h.Migrations[0].Name != "create notes" {
				t.Fatalf("migrations applied = %+v, want 2", h.Migrations)
			}
			if v := h.Plugin.Desc.Version; v != "1.0.0+"+tc.variant {
				t.Errorf("version %q, want the %s build", v, tc.variant)
			}
			h.MustTick(1000)
			if n, _ := h.Int(`SELECT count(*) FROM notes WHERE at_ms = 1000 AND variant = ?`, tc.variant); n != 1 {
				t.Errorf("notes at 1000 = %d, want 1", n)
			}
		})
	}
}
