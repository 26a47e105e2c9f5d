package config_test

import (
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host/config"
)

func TestCheck(t *testing.T) {
	plugins := []describe.Descriptor{
		{Name: "budget_reset", Writes: []string{"ff_budget_policy", "ff_budget_usage"}},
		{Name: "worker_ttl", Writes: []string{"ff_worker_registry"}, ABIVersion: "1.3", Config: []describe.ConfigKey{
			{Name: "batch", Type: "int", Default: "100"}, {Name: "token", Type: "string"}}},
	}
	tests := []struct {
		name, text string
		want       []string
	}{
		{"all granted", `
[plugin.budget_reset]
grant = { write = ["ff_budget_policy", "ff_budget_usage"] }
[plugin.worker_ttl.grant]
own = ["ff_worker_registry"]
`, nil},
		{"no grants at all", "[plugin.worker_ttl]\ninterval = \"1s\"\n", nil},
		{"good config values", "[plugin.worker_ttl.config]\nbatch = 5\ntoken = { env = \"TOKEN\" }\n", nil},
		{"bad config values", "[plugin.worker_ttl.config]\nbatch = \"5\"\n\nbtach = 5\ntokn = { env = \"TOKEN\" }\n", []string{
			"error: c.toml:2: plugin.worker_ttl.config.batch: want a whole number, not a string",
			"error: c.toml:4: plugin.worker_ttl.config.btach: unknown key btach (declared: batch, token)",
			"error: c.toml:5: plugin.worker_ttl.config.tokn: unknown key tokn (declared: batch, token)",
		}},
		{"narrow grant, unknown plugin, plugin without grant", `
[plugin.budget_reset]
grant = { write = ["ff_budget_policy"] }

[plugin.budget_rest]
interval = "1s"
`, []string{
			"error: c.toml:2: plugin.budget_reset.grant: plugin budget_reset declares tables beyond its grant: ff_budget_usage (write)",
			"warning: c.toml:5: plugin.budget_rest: no plugin named budget_rest in the plugin directory",
			"warning: c.toml: plugin worker_ttl has no grant: it may use every table it declares",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("c.toml", []byte(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range config.Check(c, plugins) {
				got = append(got, f.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Check =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
