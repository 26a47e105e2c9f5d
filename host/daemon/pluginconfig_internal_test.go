package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host"
)

func readEcho(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "config_echo.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// configOf returns the plugin's config keys as "key=value(source)".
func (f *fixture) configOf(name string) string {
	ps, _ := f.plugin(name)
	var parts []string
	for _, c := range ps.Config {
		parts = append(parts, c.Key+"="+c.Value+"("+c.Source+")")
	}
	return strings.Join(parts, " ")
}

func TestPluginConfigValuesAndSecrets(t *testing.T) {
	const secret = "s3cr3t-greeting"
	f := newFixture(t, Config{
		PluginConfig: map[string]map[string]host.ConfigValue{"config_echo": {"greeting": {Env: "ECHO_GREETING"}}},
		LookupEnv: func(k string) (string, bool) {
			if k == "ECHO_GREETING" {
				return secret, true
			}
			return "", false
		},
	})
	f.write("config_echo.wasm", readEcho(t))
	f.open()
	f.waitTicks("config_echo", "", 2)
	if got, want := f.configOf("config_echo"), "greeting=(secret from env ECHO_GREETING)(file) batch=10(default)"; got != want {
		t.Errorf("config = %q, want %q", got, want)
	}
	// The plugin logged the secret it read: that line is its own, under its
	// name; no line of the host's has it.
	logged := false
	for _, line := range strings.Split(f.log.String(), "\n") {
		if !strings.Contains(line, secret) {
			continue
		}
		if !strings.Contains(line, "plugin=config_echo") || !strings.Contains(line, "msg="+secret) {
			t.Errorf("the host logged the secret: %s", line)
		}
		logged = true
	}
	if !logged {
		t.Errorf("the plugin's value never reached it:\n%s", f.log)
	}

	// A literal value, by reload: the plugin gets it without a restart.
	err := f.reconfigure(func(c *Config) {
		c.PluginConfig = map[string]map[string]host.ConfigValue{"config_echo": {"greeting": {Literal: "bonjour"}, "batch": {Literal: int64(3)}}}
	})
	if err != nil {
		t.Fatal(err)
	}
	f.waitFor("the new value", func() bool { return strings.Contains(f.log.String(), "msg=bonjour") })
	if got, want := f.configOf("config_echo"), "greeting=bonjour(file) batch=3(file)"; got != want {
		t.Errorf("config after reload = %q, want %q", got, want)
	}

	// A value of the wrong type, and an unknown key, are refused; the
	// version running keeps running with its values.
	ps, _ := f.plugin("config_echo")
	err = f.reconfigure(func(c *Config) {
		c.PluginConfig = map[string]map[string]host.ConfigValue{"config_echo": {"batch": {Literal: "ten"}, "greting": {Literal: "x"}}}
	})
	if err != nil {
		t.Fatal(err)
	}
	const want = "config of plugin config_echo: unknown key greting (declared: greeting, batch); key batch: want a whole number, not a string"
	if got := f.invalid("config_echo.wasm"); got != want {
		t.Errorf("refusal = %q, want %q", got, want)
	}
	if now, _ := f.plugin("config_echo"); now.LoadedAt != ps.LoadedAt || f.configOf("config_echo") != "greeting=bonjour(file) batch=3(file)" {
		t.Errorf("the running version changed: %+v", now)
	}
	f.waitTicks("config_echo", "", ps.Ticks+1)
}

func TestPluginConfigRefusedAtFirstLoad(t *testing.T) {
	f := newFixture(t, Config{PluginConfig: map[string]map[string]host.ConfigValue{"config_echo": {"greeting": {File: "/nonexistent/secret"}}}})
	f.write("config_echo.wasm", readEcho(t))
	f.open()
	if got := f.invalid("config_echo.wasm"); !strings.Contains(got, "config of plugin config_echo: key greeting: secret file: open /nonexistent/secret") {
		t.Errorf("refusal = %q", got)
	}
	if _, ok := f.plugin("config_echo"); ok {
		t.Error("config_echo runs without its secret")
	}
}

// TestReconfigureRereadsSecrets: a reload reads secrets again, so a
// rotated one takes effect; one that can no longer be read leaves the
// running version with the old value.
func TestReconfigureRereadsSecrets(t *testing.T) {
	var mu sync.Mutex
	secret, set := "first-secret", true
	f := newFixture(t, Config{
		PluginConfig: map[string]map[string]host.ConfigValue{"config_echo": {"greeting": {Env: "ECHO_GREETING"}}},
		Grants:       map[string]host.Grant{"ghost": {}},
		LookupEnv: func(k string) (string, bool) {
			mu.Lock()
			defer mu.Unlock()
			return secret, set && k == "ECHO_GREETING"
		},
	})
	f.write("config_echo.wasm", readEcho(t))
	f.open()
	f.waitFor("the first secret", func() bool { return strings.Contains(f.log.String(), "msg=first-secret") })
	if !strings.Contains(f.log.String(), `msg="grant set for a plugin that is not running" plugin=ghost`) {
		t.Errorf("no warning for the grant of a plugin that is not running:\n%s", f.log)
	}

	mu.Lock()
	secret = "second-secret"
	mu.Unlock()
	if err := f.reconfigure(func(*Config) {}); err != nil {
		t.Fatal(err)
	}
	f.waitFor("the rotated secret", func() bool { return strings.Contains(f.log.String(), "msg=second-secret") })

	mu.Lock()
	set = false
	mu.Unlock()
	ps, _ := f.plugin("config_echo")
	if err := f.reconfigure(func(*Config) {}); err != nil {
		t.Fatal(err)
	}
	if got := f.invalid("config_echo.wasm"); !strings.Contains(got, "environment variable ECHO_GREETING is not set") {
		t.Errorf("refusal = %q", got)
	}
	now, ok := f.plugin("config_echo")
	if !ok || !now.LoadedAt.Equal(ps.LoadedAt) {
		t.Errorf("the running version changed: %+v", now)
	}
	f.waitTicks("config_echo", "", ps.Ticks+1)
}

// TestPluginConfigExtism: the daemon binds an Extism plugin's config keys
// as an ffhost plugin's: extism_twins reads the secret from the file's
// environment variable and the other key's default through ff_config_get,
// and its ticks are partition 0 on SQLite.
func TestPluginConfigExtism(t *testing.T) {
	const secret = "s3cr3t-extism"
	f := newFixture(t, Config{
		PluginConfig: map[string]map[string]host.ConfigValue{"extism_twins": {"greeting": {Env: "TWINS_GREETING"}}},
		LookupEnv: func(k string) (string, bool) {
			if k == "TWINS_GREETING" {
				return secret, true
			}
			return "", false
		},
	})
	b, err := os.ReadFile(filepath.Join("..", "testdata", "wat", "extism_twins.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	f.write("extism_twins.wasm", b)
	f.open()
	f.waitTicks("extism_twins", "", 2)
	if got, want := f.configOf("extism_twins"), "greeting=(secret from env TWINS_GREETING)(file) batch=10(default)"; got != want {
		t.Errorf("config = %q, want %q", got, want)
	}
	// extism_twins logs each answer with its status as a digit first.
	for _, want := range []string{"msg=0" + secret, "msg=010", `msg="partition=0 dialect=0"`} {
		if !strings.Contains(f.log.String(), want) {
			t.Errorf("no line with %s:\n%s", want, f.log)
		}
	}
}
